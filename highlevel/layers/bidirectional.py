"""The Bidirectional wrapper: a recurrent layer run forward and a copy of it backward, merged."""

from __future__ import annotations

import copy

import jax.numpy as jnp

from highlevel.layers.base import Layer, deserialize_layer, register_layer, serialize_layer
from highlevel.layers.rnn import _unknown_time, _with_states

__all__ = ["Bidirectional"]


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
    A ``mask`` (``(batch, timesteps)``) goes to both directions, as in Keras (with
    ``return_sequences``, masked steps output zeros).

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
        for inner in (fwd, bwd):   # as Keras: masked steps of returned sequences are zeros
            if hasattr(inner, "zero_output_for_mask"):
                inner.zero_output_for_mask = inner.return_sequences
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
        self.forward_layer.maybe_build(seq_shape)
        self.backward_layer.maybe_build(seq_shape)

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        return super().__call__(_with_states(self, inputs, initial_state), *args, **kwargs)

    supports_masking = True

    def call(self, inputs, training: bool = False, mask=None):
        if isinstance(mask, (list, tuple)):  # one per input: the sequence's is the first
            mask = mask[0] if mask else None
        masked = {} if mask is None else {"mask": mask}
        if isinstance(inputs, (list, tuple)) and len(inputs) > 1:
            x, states = inputs[0], list(inputs[1:])
            if len(states) % 2:
                raise ValueError(f"Bidirectional '{self.name}' takes the forward states then the "
                                 f"backward states (an even number), got {len(states)} initial states.")
            half = len(states) // 2
            y = self.forward_layer([x, *states[:half]], training=training, **masked)
            y_rev = self.backward_layer([x, *states[half:]], training=training, **masked)
        else:
            x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
            y = self.forward_layer(x, training=training, **masked)
            y_rev = self.backward_layer(x, training=training, **masked)
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

    def compute_mask(self, inputs, mask=None):
        """The output mask: the input's with ``return_sequences`` (None otherwise; None for the states)."""
        inner = self.forward_layer.compute_mask(inputs, mask)
        out, n_states = (inner[0], len(inner) - 1) if self.return_state else (inner, 0)
        outs = [out] if self.merge_mode is not None else [out, out]
        if len(outs) == 1 and not n_states:
            return out
        return outs + [None] * (2 * n_states)

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
