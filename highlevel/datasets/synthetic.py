"""Small synthetic problems with known answers: XOR and linear regression."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["xor", "linear_regression"]


def xor(repeats: int = 1):
    """The XOR truth table as ``(x_train, y_train), (x_test, y_test)``.

    The training set is the four points repeated ``repeats`` times; the test set is the
    four points once. ``x`` is float32 ``(n, 2)``, ``y`` float32 ``(n, 1)``.

    Args:
        repeats: How many copies of the four points the training set holds.

    >>> (x, y), _ = xor()
    >>> y.ravel().tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    x, y = np.tile(x, (repeats, 1)), np.tile(y, (repeats, 1))
    return (x, y), (x[:4], y[:4])


def linear_regression(weights: Sequence[float] = (2.0, -3.0, 0.5), bias: float = 1.5, samples: int = 1000,
                      noise: float = 0.1, test_split: float = 0.2, seed: int = 0):
    """``y = x @ weights + bias + noise`` with standard normal ``x``, split into train and test.

    Args:
        weights: The true weights, one per feature.
        bias: The true bias.
        samples: The number of rows before the split.
        noise: The standard deviation of the Gaussian noise added to ``y``.
        test_split: The fraction of the rows (the last ones) kept for testing.
        seed: The seed of ``x`` and the noise.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 ``x`` ``(n, len(weights))``, ``y`` ``(n, 1)``.

    >>> (x, y), (x_test, y_test) = linear_regression(samples=10)
    >>> x.shape, y.shape
    ((8, 3), (8, 1))
    """
    rng = np.random.default_rng(seed)
    w = np.asarray(weights, np.float32).reshape(-1, 1)
    x = rng.standard_normal((samples, len(w))).astype(np.float32)
    y = (x @ w + np.float32(bias) + np.float32(noise) * rng.standard_normal((samples, 1))).astype(np.float32)
    n_train = int(round(samples * (1.0 - test_split)))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
