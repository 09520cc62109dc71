"""Checks of the data given to ``fit``/``evaluate``, at the boundary, before anything trains.

Wrong data that trains silently (labels outside the classes, NaN inputs, targets that
broadcast against the outputs, an ignored input, no data at all) is refused with one
sentence naming the array, the first bad index and the fix. The checks are one
vectorized NumPy pass over the host arrays (in chunks, so no large temporaries), made
once per ``fit``; for an iterable of batches the first batch is checked.

Two parts: what needs no model (``check_arrays``, ``check_class_weight``,
``check_epochs``: called by the data adapters), and what needs the model's outputs, loss
and input names (``check_training_data``: called by the trainer once the model is built).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from highlevel import losses as _losses

__all__ = ["check_arrays", "check_class_weight", "check_epochs", "check_training_data", "check_adapter",
           "check_sample_weight", "input_names_of", "output_names_and_shapes", "first_nonfinite"]

_CHUNK = 1 << 22  # elements per chunk of a pass

#: Set to False to skip the value checks (labels, NaN, sample weights) of large data known to
#: be clean; emptiness, shapes, input names, epochs and class weights are always checked.
enabled = True


def _index(idx: Sequence[int]) -> str:
    return ", ".join(str(int(i)) for i in idx)


def _chunks(a: np.ndarray):
    """``(start row, block)`` over the first axis, about ``_CHUNK`` elements a block."""
    row = max(1, int(np.prod(a.shape[1:], dtype=np.int64)))
    step = max(1, _CHUNK // row)
    for start in range(0, a.shape[0], step):
        yield start, np.asarray(a[start:start + step])


def first_nonfinite(a) -> tuple[tuple[int, ...], float] | None:
    """The index and value of the first NaN or infinity of ``a`` (None when all are finite).

    >>> first_nonfinite(np.array([[1.0, 2.0], [np.nan, 0.0]]))
    ((1, 0), nan)
    """
    a = np.asarray(a) if not isinstance(a, np.ndarray) else a
    if not np.issubdtype(a.dtype, np.inexact) or a.size == 0:
        return None
    if a.ndim == 0:
        return None if np.isfinite(a) else ((), float(a))
    for start, block in _chunks(a):
        bad = ~np.isfinite(block)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return (start + idx[0],) + idx[1:], float(block[idx])
    return None


def _leaves(tree, name: str) -> list[tuple[str, np.ndarray]]:
    """``(name of the leaf, array)``: ``x``, ``x[1]``, ``x['age']``."""
    if tree is None:
        return []
    if isinstance(tree, dict):
        return [(f"{name}[{k!r}]", v) for k, v in tree.items()]
    if isinstance(tree, (list, tuple)):
        return [(f"{name}[{i}]", v) for i, v in enumerate(tree)]
    return [(name, tree)]


def check_arrays(x, y=None, sample_weight=None, what: str = "") -> None:
    """Refuses no samples, NaN or infinite inputs and targets, and bad sample weights.

    Args:
        x: the inputs (an array, or a list or dict of arrays), already NumPy.
        y: the targets, or None (``predict``: then ``x`` may hold anything).
        sample_weight: per-sample weights, or None.
        what: a prefix for the arrays' names in messages (``"validation "``).

    >>> check_arrays(np.zeros((0, 3)), np.zeros(0))
    Traceback (most recent call last):
    ...
    ValueError: x is empty (0 samples): fit, evaluate and predict need at least one sample. Check how the data was loaded or split.
    """
    leaves = _leaves(x, f"{what}x")
    if leaves and any(np.shape(a)[0] == 0 for _, a in leaves):
        raise ValueError(f"{what}x is empty (0 samples): fit, evaluate and predict need at least one sample. "
                         "Check how the data was loaded or split.")
    if y is None or not enabled:
        return
    for name, a in leaves + _leaves(y, f"{what}y"):
        found = first_nonfinite(a)
        if found is not None:
            idx, value = found
            kind = "inputs" if name.startswith(f"{what}x") else "targets"
            raise ValueError(f"{name}[{_index(idx)}] is {value}: {kind} must be finite numbers, or the loss becomes "
                             f"nan. Drop or impute that sample (e.g. keep the rows where np.isfinite({name.split('[')[0]}) "
                             "holds) before training.")
    for name, sw in _leaves(sample_weight, f"{what}sample_weight"):
        if sw is None:
            continue
        sw = np.asarray(sw)
        found = first_nonfinite(sw)
        if found is not None:
            raise ValueError(f"{name}[{_index(found[0])}] is {found[1]}: sample weights must be finite "
                             "numbers >= 0.")
        if sw.size and sw.min() < 0:
            idx = np.unravel_index(int(np.flatnonzero(sw.reshape(-1) < 0)[0]), sw.shape)
            raise ValueError(f"{name}[{_index(idx)}] is {sw[idx]}: sample weights must be >= 0 (a "
                             "negative weight turns the loss around). Use 0 to ignore a sample.")


def check_class_weight(class_weight) -> None:
    """Refuses class weights that are not ``{class index >= 0: finite weight >= 0}``.

    >>> check_class_weight({0: 1.0, 1: -2.0})
    Traceback (most recent call last):
    ...
    ValueError: class_weight[1] is -2.0: class weights must be finite numbers >= 0 (a negative weight turns the loss around). Use 0 to ignore a class.
    """
    if class_weight is None:
        return
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict of class index -> weight, got {type(class_weight).__name__}.")
    for cls, weight in class_weight.items():
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or cls < 0:
            raise ValueError(f"class_weight has the key {cls!r}: its keys are class indices, integers >= 0 (the "
                             "labels of sparse targets, or the column of one-hot ones).")
        try:
            w = float(weight)
        except (TypeError, ValueError):
            w = None
        if w is None or not np.isfinite(w) or w < 0:
            raise ValueError(f"class_weight[{cls}] is {weight!r}: class weights must be finite numbers >= 0 (a "
                             "negative weight turns the loss around). Use 0 to ignore a class.")


def check_epochs(epochs, initial_epoch=0) -> None:
    """Refuses a number of epochs (or a first epoch) that is not an integer >= 0.

    >>> check_epochs(-2)
    Traceback (most recent call last):
    ...
    ValueError: epochs is -2: fit trains until epoch number epochs, an integer >= 0 (e.g. epochs=10).
    """
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} is {value!r}: fit trains until epoch number epochs, an integer >= 0 "
                             f"(e.g. {name}={10 if name == 'epochs' else 0}).")


def input_names_of(model) -> list[str] | None:
    """The names by which a dict of inputs is matched to the model's inputs (None: one input, or unknown)."""
    try:
        config = model.get_config()
    except (NotImplementedError, AttributeError, TypeError, ValueError):
        return None
    inputs = config.get("inputs") if isinstance(config, dict) else None
    if isinstance(inputs, dict):
        return [str(k) for k in inputs]
    if isinstance(inputs, list) and inputs and all(isinstance(r, list) and r and isinstance(r[0], str)
                                                   for r in inputs):
        return [r[0] for r in inputs]
    return None


