"""Recurrent layers: SimpleRNN, LSTM, GRU and the Bidirectional wrapper.

Each layer runs its cell over time with one ``jax.lax.scan``. Weights, gate
order and outputs are Keras's, so ``set_weights(keras_layer.get_weights())``
gives the same results: ``kernel (features, k*units)``, ``recurrent_kernel
(units, k*units)``, ``bias`` with gates ``i, f, c, o`` (LSTM) and ``z, r, h``
(GRU).

Initial states go in ``initial_state=[h, c]`` as in Keras, or after the
sequence in a list, ``layer([x, h, c])``; both also work on symbolic inputs.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import (Layer, TensorSpec, _format_shape, deserialize_layer,
                                   next_rng_key, register_layer, serialize_layer)

__all__ = ["SimpleRNN", "LSTM", "GRU", "Bidirectional"]


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


def _as_float(value) -> float:
    # The shortest decimal that round-trips the float32 value: 0.2, not 0.20000000298.
    return float(str(np.float32(value)))


def _gate_matmul(parts: list, kernel, gates: int):
    """``x @ kernel`` where ``parts`` holds the input seen by each gate's block of columns.

    Without per-gate dropout every part is the same array and one matmul does it.
    """
    if all(p is parts[0] for p in parts):
        return jnp.matmul(parts[0], kernel)
    blocks = jnp.split(kernel, gates, axis=1)
    return jnp.concatenate([jnp.matmul(p, w) for p, w in zip(parts, blocks)], axis=-1)


def _apply_masks(value, masks, gates: int) -> list:
    if not masks:
        return [value] * gates
    if len(masks) == 1:
        return [value * masks[0]] * gates
    return [value * m for m in masks]


class _RNN(Layer):
    """Shared time loop of the recurrent layers (abstract: subclasses define the cell)."""

    _gates = 1
    _state_names: tuple[str, ...] = ("h",)

    def __init__(self, units: int, activation: Any, use_bias: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                 recurrent_regularizer: Any, bias_regularizer: Any, dropout: float,
                 recurrent_dropout: float, return_sequences: bool, return_state: bool,
                 go_backwards: bool, unroll: bool | int, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{kind} units must be a positive integer, got {units!r}.")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"{kind} {arg} must be a float in [0, 1), got {rate!r}.")
        if not isinstance(unroll, (bool, int, np.integer)) or (not isinstance(unroll, bool) and unroll < 1):
            raise ValueError(f"{kind} unroll must be a bool or a positive number of steps, got {unroll!r}.")
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.unroll = unroll if isinstance(unroll, bool) else int(unroll)
        # Rates are arrays in the train state (a callback may change them without
        # recompiling); whether dropout runs at all is fixed at construction.
        self._has_dropout = float(dropout) > 0.0
        self._has_recurrent_dropout = float(recurrent_dropout) > 0.0
        if self._has_dropout:
            self.add_hyperparameter("dropout_rate", float(dropout))
        if self._has_recurrent_dropout:
            self.add_hyperparameter("recurrent_dropout_rate", float(recurrent_dropout))

    @property
    def dropout(self) -> float:
        return _as_float(self.dropout_rate[...]) if self._has_dropout else 0.0

    @property
    def recurrent_dropout(self) -> float:
        return _as_float(self.recurrent_dropout_rate[...]) if self._has_recurrent_dropout else 0.0

    # -- building ---------------------------------------------------------

    def _sequence_shape(self, input_shape) -> tuple:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if not isinstance(shape, tuple) or len(shape) != 3:
            got = _format_shape(shape) if isinstance(shape, tuple) else repr(shape)
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects inputs of shape "
                f"(batch, timesteps, features), got shape {got}. "
                "Add a time axis, e.g. x[:, None, :] for sequences of one step.")
        if shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' needs a known number of "
                             f"features (last axis), got shape {_format_shape(shape)}.")
        return shape

    def build(self, input_shape):
        features = self._sequence_shape(input_shape)[-1]
        k = self._gates
        self.add_weight("kernel", (features, k * self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer)
        self.add_weight("recurrent_kernel", (self.units, k * self.units), self.recurrent_initializer,
                        regularizer=self.recurrent_regularizer)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self._bias_init(),
                            regularizer=self.bias_regularizer)

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _check_input_shape(self, inputs) -> None:
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        shape = tuple(x.shape)
        self._sequence_shape(shape)
        features = self.kernel.shape[0]
        if shape[-1] != features:
            raise ValueError(
                f"Input of shape {_format_shape(shape)} does not match layer '{self.name}' "
                f"({type(self).__name__}), which was built for inputs of shape "
                f"(None, None, {features}). Pass data of the built shape, "
                "or build a new model for the new shape.")

    # -- calling ----------------------------------------------------------

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        return super().__call__(_with_states(self, inputs, initial_state), *args, **kwargs)

    def _split_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            return inputs, None
        x, states = inputs[0], list(inputs[1:])
        if not states:
            return x, None
        n = len(self._state_names)
        kind = type(self).__name__
        if len(states) != n:
            raise ValueError(f"{kind} layer '{self.name}' takes {n} initial state(s) "
                             f"[{', '.join(self._state_names)}], got {len(states)}.")
        expected = (x.shape[0], self.units)
        for name, s in zip(self._state_names, states):
            if tuple(s.shape) != expected:
                raise ValueError(f"{kind} layer '{self.name}': initial state {name} must have shape "
                                 f"{_format_shape(expected)} (batch, units), got {_format_shape(s.shape)}.")
        return x, [jnp.asarray(s, x.dtype) for s in states]

    def _dropout_masks(self, rate_var, shape, count, dtype) -> list:
        keep = 1.0 - rate_var[...]
        key = next_rng_key()
        out = []
        for k in jax.random.split(key, count):
            kept = jax.random.bernoulli(k, keep, shape)
            out.append(jnp.where(kept, 1.0 / jnp.maximum(keep, 1e-12), 0.0).astype(dtype))
        return out

    def call(self, inputs, training: bool = False):
        x, states = self._split_inputs(inputs)
        batch = x.shape[0]
        if states is None:
            states = [jnp.zeros((batch, self.units), x.dtype) for _ in self._state_names]
        # As Keras: one mask per sequence (the same at every step); one per gate
        # when recurrent dropout is on (Keras's implementation 1).
        per_gate = self._gates if self._has_recurrent_dropout else 1
        x_masks, h_masks = [], []
        if training and self._has_dropout:
            x_masks = self._dropout_masks(self.dropout_rate, (batch, x.shape[-1]), per_gate, x.dtype)
        if training and self._has_recurrent_dropout:
            h_masks = self._dropout_masks(self.recurrent_dropout_rate, (batch, self.units),
                                          per_gate, x.dtype)
        weights = {name: getattr(self, name)[...] for name in self._weight_names}
        output, final = _time_loop(self._spec(), weights, tuple(states), x, x_masks, h_masks)
        return [output, *final] if self.return_state else output

    def _spec(self) -> "_Spec":
        return _Spec(type(self)._cell, self._gates, self.units, self.activation,
                     getattr(self, "recurrent_activation", None), self.use_bias,
                     getattr(self, "reset_after", False), self.go_backwards, self.return_sequences,
                     self.unroll)

    @staticmethod
    def _cell(s: "_Spec", w: dict, carry: tuple, x_parts: list, h_masks: list) -> tuple:
        """One step: the new states (output first) from the weights, states and step input."""
        raise NotImplementedError

    def compute_output_spec(self, input_shape, input_dtype=None, **call_kwargs):
        return _unknown_time(super().compute_output_spec(input_shape, input_dtype, **call_kwargs),
                             input_shape)

    # -- config -----------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "recurrent_initializer": _ser_init(self.recurrent_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": _regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "unroll": self.unroll}


class _Spec(NamedTuple):
    """What a layer's time loop depends on besides arrays: the compiled loop's static key."""

    cell: Callable
    gates: int
    units: int
    activation: Callable
    recurrent_activation: Callable | None
    use_bias: bool
    reset_after: bool
    go_backwards: bool
    return_sequences: bool
    unroll: bool | int


@functools.partial(jax.jit, static_argnums=0)
def _time_loop(spec: _Spec, weights: dict, states: tuple, x, x_masks: list, h_masks: list):
    """Runs the cell over the time axis of ``x``: ``(output, final_states)``.

    Jitted so that eager calls compile once per shape (an eager ``lax.scan``
    compiles on every call); inside an outer ``jit`` it is simply inlined.
    """
    def step(carry, x_t):
        new = spec.cell(spec, weights, carry, _apply_masks(x_t, x_masks, spec.gates), h_masks)
        return new, (new[0] if spec.return_sequences else None)

    xs = jnp.swapaxes(x, 0, 1)
    if spec.go_backwards:
        xs = jnp.flip(xs, axis=0)
    final, ys = jax.lax.scan(step, states, xs, unroll=spec.unroll)
    # With go_backwards the sequence stays in processing order, as in Keras.
    output = jnp.swapaxes(ys, 0, 1) if spec.return_sequences else final[0]
    return output, final


def _with_states(layer: Layer, inputs, initial_state):
    """Folds ``initial_state`` into the list form ``[x, *states]`` (which symbolic graphs record)."""
    if initial_state is None:
        return inputs
    if isinstance(inputs, (list, tuple)):
        raise ValueError(f"Layer '{layer.name}' got initial states twice: pass them either as "
                         "initial_state=[...] or after the sequence in the input list, not both.")
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    return [inputs, *states]


def _unknown_time(specs, input_shape):
    """Marks the time axis of sequence outputs unknown again when the input's was.

    The base traces unknown dimensions with a placeholder size and restores only the batch.
    """
    seq = input_shape[0] if isinstance(input_shape, list) else input_shape
    if not (isinstance(seq, tuple) and len(seq) == 3 and seq[1] is None):
        return specs

    def fix(spec):
        if len(spec.shape) == 3:
            return TensorSpec((spec.shape[0], None, spec.shape[2]), spec.dtype)
        return spec
    return jax.tree_util.tree_map(fix, specs, is_leaf=lambda s: isinstance(s, TensorSpec))


def _row(v):
    return v[None, :]


@register_layer
class SimpleRNN(_RNN):
    """A fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Args:
      units: the size of the state and output.
      activation: the activation (``"tanh"``).
      use_bias: whether to add a bias.
      kernel_initializer, recurrent_initializer, bias_initializer: initializers (Keras names).
      kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
      dropout: the fraction of input features dropped in training (one mask per sequence).
      recurrent_dropout: the fraction of the previous state dropped in training.
      return_sequences: return the output of every step, not just the last.
      return_state: also return the final state: ``[output, h]``.
      go_backwards: process the sequence in reverse (outputs stay in processing order).
      unroll: unroll the time loop (True) or unroll it this many steps at a time (int).

    Input shape ``(batch, timesteps, features)``; output ``(batch, units)``, or
    ``(batch, timesteps, units)`` with ``return_sequences``. Weights (Keras order):
    ``kernel (features, units)``, ``recurrent_kernel (units, units)``, ``bias (units,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.SimpleRNN(4)(np.ones((2, 5, 3), "float32")).shape
    (2, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, unroll: bool | int = False,
                 **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         unroll, **kwargs)

    @staticmethod
    def _cell(s, w, carry, x_parts, h_masks):
        (h,) = carry
        z = jnp.matmul(x_parts[0], w["kernel"])
        if s.use_bias:
            z = z + _row(w["bias"])
        h_in = _apply_masks(h, h_masks, 1)[0]
        return (s.activation(z + jnp.matmul(h_in, w["recurrent_kernel"])),)


@register_layer
class LSTM(_RNN):
    """Long short-term memory (Hochreiter and Schmidhuber, 1997), as ``keras.layers.LSTM``.

    Args:
      units: the size of the states and output.
      activation: the cell and output activation (``"tanh"``).
      recurrent_activation: the gates' activation (``"sigmoid"``).
      use_bias: whether to add a bias.
      kernel_initializer, recurrent_initializer, bias_initializer: initializers (Keras names).
      unit_forget_bias: add 1 to the forget gate's initial bias.
      kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
      dropout: the fraction of input features dropped in training (one mask per sequence).
      recurrent_dropout: the fraction of the previous output dropped in training.
      return_sequences: return the output of every step, not just the last.
      return_state: also return the final states: ``[output, h, c]``.
      go_backwards: process the sequence in reverse (outputs stay in processing order).
      unroll: unroll the time loop (True) or unroll it this many steps at a time (int).

    Input shape ``(batch, timesteps, features)``; output ``(batch, units)``, or
    ``(batch, timesteps, units)`` with ``return_sequences``. Weights (Keras order,
    gates i, f, c, o): ``kernel (features, 4*units)``, ``recurrent_kernel (units,
    4*units)``, ``bias (4*units,)``.

    >>> import highlevel as hl, numpy as np
    >>> out, h, c = hl.layers.LSTM(4, return_state=True)(np.ones((2, 5, 3), "float32"))
    >>> out.shape, c.shape
    ((2, 4), (2, 4))
    """

    _gates = 4
    _state_names = ("h", "c")

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, unroll: bool | int = False,
                 **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         unroll, **kwargs)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = _initializers.get(self.bias_initializer), self.units

        def init(key, shape, dtype=jnp.float32):
            k1, k2 = jax.random.split(key)
            return jnp.concatenate([base(k1, (units,), dtype), jnp.ones((units,), dtype),
                                    base(k2, (2 * units,), dtype)])
        return init

    @staticmethod
    def _cell(s, w, carry, x_parts, h_masks):
        h, c = carry
        z = _gate_matmul(x_parts, w["kernel"], 4)
        z = z + _gate_matmul(_apply_masks(h, h_masks, 4), w["recurrent_kernel"], 4)
        if s.use_bias:
            z = z + _row(w["bias"])
        zi, zf, zc, zo = jnp.split(z, 4, axis=-1)
        act, rec = s.activation, s.recurrent_activation
        c = rec(zf) * c + rec(zi) * act(zc)
        h = rec(zo) * act(c)
        return (h, c)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": _activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


