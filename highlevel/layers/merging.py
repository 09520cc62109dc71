"""Merging layers: combine a list of inputs elementwise, by concatenation or by a dot product; and
Keras's functional forms ``add``, ``subtract``, ``multiply``, ``average``, ``maximum``, ``minimum``,
``concatenate`` and ``dot`` (each makes the layer and calls it on the inputs)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from highlevel import ops as _ops
from highlevel.layers.base import Layer, format_shape, register_layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _describe(shapes) -> str:
    return "[" + ", ".join(format_shape(tuple(s)) for s in shapes) + "]"


def _shapes_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [tuple(x.shape) for x in inputs]
    return tuple(getattr(inputs, "shape", ()))


class _Merge(Layer):
    """Abstract: an elementwise merge of a list of inputs, broadcasting as Keras does.

    Inputs of lower rank get size-1 axes inserted after the batch axis, and axes
    of size 1 broadcast.
    """

    _min_inputs = 1
    _max_inputs: int | None = None

    def _check_shapes(self, shapes) -> None:
        if not isinstance(shapes, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{type(self).__name__} layer '{self.name}' takes a list of inputs, e.g. "
                             f"{type(self).__name__}()([x1, x2]); got inputs of shape {shapes}.")
        count = len(shapes)
        if count < self._min_inputs or (self._max_inputs is not None and count > self._max_inputs):
            wanted = (f"exactly {self._min_inputs}" if self._max_inputs == self._min_inputs
                      else f"at least {self._min_inputs}")
            raise ValueError(f"{type(self).__name__} layer '{self.name}' takes {wanted} inputs, "
                             f"got {count}: {_describe(shapes)}.")
        batches = {s[0] for s in shapes if len(s)} - {None}
        if len(batches) > 1:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' cannot merge inputs with different "
                             f"batch sizes: {_describe(shapes)}.")
        rank = max(len(s) for s in shapes)
        padded = [(tuple(s[:1]) + (1,) * (rank - len(s)) + tuple(s[1:])) if s else (1,) * rank for s in shapes]
        for axis in range(1, rank):
            sizes = {s[axis] for s in padded} - {None, 1}
            if len(sizes) > 1:
                raise ValueError(f"{type(self).__name__} layer '{self.name}' got inputs of incompatible shapes "
                                 f"{_describe(shapes)} (axis {axis} has sizes {sorted(sizes)}). Elementwise "
                                 "merges need equal sizes, or 1, on each axis; reshape the inputs to match.")

    supports_masking = True

    def build(self, input_shape):
        self._check_shapes(input_shape)

    def compute_mask(self, inputs, mask=None):
        """The inputs' masks combined by OR (None if any input has none), as Keras's merges."""
        masks = _mask_list(self, inputs, mask)
        if masks is None or any(m is None for m in masks):
            return None
        return functools.reduce(jnp.logical_or, masks)

    def call(self, inputs):
        self._check_shapes(_shapes_of(inputs))
        rank = max(x.ndim for x in inputs)
        aligned = [jnp.reshape(x, x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in inputs]
        return self._merge(aligned)

    def _merge(self, inputs):
        raise NotImplementedError


def _mask_list(layer, inputs, mask):
    """``mask`` as a list of one mask (or None) per input, or None when there is no mask at all."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' takes one mask per input, as a list of "
                         f"{len(inputs) if isinstance(inputs, (list, tuple)) else 'its'} masks; got {mask!r}.")
    return list(mask)


def _reduce(op, inputs):
    return functools.reduce(op, inputs)


@register_layer
class Add(_Merge):
    """Adds a list of inputs elementwise.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Add()([np.ones((2, 3), "float32"), np.ones((2, 3), "float32")]).tolist()[0]
    [2.0, 2.0, 2.0]
    """

    def _merge(self, inputs):
        return _reduce(jnp.add, inputs)


@register_layer
class Subtract(_Merge):
    """Subtracts the second of two inputs from the first.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Subtract()([np.ones((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[0.0, 0.0]]
    """

    _min_inputs = 2
    _max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