def output_names_and_shapes(model) -> tuple[list[str], list[tuple]]:
    """The output names and their shapes, paired by name.

    ``output_shapes()`` lists a dict of outputs in sorted key order (``jax.tree_util``'s),
    ``output_names`` in the dict's order; the model's config tells which is which.
    """
    names, shapes = list(model.output_names), [tuple(s) for s in model.output_shapes()]
    if len(names) > 1:
        try:
            outputs = model.get_config().get("outputs")
        except (NotImplementedError, AttributeError, TypeError, ValueError):
            outputs = None
        if isinstance(outputs, dict) and sorted(outputs) == sorted(names):
            by_name = dict(zip(sorted(outputs), shapes))
            shapes = [by_name[n] for n in names]
    return names, shapes


def _per_output(loss, names: list[str]) -> list:
    if isinstance(loss, dict):
        return [loss.get(n) for n in names]
    if isinstance(loss, (list, tuple)):
        return list(loss) + [None] * (len(names) - len(loss))
    return [loss] * len(names)


def _targets_per_output(y, names: list[str], what: str) -> list[tuple[str, Any]] | None:
    if isinstance(y, dict):
        extra = sorted(set(y) - set(names))
        if extra:
            raise ValueError(f"{what}y has the key {extra[0]!r}, which is not an output of the model (its outputs: "
                             f"{', '.join(names)}): remove it, or rename it to the output it is meant for.")
        return [(f"{what}y[{n!r}]", y[n]) for n in names if n in y]
    if isinstance(y, (list, tuple)):
        if len(y) != len(names):
            return None
        return [(f"{what}y[{i}]", a) for i, a in enumerate(y)]
    return [(f"{what}y", y)] if len(names) == 1 else None


