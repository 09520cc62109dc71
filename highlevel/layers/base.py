"""The Layer base class: a ``flax.nnx`` module with Keras-style lazy building.

A layer creates its weights in ``build(input_shape)`` the first time it sees an
input (a symbolic ``Input``, ``model.build(shape)`` or the first batch of ``fit``);
afterwards each weight is an ``nnx.Variable`` attribute (``layer.kernel`` is an
``nnx.Param``), so the whole model splits into pytrees with ``nnx.split``.

Values a callback may change during training (a dropout rate, a batch-norm
momentum) are ``Hyperparameter`` variables: arrays in the train state, read by
the compiled step as inputs, so changing them never recompiles.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import inspect
import re
from typing import Any, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers import remat as _remat
from highlevel.utils import global_state as _global_state
from highlevel.utils import random as _random

__all__ = ["Layer", "Hyperparameter", "NonTrainable", "call_context", "current_context",
           "next_rng_key", "sample_mask", "register_layer", "get_layer_class", "layer_classes",
           "serialize_layer", "deserialize_layer", "unique_name", "format_shape", "to_jsonable_shape"]


class Hyperparameter(nnx.Variable):
    """A layer hyperparameter held as an array in the train state (never a weight)."""


class NonTrainable(nnx.BatchStat):
    """A weight that no optimizer updates (moving statistics and the like)."""


# ---------------------------------------------------------------------------
# The call context: training flag, random key and sample mask of the current call.


@dataclasses.dataclass
class _CallContext:
    training: bool
    rng: Any = None
    mask: Any = None
    counter: int = 0
    traced: bool = False   # a call under a jax transformation, made without a key


def _context_stack() -> list[_CallContext]:
    # Per thread (utils/global_state.py): a forward pass traced in one thread never sees
    # another thread's training flag or key.
    return _global_state.global_attribute("call_context_stack", list)


@contextlib.contextmanager
def call_context(*, training: bool, rng=None, mask=None) -> Iterator[_CallContext]:
    """Sets the training flag, the step's random key and the sample mask for the calls inside.

    The trainer wraps each compiled forward pass in one; layers read it with
    ``current_context()``, ``next_rng_key()`` and ``sample_mask()``.
    """
    ctx = _CallContext(training=bool(training), rng=rng, mask=mask)
    stack = _context_stack()
    stack.append(ctx)
    try:
        yield ctx
    finally:
        stack.pop()


def _is_traced(inputs) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(inputs))


def current_context() -> _CallContext | None:
    """The innermost ``call_context`` of this thread, or None outside any."""
    stack = _context_stack()
    return stack[-1] if stack else None


def next_rng_key() -> jax.Array:
    """A fresh key: derived from the step's key inside a compiled step, else from the global seed."""
    ctx = current_context()
    if ctx is not None and ctx.rng is not None:
        key = jax.random.fold_in(ctx.rng, ctx.counter)
        ctx.counter += 1
        return key
    if ctx is not None and ctx.traced:
        # The global generator would hand the trace one fixed key: the same "random" mask at
        # every call of the compiled function.
        raise ValueError("A layer draws random numbers (training=True) inside jax.jit or another jax "
                         "transformation, but the call was given no key, so every call would reuse the "
                         "one drawn while tracing. Pass one: model(x, training=True, rng=key).")
    return _random.next_key()


