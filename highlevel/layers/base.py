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
import weakref
from typing import Any, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import mixed_precision as _mixed_precision
from highlevel import regularizers as _regularizers
from highlevel.layers.autocast import AutocastParam
from highlevel.layers.variables import KerasVariable, NonTrainable, Weight, register_owner
from highlevel.layers import remat as _remat
from highlevel.utils import global_state as _global_state
from highlevel.utils import random as _random
from highlevel.utils import serialization as _serialization

__all__ = ["Layer", "Hyperparameter", "NonTrainable", "Weight", "KerasVariable", "call_context",
           "current_context", "next_rng_key", "sample_mask", "register_layer", "get_layer_class",
           "layer_classes", "serialize_layer", "deserialize_layer", "unique_name", "format_shape",
           "to_jsonable_shape", "custom_layer_scope"]


class Hyperparameter(nnx.Variable):
    """A layer hyperparameter held as an array in the train state (never a weight)."""


# ---------------------------------------------------------------------------
# The call context: training flag, random key and sample mask of the current call.


@dataclasses.dataclass
class _CallContext:
    training: bool
    rng: Any = None
    mask: Any = None
    counter: int = 0
    traced: bool = False   # a call under a jax transformation, made without a key
    # (layer, value) of each ``add_loss`` made during the calls inside, activity penalties included.
    losses: list = dataclasses.field(default_factory=list)
    # What the compiled step offers the calls inside (the compiled loss for a model's
    # default ``compute_loss``, ...), by name.
    extras: dict = dataclasses.field(default_factory=dict)

    def activity_loss(self):
        """The sum of the losses the layers added during this call (0.0 for none)."""
        return sum((v for _, v in self.losses), jnp.zeros((), jnp.float32))


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


def _step_key():
    """``next_rng_key()`` inside a keyed (or traced) forward pass, None outside: ``hl.random``'s draws
    with ``seed=None`` or a ``SeedGenerator`` follow the step's key there."""
    ctx = current_context()
    return next_rng_key() if ctx is not None and (ctx.rng is not None or ctx.traced) else None


_random.set_step_key_source(_step_key)


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


def register_layer(cls: type, name: str | None = None) -> type:
    """Registers a Layer subclass under its class name (or ``name``, an alias) so configs can name it."""
    _LAYER_CLASSES[name or cls.__name__] = cls
    return cls


@contextlib.contextmanager
def custom_layer_scope(classes: dict[str, type]) -> Iterator[None]:
    """Inside the block, configs naming these class names get these classes (``custom_objects``).

    Args:
      classes: ``{name: Layer subclass}``.

    >>> import highlevel as hl
    >>> class Twice(hl.layers.Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> with custom_layer_scope({"Twice": Twice}):
    ...     layer = deserialize_layer({"class_name": "Twice", "config": {"name": "t"}})
    >>> type(layer).__name__
    'Twice'
    """
    saved = {name: _LAYER_CLASSES.get(name) for name in classes}
    _LAYER_CLASSES.update(classes)
    try:
        yield
    finally:
        for name, cls in saved.items():
            if cls is None:
                _LAYER_CLASSES.pop(name, None)
            else:
                _LAYER_CLASSES[name] = cls


def layer_classes() -> dict[str, type]:
    """The registered layer classes by name (a copy): what a config may name."""
    return dict(_LAYER_CLASSES)


def get_layer_class(name: str) -> type:
    if name not in _LAYER_CLASSES:
        found = _serialization.lookup_serializable(name)   # registered, or lent by custom_object_scope
        if isinstance(found, type) and issubclass(found, Layer):
            return found
        raise ValueError(f"Unknown layer {name!r}. Known layers: {', '.join(sorted(_LAYER_CLASSES))}. "
                         "Register a custom layer with @hl.saving.register_keras_serializable() (or "
                         "hl.layers.register_layer) before loading, or pass custom_objects={...}.")
    return _LAYER_CLASSES[name]


def serialize_layer(layer: "Layer") -> dict[str, Any]:
    return _serialization.class_config(layer)