def _aligned(target: tuple, output: tuple) -> tuple[tuple, tuple]:
    """Keras's rank alignment of per-sample shapes: a trailing 1 dropped where the ranks differ by one."""
    if len(target) == len(output) + 1 and target and target[-1] == 1:
        target = target[:-1]
    elif len(output) == len(target) + 1 and output and output[-1] == 1:
        output = output[:-1]
    return target, output


def _fits(target: tuple, output: tuple) -> bool:
    return len(target) == len(output) and all(o is None or t == o for t, o in zip(target, output))


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _check_target(name: str, y, output: str, shape: tuple, loss) -> None:
    y = np.asarray(y) if not hasattr(y, "shape") else y
    per_sample, out = tuple(y.shape[1:]), tuple(shape[1:])
    loss_name = getattr(loss, "name", type(loss).__name__)
    if isinstance(loss, (_losses.SparseCategoricalCrossentropy, _losses.CategoricalGeneralizedCrossEntropy)):
        classes = out[-1] if out else None
        want = out[:-1]
        if not (_fits(per_sample, want) or _fits(per_sample, want + (1,))):
            raise ValueError(f"{name} has shape {_shape(y.shape)} but output '{output}' gives {_shape((None,) + out)}: "
                             f"{loss_name} takes integer class labels of shape {_shape((None,) + want)}; for one-hot "
                             "targets use categorical_crossentropy.")
        if classes is None or y.size == 0 or not enabled:
            return
        flat = np.asarray(y).reshape(-1)
        if np.issubdtype(flat.dtype, np.inexact):
            fractional = flat != np.round(flat)
            if fractional.any():
                i = int(np.flatnonzero(fractional)[0])
                raise ValueError(f"{name}{_at(y, i)} is {flat[i]}, but {loss_name} needs integer class labels: encode "
                                 "the labels as integers 0, 1, ... (np.unique(y, return_inverse=True) does it).")
        low, high = flat.min(), flat.max()
        if low < 0 or high >= classes:
            i = int(np.flatnonzero((flat < 0) | (flat >= classes))[0])
            raise ValueError(f"{name}{_at(y, i)} is {_number(flat[i])}, outside [0, {classes}) for the {classes} "
                             f"classes of output '{output}' ({loss_name}): labels must be class indices 0 to "
                             f"{classes - 1}. Fix the labels, or give the last layer as many units as classes.")
        return
    if type(loss) is _losses.LossFunctionWrapper or not isinstance(loss, tuple(_BUILT_IN)):
        return  # a user's loss: its shapes are its own business
    if isinstance(loss, (_losses.Circle, _losses.CTC)):
        return  # labels [B] against embeddings [B, D], label sequences [B, N] against logits [B, T, C]
    exact = isinstance(loss, _losses.CategoricalCrossentropy)
    target, want = (per_sample, out) if exact else _aligned(per_sample, out)
    if not _fits(target, want):
        raise ValueError(f"{name} has shape {_shape(y.shape)} but output '{output}' gives {_shape((None,) + out)}: "
                         f"{loss_name} would broadcast them against each other. Pass targets of shape "
                         f"{_shape((y.shape[0],) + out)} (one value per output unit).")
    if isinstance(loss, (_losses.BinaryCrossentropy, _losses.CategoricalCrossentropy)) and y.size and enabled:
        low, high = _range(y)
        if low < 0 or high > 1:
            flat = np.asarray(y).reshape(-1)
            i = int(np.flatnonzero((flat < 0) | (flat > 1))[0])
            raise ValueError(f"{name}{_at(y, i)} is {_number(flat[i])}, but {loss_name} needs targets in [0, 1] "
                             "(probabilities or 0/1 labels). For class indices 0..C-1 use "
                             "sparse_categorical_crossentropy with C output units.")


_BUILT_IN = tuple(_losses.loss_classes().values())


def _range(a) -> tuple[float, float]:
    low, high = np.inf, -np.inf
    for _, block in _chunks(a):
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    return low, high


def _number(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value)


def _at(a, flat_index: int) -> str:
    return f"[{_index(np.unravel_index(flat_index, np.shape(a)))}]"


