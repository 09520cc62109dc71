"""The shared time loop of the recurrent layers: the abstract ``_RNN`` base and its helpers.

``_RNN`` checks arguments, builds Keras's weights, makes the dropout masks and runs a
subclass's cell over time with one jitted ``jax.lax.scan`` (``_time_loop``), or, for cells
that are two matmuls and a pointwise function, with a scan whose gradient gathers the
weights' gradients after the backward loop (``_fused_loop``).
``SimpleRNN``, ``LSTM`` and ``GRU`` (``recurrent.py``) define the cells;
``Bidirectional`` (``bidirectional.py``) shares the initial-state and shape helpers.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, NonTrainable, TensorSpec, format_shape, keep_mask, next_rng_key

__all__: list[str] = []


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


def _as_float(value) -> float:
    # The shortest decimal that round-trips the float32 value: 0.2, not 0.20000000298.
    return float(str(np.float32(value)))


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
    supports_masking = True

    def __init__(self, units: int, activation: Any, use_bias: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                 recurrent_regularizer: Any, bias_regularizer: Any, dropout: float,
                 recurrent_dropout: float, return_sequences: bool, return_state: bool,
                 go_backwards: bool, unroll: bool | int, *, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, stateful: bool = False,
                 zero_output_for_mask: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"{kind} seed must be a non-negative integer or None, got {seed!r}.")
        # Folded into the step's key for the dropout masks, as Dropout's seed.
        self.seed = None if seed is None else int(seed)
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
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.stateful = bool(stateful)
        # With a mask, masked steps output zeros instead of the previous output (Keras's
        # argument; Bidirectional sets it when it returns sequences, as Keras's does).
        self.zero_output_for_mask = bool(zero_output_for_mask)
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
            got = format_shape(shape) if isinstance(shape, tuple) else repr(shape)
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expects inputs of shape "
                f"(batch, timesteps, features), got shape {got}. "
                "Add a time axis, e.g. x[:, None, :] for sequences of one step.")
        if shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' needs a known number of "
                             f"features (last axis), got shape {format_shape(shape)}.")
        return shape

    def build(self, input_shape):
        features = self._sequence_shape(input_shape)[-1]
        k = self._gates
        self.add_weight("kernel", (features, k * self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.add_weight("recurrent_kernel", (self.units, k * self.units), self.recurrent_initializer,
                        regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self._bias_init(),
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        if self.stateful:
            make_state_variables(self, self._sequence_shape(input_shape)[0],
                                 [(f"state_{n}", self.units) for n in self._state_names])

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
                f"Input of shape {format_shape(shape)} does not match layer '{self.name}' "
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
                                 f"{format_shape(expected)} (batch, units), got {format_shape(s.shape)}.")
        return x, [jnp.asarray(s, x.dtype) for s in states]

    def _dropout_masks(self, rate_var, shape, count, dtype) -> list:
        keep = 1.0 - rate_var[...]
        key = next_rng_key()
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        out = []
        for k in jax.random.split(key, count):
            kept = keep_mask(k, 1.0 - keep, shape)
            out.append(jnp.where(kept, 1.0 / jnp.maximum(keep, 1e-12), 0.0).astype(dtype))
        return out

    # -- stateful layers -----------------------------------------------------

    @property
    def states(self) -> list | None:
        """The carried states of a ``stateful`` layer (``[h]`` or ``[h, c]``), None otherwise."""
        return read_states(self)

    def reset_states(self) -> None:
        """Sets a ``stateful`` layer's carried states to zeros (Keras's ``reset_states``)."""
        reset_state_variables(self)

    reset_state = reset_states

    def call(self, inputs, training: bool = False, mask=None):
        if isinstance(mask, (list, tuple)):  # one per input (Keras's list form): the sequence's is the first
            mask = mask[0] if mask else None
        x, states = self._split_inputs(inputs)
        batch = x.shape[0]
        if states is None and self.stateful:
            states = carried_states(self, batch)
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
        spec = self._spec()
        if mask is not None:
            # Masked steps keep the state and repeat the previous output (Keras's rule); the
            # fused loop's gradient knows nothing of masks, so the plain scan runs instead.
            output, final = _time_loop(spec, weights, tuple(states), x, x_masks, h_masks,
                                       time_mask(mask, x))
        elif spec.pointwise is not None and not h_masks and len(x_masks) <= 1:
            output, final = _fused_time_loop(spec, weights, tuple(states), x, x_masks)
        else:
            output, final = _time_loop(spec, weights, tuple(states), x, x_masks, h_masks)
        if self.stateful:
            store_states(self, final)
        return [output, *final] if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        """The output mask: the input's with ``return_sequences`` (None otherwise; None for the states)."""
        return sequence_output_mask(mask, self.return_sequences, self.return_state, len(self._state_names))

    def _spec(self) -> "_Spec":
        return _Spec(type(self)._cell, self._gates, self.units, self.activation,
                     getattr(self, "recurrent_activation", None), self.use_bias,
                     getattr(self, "reset_after", False), self.go_backwards, self.return_sequences,
                     self.unroll, self._pointwise_fn(), self._split_affine, self.zero_output_for_mask)

    # A cell that is ``pointwise(x_t @ kernel + h @ recurrent_kernel + bias, carry)`` defines
    # ``_pointwise(spec, z, carry)``; one that needs the two matmuls apart (GRU's
    # reset_after) sets ``_split_affine`` and gets them concatenated, each with its bias row.
    _pointwise = None
    _split_affine = False

    def _pointwise_fn(self):
        return type(self)._pointwise

    @staticmethod
    def _cell(s: "_Spec", w: dict, carry: tuple, x_parts: list, h_masks: list) -> tuple:
        """One step: the new states (output first) from the weights, states and step input."""
        raise NotImplementedError

    def compute_output_spec(self, input_shape, input_dtype=None, **call_kwargs):
        with keeping_states(self):
            specs = super().compute_output_spec(input_shape, input_dtype, **call_kwargs)
        return _unknown_time(specs, input_shape)

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
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": _constraints.serialize(self.recurrent_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "seed": self.seed}


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
    pointwise: Callable | None = None
    split_affine: bool = False
    zero_output_for_mask: bool = False