@register_layer
class Multiply(_Merge):
    """Multiplies a list of inputs elementwise.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Multiply()([np.full((1, 2), 2.0, "float32"), np.full((1, 2), 3.0, "float32")]).tolist()
    [[6.0, 6.0]]
    """

    def _merge(self, inputs):
        return _reduce(jnp.multiply, inputs)


@register_layer
class Average(_Merge):
    """Averages a list of inputs elementwise.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Average()([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[0.5, 0.5]]
    """

    def _merge(self, inputs):
        return _reduce(jnp.add, inputs) / len(inputs)


@register_layer
class Maximum(_Merge):
    """The elementwise maximum of a list of inputs.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Maximum()([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[1.0, 1.0]]
    """

    def _merge(self, inputs):
        return _reduce(jnp.maximum, inputs)


@register_layer
class Minimum(_Merge):
    """The elementwise minimum of a list of inputs.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Minimum()([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[0.0, 0.0]]
    """

    def _merge(self, inputs):
        return _reduce(jnp.minimum, inputs)


@register_layer
class Concatenate(Layer):
    """Concatenates a list of inputs along ``axis``.

    Args:
      axis: the axis to concatenate along (the last by default); every other axis
        must have the same size in all inputs.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Concatenate()([np.ones((2, 3), "float32"), np.ones((2, 5), "float32")]).shape
    (2, 8)
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes) -> None:
        if (not isinstance(shapes, (list, tuple)) or len(shapes) < 1
                or not all(isinstance(s, (list, tuple)) for s in shapes)):
            raise ValueError(f"Concatenate layer '{self.name}' takes a list of inputs, e.g. "
                             f"Concatenate()([x1, x2]); got inputs of shape {shapes}.")
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise ValueError(f"Concatenate layer '{self.name}' needs inputs of the same rank, got shapes "
                             f"{_describe(shapes)}.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"Concatenate layer '{self.name}' has axis={self.axis}, out of range for inputs "
                             f"of shapes {_describe(shapes)}.")
        axis = self.axis % rank
        for dim in range(rank):
            sizes = {s[dim] for s in shapes} - {None}
            if dim != axis and len(sizes) > 1:
                raise ValueError(f"Concatenate layer '{self.name}' got inputs of shapes {_describe(shapes)}, "
                                 f"which differ on axis {dim} (sizes {sorted(sizes)}); all axes but the "
                                 f"concatenation axis {axis} must match.")

    supports_masking = True

    def build(self, input_shape):
        self._check_shapes(input_shape)

    def compute_mask(self, inputs, mask=None):
        """The inputs' masks concatenated along ``axis`` (an unmasked input counts as all True),
        reduced over the last axis, as Keras's ``Concatenate``."""
        masks = _mask_list(self, inputs, mask)
        if masks is None or all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                full.append(jnp.ones(x.shape, bool))
            elif m.ndim < x.ndim:
                full.append(jnp.broadcast_to(jnp.expand_dims(m, -1), x.shape))
            else:
                full.append(m)
        return jnp.any(jnp.concatenate(full, axis=self.axis), axis=-1)

    def call(self, inputs):
        self._check_shapes(_shapes_of(inputs))
        return jnp.concatenate(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register_layer
class Dot(Layer):
    """The dot product of two inputs along ``axes``, sample by sample (Keras's ``Dot``, ``batch_dot``).

    For ``(batch, n)`` inputs the result is ``(batch, 1)``; for ``(batch, n, d)`` and
    ``(batch, m, d)`` with ``axes=2`` it is ``(batch, n, m)``: the contracted axes go, the
    others of the first input then of the second remain.

    Args:
      axes: The axis to contract in both inputs, or ``(axis_of_first, axis_of_second)``;
        never the batch axis 0. Negative values count from the end.
      normalize: Whether to L2-normalize both inputs along the contracted axes first (the
        result is then the cosine similarity).

    >>> import highlevel as hl, numpy as np
    >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[3.0, 4.0]], "float32")
    >>> hl.layers.Dot(axes=1)([a, b]).tolist()
    [[11.0]]
    """

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Dot layer: axes must be an int or two ints, got axes={axes!r}.")
            axes = tuple(int(a) for a in axes)
        elif not isinstance(axes, int):
            raise TypeError(f"Dot layer: axes must be an int or a pair of ints, got {type(axes).__name__}.")
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolved(self, shapes) -> tuple[int, int]:
        if not isinstance(shapes, (list, tuple)) or len(shapes) != 2 or not all(isinstance(s, (list, tuple))
                                                                                for s in shapes):
            raise ValueError(f"Dot layer '{self.name}' takes a list of exactly 2 inputs, e.g. Dot(axes=1)([x1, x2]); "
                             f"got inputs of shape {shapes}.")
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        axes = tuple(a % len(s) for a, s in zip(pair, shapes))
        if 0 in axes:
            raise ValueError(f"Dot layer '{self.name}' cannot contract the batch axis 0 (axes={self.axes}); choose "
                             "an axis of the samples.")
        d1, d2 = shapes[0][axes[0]], shapes[1][axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Dot layer '{self.name}' got inputs of shapes {_describe(shapes)} whose contracted axes "
                             f"{axes} have sizes {d1} and {d2}; they must be equal.")
        return axes

    def build(self, input_shape):
        self._resolved(input_shape)

    def call(self, inputs):
        x1, x2 = inputs
        a1, a2 = self._resolved(_shapes_of(inputs))
        if self.normalize:
            x1, x2 = _ops.normalize(x1, axis=a1), _ops.normalize(x2, axis=a2)
        out = jax.vmap(lambda u, v: jnp.tensordot(u, v, axes=(a1 - 1, a2 - 1)))(x1, x2)
        return out[:, None] if out.ndim == 1 else out

    def get_config(self):
        axes = list(self.axes) if isinstance(self.axes, tuple) else self.axes
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """``Add()(inputs)``: the elementwise sum of a list of inputs (Keras's functional form).

    Args:
        inputs: A list of tensors (symbolic ``hl.Input`` tensors or arrays).
        **kwargs: ``Add``'s arguments (``name``...).

    >>> import highlevel as hl
    >>> x1, x2 = hl.Input((3,)), hl.Input((3,))
    >>> hl.layers.add([x1, x2]).shape
    (None, 3)
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract()(inputs)``: the first of two inputs minus the second.

    Args:
        inputs: A list of two tensors.
        **kwargs: ``Subtract``'s arguments.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.subtract([np.ones((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[0.0, 0.0]]
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply()(inputs)``: the elementwise product of a list of inputs.

    Args:
        inputs: A list of tensors.
        **kwargs: ``Multiply``'s arguments.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.multiply([np.full((1, 2), 2.0, "float32"), np.full((1, 2), 3.0, "float32")]).tolist()
    [[6.0, 6.0]]
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average()(inputs)``: the elementwise mean of a list of inputs.

    Args:
        inputs: A list of tensors.
        **kwargs: ``Average``'s arguments.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.average([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[0.5, 0.5]]
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum()(inputs)``: the elementwise maximum of a list of inputs.

    Args:
        inputs: A list of tensors.
        **kwargs: ``Maximum``'s arguments.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.maximum([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[1.0, 1.0]]
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum()(inputs)``: the elementwise minimum of a list of inputs.

    Args:
        inputs: A list of tensors.
        **kwargs: ``Minimum``'s arguments.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.minimum([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]).tolist()
    [[0.0, 0.0]]
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs):
    """``Concatenate(axis)(inputs)``: a list of inputs joined along ``axis``.

    Args:
        inputs: A list of tensors.
        axis: The axis to join along.
        **kwargs: ``Concatenate``'s other arguments.

    >>> import highlevel as hl
    >>> hl.layers.concatenate([hl.Input((3,)), hl.Input((5,))]).shape
    (None, 8)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """``Dot(axes)(inputs)``: the dot product of two inputs along ``axes``, sample by sample.

    Args:
        inputs: A list of two tensors.
        axes: The axis (or pair of axes) to contract.
        **kwargs: ``Dot``'s other arguments (``normalize``, ``name``).

    >>> import highlevel as hl
    >>> hl.layers.dot([hl.Input((4, 3)), hl.Input((5, 3))], axes=2).shape
    (None, 4, 5)
    """
    return Dot(axes=axes, **kwargs)(inputs)
