"""Data adapters: arrays or iterables in, fixed-shape padded batches out, copied ahead to the device.

Every batch a step sees has the same shapes: a partial last batch is padded to
the batch size and carries a mask (1 for real rows, 0 for padding), so it never
adds a compilation. Sample weights arrive already multiplied by the mask and by
the class weights.

With ``steps_per_execution=K`` the batches come in groups: each full group of K
batches as one ``Stacked`` batch (every array with a leading axis of K) for the
fused K-step function, and a partial group at the end of an epoch as a list of
single batches for the one-step function.
"""

from __future__ import annotations

import collections
import itertools
import weakref
from typing import Iterable, Iterator

import jax
import numpy as np

from highlevel import backend as _backend
from highlevel.distribute.strategies import Stacked
from highlevel.training import checks, weights
from highlevel.utils import global_state as _global_state
from highlevel.utils.py_dataset import PyDataset

__all__ = ["Batch", "Stacked", "ArrayAdapter", "IterableAdapter", "make_adapter", "prefetch_to_device",
           "standardize_array", "split_validation", "is_array_data", "batch_spec"]

Batch = collections.namedtuple("Batch", ["x", "y", "sample_weight", "mask"])


def _constant(shape: tuple, value: float) -> np.ndarray:
    # Masks of full batches are the same every step: one read-only array per shape.
    key = (shape, value)
    constants = _global_state.global_attribute("batch_constants", dict)
    arr = constants.get(key)
    if arr is None:
        arr = np.full(shape, value, np.float32)
        arr.setflags(write=False)
        constants[key] = arr
    return arr


def batch_spec(x, y, sample_weight, batch_size: int) -> Batch:
    """The shapes and dtypes (``jax.ShapeDtypeStruct``) of one padded batch of ``batch_size`` rows."""
    spec = lambda a: jax.ShapeDtypeStruct((batch_size,) + tuple(np.shape(a)[1:]), np.asarray(a[:0]).dtype)
    tree = lambda t: None if t is None else jax.tree_util.tree_map(spec, t)
    row = jax.ShapeDtypeStruct((batch_size,), np.float32)
    return Batch(tree(x), tree(y), weights.spec(sample_weight, batch_size), row)


def _is_leaf_array(x) -> bool:
    return isinstance(x, (np.ndarray, jax.Array)) or (hasattr(x, "__array__") and hasattr(x, "shape"))


