"""JaxLayer: a pure JAX function and its pytree of parameters as a layer (Keras's ``JaxLayer``).

The model a JAX engineer brings is ``call_fn(params, inputs)`` plus either ``init_fn(rng,
inputs)`` or the ``params`` themselves. Each array leaf of ``params`` becomes a trainable
weight of the layer and each array leaf of ``state`` a non-trainable one, so ``fit`` trains
them, ``get_weights``/``save_weights`` hold them, and the pytree is rebuilt from the
weights' current values at every call (inside the compiled step: from the traced values).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import errors as _flax_errors

from highlevel.layers.base import Layer, next_rng_key, register_layer
from highlevel.utils import random as _random
from highlevel.utils.serialization import resolve_serializable, serializable_name

__all__ = ["JaxLayer"]

_CALL_ARGS = ("params", "state", "rng", "inputs", "training")
_INIT_ARGS = ("rng", "inputs", "training")


def _is_shape(value) -> bool:
    return isinstance(value, (tuple, list)) and all(isinstance(d, (int, type(None))) for d in value)


def _is_array(value) -> bool:
    return isinstance(value, (np.ndarray, np.generic, jax.Array))


def _raw_key(key: jax.Array) -> jax.Array:
    # Keras hands call_fn and init_fn raw uint32 keys (its seeds), not typed key arrays.
    return jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key


@register_layer
class JaxLayer(Layer):
    """Wraps a pure JAX function and its parameters as a layer, as ``keras.layers.JaxLayer``.

    ``call_fn`` takes, by these exact names and in any order, ``params`` (the trainable
    pytree), ``state`` (optional: the non-trainable pytree), ``rng`` (optional: a raw
    ``uint32`` key in training, None otherwise), ``inputs`` (required: an array or a pytree
    of arrays) and ``training`` (optional: a Python bool). With ``state`` it returns
    ``(outputs, new_state)``, and the state weights take the new values; without, it returns
    the outputs.

    The parameters come from ``params`` (and ``state``) given here, or, when both are None,
    from ``init_fn(rng, inputs[, training])`` at build time: called with ones of the input
    shape (unknown sizes 1), ``training=True``, and a key from ``hl.utils.set_random_seed``'s
    stream; it returns ``params``, or ``(params, state)`` when ``call_fn`` takes ``state``.

    Every array (or Python number) leaf of ``params`` is a trainable weight and every one of
    ``state`` a non-trainable weight, named ``variable``, ``variable_1``... in the order of
    ``jax.tree_util.tree_leaves`` (Keras's names and order); float leaves take the layer's
    dtype policy. Other leaves (strings, ``None``) stay as they are: configuration for
    ``call_fn``. In training, ``rng`` is drawn from the step's key, so it follows
    ``hl.utils.set_random_seed``; ``seed`` is folded into it.

    Args:
      call_fn: the model's forward function (or the name it was registered under with
        ``hl.utils.register_serializable``).
      init_fn: the function that makes the parameters (or its registered name); None when
        ``params``/``state`` are given.
      params: the trainable parameters, any pytree of arrays.
      state: the non-trainable state, any pytree of arrays.
      seed: an integer folded into the training keys, so that two layers draw differently.
      native_serialization_platforms: accepted for Keras code (used by Keras's TensorFlow
        backend only); no effect.

    A Flax Linen module fits as ``JaxLayer(lambda params, inputs: module.apply(params, inputs),
    lambda rng, inputs: module.init(rng, inputs))`` (its variables dict is the params pytree);
    an ``nnx.Module`` goes in ``FlaxLayer``.

    ``get_config`` names ``call_fn`` and ``init_fn``; ``from_config`` (and ``load_model``)
    finds them only when registered (``@hl.utils.register_serializable()``) and rebuilds the
    parameters with ``init_fn``. A layer made from ``params`` alone has no ``init_fn`` and
    cannot be rebuilt from its config: rebuild it in code and ``load_weights``.

    >>> import highlevel as hl, jax, jax.numpy as jnp, numpy as np
    >>> def init_fn(rng, inputs):
    ...     return {"w": jax.random.normal(rng, (inputs.shape[-1], 2)), "b": jnp.zeros((2,))}
    >>> def call_fn(params, inputs):
    ...     return inputs @ params["w"] + params["b"][None, :]
    >>> layer = hl.layers.JaxLayer(call_fn, init_fn)
    >>> layer(np.ones((4, 3), "float32")).shape
    (4, 2)
    >>> [w.shape for w in layer.get_weights()]    # b, then w: the pytree's leaf order
    [(2,), (3, 2)]
    """

    def __init__(self, call_fn: Callable | str, init_fn: Callable | str | None = None, params: Any = None,
                 state: Any = None, seed: int | None = None, native_serialization_platforms: Any = None,
                 **kwargs):
        super().__init__(**kwargs)
        self._call_fn_arg = call_fn
        self._init_fn_arg = init_fn
        self.call_fn = self._resolve(call_fn, "call_fn")
        self.init_fn = None if init_fn is None else self._resolve(init_fn, "init_fn")
        self.call_fn_arguments = self._validate_signature(self.call_fn, "call_fn", _CALL_ARGS)
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        if self.init_fn is not None:
            self.init_fn_arguments = self._validate_signature(self.init_fn, "init_fn", _INIT_ARGS)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"JaxLayer '{self.name}' seed must be a non-negative integer or None, got {seed!r}.")
        self.seed = None if seed is None else int(seed)
        self.native_serialization_platforms = native_serialization_platforms
        if init_fn is None and params is None and state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            raise ValueError(
                f"JaxLayer '{self.name}': call_fn takes params or state, so pass init_fn (a function "
                "init_fn(rng, inputs) that makes them) or the params (and state) themselves; got none of "
                "the three.")
        self._params_tree = self._state_tree = None
        if params is not None or state is not None:
            self._create_variables(params, state)
            self.built = True

    # -- construction -----------------------------------------------------

    def _resolve(self, fn, what: str) -> Callable:
        if isinstance(fn, str):
            fn = resolve_serializable(fn, f"JaxLayer {what}")
        if not callable(fn):
            raise TypeError(f"JaxLayer '{self.name}' {what} must be a function, got {fn!r}.")
        return fn

    def _validate_signature(self, fn: Callable, what: str, allowed: tuple) -> list[str]:
        try:
            parameters = inspect.signature(fn).parameters
        except (TypeError, ValueError) as err:
            raise ValueError(f"JaxLayer '{self.name}' cannot read the signature of its {what} {fn!r}; wrap "
                             f"it in a Python function taking some of {', '.join(allowed)}.") from err
        names = list(parameters)
        if "inputs" not in names:
            raise ValueError(f"JaxLayer '{self.name}': its {what} must take an argument named 'inputs'; its "
                             f"arguments are ({', '.join(names)}).")
        for name in names:
            if name not in allowed:
                raise ValueError(
                    f"JaxLayer '{self.name}': its {what} takes an unsupported argument {name!r}; the "
                    f"arguments it may take, by name, are {', '.join(allowed)}. Wrap the function in one "
                    "with those names.")
        return names

    def _make_weights(self, values, trainable: bool):
        """Weights for the array leaves of ``values``; returns the tree of their names and other leaves."""
        def make(value):
            if _is_array(value) or isinstance(value, (bool, int, float)):
                # Python ints are int32, as Keras's standardize_dtype makes them.
                array = np.asarray(value, np.int32) if type(value) is int else np.asarray(value)
                floating = np.issubdtype(array.dtype, np.floating)
                dtype = None if floating else array.dtype.name
                var = self.add_weight(shape=array.shape, initializer="zeros", dtype=dtype,
                                      trainable=trainable and floating)
                var.set_value(jax.device_put(array.astype(var.get_value().dtype)))
                return _Slot(self._weight_names[-1])
            return value

        if values is None:
            return None
        return jax.tree_util.tree_map(make, values)

    def _create_variables(self, params, state) -> None:
        self._params_tree = self._make_weights(params, trainable=True)
        self._state_tree = self._make_weights(state, trainable=False)

    def _read(self, tree):
        if tree is None:
            return None
        return jax.tree_util.tree_map(lambda leaf: getattr(self, leaf.name).get_value()
                                      if isinstance(leaf, _Slot) else leaf, tree)

    @property
    def params(self):
        """The trainable parameters: the pytree ``call_fn`` receives, from the weights' current values."""
        return self._read(self._params_tree)

    @property
    def state(self):
        """The non-trainable state: the pytree ``call_fn`` receives, from the weights' current values."""
        return self._read(self._state_tree)

    def build(self, input_shape):
        if self._params_tree is not None or self._state_tree is not None:
            return
        if not (self.call_fn_has_params or self.call_fn_has_state):
            return
        inputs = jax.tree_util.tree_map(lambda shape: jnp.ones(tuple(1 if d is None else d for d in shape)),
                                        input_shape, is_leaf=_is_shape)
        arguments = {"rng": _raw_key(_random.next_key()), "inputs": inputs, "training": True}
        result = self.init_fn(*[arguments[name] for name in self.init_fn_arguments])
        if self.call_fn_has_state:
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise ValueError(f"JaxLayer '{self.name}': call_fn takes state, so init_fn must return "
                                 f"(params, state); it returned {type(result).__name__}.")
            params, state = result
        else:
            params, state = result, None
        self._create_variables(params, state)

    # -- calling ----------------------------------------------------------

    def _check_input_shape(self, inputs) -> None:
        return None  # call_fn checks its own inputs

    def call(self, inputs, training: bool = False):
        arguments = {"params": self.params, "state": self.state, "inputs": inputs, "training": bool(training),
                     "rng": None}
        if "rng" in self.call_fn_arguments and training:
            key = next_rng_key()
            if self.seed is not None:
                key = jax.random.fold_in(key, self.seed)
            arguments["rng"] = _raw_key(key)
        result = self.call_fn(*[arguments[name] for name in self.call_fn_arguments])
        if not self.call_fn_has_state:
            return result
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise ValueError(f"JaxLayer '{self.name}': call_fn takes state, so it must return "
                             f"(outputs, new_state); it returned {type(result).__name__}.")
        outputs, new_state = result
        self._assign_state(new_state)
        return outputs

    def _assign_state(self, new_state) -> None:
        slots, treedef = jax.tree_util.tree_flatten(self._state_tree)
        try:
            values = treedef.flatten_up_to(new_state)
        except (TypeError, ValueError) as err:
            raise ValueError(f"JaxLayer '{self.name}': the state call_fn returned has another structure than "
                             f"the state it was given ({treedef}); return a state of the same structure."
                             ) from err
        for slot, value in zip(slots, values):
            if isinstance(slot, _Slot):
                var = getattr(self, slot.name)
                try:
                    var.set_value(jnp.asarray(value, var.get_value().dtype))
                except _flax_errors.TraceContextError:
                    # An abstract trace of the call on the live module (shape inference, or a user's
                    # own jax.jit without nnx.split): there is no step whose state to update.
                    return

    # -- config -----------------------------------------------------------

    def _fn_config(self, given) -> Any:
        if given is None or isinstance(given, str):
            return given
        name = serializable_name(given)
        if name is not None:
            return name
        return f"{getattr(given, '__module__', '?')}:{getattr(given, '__qualname__', repr(given))}"

    def get_config(self):
        return {**super().get_config(), "call_fn": self._fn_config(self._call_fn_arg),
                "init_fn": self._fn_config(self._init_fn_arg), "seed": self.seed,
                "native_serialization_platforms": self.native_serialization_platforms}


class _Slot:
    """A leaf of the parameter tree held by a weight (its attribute name); not a pytree node."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<weight {self.name}>"
