"""Host-side image helpers for small transfer-learning datasets: subsets, RGB, resizing."""

from __future__ import annotations

import numpy as np

__all__ = ["balanced_subset", "to_rgb", "resize"]


def balanced_subset(x, y, per_class: int, seed: int = 0):
    """``per_class`` randomly chosen samples of every class (shuffled together).

    Args:
        x: Samples, shape ``(n, ...)``.
        y: Integer labels, shape ``(n,)``.
        per_class: How many samples of each class to keep (every class needs as many).
        seed: The seed of the choice and the shuffle.

    Returns:
        ``(x_subset, y_subset)`` with ``per_class * n_classes`` rows.

    >>> import numpy as np
    >>> x, y = np.arange(10), np.array([0, 1] * 5)
    >>> xs, ys = balanced_subset(x, y, per_class=2, seed=0)
    >>> sorted(ys.tolist())
    [0, 0, 1, 1]
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"balanced_subset: x has {len(x)} samples but y has {len(y)}.")
    if per_class < 1:
        raise ValueError(f"balanced_subset `per_class` must be >= 1, got {per_class}.")
    rng = np.random.default_rng(seed)
    picked = []
    for label in np.unique(y):
        where = np.flatnonzero(y == label)
        if len(where) < per_class:
            raise ValueError(f"balanced_subset: class {label} has only {len(where)} samples, fewer than "
                             f"per_class={per_class}.")
        picked.append(rng.choice(where, per_class, replace=False))
    order = rng.permutation(np.concatenate(picked))
    return x[order], y[order]


def to_rgb(x):
    """Grayscale images ``(n, h, w)`` or ``(n, h, w, 1)`` repeated into 3 channels.

    Args:
        x: Grayscale images, shape ``(n, h, w)`` or ``(n, h, w, 1)`` (RGB images
            ``(n, h, w, 3)`` are returned as they are).

    Returns:
        Images of shape ``(n, h, w, 3)``, of ``x``'s dtype.

    >>> import numpy as np
    >>> to_rgb(np.zeros((2, 28, 28))).shape
    (2, 28, 28, 3)
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.shape[-1] == 3:
        return x
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"to_rgb expects grayscale images (n, h, w) or (n, h, w, 1), got shape {x.shape}.")
    return np.repeat(x, 3, axis=-1)


def resize(x, size, chunk: int = 256) -> np.ndarray:
    """Images ``(n, h, w, c)`` resized bilinearly to ``size = (height, width)``, as float32.

    Args:
        x: Images, shape ``(n, h, w, c)``.
        size: The new ``(height, width)``.
        chunk: How many images are resized per compiled call (bounds device memory).

    Returns:
        A float32 array of shape ``(n, height, width, c)``.

    >>> import numpy as np
    >>> resize(np.zeros((2, 28, 28, 3)), (96, 96)).shape
    (2, 96, 96, 3)
    """
    import jax
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"resize expects images (n, height, width, channels), got shape {x.shape}.")
    h, w = (int(s) for s in size)
    fn = jax.jit(lambda a: jax.image.resize(a, (a.shape[0], h, w, a.shape[3]), "bilinear"))
    out = np.empty((len(x), h, w, x.shape[3]), np.float32)
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk].astype(np.float32)
        out[start:start + len(part)] = np.asarray(fn(part))
    return out