def check_training_data(x, y, *, output_names: Sequence[str], output_shapes: Sequence[tuple], loss,
                        input_names: Sequence[str] | None = None, what: str = "") -> None:
    """Checks targets against the model's outputs and loss, and a dict of inputs against its inputs.

    Targets of a sparse categorical crossentropy must be integer labels in ``[0, classes)``
    (classes: the output's last dimension); of a binary or categorical crossentropy, values
    in ``[0, 1]``; of every built-in loss, a shape that matches the output's (after
    Keras's alignment of a trailing axis of 1) rather than broadcasting against it. A dict
    of inputs must have exactly the model's input names.

    Args:
        x: the inputs (array, list or dict of arrays), or None.
        y: the targets, or None.
        output_names: the model's output names.
        output_shapes: their shapes, batch axis first (None).
        loss: ``compile``'s loss: one for all outputs, a list, or a dict by output name.
        input_names: the names a dict of inputs is matched by (None: not checked).
        what: a prefix for the arrays' names in messages (``"validation "``).

    >>> import highlevel as hl
    >>> check_training_data(np.zeros((3, 4)), np.array([0, 1, 10]), output_names=["dense"],
    ...                     output_shapes=[(None, 10)], loss="sparse_categorical_crossentropy")
    Traceback (most recent call last):
    ...
    ValueError: y[2] is 10, outside [0, 10) for the 10 classes of output 'dense' (sparse_categorical_crossentropy): labels must be class indices 0 to 9. Fix the labels, or give the last layer as many units as classes.
    """
    if isinstance(x, dict) and input_names:
        extra = sorted(set(x) - set(input_names))
        if extra:
            raise ValueError(f"{what}x has the key {extra[0]!r}, which is not an input of the model (its inputs: "
                             f"{', '.join(input_names)}), so it would be ignored: remove it, or rename it to the "
                             "input it is meant for.")
    if y is None:
        return
    names = list(output_names)
    targets = _targets_per_output(y, names, what)
    if targets is None:
        return
    by_name = dict(zip(names, zip(output_shapes, _per_output(loss, names))))
    for (name, target), output in zip(targets, names if not isinstance(y, dict) else [n for n in names if n in y]):
        shape, item = by_name[output]
        if item is None:
            continue
        try:
            loss_obj = _losses.get(item)
        except (TypeError, ValueError):
            continue
        _check_target(name, target, output, tuple(shape), loss_obj)


def check_adapter(adapter, model, loss, *, validation=None, epochs=None, initial_epoch=0) -> None:
    """``check_training_data`` for a data adapter's arrays (an iterable's first batch), and its
    validation adapter's; ``check_epochs`` when ``epochs`` is given. The model must be built."""
    if epochs is not None:
        check_epochs(epochs, initial_epoch)
    names, shapes = output_names_and_shapes(model)
    inputs = None
    for data, what in ((adapter, ""), (validation, "validation ")):
        if data is None:
            continue
        x, y = (data.x, data.y) if hasattr(data, "x") else data.peek()[:2]
        if isinstance(x, dict) and inputs is None:
            inputs = input_names_of(model)
        check_training_data(x, y, output_names=names, output_shapes=shapes, loss=loss, input_names=inputs,
                            what=what)
        sample_weight = data.sample_weight if hasattr(data, "x") else data.peek()[2]
        check_sample_weight(sample_weight, names, what)


def check_sample_weight(sample_weight, output_names: Sequence[str], what: str = "") -> None:
    """Refuses sample weights structured unlike the model's outputs (Keras's rules): a list
    needs one entry per output, a dict output names for keys, and one array for several
    outputs one weight per sample.

    >>> check_sample_weight([np.ones(3)], ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: sample_weight holds 1 array but the model has 2 outputs (a, b): pass one array per output (None for an unweighted one), or a dict by output name.
    """
    if sample_weight is None:
        return
    names = list(output_names)
    listed = ", ".join(names)
    if isinstance(sample_weight, dict):
        unknown = sorted((k for k in sample_weight if k not in names), key=str)
        if unknown:
            raise ValueError(f"{what}sample_weight has the key {unknown[0]!r}, which is not an output of the model "
                             f"(its outputs: {listed}): key the weights by output name.")
    elif isinstance(sample_weight, (list, tuple)):
        if len(sample_weight) != len(names):
            raise ValueError(f"{what}sample_weight holds {len(sample_weight)} array{'s' if len(sample_weight) != 1 else ''} but the model has "
                             f"{len(names)} outputs ({listed}): pass one array per output (None for an unweighted "
                             "one), or a dict by output name.")
    elif np.ndim(sample_weight) > 1 and len(names) > 1:
        raise ValueError(f"{what}sample_weight has shape {np.shape(sample_weight)}, but one array for a model with "
                         f"{len(names)} outputs ({listed}) must hold one weight per sample, shape (samples,); for "
                         "weights per timestep pass a list or dict with one array per output.")

