"""Recurrent layers: SimpleRNN, LSTM and GRU (the cells; the time loop is in ``rnn.py``).

Each layer runs its cell over time with one ``jax.lax.scan``. Weights, gate
order and outputs are Keras's, so ``set_weights(keras_layer.get_weights())``
gives the same results: ``kernel (features, k*units)``, ``recurrent_kernel
(units, k*units)``, ``bias`` with gates ``i, f, c, o`` (LSTM) and ``z, r, h``
(GRU).

Initial states go in ``initial_state=[h, c]`` as in Keras, or after the
sequence in a list, ``layer([x, h, c])``; both also work on symbolic inputs.

``Bidirectional`` lives in ``bidirectional.py``; it is importable from here too.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import initializers as _initializers
from highlevel.utils import random as _random
from highlevel.layers.base import register_layer
from highlevel.layers.bidirectional import Bidirectional  # noqa: F401  (its home before the split)
from highlevel.layers.rnn import _apply_masks, _RNN

__all__ = ["SimpleRNN", "LSTM", "GRU"]


def _gate_matmul(parts: list, kernel, gates: int):
    """``x @ kernel`` where ``parts`` holds the input seen by each gate's block of columns.

    Without per-gate dropout every part is the same array and one matmul does it.
    """
    if all(p is parts[0] for p in parts):
        return jnp.matmul(parts[0], kernel)
    blocks = jnp.split(kernel, gates, axis=1)
    return jnp.concatenate([jnp.matmul(p, w) for p, w in zip(parts, blocks)], axis=-1)


def _row(v):
    return v[None, :]


def forget_bias_initializer(bias_initializer, units: int):
    """LSTM's ``unit_forget_bias``: ``bias_initializer`` for gates i, c, o and ones for the forget gate."""
    base = _initializers.get(bias_initializer)

    def init(key, shape, dtype=jnp.float32):
        k1, k2 = _random.split_key(key)
        first, rest = base(k1, (units,), dtype), base(k2, (2 * units,), dtype)
        if isinstance(key, jax.core.Tracer):
            return jnp.concatenate([first, jnp.ones((units,), dtype), rest])
        # Joined on the host: eager ones and concatenate would compile once per size.
        ones = np.ones((units,), np.asarray(first).dtype)
        return jax.device_put(np.concatenate([np.asarray(first), ones, np.asarray(rest)]))
    return init


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
      kernel_constraint, recurrent_constraint, bias_constraint: constraints (``hl.constraints``)
        applied to the weights after each optimizer update.
      stateful: carry the final states of each batch into the next (sample ``i`` continues
        sample ``i``); the batch size must be fixed. ``layer.states`` reads them,
        ``layer.reset_states()`` zeros them.
      seed: folded into the step's random key for the dropout masks (see ``Dropout``).

    A ``mask`` (``(batch, timesteps)`` booleans, passed as ``layer(x, mask=m)`` or carried from
    ``Embedding(mask_zero=True)``) makes masked steps keep the states and repeat the previous
    output, as in Keras, so a padded sequence ends with its own last output.

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
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 stateful: bool = False, seed: int | None = None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         unroll, kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, stateful=stateful, seed=seed, **kwargs)

    @staticmethod
    def _cell(s, w, carry, x_parts, h_masks):
        (h,) = carry
        z = jnp.matmul(x_parts[0], w["kernel"])
        if s.use_bias:
            z = z + _row(w["bias"])
        h_in = _apply_masks(h, h_masks, 1)[0]
        return (s.activation(z + jnp.matmul(h_in, w["recurrent_kernel"])),)

    @staticmethod
    def _pointwise(s, z, carry):
        return (s.activation(z),)


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
      kernel_constraint, recurrent_constraint, bias_constraint: constraints (``hl.constraints``)
        applied to the weights after each optimizer update.
      stateful: carry the final states of each batch into the next (sample ``i`` continues
        sample ``i``); the batch size must be fixed. ``layer.states`` reads them,
        ``layer.reset_states()`` zeros them.
      seed: folded into the step's random key for the dropout masks (see ``Dropout``).

    A ``mask`` (``(batch, timesteps)`` booleans, passed as ``layer(x, mask=m)`` or carried from
    ``Embedding(mask_zero=True)``) makes masked steps keep the states and repeat the previous
    output, as in Keras, so a padded sequence ends with its own last output.

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
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 stateful: bool = False, seed: int | None = None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         unroll, kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, stateful=stateful, seed=seed, **kwargs)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        return forget_bias_initializer(self.bias_initializer, self.units) if self.unit_forget_bias \
            else self.bias_initializer

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

    @staticmethod
    def _pointwise(s, z, carry):
        zi, zf, zc, zo = jnp.split(z, 4, axis=-1)
        act, rec = s.activation, s.recurrent_activation
        c = rec(zf) * carry[1] + rec(zi) * act(zc)
        return (rec(zo) * act(c), c)

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
      kernel_constraint, recurrent_constraint, bias_constraint: constraints (``hl.constraints``)
        applied to the weights after each optimizer update.
      stateful: carry the final states of each batch into the next (sample ``i`` continues
        sample ``i``); the batch size must be fixed. ``layer.states`` reads them,
        ``layer.reset_states()`` zeros them.
      seed: folded into the step's random key for the dropout masks (see ``Dropout``).
      reset_after: apply the reset gate after the recurrent matmul (Keras's and cuDNN's
        default), with separate input and recurrent biases.

    A ``mask`` (``(batch, timesteps)`` booleans, passed as ``layer(x, mask=m)`` or carried from
    ``Embedding(mask_zero=True)``) makes masked steps keep the states and repeat the previous
    output, as in Keras, so a padded sequence ends with its own last output.

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
                 unroll: bool | int = False, reset_after: bool = True, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, stateful: bool = False,
                 seed: int | None = None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout, recurrent_dropout, return_sequences, return_state, go_backwards,
                         unroll, kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, stateful=stateful, seed=seed, **kwargs)
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

    _split_affine = True

    def _pointwise_fn(self):
        # Only reset_after keeps the recurrent matmul outside the reset gate.
        return type(self)._pointwise if self.reset_after else None

    @staticmethod
    def _pointwise(s, z, carry):
        (h,) = carry
        x_z, x_r, x_h, h_z, h_r, h_h = jnp.split(z, 6, axis=-1)
        rec = s.recurrent_activation
        gate, reset = rec(x_z + h_z), rec(x_r + h_r)
        return (gate * h + (1.0 - gate) * s.activation(x_h + reset * h_h),)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": _activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}