@functools.partial(jax.jit, static_argnums=0)
def _time_loop(spec: _Spec, weights: dict, states: tuple, x, x_masks: list, h_masks: list, mask=None):
    """Runs the cell over the time axis of ``x``: ``(output, final_states)``.

    ``mask`` (time-major ``(steps, batch, 1)`` booleans, or None): a masked step keeps
    every state, so its output is the previous output, as in Keras.
    Jitted so that eager calls compile once per shape (an eager ``lax.scan``
    compiles on every call); inside an outer ``jit`` it is simply inlined.
    """
    def step(carry, inputs):
        x_t, m_t = inputs
        new = spec.cell(spec, weights, carry, _apply_masks(x_t, x_masks, spec.gates), h_masks)
        if m_t is None:
            return new, (new[0] if spec.return_sequences else None)
        new = tuple(jnp.where(m_t, n, c) for n, c in zip(new, carry))
        out = jnp.where(m_t, new[0], jnp.zeros((), new[0].dtype)) if spec.zero_output_for_mask else new[0]
        return new, (out if spec.return_sequences else None)

    xs = jnp.swapaxes(x, 0, 1)
    if spec.go_backwards:
        xs = jnp.flip(xs, axis=0)
        mask = None if mask is None else jnp.flip(mask, axis=0)
    final, ys = jax.lax.scan(step, states, (xs, mask), unroll=spec.unroll)
    # With go_backwards the sequence stays in processing order, as in Keras.
    output = jnp.swapaxes(ys, 0, 1) if spec.return_sequences else final[0]
    if mask is not None and spec.zero_output_for_mask and not spec.return_sequences:
        output = jnp.where(mask[-1], output, jnp.zeros((), output.dtype))   # Keras: the last step's output
    return output, final


@functools.partial(jax.jit, static_argnums=0)
def _fused_time_loop(spec: _Spec, weights: dict, states: tuple, x, x_masks: list):
    """``_time_loop`` for cells with a ``pointwise`` part (no recurrent dropout)."""
    if x_masks:  # one mask for the whole sequence, the same at every step
        x = x * x_masks[0][:, None, :]
    xs = jnp.swapaxes(x, 0, 1)
    if spec.go_backwards:
        xs = jnp.flip(xs, axis=0)
    ys, final = _fused_loop(spec, weights, states, xs)
    output = jnp.swapaxes(ys, 0, 1) if spec.return_sequences else final[0]
    return output, final


