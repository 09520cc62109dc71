"""ConvLSTM1D/2D/3D: LSTMs whose input and recurrent transformations are convolutions (Shi et al., 2015).

Keras's arguments, weights (``kernel (*window, channels, 4*filters)``, ``recurrent_kernel
(*window, filters, 4*filters)``, ``bias (4*filters,)``, gates i, f, c, o) and numbers; one
class, ``_ConvLSTM``, for every rank. The
input convolution of every step runs before the time loop, as one convolution over all
steps; the loop holds only the recurrent ("same", stride 1) convolution.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import backend as _backend
from highlevel import constraints as _constraints
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, format_shape, keep_mask, next_rng_key, register_layer
from highlevel.layers.convolutional import (_ser_init, check_data_format, conv_output_size, normalize_padding,
                                            normalize_tuple)
from highlevel.layers.recurrent import forget_bias_initializer
from highlevel.layers.rnn import (_unknown_time, _with_states, carried_states, keeping_states, make_state_variables,
                                  read_states, reset_state_variables, sequence_output_mask, store_states, time_mask)

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]


_DOC = """A {rank}-D convolutional LSTM over sequences of {what}, as ``keras.layers.ConvLSTM{rank}D``.

    Args:
      filters: the number of output channels (of the states and output).
      kernel_size: the convolution window, an int or {tuple_kind}.
      strides: the input convolution's strides (the recurrent one has stride 1).
      padding: ``"valid"`` or ``"same"`` for the input convolution (the recurrent one is "same").
      data_format: ``"channels_last"`` only.
      dilation_rate: the input convolution's dilation.
      activation: the cell and output activation (``"tanh"``).
      recurrent_activation: the gates' activation (``"sigmoid"``).
      use_bias: whether to add a bias.
      kernel_initializer, recurrent_initializer, bias_initializer: initializers (Keras names).
      unit_forget_bias: add 1 to the forget gate's initial bias.
      kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
      kernel_constraint, recurrent_constraint, bias_constraint: constraints (``hl.constraints``)
        applied after each update.
      dropout: the fraction of input channels dropped in training (one mask per gate and sequence).
      recurrent_dropout: the fraction of the state's channels dropped in training.
      seed: folded into the step's random key for the dropout masks.
      return_sequences: return every step's output, not just the last.
      return_state: also return the final states ``[output, h, c]``.
      go_backwards: process the sequence in reverse (outputs stay in processing order).
      stateful: carry the final states into the next batch (fixed batch size).
      unroll: unroll the time loop (True) or unroll it this many steps at a time (int).
      zero_output_for_mask: with a mask, masked steps output zeros (else the previous output).

    A ``mask`` ``(batch, timesteps)`` makes masked steps keep the states, as in Keras.
    Input ``(batch, timesteps, {layout}, channels)``; output ``(batch, {new_layout},
    filters)``, or with a time axis with ``return_sequences``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.ConvLSTM{rank}D(4, 3, padding="same")(np.ones({example}, "float32")).shape
    {example_out}
    """


class _ConvLSTM(Layer):
    """Abstract convolutional LSTM (subclasses set ``rank``, the number of spatial axes)."""

    rank: int = 0
    supports_masking = True

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: Any = "tanh", recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool | int = False, zero_output_for_mask: bool = False, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"{cls} `filters` must be a positive integer, got {filters!r}.")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"{cls} `{arg}` must be a float in [0, 1), got {rate!r}.")
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", cls)
        self.strides = normalize_tuple(strides, self.rank, "strides", cls)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", cls)
        self.padding = normalize_padding(padding, cls)
        self.data_format = check_data_format(data_format, cls)
        if self.data_format == "channels_first":
            raise ValueError(f"{cls} supports data_format='channels_last' only, got 'channels_first' (passed, or "
                             f"hl.backend.image_data_format()). Transpose the inputs to (batch, time, "
                             f"{_LAYOUTS[self.rank]}, channels), e.g. with jnp.moveaxis(x, 2, -1), and pass "
                             "data_format='channels_last'.")
        self.activation = _activations.get(activation)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)
        self.seed = seed
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.unroll = unroll if isinstance(unroll, bool) else int(unroll)
        self._has_dropout = float(dropout) > 0.0
        self._has_recurrent_dropout = float(recurrent_dropout) > 0.0
        if self._has_dropout:
            self.add_hyperparameter("dropout_rate", float(dropout))
        if self._has_recurrent_dropout:
            self.add_hyperparameter("recurrent_dropout_rate", float(recurrent_dropout))

    @property
    def dropout(self) -> float:
        return float(str(np.float32(self.dropout_rate[...]))) if self._has_dropout else 0.0

    @property
    def recurrent_dropout(self) -> float:
        return float(str(np.float32(self.recurrent_dropout_rate[...]))) if self._has_recurrent_dropout else 0.0

    def _sequence_shape(self, input_shape) -> tuple:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        cls = type(self).__name__
        if not isinstance(shape, tuple) or len(shape) != self.rank + 3:
            got = format_shape(shape) if isinstance(shape, tuple) else repr(shape)
            raise ValueError(f"{cls} layer '{self.name}' expects inputs of shape (batch, timesteps, "
                             f"{_LAYOUTS[self.rank]}, channels), got {got}.")
        if any(d is None for d in shape[2:]):
            raise ValueError(f"{cls} layer '{self.name}' needs known {_LAYOUTS[self.rank]} and channels, got "
                             f"inputs of shape {format_shape(shape)}.")
        return shape

    def _state_shape(self, shape) -> tuple:
        out = [conv_output_size(n, k, s, d, self.padding) for n, k, s, d in
               zip(shape[2:2 + self.rank], self.kernel_size, self.strides, self.dilation_rate)]
        if any(o <= 0 for o in out):
            raise ValueError(f"{type(self).__name__} layer '{self.name}': inputs of shape {format_shape(shape[2:])} are too "
                             f"small for kernel_size {self.kernel_size} with padding '{self.padding}'.")
        return (shape[0], *out, self.filters)

    def build(self, input_shape):
        shape = self._sequence_shape(input_shape)
        channels, f = shape[-1], self.filters
        self.add_weight("kernel", self.kernel_size + (channels, 4 * f), self.kernel_initializer,
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.add_weight("recurrent_kernel", self.kernel_size + (f, 4 * f), self.recurrent_initializer,
                        regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            init = forget_bias_initializer(self.bias_initializer, f) if self.unit_forget_bias else self.bias_initializer
            self.add_weight("bias", (4 * f,), init, regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        if self.stateful:
            state = self._state_shape(shape)[1:]
            make_state_variables(self, shape[0], [("state_h", state), ("state_c", state)])

    def _check_input_shape(self, inputs) -> None:
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        shape = self._sequence_shape(tuple(x.shape))
        if shape[-1] != self.kernel.shape[-2]:
            raise ValueError(f"Input of shape {format_shape(shape)} does not match layer '{self.name}' "
                             f"({type(self).__name__}), "
                             f"built for {self.kernel.shape[-2]} channels.")

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        return super().__call__(_with_states(self, inputs, initial_state), *args, **kwargs)

    @property
    def states(self) -> list | None:
        """The carried states ``[h, c]`` of a ``stateful`` layer, None otherwise."""
        return read_states(self)

    def reset_states(self) -> None:
        """Sets a ``stateful`` layer's carried states to zeros."""
        reset_state_variables(self)

    reset_state = reset_states

    def _masks(self, rate_var, shape, dtype) -> list:
        keep = 1.0 - rate_var[...]
        key = next_rng_key()
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        return [jnp.where(keep_mask(k, 1.0 - keep, shape), 1.0 / jnp.maximum(keep, 1e-12), 0.0).astype(dtype)
                for k in jax.random.split(key, 4)]

    def call(self, inputs, training: bool = False, mask=None):
        if isinstance(mask, (list, tuple)):  # one per input (Keras's list form): the sequence's is the first
            mask = mask[0] if mask else None
        if isinstance(inputs, (list, tuple)):
            x, given = inputs[0], list(inputs[1:])
        else:
            x, given = inputs, []
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        batch, steps = x.shape[:2]
        state_shape = self._state_shape(tuple(x.shape))
        if given:
            if len(given) != 2:
                raise ValueError(f"{type(self).__name__} layer '{self.name}' takes 2 initial states [h, c], got {len(given)}.")
            states = tuple(jnp.asarray(s, x.dtype) for s in given)
        elif self.stateful:
            states = tuple(carried_states(self, batch))
        else:
            states = tuple(jnp.zeros(state_shape, x.dtype) for _ in range(2))
        kernel, recurrent = self.kernel[...], self.recurrent_kernel[...]
        bias = self.bias[...] if self.use_bias else None
        f, ones = self.filters, (1,) * self.rank
        frames = jnp.reshape(x, (batch * steps,) + tuple(x.shape[2:]))

        def input_conv(frames_, k):
            return _backend.conv(frames_, k, self.strides, self.padding, self.dilation_rate)

        if training and self._has_dropout:   # one mask per gate, the same at every step
            masks = self._masks(self.dropout_rate, (batch,) + tuple(x.shape[2:]), x.dtype)
            parts = [input_conv(jnp.reshape(x * m[:, None], frames.shape), k)
                     for m, k in zip(masks, jnp.split(kernel, 4, axis=-1))]
            zx = jnp.concatenate(parts, axis=-1)
        else:
            zx = input_conv(frames, kernel)
        if bias is not None:
            zx = zx + jnp.reshape(bias, (1,) + ones + (4 * f,))
        zx = jnp.reshape(zx, (batch, steps) + tuple(zx.shape[1:]))
        h_masks = (self._masks(self.recurrent_dropout_rate, state_shape, x.dtype)
                   if training and self._has_recurrent_dropout else None)
        rec_kernels = jnp.split(recurrent, 4, axis=-1)
        act, rec_act = self.activation, self.recurrent_activation

        def step(carry, inp):
            z_t, m_t = inp
            h, c = carry
            if h_masks is None:
                zh = _backend.conv(h, recurrent, ones, "same")
            else:
                zh = jnp.concatenate([_backend.conv(h * m, k, ones, "same")
                                      for m, k in zip(h_masks, rec_kernels)], axis=-1)
            zi, zf, zc, zo = jnp.split(z_t + zh, 4, axis=-1)
            c_new = rec_act(zf) * c + rec_act(zi) * act(zc)
            h_new = rec_act(zo) * act(c_new)
            out = h_new
            if m_t is not None:
                keep = jnp.reshape(m_t, (batch,) + ones + (1,))
                h_new, c_new = jnp.where(keep, h_new, h), jnp.where(keep, c_new, c)
                out = jnp.where(keep, h_new, jnp.zeros((), h_new.dtype)) if self.zero_output_for_mask else h_new
            return (h_new, c_new), (out if self.return_sequences else None)

        zs = jnp.swapaxes(zx, 0, 1)
        ms = None if mask is None else time_mask(mask, x)
        if self.go_backwards:
            zs = jnp.flip(zs, axis=0)
            ms = None if ms is None else jnp.flip(ms, axis=0)
        unroll = self.unroll if not isinstance(self.unroll, bool) else (steps if self.unroll else 1)
        final, ys = jax.lax.scan(step, states, (zs, ms), unroll=unroll)
        if self.stateful:
            store_states(self, final)
        output = jnp.swapaxes(ys, 0, 1) if self.return_sequences else final[0]
        if ms is not None and self.zero_output_for_mask and not self.return_sequences:
            # Keras: the last processed step's output, zeros where it was masked.
            output = jnp.where(jnp.reshape(ms[-1], (batch,) + ones + (1,)), output, jnp.zeros((), output.dtype))
        return [output, *final] if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        """The input mask for sequence outputs (None otherwise, and for the states)."""
        return sequence_output_mask(mask, self.return_sequences, self.return_state, 2)

    def compute_output_spec(self, input_shape, input_dtype=None, **call_kwargs):
        with keeping_states(self):
            specs = super().compute_output_spec(input_shape, input_dtype, **call_kwargs)
        return _unknown_time(specs, input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "activation": _activations.serialize(self.activation),
                "recurrent_activation": _activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "kernel_initializer": _ser_init(self.kernel_initializer),
                "recurrent_initializer": _ser_init(self.recurrent_initializer),
                "bias_initializer": _ser_init(self.bias_initializer), "unit_forget_bias": self.unit_forget_bias,
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": _regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": _constraints.serialize(self.recurrent_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}


_LAYOUTS = {1: "steps", 2: "height, width", 3: "depth, height, width"}


@register_layer
class ConvLSTM1D(_ConvLSTM):
    rank = 1
    __doc__ = _DOC.format(rank=1, what="1-D signals", tuple_kind="a 1-tuple", layout="steps",
                          new_layout="new_steps", example="(2, 5, 6, 3)", example_out="(2, 6, 4)")


@register_layer
class ConvLSTM2D(_ConvLSTM):
    rank = 2
    __doc__ = _DOC.format(rank=2, what="images", tuple_kind="a pair", layout="height, width",
                          new_layout="new_h, new_w", example="(2, 5, 6, 6, 3)", example_out="(2, 6, 6, 4)")


@register_layer
class ConvLSTM3D(_ConvLSTM):
    rank = 3
    __doc__ = _DOC.format(rank=3, what="volumes", tuple_kind="a triple", layout="depth, height, width",
                          new_layout="new_d, new_h, new_w", example="(2, 3, 4, 4, 4, 2)",
                          example_out="(2, 4, 4, 4, 4)")
