"""scikit-learn's bundled 8x8 handwritten digits (1,797 images), offline."""

from __future__ import annotations

import numpy as np

__all__ = ["load_data"]


def load_data(test_split: float = 0.2, seed: int = 0):
    """scikit-learn's 8x8 digits as ``(x_train, y_train), (x_test, y_test)``.

    Images are ``(n, 8, 8, 1)`` float32 in [0, 1], labels int32 0-9. The split is
    stratified by class and fixed by ``seed``.

    Args:
        test_split: The fraction of each class kept for testing, in (0, 1).
        seed: The seed of the split.

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, x_test.shape
    ((1438, 8, 8, 1), (359, 8, 8, 1))
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("The digits dataset ships with scikit-learn: pip install scikit-learn.") from err
    if not 0.0 < test_split < 1.0:
        raise ValueError(f"test_split must be in (0, 1), got {test_split}.")
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]
    y = data.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    test_idx = []
    for cls in range(10):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        test_idx.extend(idx[: int(round(len(idx) * test_split))])
    test_mask = np.zeros(len(y), bool)
    test_mask[test_idx] = True
    train = np.flatnonzero(~test_mask)
    rng.shuffle(train)
    test = np.flatnonzero(test_mask)
    return (x[train], y[train]), (x[test], y[test])
