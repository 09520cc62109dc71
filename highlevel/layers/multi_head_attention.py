"""Multi-head attention: MultiHeadAttention and GroupedQueryAttention (Keras's arguments and weights).

Both project query, key and value with einsum "dense" sublayers named as Keras names them
(``query``, ``key``, ``value``, ``attention_output``; ``gate`` with ``use_gate``), so
``set_weights(keras_layer.get_weights())`` loads a Keras layer. The attention itself is
``jax.nn.dot_product_attention`` where Keras uses its fused path (no dropout, no returned
scores, one attention axis): on a GPU it picks a fused kernel. Otherwise the scores are
computed explicitly, masked, softmaxed and, in training, dropped out.

Masks combine as in Keras: the query's ``(B, T)`` mask, the value's and key's ``(B, S)``
masks, the causal mask and ``attention_mask`` ``(B, T, S)`` are and-ed. The dropout rate
is a ``Dropout`` sublayer's rate: an array in the train state, changeable without
recompiling (``hl.callbacks.DropoutScheduler`` finds it).
"""

from __future__ import annotations

import math
import string
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.activation import masked_softmax
from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.regularization import Dropout

__all__ = ["MultiHeadAttention", "GroupedQueryAttention", "GroupQueryAttention"]

_MASK_NAMES = ("query_mask", "value_mask", "key_mask", "attention_mask")


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


# -- projections ---------------------------------------------------------------------------


class _Projection(Layer):
    """An einsum "dense" layer: ``activation(einsum(equation, x, kernel) + bias)`` (Keras's EinsumDense)."""

    def __init__(self, equation: str, kernel_shape: tuple, bias_shape: tuple | None, settings: dict,
                 activation: Any = None, **kwargs):
        super().__init__(**kwargs)
        self.equation = equation
        self.kernel_shape = tuple(int(d) for d in kernel_shape)
        self.bias_shape = None if bias_shape is None else tuple(int(d) for d in bias_shape)
        self.activation = _activations.get(activation)
        self.settings = dict(settings)

    def build(self, input_shape):
        s = self.settings
        self.add_weight("kernel", self.kernel_shape, s["kernel_initializer"], regularizer=s["kernel_regularizer"],
                        constraint=s["kernel_constraint"])
        if self.bias_shape is not None:
            self.add_weight("bias", self.bias_shape, s["bias_initializer"], regularizer=s["bias_regularizer"],
                            constraint=s["bias_constraint"])

    def call(self, inputs):
        y = jnp.einsum(self.equation, inputs, self.kernel.get_value())
        if self.bias_shape is not None:
            bias = self.bias.get_value()
            y = y + jnp.reshape(bias, (1,) * (y.ndim - bias.ndim) + bias.shape)
        return self.activation(y)


def _proj_equation(free_dims: int, bound_dims: int, output_dims: int) -> str:
    """Keras's ``_build_proj_equation``: ``input,kernel->output`` letters."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}"


def _attention_equations(rank: int, attn_axes: tuple[int, ...]) -> tuple[str, str, int]:
    """Keras's ``_build_attention_equation``: (dot product, combination, scores rank)."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_dims = tuple(np.delete(range(rank), attn_axes + (rank - 1,)))
    offset, source = rank, ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes]
                      + [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


# -- inputs ----------------------------------------------------------------------------------


def pack_inputs(layer: Layer, query, value, key, extras: dict) -> Any:
    """``query, value[, key]`` and any masks as one input: a list, or a dict when masks are given.

    One input tree is what the functional graph records (every tensor in it, a mask too, is
    a graph input) and what ``build`` receives the shapes of.
    """
    if value is None and isinstance(query, (list, tuple)) and 2 <= len(query) <= 3:
        query, value, key = query[0], query[1], (query[2] if len(query) == 3 else None)
    if isinstance(query, dict):
        return query
    if value is None:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' needs a query and a value: call it as "
                         "layer(query, value) (value is also the key unless key= is given), or on a list "
                         "[query, value] or [query, value, key].")
    given = {k: v for k, v in extras.items() if v is not None}
    if not given:
        return [query, value] if key is None else [query, value, key]
    packed = {"query": query, "value": value}
    if key is not None:
        packed["key"] = key
    packed.update(given)
    return packed