def _step_kernel(spec: _Spec, w: dict):
    """What a step multiplies ``[x_t, h]`` by: ``[kernel; recurrent_kernel]``, stacked once
    before the loop (one matmul a step is faster than two on a CPU: LSTM(128) forward 19.8 ->
    16.2 ms, forward and backward 50 -> 45.5 ms). None with ``split_affine``, whose two
    products stay apart."""
    return None if spec.split_affine else jnp.concatenate([w["kernel"], w["recurrent_kernel"]], axis=0)


def _affine(spec: _Spec, w: dict, stacked_kernel, x_t, h):
    """The step's pre-activations: ``[x_t, h] @ [kernel; recurrent_kernel] + bias``, or with
    ``split_affine`` the two products side by side, each plus its row of the bias."""
    b = w.get("bias")
    if stacked_kernel is not None:
        dtype = jnp.result_type(x_t, h)
        z = jnp.matmul(jnp.concatenate([x_t.astype(dtype), h.astype(dtype)], axis=-1), stacked_kernel)
        return z if b is None else z + b[None, :]
    zx, zh = jnp.matmul(x_t, w["kernel"]), jnp.matmul(h, w["recurrent_kernel"])
    if b is not None:
        zx, zh = zx + b[0:1], zh + b[1:2]
    return jnp.concatenate([zx, zh], axis=-1)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _fused_loop(spec: _Spec, w: dict, states: tuple, xs):
    """The time loop over time-major ``xs``: ``(per-step outputs or None, final states)``.

    Its gradient runs one matmul per step (the state's); the kernels' and the bias's
    gradients are each one contraction over all steps after the loop, where autodiff of
    the plain scan accumulates them step by step (cuDNN's split; 17% faster for an LSTM(128)
    on a CPU). Reverse mode only: ``jax.jvp`` through it raises.
    """
    return _fused_fwd(spec, w, states, xs)[0]


def _fused_fwd(spec, w, states, xs):
    stacked_kernel = _step_kernel(spec, w)

    def step(carry, x_t):
        z = _affine(spec, w, stacked_kernel, x_t, carry[0])
        new = spec.pointwise(spec, z, carry)
        return new, (new, z)

    final, (stacked, zs) = jax.lax.scan(step, states, xs, unroll=spec.unroll)
    ys = stacked[0] if spec.return_sequences else None
    return (ys, final), (w, states, xs, stacked, zs)


def _fused_bwd(spec, res, cts):
    w, states, xs, stacked, zs = res
    d_ys, d_final = cts
    # The state each step started from: the initial one, then every step's output but the last.
    prev = tuple(jnp.concatenate([s[None], st[:-1]], axis=0) for s, st in zip(states, stacked))
    kernel, recurrent = w["kernel"], w["recurrent_kernel"]
    width = kernel.shape[1]

    def step(d_carry, inputs):
        z, carry, d_y = inputs
        if d_y is not None:
            d_carry = (d_carry[0] + d_y, *d_carry[1:])
        _, vjp = jax.vjp(lambda z_, carry_: spec.pointwise(spec, z_, carry_), z, carry)
        d_z, d_prev = vjp(tuple(d_carry))
        d_zh = d_z[..., width:] if spec.split_affine else d_z
        d_h = d_prev[0] + jnp.matmul(d_zh, recurrent.T).astype(d_prev[0].dtype)
        return (d_h, *d_prev[1:]), d_z

    d_states, d_zs = jax.lax.scan(step, tuple(d_final), (zs, prev, d_ys), reverse=True,
                                  unroll=spec.unroll)
    d_zx, d_zh = (d_zs[..., :width], d_zs[..., width:]) if spec.split_affine else (d_zs, d_zs)
    d_w = {"kernel": jnp.einsum("tbf,tbg->fg", xs, d_zx),
           "recurrent_kernel": jnp.einsum("tbh,tbg->hg", prev[0], d_zh)}
    if "bias" in w:
        d_b = d_zx.sum(axis=(0, 1))
        d_w["bias"] = jnp.stack([d_b, d_zh.sum(axis=(0, 1))]) if spec.split_affine else d_b
    d_xs = jnp.matmul(d_zx, kernel.T)
    d_w = {k: v.astype(w[k].dtype) for k, v in d_w.items()}
    d_states = tuple(d.astype(s.dtype) for d, s in zip(d_states, states))
    return d_w, d_states, d_xs.astype(xs.dtype)


