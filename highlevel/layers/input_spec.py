"""InputSpec: what a layer's first input must look like, checked at every call (Keras's ``InputSpec``).

A layer sets ``self.input_spec`` (one ``InputSpec``, or a list of them, one per input);
``layer(x)`` on arrays and on ``hl.Input`` tensors then checks ``x`` against it before
building or calling, and refuses a mismatch with one sentence naming the layer, the input,
what was expected and what came. Layers without one (``input_spec = None``) are not checked.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp

__all__ = ["InputSpec", "assert_input_compatibility"]


def _dtype_name(dtype: Any) -> str:
    return jnp.dtype(dtype).name


class InputSpec:
    """The rank, dtype and shape a layer's input must have, as ``keras.InputSpec``.

    A None entry in ``shape`` (or a None value in ``axes``) fits any size.

    Args:
      dtype: the expected dtype (a name such as ``"float32"``), or None for any.
      shape: the expected shape, batch included (None entries for any size); it sets ``ndim``.
      ndim: the expected rank.
      max_ndim: the largest rank allowed.
      min_ndim: the smallest rank allowed.
      axes: ``{axis: size}`` for axes whose size is fixed (negative axes count from the end).
      allow_last_axis_squeeze: allow an input of rank N+1 whose last axis is 1, or of rank N-1
        when the spec's last axis is 1 (the shape check ignores a trailing 1 on either side).
      name: the key of this input when a layer is given a dict of inputs.
      optional: whether the input may be None.

    >>> import highlevel as hl, numpy as np
    >>> class Pairs(hl.layers.Layer):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.input_spec = hl.layers.InputSpec(ndim=2, axes={-1: 2})
    ...     def call(self, inputs):
    ...         return inputs
    >>> Pairs()(np.ones((3, 2), "float32")).shape
    (3, 2)
    >>> try:
    ...     Pairs(name="pairs")(np.ones((3, 4), "float32"))
    ... except ValueError as err:
    ...     print(str(err)[:92])
    Input 0 of layer 'pairs' is incompatible with the layer: expected axis -1 of input shape to
    """

    def __init__(self, dtype: Any = None, shape: Sequence[int | None] | None = None, ndim: int | None = None,
                 max_ndim: int | None = None, min_ndim: int | None = None, axes: dict[int, int] | None = None,
                 allow_last_axis_squeeze: bool = False, name: str | None = None, optional: bool = False):
        self.dtype = None if dtype is None else _dtype_name(dtype)
        if shape is not None:
            self.shape = tuple(None if d is None else int(d) for d in shape)
            self.ndim = len(self.shape)
        else:
            self.shape = None
            self.ndim = ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            axes = axes or {}
            self.axes = {int(k): axes[k] for k in axes}
        except (ValueError, TypeError) as err:
            raise TypeError(f"InputSpec axes must be a dict with integer keys, got axes={axes!r}.") from err
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            max_dim = (self.ndim if self.ndim else self.max_ndim) - 1
            if max(self.axes) > max_dim:
                raise ValueError(f"InputSpec axis {max(self.axes)} is greater than the largest axis an input "
                                 f"of this spec has, {max_dim}.")

    def __repr__(self) -> str:
        parts = [f"dtype={self.dtype}" if self.dtype else "", f"shape={self.shape}" if self.shape else "",
                 f"ndim={self.ndim}" if self.ndim else "", f"max_ndim={self.max_ndim}" if self.max_ndim else "",
                 f"min_ndim={self.min_ndim}" if self.min_ndim else "", f"axes={self.axes}" if self.axes else ""]
        return f"InputSpec({', '.join(p for p in parts if p)})"

    def get_config(self) -> dict[str, Any]:
        """The spec's arguments (Keras's keys), for ``from_config``.

        >>> import highlevel as hl
        >>> hl.layers.InputSpec(ndim=3).get_config()["ndim"]
        3
        """
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes, "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "InputSpec":
        """The spec ``get_config`` described.

        Args:
          config: ``get_config()``'s dict.

        >>> import highlevel as hl
        >>> hl.layers.InputSpec.from_config({"min_ndim": 2})
        InputSpec(min_ndim=2)
        """
        return cls(**config)


def _flatten(tree) -> list:
    return jax.tree_util.tree_leaves(tree, is_leaf=lambda x: x is None or isinstance(x, InputSpec))


def assert_input_compatibility(input_spec: Any, inputs: Any, layer_name: str) -> None:
    """Raises a ValueError naming ``layer_name`` when ``inputs`` do not fit ``input_spec`` (Keras's checks).

    Args:
      input_spec: an ``InputSpec``, a (nested) list of them, one per input, or None (no check).
      inputs: the layer's first argument: an array (or KerasTensor), or a list or dict of them.
      layer_name: the layer's name, for the message.

    >>> import highlevel as hl, numpy as np
    >>> assert_input_compatibility(hl.layers.InputSpec(min_ndim=2), np.ones((2, 3)), "dense")
    """
    if not input_spec:
        return
    specs = _flatten(input_spec)
    if isinstance(inputs, dict):
        names = [spec.name if spec is not None else None for spec in specs]
        if all(names):
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Layer '{layer_name}' is missing data for input '{missing[0]}': it was given a "
                                 f"dict with keys {list(inputs)}, and expects the keys {names}.")
            inputs = [inputs[n] for n in names]
    flat = _flatten(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
    if len(flat) != len(specs):
        names = [spec.name for spec in specs if spec is not None]
        if len(names) == len(specs) and all(names):
            raise ValueError(f"Layer '{layer_name}' expects {len(specs)} named input(s) with keys {names}, but it "
                             f"received {len(flat)} input tensors; pass them as a dict, e.g. layer({{"
                             + ", ".join(f"'{n}': ..." for n in names) + "}).")
        raise ValueError(f"Layer '{layer_name}' expects {len(specs)} input(s), but it received {len(flat)} "
                         "input tensors.")
    for index, (x, spec) in enumerate(zip(flat, specs)):
        _check_one(index, x, spec, layer_name)


def _check_one(index: int, x: Any, spec: InputSpec | None, layer_name: str) -> None:
    if spec is None or (x is None and spec.optional):
        return
    if not hasattr(x, "shape"):
        raise ValueError(f"Inputs to a layer should be tensors; layer '{layer_name}' got {x!r} "
                         f"(of type {type(x).__name__}) as input {index}.")
    shape = tuple(None if d is None else int(d) for d in x.shape)
    ndim = len(shape)
    prefix = (f"Input {index}{'' if spec.name is None else f' (named {spec.name!r})'} of layer '{layer_name}' "
              "is incompatible with the layer:")

    def fail(what: str) -> None:
        raise ValueError(f"{prefix} {what}. Full shape received: {shape}.")

    if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
        fail(f"expected ndim={spec.ndim}, found ndim={ndim}")
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        fail(f"expected max_ndim={spec.max_ndim}, found ndim={ndim}")
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        fail(f"expected min_ndim={spec.min_ndim}, found ndim={ndim}")
    if spec.dtype is not None and hasattr(x, "dtype") and _dtype_name(x.dtype) != spec.dtype:
        fail(f"expected dtype={spec.dtype}, found dtype={_dtype_name(x.dtype)}")
    for axis, value in spec.axes.items():
        if value is not None and -ndim <= axis < ndim and shape[axis] not in (value, None):
            fail(f"expected axis {axis} of input shape to have value {value}")
    if spec.shape is not None:
        spec_shape, got = spec.shape, shape
        if spec.allow_last_axis_squeeze:
            got = got[:-1] if got and got[-1] == 1 else got
            spec_shape = spec_shape[:-1] if spec_shape and spec_shape[-1] == 1 else spec_shape
        for spec_dim, dim in zip(spec_shape, got):
            if spec_dim is not None and dim is not None and spec_dim != dim:
                fail(f"expected shape={spec.shape}")