def unpack_inputs(inputs, mask=None) -> dict:
    """``{"query", "value", "key", *masks}`` from a packed input and the graph's ``mask`` list."""
    if isinstance(inputs, dict):
        parts = dict(inputs)
    else:
        parts = {"query": inputs[0], "value": inputs[1]}
        if len(inputs) > 2:
            parts["key"] = inputs[2]
    if isinstance(mask, (list, tuple)):
        for name, m in zip(("query_mask", "value_mask", "key_mask"), mask):
            if m is not None and parts.get(name) is None:
                parts[name] = m
    parts.setdefault("key", parts["value"])
    return parts


def packed_shapes(input_shape) -> tuple:
    """``(query_shape, value_shape, key_shape)`` from the shapes of a packed input."""
    if isinstance(input_shape, dict):
        q, v = tuple(input_shape["query"]), tuple(input_shape["value"])
        k = tuple(input_shape.get("key") or v)
    else:
        q, v = tuple(input_shape[0]), tuple(input_shape[1])
        k = tuple(input_shape[2]) if len(input_shape) > 2 else v
    return q, v, k


def combined_mask(parts: dict, use_causal_mask: bool, sliding_window: int | None, query, value):
    """Keras's ``_compute_attention_mask``: every given mask and-ed, ``(B, T, S)`` (or None)."""
    auto = None

    def both(a, b):
        return b if a is None else a & b

    if parts.get("query_mask") is not None:
        auto = both(auto, jnp.asarray(parts["query_mask"]).astype(bool)[..., None])
    for name in ("value_mask", "key_mask"):
        if parts.get(name) is not None:
            auto = both(auto, jnp.expand_dims(jnp.asarray(parts[name]).astype(bool), -2))
    t, s = query.shape[1], value.shape[1]
    rows, cols = np.arange(t)[:, None], np.arange(s)[None, :]
    if use_causal_mask:
        auto = both(auto, jnp.asarray((rows >= cols)[None]))
    if sliding_window is not None:
        auto = both(auto, jnp.asarray((np.abs(rows - cols) < sliding_window)[None]))
    attention_mask = parts.get("attention_mask")
    if attention_mask is not None:
        attention_mask = jnp.asarray(attention_mask).astype(bool)
    if auto is not None:
        attention_mask = auto if attention_mask is None else attention_mask & auto
    return attention_mask


def _positive_int(layer: str, arg: str, value, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer} `{arg}` must be a positive integer{' or None' if allow_none else ''}, "
                         f"got {value!r}.")
    return int(value)