_fused_loop.defvjp(_fused_fwd, _fused_bwd)


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


# -- masks and carried states, shared with the cells' RNN (``rnn_cells.py``) ---------------------


def time_mask(mask, x):
    """A ``(batch, steps)`` mask as the time loops take it: time-major ``(steps, batch, 1)`` booleans."""
    mask = jnp.asarray(mask)
    if mask.shape != x.shape[:2]:
        raise ValueError(f"A recurrent layer's mask must have shape (batch, timesteps) = "
                         f"{format_shape(tuple(x.shape[:2]))}, got {format_shape(tuple(mask.shape))}.")
    return jnp.swapaxes(mask.astype(bool), 0, 1)[:, :, None]


def sequence_output_mask(mask, return_sequences: bool, return_state: bool, n_states: int):
    """Keras's ``RNN.compute_mask``: the input mask for sequence outputs, None for the rest."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
    out = mask if return_sequences else None
    return [out] + [None] * n_states if return_state else out


def make_state_variables(layer: Layer, batch, sizes: list[tuple[str, Any]]) -> None:
    """Creates a stateful layer's carried states: zeros ``(batch, *size)``, non-trainable variables.

    They live in the train state (the compiled step carries them from batch to batch) but
    are not weights: ``get_weights()`` leaves them out, as Keras does.
    """
    if batch is None:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' is stateful, so its batch size must be "
                         "fixed: give the input one, e.g. hl.Input((timesteps, features), batch_size=32), "
                         "and pass that batch_size to fit and predict.")
    layer.state_names = tuple(name for name, _ in sizes)
    layer.shape_trace = False
    for name, size in sizes:
        tail = tuple(int(d) for d in size) if isinstance(size, (tuple, list)) else (int(size),)
        setattr(layer, name, NonTrainable(jax.device_put(np.zeros((int(batch),) + tail, layer.dtype))))


def read_states(layer: Layer) -> list | None:
    if not getattr(layer, "stateful", False) or not layer.built:
        return None
    return [getattr(layer, name).get_value() for name in layer.state_names]


def reset_state_variables(layer: Layer) -> None:
    if not getattr(layer, "stateful", False):
        raise ValueError(f"Layer '{layer.name}' is not stateful: only a recurrent layer made with "
                         "stateful=True keeps states to reset.")
    for name in getattr(layer, "state_names", ()):
        var = getattr(layer, name)
        old = var.get_value()
        var.set_value(jax.device_put(np.zeros(old.shape, old.dtype)))


def carried_states(layer: Layer, batch: int) -> list:
    """A stateful layer's states for a batch of ``batch`` sequences (checked against the fixed size)."""
    states = [getattr(layer, name).get_value() for name in layer.state_names]
    expected = states[0].shape[0]
    if batch != expected:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' is stateful and was built for batches of "
                         f"{expected} sequences, got a batch of {batch}. Pass batch_size={expected} (and data "
                         f"whose length is a multiple of it), or rebuild the model for the new batch size.")
    return states


def store_states(layer: Layer, final) -> None:
    if getattr(layer, "shape_trace", False):
        return   # a shape-only trace (compute_output_spec): nothing to keep
    for name, value in zip(layer.state_names, jax.tree_util.tree_leaves(final)):
        getattr(layer, name).set_value(value)


@contextlib.contextmanager
def keeping_states(layer: Layer):
    """Marks a shape-only trace (``compute_output_spec``), in which a stateful layer keeps its states."""
    if not getattr(layer, "stateful", False):
        yield
        return
    layer.shape_trace = True
    try:
        yield
    finally:
        layer.shape_trace = False
