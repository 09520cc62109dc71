"""Keras's ``ctc_decode`` (part of ``keras.ops.nn``): greedy and prefix beam-search CTC decoding.

Greedy decoding takes each step's most likely class, merges repeats (optionally) and drops
the blank (``mask_index``). Beam search keeps ``beam_width`` label prefixes, each with two
log-probabilities: ending in the blank, and ending in a label. A step extends every prefix by
every class (the blank and a repeat of the last label without a blank between keep the prefix),
sums the probabilities of identical prefixes, and keeps the most likely. Decoded sequences are
``-1``-padded to the input's length, as in Keras.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["ctc_decode"]

_PAD = -1


def _greedy(inputs, lengths, merge_repeated: bool, mask_index: int):
    batch, steps, _ = inputs.shape
    labels = jnp.argmax(inputs, axis=-1)
    past_end = jnp.arange(steps)[None, :] >= lengths[:, None]
    labels = jnp.where(past_end, mask_index, labels)
    scores = -jnp.sum(jnp.where(past_end, 0.0, jnp.max(inputs, axis=-1)), axis=1, keepdims=True)
    if merge_repeated:
        repeat = jnp.pad(labels[:, 1:] == labels[:, :-1], ((0, 0), (1, 0)))
        labels = jnp.where(repeat, mask_index, labels)
    blank = labels == mask_index
    # Move the kept labels to the front, in order (a stable sort on "is blank").
    order = jnp.argsort(blank, axis=-1, stable=True)
    decoded = jnp.take_along_axis(jnp.where(blank, _PAD, labels), order, axis=-1)
    return decoded[None], scores


def _log_merge(inverse, scores, size: int):
    """Sums (in probability) the log-scores that ``inverse`` maps to the same unique row."""
    top = jnp.max(scores)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    total = jnp.zeros((size,), scores.dtype).at[inverse].add(jnp.exp(scores - top))
    return jnp.log(total) + top


def _beam_search(inputs, lengths, beam_width: int, top_paths: int, mask_index: int):
    batch, steps, classes = inputs.shape
    logp = jax.nn.log_softmax(inputs, axis=-1)
    # Classes in reverse order, so that equal scores break ties as Keras (and TensorFlow) do.
    logp = jnp.flip(logp, axis=2)
    blank = classes - mask_index - 1
    past_end = jnp.arange(steps)[None, :] >= lengths[:, None]
    width, size = 2 * beam_width, 2 * beam_width * classes
    # Beam entries: a prefix (-1-padded), a log-score, and whether the entry ends in the blank.
    first = min(classes, beam_width)
    start = jnp.argsort(logp[:, 0], axis=1)[:, -first:]
    paths = jnp.full((batch, width, steps), _PAD, jnp.int32).at[:, :first, 0].set(
        jnp.where(start == blank, _PAD, start))
    scores = jnp.full((batch, width), -jnp.inf, logp.dtype).at[:, :first].set(
        jnp.take_along_axis(logp[:, 0], start, axis=1))
    ends_blank = paths[:, :, 0] == _PAD

    def extend(paths, scores, ends_blank, x):
        paths, scores, was_blank = (jnp.repeat(a, classes, axis=0) for a in (paths, scores, ends_blank))
        rows = jnp.arange(size)
        tail = jnp.argmax(paths == _PAD, axis=1)           # where the next label goes
        last = jnp.where(tail == 0, _PAD, paths[rows, tail - 1])
        label = jnp.tile(jnp.arange(classes).at[blank].set(_PAD), width)
        now_blank = label == _PAD
        label = jnp.where(~was_blank & (last == label), _PAD, label)   # a repeat without a blank between
        return paths.at[rows, tail].set(label), scores + jnp.tile(x, width), now_blank

    def prune(paths, scores, ends_blank):
        paths, inverse = jnp.unique(paths, axis=0, return_inverse=True, size=size, fill_value=_PAD)
        inverse = jnp.reshape(inverse, (-1,))
        in_label = _log_merge(inverse, jnp.where(ends_blank, -jnp.inf, scores), size)
        in_blank = _log_merge(inverse, jnp.where(ends_blank, scores, -jnp.inf), size)
        keep = jnp.argsort(jnp.logaddexp(in_label, in_blank))[-beam_width:]
        return (jnp.tile(paths[keep], (2, 1)), jnp.concatenate([in_label[keep], in_blank[keep]]),
                jnp.concatenate([jnp.zeros(beam_width, bool), jnp.ones(beam_width, bool)]))

    def step(carry, inp):
        x, done = inp
        carry = lax.cond(done, lambda *c: c, lambda p, s, e: prune(*extend(p, s, e, x)), *carry)
        return carry, None

    def decode_one(paths, scores, ends_blank, logp, done):
        (paths, scores, _), _ = lax.scan(step, (paths, scores, ends_blank), (logp[1:], done[1:]))
        paths, inverse = jnp.unique(paths, axis=0, return_inverse=True, size=size, fill_value=_PAD)
        scores = _log_merge(jnp.reshape(inverse, (-1,)), scores, size)
        best = jnp.argsort(scores)[-top_paths:][::-1]
        return paths[best], scores[best]

    paths, scores = jax.vmap(decode_one)(paths, scores, ends_blank, logp, past_end)
    paths = jnp.where(paths == _PAD, _PAD, classes - paths - 1)   # back to the original class numbers
    return jnp.transpose(paths, (1, 0, 2)), scores


def ctc_decode(inputs, sequence_lengths, strategy='greedy', beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Decodes a CTC model's logits, as ``keras.ops.ctc_decode``.

    Args:
        inputs: logits (not softmaxed), ``(batch, max_length, num_classes)``.
        sequence_lengths: each sequence's length, ``(batch,)``.
        strategy: ``"greedy"`` or ``"beam_search"``.
        beam_width: the number of prefixes beam search keeps.
        top_paths: the number of best sequences beam search returns.
        merge_repeated: greedy decoding merges repeated labels.
        mask_index: the blank class.

    Returns:
        ``(decoded, scores)``: decoded ``(1 or top_paths, batch, max_length)`` labels padded with
        -1; scores ``(batch, 1)``, minus the sum of the chosen logits (greedy), or ``(batch,
        top_paths)``, the log-probabilities (beam search).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> logits = np.log(np.array([[[.1, .8, .1], [.1, .8, .1], [.8, .1, .1], [.1, .1, .8]]], "float32"))
    >>> ops.ctc_decode(logits, np.array([4]))[0]
    Array([[[ 1,  2, -1, -1]]], dtype=int32)
    """
    inputs = jnp.asarray(inputs)
    if inputs.ndim != 3:
        raise ValueError(f"ctc_decode takes inputs of shape (batch, max_length, num_classes), got {inputs.shape}.")
    inputs = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
    lengths = jnp.asarray(sequence_lengths, jnp.int32)
    classes = inputs.shape[-1]
    mask_index = classes - 1 if mask_index is None else mask_index
    if not isinstance(mask_index, (int, np.integer)) or not 0 <= mask_index < classes:
        raise ValueError(f"ctc_decode `mask_index` must be a class index in [0, {classes}), got {mask_index!r}.")
    if strategy == "greedy":
        return _greedy(inputs, lengths, bool(merge_repeated), int(mask_index))
    if strategy == "beam_search":
        for name, value in (("beam_width", beam_width), ("top_paths", top_paths)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"ctc_decode `{name}` must be a positive int, got {value!r}.")
        if top_paths > beam_width:
            raise ValueError(f"ctc_decode `top_paths` ({top_paths}) must be at most beam_width ({beam_width}).")
        return _beam_search(inputs, lengths, int(beam_width), int(top_paths), int(mask_index))
    raise ValueError(f"ctc_decode `strategy` must be 'greedy' or 'beam_search', got {strategy!r}.")


dispatch_namespace("nn", globals(), __all__)   # calls on symbolic tensors become graph nodes