class _AttentionBase(Layer):
    """Abstract: the arguments, sublayers and call packing MultiHeadAttention and GroupedQueryAttention share."""

    supports_masking = True

    def _init_common(self, dropout, use_bias, sliding_window, kernel_initializer, bias_initializer,
                     kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint, use_gate, seed):
        cls = type(self).__name__
        if not isinstance(dropout, (int, float, np.floating)) or not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{cls} `dropout` must be a float in [0, 1), got {dropout!r}.")
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        self.sliding_window = _positive_int(cls, "sliding_window", sliding_window, allow_none=True)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.seed = seed
        # Whether the scores are dropped out at all is fixed here (it picks the computation);
        # the rate is the Dropout sublayer's array.
        self._has_dropout = float(dropout) > 0.0
        self.dropout_layer = Dropout(float(dropout), seed=seed, name=f"{self.name}_dropout", dtype=self.dtype_policy)
        self.dropout_layer.maybe_build(None)   # no weights; built now, never inside a trace

    @property
    def dropout(self) -> float:
        """The attention scores' dropout rate, as a Python float."""
        return self.dropout_layer.rate

    @dropout.setter
    def dropout(self, value: float) -> None:
        self.dropout_layer.rate = value

    def __call__(self, query, value=None, key=None, *, query_mask=None, value_mask=None, key_mask=None,
                 attention_mask=None, **kwargs):
        extras = {"query_mask": query_mask, "value_mask": value_mask, "key_mask": key_mask,
                  "attention_mask": attention_mask}
        return super().__call__(pack_inputs(self, query, value, key, extras), **kwargs)

    def _projection(self, name: str, equation: str, kernel_shape, bias_shape, activation=None) -> _Projection:
        settings = {arg: getattr(self, arg) for arg in ("kernel_initializer", "bias_initializer",
                                                        "kernel_regularizer", "bias_regularizer",
                                                        "kernel_constraint", "bias_constraint")}
        return _Projection(equation, kernel_shape, bias_shape if self.use_bias else None, settings,
                           activation=activation, name=name, dtype=self.dtype_policy)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """The attention output's shape, with Keras's signature ``(query_shape, value_shape, key_shape=None)``.

        One packed argument (``[query_shape, value_shape(, key_shape)]`` or a dict of them) is taken too.
        The output has the query's shape with the last axis ``output_shape`` (the query's features by
        default).
        """
        if value_shape is None:
            if isinstance(query_shape, dict) or (isinstance(query_shape, (list, tuple)) and query_shape
                                                 and isinstance(query_shape[0], (list, tuple))):
                query_shape, value_shape, key_shape = packed_shapes(query_shape)
            else:
                raise TypeError(f"{type(self).__name__}.compute_output_shape takes (query_shape, value_shape, "
                                f"key_shape=None), got only query_shape={query_shape!r}.")
        shapes = [tuple(query_shape), tuple(value_shape)] + ([] if key_shape is None else [tuple(key_shape)])
        return super().compute_output_shape(shapes)

    def _check_input_shape(self, inputs) -> None:
        q, v, k = packed_shapes(jax.tree_util.tree_map(lambda x: tuple(x.shape), inputs))
        if k[1:-1] != v[1:-1]:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': the value {format_shape(v)} and the key "
                             f"{format_shape(k)} must have the same shape except the last axis.")
        built_q = self._built_shapes[0]
        if q[-1] != built_q[-1] or len(q) != len(built_q):
            raise ValueError(f"Input of shape {format_shape(q)} does not match layer '{self.name}' "
                             f"({type(self).__name__}), which was built for queries of shape "
                             f"{format_shape((None,) + built_q[1:])}.")

    def compute_mask(self, inputs, mask=None):
        """The query's mask (the output has the query's steps)."""
        if isinstance(mask, (list, tuple)):
            return mask[0] if mask else None
        return mask

    def _common_config(self) -> dict:
        return {"dropout": self.dropout, "use_bias": self.use_bias, "use_gate": self.use_gate,
                "sliding_window": self.sliding_window,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint), "seed": self.seed}


_COMMON_ARGS_DOC = """dropout: the dropout rate on the attention probabilities in training (an array in the
        train state: ``layer.dropout = 0.1`` changes it without recompiling; with 0 at
        construction the fused ``jax.nn.dot_product_attention`` runs).
      use_bias: whether the projections have biases.
      sliding_window: if set, each query position attends only to keys within
        ``sliding_window - 1`` positions (with ``use_causal_mask``, a causal window).
      kernel_initializer, bias_initializer: the projections' initializers.
      kernel_regularizer, bias_regularizer: penalties on the projections, added to the loss.
      kernel_constraint, bias_constraint: constraints (``hl.constraints``) on the projections.
      use_gate: gate the attention output with a sigmoid projection of the query (Keras's
        gated attention; adds a ``gate`` projection).
      seed: folded into the step's random key for the dropout."""

_CALL_DOC = """Call it as ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    use_causal_mask=False, training=None)``; ``query_mask``/``value_mask``/``key_mask``
    (``(batch, steps)``) may be given too, or come from the functional graph's masks. Masks
    and-ed with ``attention_mask`` (``(batch, T, S)``, True where a query may attend a key)."""