def is_array_data(x) -> bool:
    """True for an array, or a list/tuple/dict of arrays (several inputs)."""
    if _is_leaf_array(x):
        return True
    if isinstance(x, dict):
        return bool(x) and all(_is_leaf_array(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and all(_is_leaf_array(v) for v in x)
    return False


def standardize_array(a, what: str) -> np.ndarray:
    """A NumPy array of a numeric dtype (float64 becomes float32, int64 becomes int32)."""
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{what} must hold numbers, got an array of dtype {arr.dtype}. Convert it "
                        "first, e.g. with np.asarray(data, dtype='float32') or by encoding the labels "
                        "as integers.")
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    elif arr.dtype == np.int64:
        arr = arr.astype(np.int32)
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    if arr.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar.")
    return arr


def _tree_standardize(tree, what: str):
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: standardize_array(v, f"{what}[{k!r}]") for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [standardize_array(v, f"{what}[{i}]") for i, v in enumerate(tree)]
    return standardize_array(tree, what)


def _num_rows(tree) -> int:
    return int(jax.tree_util.tree_leaves(tree)[0].shape[0])


def _check_lengths(x, y, sample_weight) -> int:
    lengths = {}
    for name, tree in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        if tree is None:
            continue
        for leaf in jax.tree_util.tree_leaves(tree):
            lengths.setdefault(name, set()).add(int(leaf.shape[0]))
    for name, sizes in lengths.items():
        if len(sizes) > 1:
            raise ValueError(f"All arrays in {name} must have the same number of samples, got "
                             f"lengths {sorted(sizes)}.")
    flat = {name: next(iter(sizes)) for name, sizes in lengths.items()}
    if len(set(flat.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in flat.items())
        raise ValueError(f"x and y must have the same number of samples: {described}. "
                         "Pass arrays of matching length.")
    return flat["x"]


# Arrays whose values were checked already (the halves ``split_validation`` returns): an adapter
# made from them does not pass over them again. Keyed by id, with a weak reference to tell a
# reused id apart.
_CHECKED: dict[int, weakref.ref] = {}


def _mark_checked(tree) -> None:
    for leaf in jax.tree_util.tree_leaves(tree):
        key = id(leaf)
        try:
            _CHECKED[key] = weakref.ref(leaf, lambda _, key=key: _CHECKED.pop(key, None))
        except TypeError:
            pass  # no weak references to it: it will be checked again, that is all


def _checked_already(*trees) -> bool:
    leaves = [leaf for tree in trees for leaf in jax.tree_util.tree_leaves(tree)]
    return bool(leaves) and all(_CHECKED.get(id(leaf), lambda: None)() is leaf for leaf in leaves)


def split_validation(x, y, sample_weight, validation_split: float):
    """Keras's rule: the last ``validation_split`` fraction of the data, before shuffling.

    The whole data is checked first (``checks.check_arrays``), so a message names a row
    of the arrays given to ``fit``, wherever it falls.
    """
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}.")
    sample_weight = weights.standardize(sample_weight)
    if is_array_data(x):
        checks.check_arrays(_tree_standardize(x, "x"), _tree_standardize(y, "y"), sample_weight)
    n = _num_rows(x)
    split_at = int(n * (1.0 - validation_split))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={validation_split} leaves no training or no validation "
                         f"samples out of {n}; use a split that keeps both non-empty.")
    head = lambda t: None if t is None else jax.tree_util.tree_map(lambda a: a[:split_at], t)
    tail = lambda t: None if t is None else jax.tree_util.tree_map(lambda a: a[split_at:], t)
    parts = (head(x), head(y), head(sample_weight)), (tail(x), tail(y), tail(sample_weight))
    _mark_checked(parts)
    return parts


def _class_weights(y, class_weight: dict | None) -> np.ndarray | None:
    checks.check_class_weight(class_weight)
    if not class_weight:
        return None
    if len(jax.tree_util.tree_leaves(y)) > 1:
        # Keras's rule: the labels of which output would the weights go by?
        raise ValueError("class_weight is supported only for models with a single output; with several "
                         "outputs, weight each output's samples with sample_weight (a list or dict with one "
                         "array per output).")
    labels = np.asarray(jax.tree_util.tree_leaves(y)[0])
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(-1)
    labels = labels.reshape(labels.shape[0], -1)[:, 0].astype(np.int64)
    table = np.ones(max(int(labels.max()) + 1, max(class_weight) + 1), np.float32)
    for cls, weight in class_weight.items():
        table[int(cls)] = float(weight)
    return table[labels]