@register_layer
class GRU(_RNN):
    """Gated recurrent unit (Cho et al., 2014), as ``keras.layers.GRU``.

    Args:
      units: the size of the state and output.
      activation: the candidate's activation (``"tanh"``).
      recurrent_activation: the gates' activation (``"sigmoid"``).
      use_bias: whether to add biases.
      kernel_initializer, recurrent_initializer, bias_initializer: initializers (Keras names).
      kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
      dropout: the fraction of input features dropped in training (one mask per sequence).
      recurrent_dropout: the fraction of the previous state dropped in training.
      return_sequences: return the output of every step, not just the last.
      return_state: also return the final state: ``[output, h]``.
      go_backwards: process the sequence in reverse (outputs stay in processing order).
      unroll: unroll the time loop (True) or unroll it this many steps at a time (int).
      reset_after: apply the reset gate after the recurrent matmul (Keras's and cuDNN's
        default), with separate input and recurrent biases.

    Input shape ``(batch, timesteps, features)``; output ``(batch, units)``, or
    ``(batch, timesteps, units)`` with ``return_sequences``. Weights (Keras order,
    gates z, r, h): ``kernel (features, 3*units)``, ``recurrent_kernel (units,
    3*units)``, ``bias (2, 3*units)`` (input and recurrent rows), or ``(3*units,)``
    without ``reset_after``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.GRU(4, return_sequences=True)(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 unroll: bool | int = False, reset_after: bool = True, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         unroll, **kwargs)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    @staticmethod
    def _cell(s, w, carry, x_parts, h_masks):
        (h,) = carry
        u, rk = s.units, w["recurrent_kernel"]
        x_bias = rec_bias = None
        if s.use_bias:
            b = w["bias"]
            x_bias, rec_bias = (b[0:1], b[1:2]) if s.reset_after else (_row(b), None)
        xp = _gate_matmul(x_parts, w["kernel"], 3)
        if x_bias is not None:
            xp = xp + x_bias
        x_z, x_r, x_h = jnp.split(xp, 3, axis=-1)
        h_parts = _apply_masks(h, h_masks, 3)
        rec = s.recurrent_activation
        if s.reset_after:
            hp = _gate_matmul(h_parts, rk, 3)
            if rec_bias is not None:
                hp = hp + rec_bias
            h_z, h_r, h_h = jnp.split(hp, 3, axis=-1)
            z, r = rec(x_z + h_z), rec(x_r + h_r)
            candidate = s.activation(x_h + r * h_h)
        else:
            h_z, h_r = jnp.split(_gate_matmul(h_parts[:2], rk[:, :2 * u], 2), 2, axis=-1)
            z, r = rec(x_z + h_z), rec(x_r + h_r)
            candidate = s.activation(x_h + jnp.matmul(r * h_parts[2], rk[:, 2 * u:]))
        return (z * h + (1.0 - z) * candidate,)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": _activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _renamed_copy(layer: Layer, prefix: str, **changes) -> Layer:
    config = copy.deepcopy(layer.get_config())
    name = layer.name[len(prefix):] if layer.name.startswith(prefix) else layer.name
    config.update(changes, name=prefix + name)
    return type(layer).from_config(config)


@register_layer
class Bidirectional(Layer):
    """Runs a recurrent layer forward and a copy of it backward, and merges their outputs.

    Args:
      layer: a recurrent layer (``SimpleRNN``, ``LSTM``, ``GRU``, or any layer with
        ``go_backwards``, ``return_sequences`` and ``return_state``). It is copied
        through its config, as in Keras: its own weights are not reused.
      merge_mode: how the two outputs combine: ``"concat"`` (default), ``"sum"``,
        ``"mul"``, ``"ave"``, or None for the list ``[forward, backward]``.
      backward_layer: the layer for the backward direction (a copy of ``layer`` with
        ``go_backwards=True`` by default); it must go the other way and agree with
        ``layer`` on ``return_sequences`` and ``return_state``.

    With ``return_sequences`` the backward outputs are flipped back into time order
    before merging. With ``return_state`` the result is Keras's list ``[output,
    *forward_states, *backward_states]``; ``initial_state`` takes the forward states
    then the backward states. Weights: the forward layer's, then the backward layer's.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Bidirectional(hl.layers.LSTM(4))(np.ones((2, 5, 3), "float32")).shape
    (2, 8)
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat",
                 backward_layer: Layer | None = None, **kwargs):
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional merge_mode must be one of 'concat', 'sum', 'mul', 'ave' "
                             f"or None, got {merge_mode!r}.")
        for arg, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is None and arg == "backward_layer":
                continue
            if not isinstance(value, Layer) or not all(
                    hasattr(value, a) for a in ("go_backwards", "return_sequences", "return_state")):
                raise ValueError(f"Bidirectional {arg} must be a recurrent layer such as "
                                 f"hl.layers.LSTM(...), got {value!r}.")
        super().__init__(**kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = _renamed_copy(layer, "forward_")
        if backward_layer is None:
            self.backward_layer = _renamed_copy(layer, "backward_", go_backwards=True)
        else:
            self.backward_layer = backward_layer
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                f"Bidirectional '{self.name}': the forward and backward layers must have different "
                f"go_backwards, got {fwd.go_backwards} for both. Pass a layer with "
                "go_backwards=False (and, if given, a backward_layer with go_backwards=True).")
        for attr in ("return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers must "
                                 f"agree on {attr}, got {getattr(fwd, attr)} (forward) and "
                                 f"{getattr(bwd, attr)} (backward).")

    @property
    def return_sequences(self) -> bool:
        return self.forward_layer.return_sequences

    @property
    def return_state(self) -> bool:
        return self.forward_layer.return_state

    def build(self, input_shape):
        seq_shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        self.forward_layer._maybe_build(seq_shape)
        self.backward_layer._maybe_build(seq_shape)

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        return super().__call__(_with_states(self, inputs, initial_state), *args, **kwargs)

    def call(self, inputs, training: bool = False):
        if isinstance(inputs, (list, tuple)) and len(inputs) > 1:
            x, states = inputs[0], list(inputs[1:])
            if len(states) % 2:
                raise ValueError(f"Bidirectional '{self.name}' takes the forward states then the "
                                 f"backward states (an even number), got {len(states)} initial states.")
            half = len(states) // 2
            y = self.forward_layer([x, *states[:half]], training=training)
            y_rev = self.backward_layer([x, *states[half:]], training=training)
        else:
            x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
            y = self.forward_layer(x, training=training)
            y_rev = self.backward_layer(x, training=training)
        states = []
        if self.return_state:
            states = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            out = [jnp.concatenate([y, y_rev], axis=-1)]
        elif self.merge_mode == "sum":
            out = [y + y_rev]
        elif self.merge_mode == "ave":
            out = [(y + y_rev) / 2]
        elif self.merge_mode == "mul":
            out = [y * y_rev]
        else:
            out = [y, y_rev]
        if not states and len(out) == 1:
            return out[0]
        return out + states

    def compute_output_spec(self, input_shape, input_dtype=None, **call_kwargs):
        return _unknown_time(super().compute_output_spec(input_shape, input_dtype, **call_kwargs),
                             input_shape)

    def get_config(self):
        return {**super().get_config(), "layer": serialize_layer(self.forward_layer),
                "merge_mode": self.merge_mode,
                "backward_layer": serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)
        config["layer"] = deserialize_layer(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"])
        return cls(**config)