@register_layer
class MultiHeadAttention(_AttentionBase):
    __doc__ = """Multi-head attention (Vaswani et al., 2017), as ``keras.layers.MultiHeadAttention``.

    Args:
      num_heads: the number of attention heads.
      key_dim: the size of each head for the query and key.
      value_dim: the size of each head for the value (``key_dim`` by default).
      """ + _COMMON_ARGS_DOC + """
      output_shape: the output's trailing shape (the query's last dimension by default).
      attention_axes: the axes attention runs over (all but batch, heads and features by
        default: the sequence axis of ``(batch, T, dim)`` inputs).

    """ + _CALL_DOC + """

    Input shapes ``query (batch, T, dim)``, ``value``/``key`` ``(batch, S, dim_v/dim_k)``;
    output ``(batch, T, dim)`` (or ``output_shape``), plus scores ``(batch, heads, T, S)``
    with ``return_attention_scores``. Weights (Keras order): query ``kernel (dim, heads,
    key_dim)``, ``bias (heads, key_dim)``; key; value; output ``kernel (heads, value_dim,
    dim)``, ``bias (dim,)``.

    >>> import highlevel as hl, numpy as np
    >>> mha = hl.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.ones((3, 5, 8), "float32")
    >>> out, scores = mha(x, x, return_attention_scores=True)
    >>> out.shape, scores.shape
    ((3, 5, 8), (3, 2, 5, 5))
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: int | Sequence[int] | None = None,
                 attention_axes: int | Sequence[int] | None = None, sliding_window: int | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, use_gate: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = _positive_int("MultiHeadAttention", "num_heads", num_heads)
        self.key_dim = _positive_int("MultiHeadAttention", "key_dim", key_dim)
        self.value_dim = _positive_int("MultiHeadAttention", "value_dim", value_dim or key_dim)
        if output_shape is not None and not isinstance(output_shape, (list, tuple)):
            output_shape = (output_shape,)
        self.output_shape_arg = None if not output_shape else tuple(
            _positive_int("MultiHeadAttention", "output_shape", d) for d in output_shape)
        if attention_axes is not None:
            axes = (attention_axes,) if isinstance(attention_axes, (int, np.integer)) else attention_axes
            if not isinstance(axes, (list, tuple)) or not all(isinstance(a, (int, np.integer)) for a in axes):
                raise ValueError(f"MultiHeadAttention `attention_axes` must be an int or a tuple of ints, got "
                                 f"{attention_axes!r}.")
            attention_axes = tuple(int(a) for a in axes)
        self.attention_axes = attention_axes
        self._init_common(dropout, use_bias, sliding_window, kernel_initializer, bias_initializer,
                          kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint, use_gate, seed)
        self._scale = 1.0 / math.sqrt(float(self.key_dim))

    def build(self, input_shape, value_shape=None, key_shape=None):
        if value_shape is not None:   # Keras's form: build(query_shape, value_shape, key_shape)
            q, v = tuple(input_shape), tuple(value_shape)
            k = v if key_shape is None else tuple(key_shape)
        else:
            q, v, k = packed_shapes(input_shape)
        if v[1:-1] != k[1:-1]:
            raise ValueError(f"MultiHeadAttention layer '{self.name}': the value {format_shape(v)} and the key "
                             f"{format_shape(k)} must have the same shape except the last axis.")
        for what, shape in (("query", q), ("value", v), ("key", k)):
            if shape[-1] is None:
                raise ValueError(f"MultiHeadAttention layer '{self.name}' needs a known last dimension of the "
                                 f"{what}, got shape {format_shape(shape)}.")
        self._built_shapes = (q, v, k)
        n, hk, hv = self.num_heads, self.key_dim, self.value_dim
        self.query_dense = self._projection("query", _proj_equation(len(q) - 1, 1, 2), (q[-1], n, hk), (n, hk))
        self.key_dense = self._projection("key", _proj_equation(len(k) - 1, 1, 2), (k[-1], n, hk), (n, hk))
        if self.use_gate:
            self.gate_dense = self._projection("gate", _proj_equation(len(q) - 1, 1, 2), (q[-1], n, hv), (n, hv),
                                               activation="sigmoid")
        self.value_dense = self._projection("value", _proj_equation(len(v) - 1, 1, 2), (v[-1], n, hv), (n, hv))
        out = self.output_shape_arg or (q[-1],)
        self.output_dense = self._projection("attention_output", _proj_equation(len(q) - 1, 2, len(out)),
                                             (n, hv) + tuple(out), tuple(out))
        for layer in self._projections():
            layer.maybe_build(None)
        rank = len(q) + 1
        axes = tuple(range(1, rank - 2)) if self.attention_axes is None else tuple(
            a if a >= 0 else (rank - 1) + a for a in self.attention_axes)
        self._axes = axes
        self._dot_equation, self._combine_equation, scores_rank = _attention_equations(rank, axes)
        self._norm_axes = tuple(range(scores_rank - len(axes), scores_rank))

    def _projections(self) -> list:
        names = ["query_dense", "key_dense"] + (["gate_dense"] if self.use_gate else []) + ["value_dense",
                                                                                            "output_dense"]
        return [getattr(self, n) for n in names]

    def call(self, inputs, mask=None, training: bool = False, return_attention_scores: bool = False,
             use_causal_mask: bool = False):
        parts = unpack_inputs(inputs, mask)
        query, value, key = parts["query"], parts["value"], parts["key"]
        causal_only = (use_causal_mask and self.sliding_window is None
                       and all(parts.get(name) is None for name in _MASK_NAMES))
        attention_mask = None if causal_only else combined_mask(parts, use_causal_mask, self.sliding_window,
                                                                query, value)
        gate = self.gate_dense(query) if self.use_gate else None
        q, k, v = self.query_dense(query), self.key_dense(key), self.value_dense(value)
        # Keras's fused path, where jax's kernel applies (it needs equal key and value head sizes).
        fused = not (self._has_dropout or return_attention_scores or q.ndim != 4 or self.key_dim != self.value_dim)
        if fused:
            while attention_mask is not None and attention_mask.ndim < 4:   # (B, 1, T, S), as Keras
                attention_mask = jnp.expand_dims(attention_mask, -3)
            output = jax.nn.dot_product_attention(q, k, v, mask=attention_mask, scale=self._scale,
                                                  is_causal=causal_only)
            scores = None
        else:
            if causal_only:
                attention_mask = combined_mask(parts, True, None, query, value)
            q = q * jnp.asarray(self._scale, q.dtype)
            scores = jnp.einsum(self._dot_equation, k, q)
            if attention_mask is not None:
                # From the heads axis on: (batch dims, heads, query axes, key axes).
                where = -len(self._axes) * 2 - 1
                for _ in range(scores.ndim - attention_mask.ndim):
                    attention_mask = jnp.expand_dims(attention_mask, where)
            scores = masked_softmax(scores, attention_mask, self._norm_axes)
            dropped = self.dropout_layer(scores, training=training) if self._has_dropout else scores
            output = jnp.einsum(self._combine_equation, dropped, v)
        if gate is not None:
            output = output * gate
        output = self.output_dense(output)
        return (output, scores) if return_attention_scores else output

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "output_shape": self.output_shape_arg,
                "attention_axes": self.attention_axes, **self._common_config()}


@register_layer
class GroupedQueryAttention(_AttentionBase):
    __doc__ = """Grouped-query attention (Ainslie et al., 2023): query heads share fewer key/value heads; also ``GroupQueryAttention``.

    ``num_key_value_heads=1`` is multi-query attention; ``num_key_value_heads ==
    num_query_heads`` is multi-head attention.

    Args:
      head_dim: the size of each head.
      num_query_heads: the number of query heads.
      num_key_value_heads: the number of key and value heads (it must divide ``num_query_heads``).
      """ + _COMMON_ARGS_DOC + """

    """ + _CALL_DOC + """

    Input shapes ``query (batch, T, dim)``, ``value``/``key`` ``(batch, S, dim)``; output
    ``(batch, T, dim)``, plus scores ``(batch, num_query_heads, T, S)`` with
    ``return_attention_scores``. Weights (Keras order): query ``kernel (dim, num_query_heads,
    head_dim)``, ``bias (num_query_heads, head_dim)``; key and value with
    ``num_key_value_heads``; output ``kernel (num_query_heads, head_dim, dim)``, ``bias (dim,)``.

    >>> import highlevel as hl, numpy as np
    >>> gqa = hl.layers.GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
    >>> x = np.ones((3, 5, 8), "float32")
    >>> gqa(x, x, use_causal_mask=True).shape
    (3, 5, 8)
    """

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int, dropout: float = 0.0,
                 use_bias: bool = True, sliding_window: int | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, use_gate: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = "GroupedQueryAttention"
        self.head_dim = _positive_int(cls, "head_dim", head_dim)
        self.num_query_heads = _positive_int(cls, "num_query_heads", num_query_heads)
        self.num_key_value_heads = _positive_int(cls, "num_key_value_heads", num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(f"{cls} `num_query_heads` ({num_query_heads}) must be divisible by "
                             f"`num_key_value_heads` ({num_key_value_heads}).")
        self._init_common(dropout, use_bias, sliding_window, kernel_initializer, bias_initializer,
                          kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint, use_gate, seed)
        self._scale = 1.0 / math.sqrt(float(self.head_dim))

    def build(self, input_shape, value_shape=None, key_shape=None):
        if value_shape is not None:
            q, v = tuple(input_shape), tuple(value_shape)
            k = v if key_shape is None else tuple(key_shape)
        else:
            q, v, k = packed_shapes(input_shape)
        for shape in (q, v, k):
            if len(shape) != 3:
                raise ValueError(f"GroupedQueryAttention layer '{self.name}' expects (batch, steps, features) "
                                 f"inputs, got shape {format_shape(shape)}.")
        if q[-1] != v[-1]:
            raise ValueError(f"GroupedQueryAttention layer '{self.name}': the query {format_shape(q)} and the value "
                             f"{format_shape(v)} must have the same last dimension.")
        self._built_shapes = (q, v, k)
        u, kv, h, m = self.num_query_heads, self.num_key_value_heads, self.head_dim, q[-1]
        self.query_dense = self._projection("query", "bqm,muh->bquh", (m, u, h), (u, h))
        self.key_dense = self._projection("key", "bkm,mvh->bkvh", (k[-1], kv, h), (kv, h))
        if self.use_gate:
            self.gate_dense = self._projection("gate", "bqm,muh->bquh", (m, u, h), (u, h), activation="sigmoid")
        self.value_dense = self._projection("value", "bkm,mvh->bkvh", (v[-1], kv, h), (kv, h))
        self.output_dense = self._projection("attention_output", "bquh,uhm->bqm", (u, h, m), (m,))
        for layer in self._projections():
            layer.maybe_build(None)

    def _projections(self) -> list:
        names = ["query_dense", "key_dense"] + (["gate_dense"] if self.use_gate else []) + ["value_dense",
                                                                                            "output_dense"]
        return [getattr(self, n) for n in names]

    def call(self, inputs, mask=None, training: bool = False, return_attention_scores: bool = False,
             use_causal_mask: bool = False):
        parts = unpack_inputs(inputs, mask)
        query, value, key = parts["query"], parts["value"], parts["key"]
        causal_only = (use_causal_mask and self.sliding_window is None
                       and all(parts.get(name) is None for name in _MASK_NAMES))
        attention_mask = None if causal_only else combined_mask(parts, use_causal_mask, self.sliding_window,
                                                                query, value)
        gate = self.gate_dense(query) if self.use_gate else None
        q, k, v = self.query_dense(query), self.key_dense(key), self.value_dense(value)
        if not (self._has_dropout or return_attention_scores):
            if attention_mask is not None:
                attention_mask = jnp.expand_dims(attention_mask, -3)
            # Fewer key/value heads than query heads: jax's attention groups them itself.
            output = jax.nn.dot_product_attention(q, k, v, mask=attention_mask, scale=self._scale,
                                                  is_causal=causal_only)
            scores = None
        else:
            if causal_only:
                attention_mask = combined_mask(parts, True, None, query, value)
            repeats = self.num_query_heads // self.num_key_value_heads
            k, v = jnp.repeat(k, repeats, axis=2), jnp.repeat(v, repeats, axis=2)
            scores = jnp.einsum("bquh,bkuh->buqk", q * jnp.asarray(self._scale, q.dtype), k)
            if attention_mask is not None:
                attention_mask = jnp.expand_dims(attention_mask, -3)
            scores = masked_softmax(scores, attention_mask, -1)
            dropped = self.dropout_layer(scores, training=training) if self._has_dropout else scores
            output = jnp.einsum("buqk,bkuh->bquh", dropped, v)
        if gate is not None:
            output = output * gate
        output = self.output_dense(output)
        return (output, scores) if return_attention_scores else output

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, **self._common_config()}


#: Keras 3 exports the class under both names (configs may use either).
GroupQueryAttention = register_layer(GroupedQueryAttention, name="GroupQueryAttention")