class ArrayAdapter:
    """Batches of in-memory arrays, shuffled per epoch by a seeded permutation.

    The data order of epoch ``e`` depends only on ``(seed, e)``, so a resumed run
    sees the same batches as an uninterrupted one. With ``steps`` (``steps_per_epoch``) an
    epoch reads that many batches and the next epoch goes on where it stopped, as Keras's
    epoch iterator does (``span``).
    """

    def __init__(self, x, y=None, sample_weight=None, *, batch_size: int = 32, shuffle: bool = False,
                 class_weight: dict | None = None, seed: int = 0, steps_per_execution: int = 1,
                 steps: int | None = None):
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        checked = _checked_already(x, y, sample_weight)
        self.x = _tree_standardize(x, "x")
        self.y = _tree_standardize(y, "y")
        self.sample_weight = weights.standardize(sample_weight)
        self.num_samples = _check_lengths(self.x, self.y, self.sample_weight)
        if not checked:
            checks.check_arrays(self.x, self.y, self.sample_weight)
        cw = _class_weights(self.y, class_weight) if self.y is not None else None
        self.sample_weight = weights.combine(self.sample_weight, cw)
        self.batch_size = int(min(batch_size, self.num_samples)) if self.num_samples else int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.k = int(steps_per_execution)
        self.steps = _check_steps(steps)
        self._x_leaves, self._y_leaves = _leaves_of(self.x), _leaves_of(self.y)
        self._w_leaves = _leaves_of(self.sample_weight)

    @property
    def data_batches(self) -> int:
        """Batches in one pass over the data."""
        return -(-self.num_samples // self.batch_size)

    @property
    def num_batches(self) -> int:
        """Batches an epoch reads: ``steps`` when given (Keras's count, also for the progress bar)."""
        return self.data_batches if self.steps is None else self.steps

    def span(self, epoch: int) -> tuple[int, int, int]:
        """``(pass, first batch, batch count)`` of ``epoch``: Keras's order with ``steps``.

        Keras keeps one iterator over the data across epochs and starts a new (reshuffled)
        pass once a pass is read to its end, so an epoch that reaches the end is short.

        >>> a = ArrayAdapter(np.zeros((56, 1)), np.zeros(56), batch_size=8, steps=3)
        >>> [a.span(e) for e in range(4)]
        [(0, 0, 3), (0, 3, 3), (0, 6, 1), (1, 0, 3)]
        """
        n = self.data_batches
        if self.steps is None:
            return epoch, 0, n
        per_pass = -(-n // self.steps)
        data_pass, at = divmod(epoch, per_pass)
        return data_pass, at * self.steps, min(self.steps, n - at * self.steps)

    @property
    def num_executions(self) -> int:
        return -(-self.num_batches // self.k)

    def _order(self, epoch: int) -> np.ndarray:
        if self.shuffle == "batch":
            blocks = np.arange(self.data_batches)
            np.random.default_rng([self.seed, epoch]).shuffle(blocks)
            return np.concatenate([np.arange(b * self.batch_size, min((b + 1) * self.batch_size, self.num_samples)) for b in blocks])
        if self.shuffle:
            return np.random.default_rng([self.seed, epoch]).permutation(self.num_samples)
        return np.arange(self.num_samples)

    def _gather(self, idx: np.ndarray, n_real: int, shape: tuple | None = None) -> Batch:
        """Rows ``idx`` (the first ``n_real`` of them real), reshaped to ``shape`` + row shape if given."""
        rows = len(idx)
        shape = shape or (rows,)

        def take(leaves, treedef):
            if leaves is None:
                return None
            taken = [a[idx] if len(shape) == 1 else a[idx].reshape(shape + a.shape[1:]) for a in leaves]
            return taken[0] if treedef is None else jax.tree_util.tree_unflatten(treedef, taken)

        if n_real == rows:
            mask = _constant(shape, 1.0)
        else:
            mask = np.zeros(rows, np.float32)
            mask[:n_real] = 1.0
            mask = mask.reshape(shape)
        return Batch(take(*self._x_leaves), take(*self._y_leaves), weights.weight_rows(take(*self._w_leaves), mask),
                     mask)

    def check_against(self, model, loss, *, validation=None, epochs=None, initial_epoch: int = 0) -> None:
        """Checks this data (and ``validation``'s) against the built ``model`` and its ``loss`` (``checks.check_adapter``):
        labels in range, target shapes, input names; and ``epochs`` when given."""
        checks.check_adapter(self, model, loss, validation=validation, epochs=epochs, initial_epoch=initial_epoch)

    def batch_spec(self) -> Batch:
        """The shapes and dtypes of one batch (``jax.ShapeDtypeStruct``s)."""
        return batch_spec(self.x, self.y, self.sample_weight, self.batch_size)

    def batches(self, epoch: int = 0, start: int = 0, k: int | None = None) -> Iterator:
        """Batches of exactly ``batch_size`` rows (the last one padded); when k > 1, each full
        group of k as one ``Stacked`` batch and the rest of the epoch as a list of batches.

        ``start`` skips that many steps (groups of k batches) without gathering them.
        """
        k = self.k if k is None else k
        data_pass, first_batch, count = self.span(epoch)
        order = self._order(data_pass)
        b = self.batch_size
        first = (first_batch + start * k) * b
        end = min((first_batch + count) * b, self.num_samples)
        if k > 1:
            group = k * b
            while first + group <= end:
                yield Stacked(self._gather(order[first:first + group], group, (k, b)))
                first += group
            tail = list(self._singles(order, first, end))
            if tail:
                yield tail
            return
        yield from self._singles(order, first, end)

    def _singles(self, order: np.ndarray, first: int, end: int) -> Iterator[Batch]:
        b = self.batch_size
        for at in range(first, end, b):
            idx = order[at:at + b]
            n_real = len(idx)
            if n_real < b:
                idx = np.concatenate([idx, np.repeat(idx[:1], b - n_real)])
            yield self._gather(idx, n_real)


def _check_steps(steps):
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps (steps_per_epoch, validation_steps) must be a positive integer or None, "
                         f"got {steps!r}.")
    return int(steps)


def _leaves_of(tree):
    """``(leaves, treedef)`` of a tree of arrays; ``treedef`` None for a single array; None for None."""
    if tree is None:
        return None, None
    if isinstance(tree, np.ndarray):
        return [tree], None
    return jax.tree_util.tree_flatten(tree)


def _grouped(batches: Iterable[Batch], k: int) -> Iterator:
    """The batches themselves when k == 1; else each full group of k ``Stacked`` and a partial
    last group as a list."""
    if k == 1:
        yield from batches
        return
    group: list[Batch] = []
    for batch in batches:
        group.append(batch)
        if len(group) == k:
            yield Stacked(jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *group))
            group = []
    if group:
        yield group


class _OneShot:
    """A one-shot iterator whose first item was peeked and put back."""

    def __init__(self, iterator):
        self._iterator = iterator

    def __iter__(self):
        return self._iterator


class IterableAdapter:
    """Batches from any re-iterable of ``(x, y)`` or ``(x, y, sample_weight)`` (or ``x`` alone for predict)."""

    def __init__(self, data: Iterable, *, class_weight: dict | None = None, steps_per_execution: int = 1,
                 steps: int | None = None, targets: bool = True, shuffle: bool | str = False, seed: int = 0,
                 steps_argument: str = "steps_per_epoch"):
        self.data = data
        #: The argument that sets ``steps`` (``steps_per_epoch``, ``validation_steps``), for errors.
        self.steps_argument = steps_argument
        self.class_weight = class_weight
        #: Shuffle the batch order of a PyDataset with ``__len__`` per pass (Keras's PyDatasetAdapter),
        #: seeded by ``(seed, pass)``; other iterables are read as they come.
        self.shuffle = shuffle
        self.seed = int(seed)
        self.k = int(steps_per_execution)
        self.steps = _check_steps(steps)
        self.targets = targets
        self.batch_size: int | None = None
        self.num_batches = steps if steps is not None else (len(data) if hasattr(data, "__len__") else None)
        self._consumed_once = False
        self._stream = None   # with steps, the iterator that epochs read on from
        self._peeked = None

    @property
    def num_executions(self) -> int | None:
        return None if self.num_batches is None else -(-self.num_batches // self.k)

    def peek(self):
        """The first batch, for building the model and sizing the batches (not consumed)."""
        if self._peeked is not None:
            return self._peeked
        if iter(self.data) is self.data:
            # A one-shot iterator: put the peeked item back in front of it.
            first_raw = next(self.data, None)
            if first_raw is None:
                raise ValueError("The data iterable yielded no batches.")
            self.data = _OneShot(itertools.chain([first_raw], self.data))
        else:
            first_raw = next(iter(self.data), None)
            if first_raw is None:
                raise ValueError("The data iterable yielded no batches.")
        first = self._unpack(first_raw)
        checks.check_arrays(*first)  # the first batch stands for the others
        self.batch_size = _num_rows(first[0])
        self._peeked = first
        return first

    def check_against(self, model, loss, *, validation=None, epochs=None, initial_epoch: int = 0) -> None:
        """Checks this data (its first batch, and ``validation``'s) against the built ``model`` and its ``loss`` (``checks.check_adapter``):
        labels in range, target shapes, input names; and ``epochs`` when given."""
        checks.check_adapter(self, model, loss, validation=validation, epochs=epochs, initial_epoch=initial_epoch)

    def batch_spec(self) -> Batch:
        """The shapes and dtypes of one padded batch (``jax.ShapeDtypeStruct``s), from the first batch."""
        x, y, sw = self.peek()
        return batch_spec(x, y, sw, self.batch_size)

    def span(self, epoch: int) -> tuple[int, int]:
        """``(first batch, batch count)`` of ``epoch`` for data of known length read with ``steps``:
        as Keras, each epoch goes on where the one before stopped, and a new pass starts
        once the data is read to its end (an epoch that reaches it is short)."""
        n = len(self.data)
        per_pass = -(-n // self.steps)
        at = epoch % per_pass
        return at * self.steps, min(self.steps, n - at * self.steps)

    def _order(self, data_pass: int):
        """A shuffled PyDataset's batch indices for a pass over it, or None (index order)."""
        if not self.shuffle or not isinstance(self.data, PyDataset) or self.data.num_batches is None:
            return None
        return np.random.default_rng([self.seed, data_pass]).permutation(len(self.data))

    def _raw(self, epoch: int, skip: int) -> Iterator:
        """The epoch's raw items after the first ``skip``."""
        one_shot = isinstance(self.data, _OneShot) or iter(self.data) is self.data
        if self.steps is None and isinstance(self.data, PyDataset) and self.data.num_batches is not None:
            return self.data.read(skip, len(self.data), self._order(epoch))
        if self.steps is None:
            if one_shot:
                if self._consumed_once:
                    raise ValueError("The data iterator is exhausted: a generator can be read only once. "
                                     "Pass a re-iterable (a list of batches, or an object whose __iter__ "
                                     f"starts over) or give {self.steps_argument}.")
                self._consumed_once = True
            return itertools.islice(iter(self.data), skip, None)
        if not one_shot and hasattr(self.data, "__len__") and hasattr(self.data, "__getitem__"):
            # A PyDataset or a list of batches: index only the batches this epoch trains on.
            first, count = self.span(epoch)
            if isinstance(self.data, PyDataset):
                data_pass = epoch // -(-len(self.data) // self.steps)   # as span: a new pass, a new order
                return self.data.read(first + skip, first + count, self._order(data_pass))
            return (self.data[i] for i in range(first + skip, first + count))
        if not one_shot and hasattr(self.data, "__len__"):
            first, count = self.span(epoch)
            return itertools.islice(iter(self.data), first + skip, first + count)
        # A generator (or a re-iterable of unknown length): one iterator read on across epochs,
        # ``steps`` items an epoch; a re-iterable that runs out starts over at the next epoch.
        return self._continued(one_shot, skip)

    def _continued(self, one_shot: bool, skip: int) -> Iterator:
        if self._stream is None:
            if one_shot and self._consumed_once:
                raise ValueError(f"The data iterator is exhausted: it yielded fewer than {self.steps_argument} * "
                                 "epochs batches. Make the generator endless (e.g. `while True:` around "
                                 f"its loop) or lower {self.steps_argument} or epochs.")
            self._stream = iter(self.data)
            self._consumed_once = True
        read = 0
        for item in self._stream:
            read += 1
            if read > skip:
                yield item
            if read == self.steps:
                return
        self._stream = None  # ran out

    def _unpack(self, item):
        if not self.targets:
            if isinstance(item, tuple):
                # Keras's convention: a tuple is (x,), (x, y) or (x, y, sample_weight);
                # several inputs come as a list or a dict.
                item = item[0]
            return (_tree_standardize(item, "x"), None, None)
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise ValueError("Each batch of an iterable must be (x, y) or (x, y, sample_weight), "
                             f"got {type(item).__name__}.")
        x, y = item[0], item[1]
        sw = item[2] if len(item) == 3 else None
        x, y = _tree_standardize(x, "x"), _tree_standardize(y, "y")
        sw = weights.standardize(sw)
        _check_lengths(x, y, sw)
        return (x, y, weights.combine(sw, _class_weights(y, self.class_weight)))

    def batches(self, epoch: int = 0, start: int = 0, k: int | None = None) -> Iterator[Batch]:
        """Padded batches; ``start`` skips that many steps (groups of k batches)."""
        k = self.k if k is None else k
        return _grouped(self._padded(self._unpack(item) for item in self._raw(epoch, start * k)), k)

    def _padded(self, items) -> Iterator[Batch]:
        for x, y, sw in items:
            n = _num_rows(x)
            if self.batch_size is None:
                self.batch_size = n
            if n > self.batch_size:
                raise ValueError(f"Batch of {n} rows is larger than the first batch ({self.batch_size}); "
                                 "an iterable must yield batches of one size (a smaller last batch is fine).")
            pad = self.batch_size - n
            padded = lambda t: None if t is None else jax.tree_util.tree_map(
                lambda a: np.concatenate([a, np.repeat(a[:1], pad, axis=0)]) if pad else a, t)
            mask = _constant((n,), 1.0) if not pad else np.concatenate([np.ones(n, np.float32),
                                                                        np.zeros(pad, np.float32)])
            yield Batch(padded(x), padded(y), weights.weight_rows(weights.pad_rows(sw, pad), mask), mask)


def make_adapter(x, y=None, sample_weight=None, *, batch_size=None, shuffle=False, class_weight=None,
                 seed=0, steps_per_execution=1, steps=None, targets=True, steps_argument="steps_per_epoch"):
    """An ArrayAdapter for arrays (or lists/dicts of them), a GrainAdapter for a Grain dataset, an
    IterableAdapter for any other iterable."""
    if x is None:
        raise ValueError("No data: pass x (arrays or an iterable of batches).")
    from highlevel.training import grain_adapter  # imports this module
    if grain_adapter.is_grain_dataset(x):
        if y is not None:
            raise ValueError("When x is a Grain dataset, do not pass y: its records or batches carry the targets.")
        return grain_adapter.GrainAdapter(x, batch_size=batch_size, shuffle=shuffle, class_weight=class_weight,
                                          seed=seed, steps_per_execution=steps_per_execution, steps=steps,
                                          targets=targets)
    if is_array_data(x):
        # y may be None: a model whose loss comes from add_loss (Keras's endpoint layers) needs no
        # targets; a compiled loss without them says so when the step is traced.
        return ArrayAdapter(x, y if targets else None, sample_weight if targets else None,
                            batch_size=32 if batch_size is None else batch_size, shuffle=shuffle,
                            class_weight=class_weight, seed=seed, steps_per_execution=steps_per_execution,
                            steps=steps)
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"x must be arrays, a list/dict of arrays, or an iterable of batches; got "
                        f"{type(x).__name__}.")
    if y is not None:
        raise ValueError("When x is an iterable of batches, do not pass y: each batch carries its targets.")
    return IterableAdapter(x, class_weight=class_weight, steps_per_execution=steps_per_execution,
                           steps=steps, targets=targets, shuffle=shuffle, seed=seed, steps_argument=steps_argument)


def prefetch_to_device(batches: Iterable, size: int = 2, put=None) -> Iterator:
    """Copies batches to the device ``size`` ahead of use (``device_put`` is asynchronous).

    On the CPU backend the step reads host memory directly, and an explicit ``device_put``
    only adds work (about 0.1 ms a batch measured), so batches pass through unchanged.
    ``put`` (a distribution's ``put_batch``) places each batch on its shards instead, on
    every backend.
    """
    if put is None and _backend.host_memory_is_device():
        yield from batches
        return
    put = jax.device_put if put is None else put
    queue: collections.deque = collections.deque()
    iterator = iter(batches)
    for item in itertools.islice(iterator, size):
        queue.append(put(item))
    while queue:
        yield queue.popleft()
        for item in itertools.islice(iterator, 1):
            queue.append(put(item))