def deserialize_layer(config: dict[str, Any]) -> "Layer":
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config', got {config!r}.")
    cls = get_layer_class(config.get("registered_name") or config["class_name"])
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
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        # One input: its shape; several (``build(query_shape, value_shape)``): the first's.
        input_shape = args[0] if args else next(iter(kwargs.values()), None)
        if self.build_input_shape is None and input_shape is not None:
            self.build_input_shape = _as_shape(input_shape)
        return result
    return wrapper


def _positional_names(cls: type, count: int) -> list[str]:
    """The names ``call`` gives its first ``count`` positional arguments (``inputs``, ``value``...)."""
    names = []
    for param in list(inspect.signature(cls.call).parameters.values())[1:]:
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            names.append(param.name)
    return names[:count] + [f"arg_{i}" for i in range(len(names), count)]


def _has_arrays(tree) -> bool:
    return any(hasattr(leaf, "shape") and hasattr(leaf, "dtype") for leaf in jax.tree_util.tree_leaves(tree))


# The losses ``add_loss`` recorded in each layer's last call outside a trace (``layer.losses``).
_EAGER_LOSSES: "weakref.WeakKeyDictionary[Layer, list]" = weakref.WeakKeyDictionary()


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
      dtype: the dtype policy (``hl.mixed_precision.DTypePolicy``, Keras 3's): a dtype such as
        ``"float32"`` for the weights and the computation, or ``"mixed_bfloat16"`` /
        ``"mixed_float16"`` for float32 weights and bfloat16/float16 computation. None: the
        global policy (``hl.mixed_precision.set_global_policy``), float32 unless set.
      input_shape: for the first layer of a ``Sequential``, the input shape without batch.
      input_dim: for a 1-D input, its size: the same as ``input_shape=(input_dim,)``.
      activity_regularizer: a penalty on the layer's output (a regularizer name or object),
        divided by the batch size and added to the loss of the compiled step, as in Keras 3.

    Subclasses implement ``build(input_shape)`` (creating weights with
    ``add_weight``), ``call(inputs, training=...)`` and ``get_config()``; as in Keras 3,
    ``call`` may take several tensors and a ``mask``, ``add_loss`` adds to the loss, and
    ``compute_mask``/``supports_masking`` say how Keras masks pass through.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class Scale(hl.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")
    ...     def call(self, inputs):
    ...         return inputs * self.scale.get_value()[None, :]   # (batch, features) * (1, features)
    >>> layer = Scale(name="scale")
    >>> print(layer(jnp.array([[1.0, 2.0]])))
    [[1. 2.]]
    >>> [w.shape for w in layer.get_weights()]
    [(2,)]
    """

    #: Whether the layer passes on (or makes) a Keras mask: its output mask is
    #: ``compute_mask(inputs, mask)``. True for a subclass that defines ``compute_mask``.
    supports_masking: bool = False

    def __init_subclass__(cls, pytree: bool = False, **kwargs):
        # Layers assign weights lazily and keep Keras-style Python attributes,
        # so they are plain graph nodes rather than flax pytrees.
        super().__init_subclass__(pytree=pytree, **kwargs)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])
        if "compute_mask" in cls.__dict__ and "supports_masking" not in cls.__dict__:
            cls.supports_masking = True   # as Keras: overriding compute_mask means masks are handled

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype: str | None = None,
                 input_shape: Sequence[int] | None = None, input_dim: int | None = None,
                 activity_regularizer: Any = None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments: {', '.join(sorted(kwargs))}.")
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype_policy = _mixed_precision.get(dtype)
        #: The weights' dtype (the policy's variable dtype), as Keras's ``layer.dtype``.
        self.dtype = self._dtype_policy.variable_dtype
        self.built = False
        self._weight_names: list[str] = []
        self._trainable_weight_names: list[str] = []
        self._regularizers: dict[str, Any] = {}
        self._constraints: dict[str, Any] = {}
        self.activity_regularizer = _regularizers.get(activity_regularizer)
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

    def add_weight(self, *args, shape: Sequence[int] | None = None, initializer: Any = None,
                   dtype: str | None = None, trainable: bool = True, regularizer: Any = None,
                   constraint: Any = None, name: str | None = None, autocast: bool = True,
                   aggregation: str | None = "none", overwrite_with_gradient: bool = False) -> Weight:
        """Creates a weight and sets it as the attribute ``name`` (Keras 3's signature).

        Args:
          shape: the weight's shape (``()`` by default); also the first positional argument.
          initializer: an initializer or its name (``"glorot_uniform"`` for floats, ``"zeros"``
            otherwise, by default); also the second positional argument.
          dtype: the weight's dtype (the layer's by default); also the third positional argument.
          trainable: a trainable ``Weight`` (an ``nnx.Param``) or a ``NonTrainable`` one.
          regularizer: a penalty on the weight added to the loss.
          constraint: a function (e.g. ``hl.constraints.NonNeg()``) applied to the weight
            after each optimizer update, inside the compiled step.
          name: the attribute name (``variable``, ``variable_1``... when omitted).
          autocast: under a mixed policy a trainable floating weight reads as the compute dtype
            inside ``call`` unless False (batch-norm's gamma and beta), as Keras's.
          aggregation, overwrite_with_gradient: accepted for Keras code; no effect.

        The older ``add_weight(name, shape, initializer, dtype, trainable, regularizer)``
        (a name first) is accepted too.

        >>> import highlevel as hl
        >>> layer = hl.layers.Layer()
        >>> w = layer.add_weight(shape=(2, 3), initializer="ones", name="w")
        >>> layer.w.shape, w.trainable
        ((2, 3), True)
        """
        if args and isinstance(args[0], str):
            # The older highlevel form: add_weight(name, shape, initializer, dtype, trainable, regularizer).
            legacy = dict(zip(("name", "shape", "initializer", "dtype", "trainable", "regularizer"), args))
            name, shape = legacy["name"], legacy.get("shape", shape)
            initializer = legacy.get("initializer", initializer)
            dtype, trainable = legacy.get("dtype", dtype), legacy.get("trainable", trainable)
            regularizer = legacy.get("regularizer", regularizer)
        elif args:
            if len(args) > 3:
                raise TypeError(f"add_weight() takes at most 3 positional arguments (shape, initializer, "
                                f"dtype), got {len(args)}; pass the others by keyword.")
            if shape is not None:
                raise TypeError("add_weight() got shape both positionally and by keyword; pass it once.")
            shape = args[0]
            initializer = args[1] if len(args) > 1 else initializer
            dtype = args[2] if len(args) > 2 else dtype
        shape = () if shape is None else shape
        if any(d is None for d in tuple(shape)):
            raise ValueError(f"Layer '{self.name}': add_weight needs a fully known shape, got {tuple(shape)}; "
                             "create weights in build(input_shape), where the input's sizes are known.")
        dtype = jnp.dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if jnp.issubdtype(dtype, jnp.floating) else "zeros"
        if name is None:
            name = "variable"
            i = 0
            while name in self._weight_names or hasattr(self, name):
                i += 1
                name = f"variable_{i}"
        init = _initializers.get(initializer)
        value = init(_random.next_key(), tuple(int(d) for d in shape), dtype)
        cast = (autocast and trainable and jnp.issubdtype(value.dtype, jnp.floating)
                and jnp.dtype(self.compute_dtype) != value.dtype)
        var = (AutocastParam if cast else Weight)(value) if trainable else NonTrainable(value)
        setattr(self, name, var)
        if name not in self._weight_names:
            self._weight_names.append(name)
        if trainable and name not in self._trainable_weight_names:
            self._trainable_weight_names.append(name)
        reg = _regularizers.get(regularizer)
        if reg is not None:
            self._regularizers[name] = reg
        con = _constraints.get(constraint)
        if con is not None:
            self._constraints[name] = con
        register_owner(var, self, name, constraint=con, regularizer=reg)
        return var

    def weight_constraints(self) -> dict[str, Any]:
        """This layer's own constrained weights: ``{weight attribute name: constraint}``."""
        return dict(self._constraints)

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
        if _is_symbolic((inputs, args, kwargs)):
            from highlevel.layers.symbolic import call_symbolic
            return call_symbolic(self, inputs, args, kwargs)
        return self._invoke(inputs, args, kwargs, with_mask=False)

    def call_with_mask(self, inputs, *args, mask=None, **kwargs):
        """Calls the layer and returns ``(outputs, output_mask)``: what the functional graph,
        ``Sequential`` and the trainer use to carry Keras masks along with values.

        ``mask`` is the mask of ``inputs`` (a boolean ``(batch, timesteps)`` array, or a list for
        a list of inputs); it is passed to ``call`` when ``call`` takes a ``mask`` argument, and
        the output mask is ``compute_mask(inputs, mask)`` when ``supports_masking`` (else None).

        Args:
          inputs: the input array(s).
          *args: further positional arguments of ``call``.
          mask: the inputs' mask, or None.
          **kwargs: keyword arguments of ``call`` (``training=...``).

        >>> import highlevel as hl, numpy as np
        >>> _, mask = hl.layers.Embedding(5, 2, mask_zero=True).call_with_mask(np.array([[3, 1, 0]]))
        >>> mask.tolist()
        [[True, True, False]]
        """
        if _is_symbolic((inputs, args, kwargs)):
            raise TypeError(f"Layer '{self.name}': call_with_mask takes arrays. On hl.Input tensors call "
                            "the layer itself: the mask travels with the tensor.")
        kwargs["mask"] = mask
        return self._invoke(inputs, args, kwargs, with_mask=True)

    def masked_call(self, inputs, *args, mask=None, **kwargs):
        """``(call(...), output mask)`` for inputs already built for, cast and given ``training``.

        What ``call_with_mask`` runs after its checks; a model overrides it to carry each
        tensor's mask through its layers. ``mask`` goes to ``call`` when ``call`` takes it.

        Args:
          inputs, *args, **kwargs: ``call``'s arguments.
          mask: the mask of ``inputs``, or None.

        >>> import highlevel as hl, numpy as np
        >>> layer = hl.layers.Dense(2)
        >>> _ = layer(np.ones((1, 3, 4), "float32"))
        >>> layer.masked_call(np.ones((1, 3, 4), "float32"), mask=np.array([[True, True, False]]))[1].shape
        (1, 3)
        """
        if "mask" in _call_params(type(self)):
            kwargs["mask"] = mask
        outputs = _remat.rematerialized_call(self, inputs)(inputs, *args, **kwargs)  # self.call, or checkpointed
        return outputs, (self.compute_mask(inputs, mask) if self.supports_masking else None)

    def compute_mask(self, inputs, mask=None):
        """The output mask for ``inputs`` whose mask is ``mask``: ``mask`` itself when the layer
        ``supports_masking``, else None (Keras's default). Override it to make or change masks.

        Args:
          inputs: the layer's input(s).
          mask: their mask (None when there is none).

        >>> import highlevel as hl, numpy as np
        >>> hl.layers.Dense(2).compute_mask(np.ones((1, 3, 4)), np.array([[True, False, True]])).tolist()
        [[True, False, True]]
        """
        return mask if self.supports_masking else None

    def _invoke(self, inputs, args, kwargs, with_mask: bool):
        inputs = jax.tree_util.tree_map(self._cast_input, inputs)
        if args:
            args = jax.tree_util.tree_map(self._cast_input, args)
        if not self.built:
            self.build_for_call(inputs, args, kwargs)
        else:
            self._check_input_shape(inputs)
        params = _call_params(type(self))
        training = kwargs.pop("training", None)
        rng = kwargs.pop("rng", None)
        mask = kwargs.pop("mask", None)
        if mask is None and isinstance(inputs, (list, tuple, dict)):
            mask = jax.tree_util.tree_map(lambda _: None, inputs)  # Keras: one (None) mask per input
        ctx = current_context()
        if training is None:
            training = ctx.training if ctx is not None else False
        if "training" in params:
            kwargs["training"] = training

        def run():
            if with_mask and getattr(self, "remat_mode", None) is not None and not jax.tree_util.tree_leaves(mask):
                # A rematerialised block (a model too) without masks: its whole call under jax.checkpoint.
                call = _remat.rematerialized_call(self, inputs)
                out = self._regularize_activity(self._autocast_call(call, inputs, *args, **kwargs))
                return out, (self.compute_mask(inputs, mask) if self.supports_masking else None)
            if with_mask:
                result = self._autocast_call(self.masked_call, inputs, *args, mask=mask, **kwargs)
                self._regularize_activity(result[0])
                return result
            if "mask" in params:
                kwargs["mask"] = mask
            call = _remat.rematerialized_call(self, inputs)  # self.call, or under jax.checkpoint
            return self._regularize_activity(self._autocast_call(call, inputs, *args, **kwargs))

        if ctx is None or rng is not None:
            # An outermost call (or one given its own key): ``rng`` keys the random layers inside
            # (dropout masks); in a trace without one, next_rng_key refuses rather than fix one
            # mask for every call. The context also collects the calls' ``add_loss`` values.
            traced = _is_traced((inputs, args))
            with call_context(training=training, rng=rng) as inner:
                inner.traced = rng is None and traced
                result = run()
            if ctx is not None:
                ctx.losses.extend(inner.losses)
            elif not traced and (inner.losses or len(_EAGER_LOSSES)):
                self._keep_eager_losses(inner.losses)
            return result
        if training != ctx.training:
            # An explicit training flag (``base(x, training=False)``) holds for the layers inside.
            outer, ctx.training = ctx.training, training
            try:
                return run()
            finally:
                ctx.training = outer
        return run()

    def build_for_call(self, inputs, args=(), kwargs=None) -> None:
        """Builds the layer for a call on ``inputs`` (and further tensor arguments), as Keras does:
        ``build(input_shape)`` for one input, ``build(query_shape=..., value_shape=...)`` when
        ``call`` takes several tensors and ``build`` names their shapes.

        Args:
          inputs: the first argument of ``call`` (arrays, KerasTensors or shapes' holders).
          args: further positional arguments of ``call``.
          kwargs: keyword arguments of ``call``.

        >>> import highlevel as hl, numpy as np
        >>> layer = hl.layers.Dense(2)
        >>> layer.build_for_call(np.ones((1, 3)))
        >>> layer.kernel.shape
        (3, 2)
        """
        if self.built:
            return
        shape_of = lambda x: tuple(x.shape) if hasattr(x, "shape") and hasattr(x, "dtype") else x
        shapes = jax.tree_util.tree_map(shape_of, inputs)
        kwargs = kwargs or {}
        tensor_args = {name: value for name, value in zip(_positional_names(type(self), 1 + len(args))[1:], args)
                       if _has_arrays(value)}
        tensor_args.update({k: v for k, v in kwargs.items() if _has_arrays(v) and not k.endswith("mask")})
        if tensor_args and type(self).build is not Layer.build:
            build_params = inspect.signature(self.build).parameters
            first = _positional_names(type(self), 1)[0]
            named = {f"{first}_shape": shapes,
                     **{f"{k}_shape": jax.tree_util.tree_map(shape_of, v) for k, v in tensor_args.items()}}
            wanted = [p for p in build_params.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            if wanted and all(p.name in named or p.default is not p.empty for p in wanted) \
                    and any(p.name in named for p in wanted):
                self.build(**{p.name: named[p.name] for p in wanted if p.name in named})
                self.build_input_shape = shapes
                self.built = True
                return
        self.maybe_build(shapes)

    def _autocast_call(self, call, inputs, *args, **kwargs):
        """``call``, with the weights read in the compute dtype under a mixed policy (Keras's AutocastScope)."""
        current = _mixed_precision.autocast_dtype()
        if not self._dtype_policy.is_mixed and (current is None or current == self.compute_dtype):
            return call(inputs, *args, **kwargs)
        with _mixed_precision.autocast_scope(self.compute_dtype):
            return call(inputs, *args, **kwargs)

    def _regularize_activity(self, outputs):
        if self.activity_regularizer is not None:
            from highlevel.layers.activity import add_activity_loss
            add_activity_loss(self.activity_regularizer, outputs, layer=self)
        return outputs

    def _cast_input(self, x):
        # Float inputs are computed in the layer's compute dtype, as Keras does; integers pass through.
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) and x.dtype != jnp.dtype(self.compute_dtype):
            return jnp.asarray(x, self.compute_dtype)
        return x

    @property
    def dtype_policy(self) -> "_mixed_precision.DTypePolicy":
        """The layer's ``hl.mixed_precision.DTypePolicy`` (set by its ``dtype`` argument)."""
        return self._dtype_policy

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computation and outputs (bfloat16 under ``"mixed_bfloat16"``)."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights (float32 under a mixed policy)."""
        return self._dtype_policy.variable_dtype

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
        than any kernel); output dimensions that change with them are reported as None.
        Sublayers without weights yet are built first by one call on zeros (see
        ``highlevel.layers.specs.eval_output_specs``).
        """
        def is_shape(s):
            return isinstance(s, tuple) and all(isinstance(d, (int, type(None))) for d in s)

        if input_dtype is None:
            input_dtype = jax.tree_util.tree_map(lambda s: jnp.dtype(self.compute_dtype), input_shape,
                                                 is_leaf=is_shape)
        call_kwargs = {**call_kwargs, "training": False}
        shapes, treedef = jax.tree_util.tree_flatten(input_shape, is_leaf=is_shape)
        dtypes = treedef.flatten_up_to(input_dtype)

        def run(*arrays):
            with call_context(training=False):
                return self(jax.tree_util.tree_unflatten(treedef, arrays), **call_kwargs)

        from highlevel.layers.specs import eval_output_specs
        return eval_output_specs(self, run, [TensorSpec(tuple(s), jnp.dtype(d)) for s, d in zip(shapes, dtypes)])

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

    def add_loss(self, loss) -> None:
        """Adds a scalar ``loss`` to the training loss, from inside ``call`` (as Keras's ``add_loss``).

        Inside ``fit``/``evaluate`` the value is collected by the compiled step and added to
        the loss; called outside a trace, ``layer.losses`` holds the values of the last call.

        Args:
          loss: a scalar (or an array, summed) computed from the layer's inputs or weights.

        >>> import highlevel as hl, jax.numpy as jnp
        >>> class Penalized(hl.layers.Layer):
        ...     def call(self, x):
        ...         self.add_loss(0.5 * jnp.sum(x))
        ...         return x
        >>> layer = Penalized()
        >>> _ = layer(jnp.ones((2, 3)))
        >>> [float(v) for v in layer.losses]
        [3.0]
        """
        for value in jax.tree_util.tree_leaves(loss):
            if not hasattr(value, "shape"):
                value = jnp.asarray(value, jnp.float32)
            ctx = current_context()
            if ctx is None:
                # Outside any call (Keras allows it in build): kept until the next call.
                _EAGER_LOSSES.setdefault(self, []).append(jnp.sum(value))
            else:
                ctx.losses.append((self, jnp.sum(value)))

    def _keep_eager_losses(self, collected: list) -> None:
        layers = self.flatten_layers()
        for layer in layers:
            _EAGER_LOSSES.pop(layer, None)
        for layer, value in collected:
            _EAGER_LOSSES.setdefault(layer, []).append(value)

    @property
    def losses(self) -> list:
        """Scalar losses: the ``add_loss`` values of this layer and its sublayers (from the current
        compiled step, else from the last call), then the weights' regularization penalty."""
        layers = self.flatten_layers()
        ctx = current_context()
        if ctx is not None and ctx.losses:
            ids = {id(layer) for layer in layers}
            added = [value for layer, value in ctx.losses if id(layer) in ids]
        else:
            added = [value for layer in layers for value in _EAGER_LOSSES.get(layer, ())]
        if any(l._regularizers for l in layers):
            added.append(self.regularization_loss())
        return added

    # -- the functional graph's view (highlevel/layers/symbolic.py) --------

    @property
    def input(self):
        """The KerasTensor(s) this layer was first called on (Keras's ``layer.input``)."""
        from highlevel.layers.symbolic import node_tensors
        return node_tensors(self, "input")

    @property
    def output(self):
        """The KerasTensor(s) of this layer's first call (Keras's ``layer.output``)."""
        from highlevel.layers.symbolic import node_tensors
        return node_tensors(self, "output")

    @property
    def input_shape(self):
        """The shape of this layer's input in the functional graph (batch None)."""
        from highlevel.layers.symbolic import node_shape
        return node_shape(self, "input")

    @property
    def output_shape(self):
        """The shape of this layer's output in the functional graph (batch None)."""
        from highlevel.layers.symbolic import node_shape
        return node_shape(self, "output")

    # -- config -----------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_policy.name}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _regularizers.serialize(self.activity_regularizer)
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


