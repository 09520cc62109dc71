"""Recurrent building blocks: ``RNN`` over any cell, the cells SimpleRNNCell, LSTMCell and GRUCell, StackedRNNCells.

Keras's cell protocol: a cell has ``state_size`` (an int, or a list of them), optionally
``output_size`` and ``get_initial_state(batch_size)``, and ``call(inputs, states)``
returning ``(output, new_states)`` for one step. ``RNN(cell)`` runs it over the time axis
with one ``jax.lax.scan`` (inside the compiled step); a list of cells is a
``StackedRNNCells``. The built-in cells compute exactly what ``SimpleRNN``, ``LSTM`` and
``GRU`` compute (the same step functions), so ``RNN(LSTMCell(n))`` equals ``LSTM(n)`` on
the same weights; those layers are faster (their gradient takes the weights' parts after
the time loop), the cells are for custom stacks and user cells.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import (Layer, call_context, current_context, deserialize_layer, format_shape,
                                   keep_mask, next_rng_key, register_layer, serialize_layer)
from highlevel.layers.recurrent import GRU, LSTM, SimpleRNN, forget_bias_initializer
from highlevel.layers.rnn import (_apply_masks, _Spec, _unknown_time, _with_states, carried_states, keeping_states,
                                  make_state_variables, read_states, reset_state_variables, sequence_output_mask,
                                  store_states, time_mask)

__all__ = ["RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


class _Cell(Layer):
    """Abstract: a built-in cell, one step of SimpleRNN, LSTM or GRU (``_layer`` names which)."""

    _layer: type = SimpleRNN
    _gates = 1
    _state_count = 1

    def __init__(self, units: int, activation: Any, recurrent_activation: Any, use_bias: bool,
                 kernel_initializer: Any, recurrent_initializer: Any, bias_initializer: Any,
                 kernel_regularizer: Any, recurrent_regularizer: Any, bias_regularizer: Any,
                 kernel_constraint: Any, recurrent_constraint: Any, bias_constraint: Any, dropout: float,
                 recurrent_dropout: float, seed: int | None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{kind} units must be a positive integer, got {units!r}.")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"{kind} {arg} must be a float in [0, 1), got {rate!r}.")
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.recurrent_activation = None if recurrent_activation is None else _activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.seed = seed
        self._has_dropout = float(dropout) > 0.0
        self._has_recurrent_dropout = float(recurrent_dropout) > 0.0
        if self._has_dropout:
            self.add_hyperparameter("dropout_rate", float(dropout))
        if self._has_recurrent_dropout:
            self.add_hyperparameter("recurrent_dropout_rate", float(recurrent_dropout))

    @property
    def state_size(self) -> int | list[int]:
        """The size of each state: an int for one state, ``[units, units]`` for the LSTM's two."""
        return self.units if self._state_count == 1 else [self.units] * self._state_count

    @property
    def output_size(self) -> int:
        """The size of each step's output."""
        return self.units

    @property
    def dropout(self) -> float:
        return float(str(np.float32(self.dropout_rate[...]))) if self._has_dropout else 0.0

    @property
    def recurrent_dropout(self) -> float:
        return float(str(np.float32(self.recurrent_dropout_rate[...]))) if self._has_recurrent_dropout else 0.0

    def get_initial_state(self, batch_size: int) -> list:
        """Zeros for every state: ``[(batch_size, units)]`` (two of them for the LSTM)."""
        return [jnp.zeros((batch_size, self.units), self.compute_dtype) for _ in range(self._state_count)]

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs a known number of input features, got "
                             f"shape {format_shape(tuple(input_shape))}.")
        k = self._gates
        self.add_weight("kernel", (features, k * self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.add_weight("recurrent_kernel", (self.units, k * self.units), self.recurrent_initializer,
                        regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self._bias_init(), regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _masks(self, rate_var, shape, count, dtype) -> list:
        keep = 1.0 - rate_var[...]
        key = next_rng_key()
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        return [jnp.where(keep_mask(k, 1.0 - keep, shape), 1.0 / jnp.maximum(keep, 1e-12), 0.0).astype(dtype)
                for k in jax.random.split(key, count)]

    def call(self, inputs, states, training: bool = False):
        states = [states] if not isinstance(states, (list, tuple)) else list(states)
        per_gate = self._gates if self._has_recurrent_dropout else 1
        x_masks, h_masks = [], []
        # Drawn once per trace: inside RNN's time loop, one mask per sequence, as Keras's cells.
        if training and self._has_dropout:
            x_masks = self._masks(self.dropout_rate, inputs.shape, per_gate, inputs.dtype)
        if training and self._has_recurrent_dropout:
            h_masks = self._masks(self.recurrent_dropout_rate, states[0].shape, per_gate, inputs.dtype)
        spec = _Spec(type(self)._layer._cell, self._gates, self.units, self.activation, self.recurrent_activation,
                     self.use_bias, getattr(self, "reset_after", False), False, False, False)
        weights = {name: getattr(self, name)[...] for name in self._weight_names}
        new = spec.cell(spec, weights, tuple(states), _apply_masks(inputs, x_masks, self._gates), h_masks)
        return new[0], list(new)

    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                  "kernel_initializer": _ser_init(self.kernel_initializer),
                  "recurrent_initializer": _ser_init(self.recurrent_initializer),
                  "bias_initializer": _ser_init(self.bias_initializer),
                  "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                  "recurrent_regularizer": _regularizers.serialize(self.recurrent_regularizer),
                  "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                  "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                  "recurrent_constraint": _constraints.serialize(self.recurrent_constraint),
                  "bias_constraint": _constraints.serialize(self.bias_constraint),
                  "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = _activations.serialize(self.recurrent_activation)
        return config


_CELL_ARGS = """kernel_initializer, recurrent_initializer, bias_initializer: initializers (Keras names).
      kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
      kernel_constraint, recurrent_constraint, bias_constraint: constraints (``hl.constraints``)
        applied after each optimizer update.
      dropout: the fraction of the input features dropped in training (one mask per sequence).
      recurrent_dropout: the fraction of the previous state dropped in training.
      seed: folded into the step's random key for the dropout masks."""


@register_layer
class SimpleRNNCell(_Cell):
    __doc__ = """One step of ``SimpleRNN``: ``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``.

    Args:
      units: the size of the state and output.
      activation: the activation (``"tanh"``).
      use_bias: whether to add a bias.
      """ + _CELL_ARGS + """

    Call ``cell(x, [h])`` on one step ``(batch, features)``: returns ``(h, [h])``. Use it in
    ``hl.layers.RNN``. Weights: as ``SimpleRNN``'s.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.RNN(hl.layers.SimpleRNNCell(4))(np.ones((2, 5, 3), "float32")).shape
    (2, 4)
    """

    _layer, _gates, _state_count = SimpleRNN, 1, 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(units, activation, None, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)


@register_layer
class LSTMCell(_Cell):
    __doc__ = """One step of ``LSTM`` (gates i, f, c, o, as Keras): returns ``(h, [h, c])``.

    Args:
      units: the size of the states and output.
      activation: the cell and output activation (``"tanh"``).
      recurrent_activation: the gates' activation (``"sigmoid"``).
      use_bias: whether to add a bias.
      unit_forget_bias: add 1 to the forget gate's initial bias.
      """ + _CELL_ARGS + """

    Weights: as ``LSTM``'s (``kernel (features, 4*units)``, ``recurrent_kernel (units,
    4*units)``, ``bias (4*units,)``), so ``RNN(LSTMCell(n))`` loads an ``LSTM(n)``'s weights.

    >>> import highlevel as hl, numpy as np
    >>> out, h, c = hl.layers.RNN(hl.layers.LSTMCell(4), return_state=True)(np.ones((2, 5, 3), "float32"))
    >>> out.shape, c.shape
    ((2, 4), (2, 4))
    """

    _layer, _gates, _state_count = LSTM, 4, 2

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        return forget_bias_initializer(self.bias_initializer, self.units) if self.unit_forget_bias \
            else self.bias_initializer

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@register_layer
class GRUCell(_Cell):
    __doc__ = """One step of ``GRU`` (gates z, r, h, as Keras): returns ``(h, [h])``.

    Args:
      units: the size of the state and output.
      activation: the candidate's activation (``"tanh"``).
      recurrent_activation: the gates' activation (``"sigmoid"``).
      use_bias: whether to add biases.
      """ + _CELL_ARGS + """
      reset_after: apply the reset gate after the recurrent matmul (Keras's default), with
        separate input and recurrent biases.

    Weights: as ``GRU``'s (``bias (2, 3*units)`` with ``reset_after``).

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.RNN(hl.layers.GRUCell(4), return_sequences=True)(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    _layer, _gates, _state_count = GRU, 3, 1

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: int | None = None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


# -- the cell protocol ---------------------------------------------------------------------------


def _check_cell(cell, what: str) -> None:
    if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
        raise ValueError(f"{what} must be an RNN cell: an object with a call(inputs, states) method returning "
                         f"(output, new_states) and a state_size attribute (an int or a list of ints), got {cell!r}.")


def _output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return int(size)
    state = cell.state_size
    return int(state[0] if isinstance(state, (list, tuple)) else state)


def _zeros_for(state_size, batch: int, dtype) -> Any:
    if isinstance(state_size, (list, tuple)):
        return [_zeros_for(s, batch, dtype) for s in state_size]
    return jnp.zeros((batch, int(state_size)), dtype)


def _initial_state(cell, batch: int, dtype) -> list:
    make = getattr(cell, "get_initial_state", None)
    states = make(batch_size=batch) if make is not None else _zeros_for(cell.state_size, batch, dtype)
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _call_cell(cell, x, states, training):
    if isinstance(cell, Layer):
        out, new = cell(x, states, training=training)
    else:
        out, new = cell.call(x, states)
    return out, (list(new) if isinstance(new, (list, tuple)) else [new])


@register_layer
class StackedRNNCells(Layer):
    """Cells run one after the other within each step: cell ``i``'s output is cell ``i+1``'s input.

    Args:
      cells: the cells, bottom first (``RNN([cell_1, cell_2])`` makes this too).

    ``state_size`` is the list of the cells' ``state_size``; the states passed around are
    one entry per cell (a list for cells with several states). Weights: each cell's in order.

    >>> import highlevel as hl, numpy as np
    >>> cells = [hl.layers.LSTMCell(4), hl.layers.GRUCell(3)]
    >>> hl.layers.RNN(hl.layers.StackedRNNCells(cells))(np.ones((2, 5, 6), "float32")).shape
    (2, 3)
    """

    def __init__(self, cells: Sequence, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell.")
        for i, cell in enumerate(cells):
            _check_cell(cell, f"StackedRNNCells cells[{i}]")
        self.cells = cells

    @property
    def state_size(self) -> list:
        """One entry per cell: its ``state_size``."""
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        """The last cell's output size."""
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int) -> list:
        """Each cell's initial states, one entry per cell."""
        out = []
        for cell in self.cells:
            states = _initial_state(cell, batch_size, getattr(cell, "compute_dtype", self.compute_dtype))
            out.append(states[0] if not isinstance(cell.state_size, (list, tuple)) else states)
        return out

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell.maybe_build(shape)
            shape = (shape[0], _output_size(cell))

    def _check_input_shape(self, inputs) -> None:
        return None

    def call(self, inputs, states, training: bool = False):
        new_states = []
        for cell, state in zip(self.cells, states):
            nested = isinstance(state, (list, tuple))
            inputs, new = _call_cell(cell, inputs, list(state) if nested else [state], training)
            new_states.append(new if nested or len(new) != 1 else new[0])
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)
        config["cells"] = [deserialize_layer(c) for c in config["cells"]]
        return cls(**config)


@register_layer
class RNN(Layer):
    """Runs a cell over the time axis: Keras's ``RNN`` layer, for built-in, stacked and user cells.

    Args:
      cell: an RNN cell (``LSTMCell(8)``, a ``StackedRNNCells``, or a user's layer with
        ``state_size`` and ``call(inputs, states) -> (output, new_states)``), or a list of
        cells (stacked).
      return_sequences: return every step's output, not just the last.
      return_state: also return the final states: ``[output, *states]``.
      go_backwards: process the sequence in reverse (outputs stay in processing order).
      stateful: carry the final states of each batch into the next; the batch size must be
        fixed. ``layer.states`` reads them, ``layer.reset_states()`` zeros them.
      unroll: unroll the time loop (True), or unroll it this many steps at a time (int).
      zero_output_for_mask: with a mask, masked steps output zeros (else the previous output).

    Initial states go in ``initial_state=[...]`` or after the sequence in a list. A
    ``mask`` ``(batch, timesteps)`` makes masked steps keep the states, as Keras does.
    Input ``(batch, timesteps, features)``; output ``(batch, output_size)``, or ``(batch,
    timesteps, output_size)`` with ``return_sequences``. Weights: the cell's.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RNN([hl.layers.LSTMCell(4), hl.layers.LSTMCell(2)], return_sequences=True)
    >>> layer(np.ones((3, 5, 6), "float32")).shape
    (3, 5, 2)
    """

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool | int = False,
                 zero_output_for_mask: bool = False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell, "RNN's cell")
        if not isinstance(unroll, (bool, int, np.integer)) or (not isinstance(unroll, bool) and unroll < 1):
            raise ValueError(f"RNN unroll must be a bool or a positive number of steps, got {unroll!r}.")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = unroll if isinstance(unroll, bool) else int(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)

    @property
    def state_size(self) -> list:
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def _sequence_shape(self, input_shape) -> tuple:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if not isinstance(shape, tuple) or len(shape) < 3:
            got = format_shape(shape) if isinstance(shape, tuple) else repr(shape)
            raise ValueError(f"RNN layer '{self.name}' expects inputs of shape (batch, timesteps, features), got "
                             f"shape {got}. Add a time axis, e.g. x[:, None, :] for sequences of one step.")
        return shape

    def build(self, input_shape):
        shape = self._sequence_shape(input_shape)
        if isinstance(self.cell, Layer):
            self.cell.maybe_build((shape[0],) + tuple(shape[2:]))
        if self.stateful:
            leaves = jax.tree_util.tree_leaves(self.state_size)
            make_state_variables(self, shape[0], [(f"state_{i}", s) for i, s in enumerate(leaves)])

    def _check_input_shape(self, inputs) -> None:
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        self._sequence_shape(tuple(x.shape))

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        return super().__call__(_with_states(self, inputs, initial_state), *args, **kwargs)

    @property
    def states(self) -> list | None:
        """The carried states of a ``stateful`` layer (flattened), None otherwise."""
        return read_states(self)

    def reset_states(self) -> None:
        """Sets a ``stateful`` layer's carried states to zeros."""
        reset_state_variables(self)

    reset_state = reset_states

    def _initial(self, x, given) -> list:
        template = _initial_state(self.cell, x.shape[0], x.dtype)
        if given is not None:
            flat, treedef = jax.tree_util.tree_flatten(template)
            if len(given) != len(flat):
                raise ValueError(f"RNN layer '{self.name}' takes {len(flat)} initial state(s), got {len(given)}.")
            return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(g, x.dtype) for g in given])
        if self.stateful:
            flat, treedef = jax.tree_util.tree_flatten(template)
            return jax.tree_util.tree_unflatten(treedef, carried_states(self, x.shape[0]))
        return jax.tree_util.tree_map(lambda s: jnp.asarray(s, x.dtype), template)

    def call(self, inputs, training: bool = False, mask=None):
        if isinstance(mask, (list, tuple)):  # one per input (Keras's list form): the sequence's is the first
            mask = mask[0] if mask else None
        if isinstance(inputs, (list, tuple)):
            x, given = inputs[0], (list(inputs[1:]) or None)
        else:
            x, given = inputs, None
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if self.unroll is True and x.shape[1] is None:
            raise ValueError(f"RNN layer '{self.name}' cannot unroll a time axis of unknown length.")
        states = self._initial(x, given)
        if current_context() is None and training:
            # The cell draws its dropout masks inside the time loop's trace: give it a key.
            with call_context(training=True, rng=next_rng_key()):
                output, final = self._loop(x, states, mask, training)
        else:
            output, final = self._loop(x, states, mask, training)
        if self.stateful:
            store_states(self, final)
        return [output, *final] if self.return_state else output

    def _loop(self, x, states, mask, training):
        out_size = _output_size(self.cell)
        prev = states[-1][0] if isinstance(states[0], (list, tuple)) else states[0]
        if tuple(prev.shape) != (x.shape[0], out_size):
            prev = jnp.zeros((x.shape[0], out_size), x.dtype)
        cell = self.cell

        def step(carry, inputs):
            states, prev = carry
            x_t, m_t = inputs
            out, new = _call_cell(cell, x_t, states, training)
            new = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(states), jax.tree_util.tree_leaves(new))
            if m_t is not None:
                new = jax.tree_util.tree_map(lambda n, o: jnp.where(m_t, n, o), new, states)
                out = jnp.where(m_t, out, jnp.zeros_like(out) if self.zero_output_for_mask else prev)
            return (new, out), (out if self.return_sequences else None)

        xs = jnp.swapaxes(x, 0, 1)
        ms = None if mask is None else time_mask(mask, x)
        if self.go_backwards:
            xs = jnp.flip(xs, axis=0)
            ms = None if ms is None else jnp.flip(ms, axis=0)
        unroll = self.unroll if not isinstance(self.unroll, bool) else (x.shape[1] if self.unroll else 1)
        (final, last), ys = jax.lax.scan(step, (states, prev), (xs, ms), unroll=unroll)
        return (jnp.swapaxes(ys, 0, 1) if self.return_sequences else last), final

    def compute_mask(self, inputs, mask=None):
        """The input mask for sequence outputs (None otherwise, and for the states)."""
        return sequence_output_mask(mask, self.return_sequences, self.return_state, len(self.state_size))

    def compute_output_spec(self, input_shape, input_dtype=None, **call_kwargs):
        with keeping_states(self):
            specs = super().compute_output_spec(input_shape, input_dtype, **call_kwargs)
        return _unknown_time(specs, input_shape)

    def get_config(self):
        if not isinstance(self.cell, Layer):
            raise ValueError(f"RNN layer '{self.name}' holds a cell that is not an hl.layers.Layer, so its config "
                             "cannot name it; make the cell a registered Layer subclass.")
        return {**super().get_config(), "cell": serialize_layer(self.cell),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)
        config["cell"] = deserialize_layer(config["cell"])
        return cls(**config)