def keep_mask(key, rate, shape) -> jax.Array:
    """A boolean mask of ``shape``, each entry True with probability ``1 - rate`` (to 1/65536).

    Drawn as 16-bit uniform integers, two from each 32-bit random word: half the threefry
    hashing of ``jax.random.bernoulli`` (one word per entry), which was a fifth of the
    benchmark MLP's training step on a CPU (two 128x512 masks: 1.02 -> 0.54 ms).
    ``rate`` may be traced (a dropout schedule changes it without recompiling); rate 0 keeps
    everything, rate 1 nothing.

    >>> import jax
    >>> m = keep_mask(jax.random.key(0), 0.25, (400, 500))
    >>> m.shape, round(float(m.mean()), 2)
    ((400, 500), 0.75)
    """
    n = int(np.prod(shape, dtype=np.int64))
    words = jax.random.bits(key, ((n + 1) // 2,), jnp.uint32)
    halves = jax.lax.bitcast_convert_type(words, jnp.uint16).reshape(-1)[:n].reshape(shape)
    # Exact in float32 (integers below 2**24): P(u >= 65536 * rate) = 1 - ceil(65536 * rate) / 65536.
    return halves.astype(jnp.float32) >= jnp.asarray(rate, jnp.float32) * 65536.0


def sample_mask():
    """The ``[batch]`` float mask of real (1) and padding (0) rows, or None when all are real."""
    ctx = current_context()
    return None if ctx is None else ctx.mask


# ---------------------------------------------------------------------------
# Registry of layer classes, for get_config/from_config.

_LAYER_CLASSES: dict[str, type] = {}


def register_layer(cls: type) -> type:
    """Registers a Layer subclass under its class name so configs can name it."""
    _LAYER_CLASSES[cls.__name__] = cls
    return cls


def layer_classes() -> dict[str, type]:
    """The registered layer classes by name (a copy): what a config may name."""
    return dict(_LAYER_CLASSES)


def get_layer_class(name: str) -> type:
    if name not in _LAYER_CLASSES:
        raise ValueError(f"Unknown layer {name!r}. Known layers: {', '.join(sorted(_LAYER_CLASSES))}. "
                         "Register a custom layer with hl.layers.register_layer.")
    return _LAYER_CLASSES[name]


def serialize_layer(layer: "Layer") -> dict[str, Any]:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize_layer(config: dict[str, Any]) -> "Layer":
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config', got {config!r}.")
    cls = get_layer_class(config["class_name"])
    return cls.from_config(dict(config.get("config", {})))


def _snake_case(name: str) -> str:
    """Keras's default layer names: ``Conv2D`` -> ``conv2d``, ``SimpleRNN`` -> ``simple_rnn``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix: str) -> str:
    """``prefix``, then ``prefix_1``, ``prefix_2``...: a default name not given before in this
    thread since the last ``hl.utils.clear_session()``."""
    counts = _global_state.global_attribute("layer_name_counts", collections.Counter)
    count = counts[prefix]
    counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def _call_params(cls: type) -> frozenset:
    cache = _global_state.global_attribute("layer_call_params", dict)
    params = cache.get(cls)
    if params is None:
        params = cache[cls] = frozenset(inspect.signature(cls.call).parameters)
    return params


def _is_symbolic(inputs) -> bool:
    from highlevel.layers.symbolic import KerasTensor
    return any(isinstance(leaf, KerasTensor) for leaf in jax.tree_util.tree_leaves(
        inputs, is_leaf=lambda x: isinstance(x, KerasTensor)))


def _marks_built(build):
    """Wraps a subclass's ``build`` so that calling it directly also marks the layer built (as Keras)."""
    @functools.wraps(build)
    def wrapper(self, input_shape=None, *args, **kwargs):
        result = build(self, input_shape, *args, **kwargs)
        self.built = True
        if self.build_input_shape is None and input_shape is not None:
            self.build_input_shape = _as_shape(input_shape)
        return result
    return wrapper


def _as_shape(shape):
    if isinstance(shape, list) and all(isinstance(d, (int, type(None))) for d in shape):
        return tuple(shape)
    return shape


def _shape_of(x) -> tuple:
    return tuple(x.shape)


def format_shape(shape) -> str:
    """A shape as Keras prints it: ``(None, 28, 28, 1)``, ``(3,)``."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"




class Layer(nnx.Module, pytree=False):
    """Base class of all highlevel layers (abstract: subclasses define ``call``).

    Args:
      name: the layer's name, unique in the process by default (``dense``, ``dense_1``...).
      trainable: whether the optimizer updates this layer's weights.
      dtype: the weights' and computation's dtype (float32 by default).
      input_shape: for the first layer of a ``Sequential``, the input shape without batch.
      input_dim: for a 1-D input, its size: the same as ``input_shape=(input_dim,)``.

    Subclasses implement ``build(input_shape)`` (creating weights with
    ``add_weight``), ``call(inputs, training=...)`` and ``get_config()``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class Scale(hl.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.add_weight("scale", (input_shape[-1],), initializer="ones")
    ...     def call(self, inputs):
    ...         return inputs * self.scale.get_value()[None, :]   # (batch, features) * (1, features)
    >>> layer = Scale(name="scale")
    >>> print(layer(jnp.array([[1.0, 2.0]])))
    [[1. 2.]]
    >>> [w.shape for w in layer.get_weights()]
    [(2,)]
    """

    def __init_subclass__(cls, pytree: bool = False, **kwargs):
        # Layers assign weights lazily and keep Keras-style Python attributes,
        # so they are plain graph nodes rather than flax pytrees.
        super().__init_subclass__(pytree=pytree, **kwargs)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype: str | None = None,
                 input_shape: Sequence[int] | None = None, input_dim: int | None = None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments: {', '.join(sorted(kwargs))}.")
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = str(jnp.dtype(dtype or "float32"))
        self.built = False
        self._weight_names: list[str] = []
        self._trainable_weight_names: list[str] = []
        self._regularizers: dict[str, Any] = {}
        self.build_input_shape = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self.input_shape_arg = None if input_shape is None else tuple(input_shape)
        self.inbound_nodes: list = []
        #: Rematerialisation settings (``hl.RematScope`` at creation, or ``hl.remat(layer)``); None: off.
        self.remat_mode = _remat.get_current_remat_mode()

    # -- building ---------------------------------------------------------

    def build(self, input_shape) -> None:
        """Creates the weights for inputs of ``input_shape`` (batch dimension included)."""

    def maybe_build(self, input_shape) -> None:
        if self.built:
            return
        self.build(input_shape)
        self.build_input_shape = input_shape
        self.built = True

    def add_weight(self, name: str, shape: Sequence[int], initializer: Any = "glorot_uniform",
                   dtype: str | None = None, trainable: bool = True, regularizer: Any = None) -> nnx.Variable:
        """Creates a weight as an attribute: an ``nnx.Param`` if trainable, else ``NonTrainable``."""
        init = _initializers.get(initializer)
        value = init(_random.next_key(), tuple(int(d) for d in shape), jnp.dtype(dtype or self.dtype))
        var = nnx.Param(value) if trainable else NonTrainable(value)
        setattr(self, name, var)
        self._weight_names.append(name)
        if trainable:
            self._trainable_weight_names.append(name)
        reg = _regularizers.get(regularizer)
        if reg is not None:
            self._regularizers[name] = reg
        return var

    def add_hyperparameter(self, name: str, value: float) -> Hyperparameter:
        """Holds ``value`` as a float32 array that a callback may change without recompiling."""
        var = Hyperparameter(jax.device_put(np.asarray(value, dtype=np.float32)))  # (jnp.asarray compiles)
        setattr(self, name, var)
        return var

    def _set_hyperparameter(self, name: str, value: float) -> None:
        var = getattr(self, name)
        old = var.get_value()
        # Same dtype, shape and weak type as before, so the compiled step's signature is
        # unchanged; made with NumPy and copied over, so setting it compiles nothing either.
        var.set_value(jax.device_put(np.full(old.shape, value, dtype=old.dtype)))

    # -- calling ----------------------------------------------------------

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def __call__(self, inputs, *args, **kwargs):
        if _is_symbolic(inputs):
            from highlevel.layers.symbolic import call_symbolic
            return call_symbolic(self, inputs, args, kwargs)
        inputs = jax.tree_util.tree_map(self._cast_input, inputs)
        if not self.built:
            self.maybe_build(jax.tree_util.tree_map(_shape_of, inputs))
        else:
            self._check_input_shape(inputs)
        params = _call_params(type(self))
        training = kwargs.pop("training", None)
        rng = kwargs.pop("rng", None)
        ctx = current_context()
        if training is None:
            training = ctx.training if ctx is not None else False
        if "training" in params:
            kwargs["training"] = training
        call = _remat.rematerialized_call(self, inputs)  # self.call, or under jax.checkpoint
        if rng is not None or (ctx is None and training and _is_traced(inputs)):
            # An outermost call: ``rng`` keys the random layers inside (dropout masks), or, in a
            # trace without one, next_rng_key refuses rather than fix one mask for every call.
            with call_context(training=training, rng=rng) as inner:
                inner.traced = rng is None
                return call(inputs, *args, **kwargs)
        return call(inputs, *args, **kwargs)

    def _cast_input(self, x):
        # Float inputs are computed in the layer's dtype, as Keras does; integers pass through.
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) and x.dtype != jnp.dtype(self.dtype):
            return jnp.asarray(x, self.dtype)
        return x

    def _check_input_shape(self, inputs) -> None:
        """Raises a clear error when the input no longer fits the weights built for another shape."""
        expected = self.build_input_shape
        if not self._weight_names or expected is None or not isinstance(expected, tuple):
            return
        if not all(isinstance(d, (int, type(None))) for d in expected):
            return
        got = tuple(getattr(inputs, "shape", ()))
        if len(got) != len(expected) or (expected[-1] is not None and got[-1] != expected[-1]):
            raise ValueError(
                f"Input of shape {format_shape(got)} does not match layer '{self.name}' "
                f"({type(self).__name__}), which was built for inputs of shape "
                f"{format_shape((None,) + tuple(expected[1:]))}. Pass data of the built shape, "
                "or build a new model for the new shape.")

    def compute_output_shape(self, input_shape):
        """Output shape(s) for ``input_shape`` (batch may be None), by tracing ``call``."""
        return jax.tree_util.tree_map(lambda s: s.shape, self.compute_output_spec(input_shape))

    def compute_output_spec(self, input_shape, input_dtype=None, **call_kwargs):
        """Output ``TensorSpec``(s) for inputs of ``input_shape``, by tracing ``call`` (no FLOPs).

        Unknown dimensions (None) are traced twice with different sizes (128 and 193, larger
        than any kernel); output
        dimensions that change with them are reported as None.
        """
        def is_shape(s):
            return isinstance(s, tuple) and all(isinstance(d, (int, type(None))) for d in s)

        if input_dtype is None:
            input_dtype = jax.tree_util.tree_map(lambda s: jnp.dtype(self.dtype), input_shape, is_leaf=is_shape)
        call_kwargs = {**call_kwargs, "training": False}

        def trace(substitute: int):
            specs = jax.tree_util.tree_map(
                lambda s, dt: jax.ShapeDtypeStruct(tuple(substitute if d is None else d for d in s), dt),
                input_shape, input_dtype, is_leaf=is_shape)

            def run(x):
                with call_context(training=False):
                    return self(x, **call_kwargs)

            return jax.eval_shape(run, specs)

        # Larger than any kernel and far apart, so that strided and windowed outputs differ.
        first = trace(128)
        has_unknown = any(d is None for s in jax.tree_util.tree_leaves(input_shape, is_leaf=is_shape)
                          for d in s)
        second = trace(193) if has_unknown else first

        def restore(a, b):
            shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
            return TensorSpec(shape, jnp.dtype(a.dtype))

        return jax.tree_util.tree_map(restore, first, second)

    # -- weights ----------------------------------------------------------

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = value

    def _sublayers(self) -> list["Layer"]:
        """Directly held layers, in attribute order (the order Keras tracks them)."""
        found: list[Layer] = []
        seen: set[int] = set()

        def visit(value):
            if isinstance(value, Layer):
                if id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for item in value.values():
                    visit(item)

        for key, value in vars(self).items():
            if key.startswith("_pytree__") or key == "inbound_nodes":
                continue
            visit(value)
        return found

    def flatten_layers(self, include_self: bool = True) -> list["Layer"]:
        out: list[Layer] = [self] if include_self else []
        seen = {id(self)}
        stack = list(reversed(self._sublayers()))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._sublayers()))
        return out

    def _own_weights(self) -> list[nnx.Variable]:
        trainable = [getattr(self, n) for n in self._weight_names if n in self._trainable_weight_names]
        other = [getattr(self, n) for n in self._weight_names if n not in self._trainable_weight_names]
        return trainable + other

    def _own_named_weights(self) -> list[tuple[str, nnx.Variable]]:
        names = ([n for n in self._weight_names if n in self._trainable_weight_names]
                 + [n for n in self._weight_names if n not in self._trainable_weight_names])
        return [(n, getattr(self, n)) for n in names]

    def named_weights(self) -> list[tuple[str, nnx.Variable]]:
        """(``layer_name/weight_name``, variable) in Keras's ``weights`` order, each once."""
        out, seen = [], set()
        for layer in self.flatten_layers():
            for name, var in layer._own_named_weights():
                if id(var) not in seen:
                    seen.add(id(var))
                    out.append((f"{layer.name}/{name}", var))
        return out

    @property
    def weights(self) -> list[nnx.Variable]:
        return [var for _, var in self.named_weights()]

    @property
    def trainable_weights(self) -> list[nnx.Variable]:
        out, seen = [], set()
        for layer in self.flatten_layers():
            if not layer.trainable:
                continue
            for name in layer._trainable_weight_names:
                var = getattr(layer, name)
                if id(var) not in seen:
                    seen.add(id(var))
                    out.append(var)
        return out

    @property
    def non_trainable_weights(self) -> list[nnx.Variable]:
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    def require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"Layer '{self.name}' has no weights yet, so {what} is not available. "
                             "Build it first: call it on data, pass an hl.Input, or call build(input_shape).")

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in Keras's order and shapes."""
        return [np.asarray(v.get_value()) for v in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the weights from arrays in Keras's order and shapes (checked before anything changes)."""
        self.require_built("set_weights")
        named = self.named_weights()
        weights = list(weights)
        if len(weights) != len(named):
            raise ValueError(f"Layer '{self.name}' expects {len(named)} weight arrays "
                             f"({', '.join(n for n, _ in named)}), got {len(weights)}.")
        for (name, var), w in zip(named, weights):
            if tuple(np.shape(w)) != tuple(var.get_value().shape):
                raise ValueError(f"Weight '{name}' has shape {format_shape(var.get_value().shape)}, "
                                 f"got an array of shape {format_shape(np.shape(w))}.")
        for (_, var), w in zip(named, weights):
            # device_put, not jnp.asarray: that compiles a staging copy for every new shape.
            var.set_value(jax.device_put(np.asarray(w, dtype=var.get_value().dtype)))

    def count_params(self) -> int:
        self.require_built("count_params()")
        return int(sum(int(np.prod(v.get_value().shape)) for v in self.weights))

    def regularization_loss(self):
        """The sum of this layer's and its sublayers' weight penalties."""
        total = jnp.zeros((), jnp.float32)
        for layer in self.flatten_layers():
            for name, reg in layer._regularizers.items():
                total = total + reg(getattr(layer, name).get_value())
        return total

    @property
    def losses(self) -> list:
        return [self.regularization_loss()] if any(l._regularizers for l in self.flatten_layers()) else []

    # -- config -----------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    def get_build_config(self) -> dict[str, Any] | None:
        if self.build_input_shape is None:
            return None
        return {"input_shape": to_jsonable_shape(self.build_input_shape)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """The shape (batch may be None) and dtype of a layer's output."""

    shape: tuple
    dtype: Any


def to_jsonable_shape(shape):
    """A shape (or a list/dict of them) as JSON holds it: tuples become lists."""
    if isinstance(shape, tuple) and all(isinstance(d, (int, type(None))) for d in shape):
        return list(shape)
    if isinstance(shape, (list, tuple)):
        return [to_jsonable_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {k: to_jsonable_shape(v) for k, v in shape.items()}
    return shape


