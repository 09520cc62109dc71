"""The Layer base class: a ``flax.nnx`` module with Keras-style lazy building.

A layer creates its weights in ``build(input_shape)`` the first time it sees an
input (a symbolic ``Input``, ``model.build(shape)`` or the first batch of ``fit``);
afterwards each weight is an ``nnx.Variable`` attribute (``layer.kernel`` is an
``nnx.Param``), so the whole model splits into pytrees with ``nnx.split``.

Values a callback may change during training (a dropout rate, a batch-norm
momentum) are ``Hyperparameter`` variables: arrays in the train state, read by
the compiled step as inputs, so changing them never recompiles.

Its helpers live beside it in private modules, re-exported here where other modules use
them: the call context, random keys and added losses (``_context.py``), the registry of
layer classes and default names (``_registry.py``), the call path (``_calling.py``),
creating and setting weights (``_weights.py``) and shapes (``_shapes.py``); output specs
are traced in ``specs.py``.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from highlevel import mixed_precision as _mixed_precision
from highlevel import regularizers as _regularizers
from highlevel.layers import _calling, _context, _weights
from highlevel.layers import remat as _remat
from highlevel.layers._calling import _call_params, _is_symbolic, _marks_built
from highlevel.layers._context import call_context, current_context, next_rng_key, sample_mask
from highlevel.layers._registry import (_snake_case, custom_layer_scope, deserialize_layer, get_layer_class,
                                        layer_classes, register_layer, serialize_layer, unique_name)
from highlevel.layers._shapes import format_shape, to_jsonable_shape
from highlevel.layers.variables import KerasVariable, NonTrainable, Weight

# Defined beside this module, imported from here by the layers (and tests) that use them.
from highlevel.layers._context import keep_mask  # noqa: F401
from highlevel.layers._shapes import TensorSpec  # noqa: F401

__all__ = ["Layer", "Hyperparameter", "NonTrainable", "Weight", "KerasVariable", "call_context",
           "current_context", "next_rng_key", "sample_mask", "register_layer", "get_layer_class",
           "layer_classes", "serialize_layer", "deserialize_layer", "unique_name", "format_shape",
           "to_jsonable_shape", "custom_layer_scope"]


class Hyperparameter(nnx.Variable):
    """A layer hyperparameter held as an array in the train state (never a weight)."""


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
    #: What the first input must look like (an ``hl.layers.InputSpec``, or a list, one per input),
    #: checked at every call before building, as Keras's; None: no check.
    input_spec: Any = None

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
        return _weights.add_weight(self, *args, shape=shape, initializer=initializer, dtype=dtype,
                                   trainable=trainable, regularizer=regularizer, constraint=constraint,
                                   name=name, autocast=autocast)

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
        return _calling.invoke(self, inputs, args, kwargs, with_mask=False)

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
        return _calling.invoke(self, inputs, args, kwargs, with_mask=True)

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
        _calling.build_for_call(self, inputs, args, kwargs)

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
        axis = 1 if getattr(self, "data_format", None) == "channels_first" and len(expected) > 2 else -1
        if len(got) != len(expected) or (expected[axis] is not None and got[axis] != expected[axis]):
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
        from highlevel.layers.specs import output_spec
        return output_spec(self, input_shape, input_dtype, **call_kwargs)

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
        return _weights.sublayers(self)

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
        _weights.set_weights(self, weights)

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
        _context.add_loss(self, loss)

    @property
    def losses(self) -> list:
        """Scalar losses: the ``add_loss`` values of this layer and its sublayers (from the current
        compiled step, else from the last call), then the weights' regularization penalties, one per
        regularized weight (as Keras 3)."""
        return _context.losses(self)

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
