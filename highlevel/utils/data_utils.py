"""Keras's data utilities on NumPy: ``to_categorical``, ``normalize``, ``pad_sequences``, ``split_dataset``."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["to_categorical", "normalize", "pad_sequences", "split_dataset", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight"]


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows from integer class ids (Keras's ``to_categorical``): ``(..., num_classes)``.

    A trailing axis of size 1 is dropped first, as in Keras. The result is float64 NumPy.

    Args:
        x: Class ids (array-like of non-negative integers).
        num_classes: The number of classes (None: ``max(x) + 1``).

    Returns:
        The one-hot array.

    >>> import highlevel as hl
    >>> hl.utils.to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    x = np.array(x, dtype="int64")
    shape = x.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and (x.min() < 0 or (num_classes and x.max() >= num_classes)):
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes or 'num_classes'}), got values from "
                         f"{x.min()} to {x.max()}.")
    if not num_classes:
        num_classes = int(x.max()) + 1 if x.size else 0
    out = np.zeros((x.shape[0], num_classes))
    out[np.arange(x.shape[0]), x] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis: int = -1, order: int = 2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms left as they are), as Keras's.

    NumPy in, NumPy out; a JAX array gives ``hl.ops.normalize``'s result.

    Args:
        x: The array.
        axis: The axis along which to normalize.
        order: The order of the norm (2: Euclidean).

    Returns:
        The normalized array.

    >>> import highlevel as hl, numpy as np
    >>> hl.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    if not isinstance(x, np.ndarray) and hasattr(x, "shape") and hasattr(x, "dtype"):
        from highlevel import ops
        return ops.normalize(x, axis=axis, order=order)
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis or -1)


def pad_sequences(sequences, maxlen: int | None = None, dtype: str = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Sequences of different lengths as one ``(n, maxlen)`` array, as Keras's ``pad_sequences``.

    Shorter sequences are padded with ``value`` and longer ones cut, at the start
    (``"pre"``, Keras's default) or the end (``"post"``). Entries may themselves be arrays
    (then the result is ``(n, maxlen, *entry_shape)``); strings need ``dtype=object`` or a
    string dtype.

    Args:
        sequences: A list of sequences (lists or arrays).
        maxlen: The length of the result (None: the longest sequence).
        dtype: The result's dtype.
        padding: ``"pre"`` or ``"post"``: where padding goes.
        truncating: ``"pre"`` or ``"post"``: where long sequences are cut.
        value: The padding value.

    Returns:
        The padded NumPy array.

    >>> import highlevel as hl
    >>> hl.utils.pad_sequences([[1, 2, 3], [4]], maxlen=2)
    array([[2, 3],
           [0, 4]], dtype=int32)
    >>> hl.utils.pad_sequences([[1, 2, 3], [4]], padding="post", truncating="post", value=-1)
    array([[ 1,  2,  3],
           [ 4, -1, -1]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: sequences must be a list of sequences (lists or arrays).")
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding and truncating must be 'pre' or 'post', got padding={padding!r} "
                         f"and truncating={truncating!r}.")
    lengths, sample_shape, found = [], (), False
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError(f"pad_sequences: sequence {i} is not a sequence (it has no len()): {seq!r}.") from None
        if not found and len(seq):
            sample_shape, found = np.asarray(seq).shape[1:], True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and dtype != object and not is_text:
        raise ValueError(f"pad_sequences: dtype {dtype!r} cannot hold the padding value {value!r}; pass "
                         "dtype=object or a string dtype.")
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if not len(seq) or not maxlen:
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: sequence {i} has entries of shape {kept.shape[1:]}, the first non-empty "
                             f"sequence {sample_shape}; every entry must have one shape.")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, -len(kept):] = kept
    return out


def _size(n: int, size, name: str) -> int | None:
    if size is None:
        return None
    if isinstance(size, float):
        if not 0.0 < size < 1.0:
            raise ValueError(f"split_dataset: a fractional {name} must be in (0, 1), got {size}.")
        return int(round(size * n))
    if isinstance(size, (int, np.integer)) and 0 < size <= n:
        return int(size)
    raise ValueError(f"split_dataset: {name} must be a float in (0, 1) or an int in [1, {n}], got {size!r}.")


def split_dataset(dataset, left_size=None, right_size=None, shuffle: bool = False, seed: int | None = None):
    """Splits arrays (or a tuple/list/dict of arrays of one length) into two parts, as Keras's ``split_dataset``.

    Keras returns ``tf.data`` datasets; here each part has the form of the input (NumPy
    arrays), ready for ``fit``. Sizes are fractions in (0, 1) or row counts; with only one
    given, the other part is the rest (both None: a 50/50 split).

    Args:
        dataset: An array, a tuple/list of arrays, or a dict of arrays (rows on axis 0).
        left_size: The first part's size.
        right_size: The second part's size.
        shuffle: Whether to shuffle the rows first.
        seed: The shuffling seed.

    Returns:
        ``(left, right)``.

    >>> import highlevel as hl, numpy as np
    >>> (x_train, y_train), (x_val, y_val) = hl.utils.split_dataset((np.arange(10), np.arange(10)), left_size=0.8)
    >>> x_train.shape, x_val.tolist()
    ((8,), [8, 9])
    """
    if isinstance(dataset, dict):
        leaves: Sequence = list(dataset.values())
    elif isinstance(dataset, (tuple, list)) and dataset and all(hasattr(a, "shape") for a in dataset):
        leaves = list(dataset)
    else:
        leaves = [dataset]
    arrays = [np.asarray(a) for a in leaves]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"split_dataset: the arrays have different lengths {[len(a) for a in arrays]}; they must "
                         "all have one row per sample.")
    left, right = _size(n, left_size, "left_size"), _size(n, right_size, "right_size")
    if left is None and right is None:
        left = n // 2
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left + right > n:
        raise ValueError(f"split_dataset: left_size and right_size add up to {left + right} rows, more than the "
                         f"{n} there are.")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    parts = [[a[order[:left]] for a in arrays], [a[order[left:left + right]] for a in arrays]]

    def shaped(part):
        if isinstance(dataset, dict):
            return dict(zip(dataset.keys(), part))
        if leaves is not dataset and isinstance(leaves, list) and len(leaves) == 1 and not isinstance(dataset, (tuple, list)):
            return part[0]
        return type(dataset)(part) if isinstance(dataset, (tuple, list)) else part[0]

    return shaped(parts[0]), shaped(parts[1])


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Packs ``x``, ``y`` and ``sample_weight`` into one batch, as Keras's.

    Args:
        x: the inputs.
        y: the targets, or None.
        sample_weight: the sample weights, or None.

    Returns:
        ``x`` alone (a tuple or list ``x`` is wrapped as ``(x,)``), ``(x, y)`` or
        ``(x, y, sample_weight)``: what ``unpack_x_y_sample_weight`` takes apart.

    >>> pack_x_y_sample_weight(1), pack_x_y_sample_weight([1, 2]), pack_x_y_sample_weight(1, 2)
    (1, ([1, 2],), (1, 2))
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` of a batch, None for what it does not hold, as Keras's.

    Args:
        data: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (a tuple or a list).

    >>> unpack_x_y_sample_weight((1, 2)), unpack_x_y_sample_weight(5)
    ((1, 2, None), (5, None, None))
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if 1 <= len(data) <= 3:
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(f"A batch is x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(data)} items. "
                     "Nest the inputs (for several, pass them as one tuple or dict x).")
