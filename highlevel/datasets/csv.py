"""Numeric tables from a CSV file with a header row, in Keras's ``load_data()`` convention."""

from __future__ import annotations

import csv as _csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from highlevel.datasets.npz import split_arrays

__all__ = ["load_data"]


def load_data(
    path: str | os.PathLike,
    target: str | Sequence[str],
    features: Sequence[str] | None = None,
    test_split: float | None = None,
    seed: int = 0,
    delimiter: str = ",",
):
    """``(x_train, y_train), (x_test, y_test)`` as float32 from a CSV file.

    The first row names the columns. Every cell of the chosen columns must be a
    number (``nan`` and ``inf`` are numbers); other columns are never parsed, so
    text columns can stay in the file when ``features`` leaves them out.

    Args:
        path: the CSV file (UTF-8, a byte-order mark is allowed).
        target: the target column, or a list of them.
        features: the input columns, in order; default: every column but the targets.
        test_split: fraction in [0, 1) of rows, shuffled by ``seed``, kept for
            testing; ``None`` keeps every row, in file order, for training and
            returns 0-row test arrays.
        seed: the shuffle before a split.
        delimiter: the cell separator.

    Returns:
        ``x`` of shape ``(n, len(features))`` and ``y`` of shape ``(n,)`` for one
        target or ``(n, len(target))`` for a list.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "w").write("a,b,price\\n1,2,3.5\\n4,5,6.5\\n")
    >>> (x, y), _ = load_data(p, target="price")
    >>> x.tolist(), y.tolist()
    ([[1.0, 2.0], [4.0, 5.0]], [3.5, 6.5])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No CSV file at {path}.")
    targets = [target] if isinstance(target, str) else list(target)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = _csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path} is empty; a header row naming the columns is required.")
        header = [h.strip() for h in header]
        duplicates = sorted({h for h in header if header.count(h) > 1})
        if duplicates:
            raise ValueError(f"{path}: the header names columns {duplicates} more than once; rename them.")
        inputs = [h for h in header if h not in targets] if features is None else list(features)
        for name in (*targets, *inputs):
            if name not in header:
                raise ValueError(f"{path} has no column {name!r}; its columns are {header}.")
        if not inputs:
            raise ValueError(f"{path}: no feature columns are left besides the target {targets}.")
        x_cols = [header.index(n) for n in inputs]
        y_cols = [header.index(n) for n in targets]
        x_rows, y_rows = [], []
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{path}, line {reader.line_num}: {len(row)} cells, but the header has {len(header)} columns."
                )
            x_rows.append([_number(row[i], path, reader.line_num, header[i]) for i in x_cols])
            y_rows.append([_number(row[i], path, reader.line_num, header[i]) for i in y_cols])
    if not x_rows:
        raise ValueError(f"{path} has a header but no data rows.")
    x = np.asarray(x_rows, np.float32)
    y = np.asarray(y_rows, np.float32)
    if isinstance(target, str):
        y = y[:, 0]
    return split_arrays(x, y, test_split, seed)


def _number(cell: str, path: Path, line: int, column: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise ValueError(
            f"{path}, line {line}, column {column!r}: {cell!r} is not a number. "
            "Encode it as a number in the file, or leave the column out with features=[...]."
        ) from None
