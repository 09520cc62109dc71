"""ImageNet input preprocessing and class names, as Keras's ``imagenet_utils``.

The 1000 class names (WordNet id and Keras's short name) ship with the package in
``imagenet_class_index.json``, so ``decode_predictions`` works offline.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

__all__ = ["preprocess_input", "decode_predictions", "class_names", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_MODES = ("caffe", "tf", "torch", "none")


def preprocess_input(x, data_format: str | None = None, mode: str = "caffe"):
    """Scales RGB images in ``[0, 255]`` the way a network's weights were trained.

    Args:
      x: images, ``(..., height, width, 3)``: a NumPy or JAX array (a float copy is returned,
        the input is not modified).
      data_format: ``"channels_last"`` (or None); channels-first is not supported.
      mode: ``"caffe"`` (RGB to BGR, minus the ImageNet mean per channel, no scaling; Keras's
        ResNet50 and VGG16), ``"tf"`` (to ``[-1, 1]``; Keras's MobileNetV2), ``"torch"``
        (to ``[0, 1]``, then the ImageNet mean and standard deviation; every torchvision
        model), or ``"none"``.

    >>> import numpy as np
    >>> preprocess_input(np.array([[[0., 127.5, 255.]]]), mode="tf")
    array([[[-1.,  0.,  1.]]], dtype=float32)
    """
    if data_format not in (None, "channels_last"):
        raise ValueError(f"preprocess_input supports data_format='channels_last' only, got {data_format!r}.")
    if mode not in _MODES:
        raise ValueError(f"preprocess_input `mode` must be one of {_MODES}, got {mode!r}.")
    if np.shape(x)[-1:] != (3,):
        raise ValueError(f"preprocess_input expects RGB images with 3 channels last, got shape {np.shape(x)}.")
    is_numpy = isinstance(x, (np.ndarray, list, tuple, float, int))
    xp = np
    if not is_numpy:
        import jax.numpy as xp  # noqa: N812 - the array module of x
    x = xp.asarray(x, dtype=xp.float32)
    per_channel = lambda values: xp.asarray(values, xp.float32).reshape((1,) * (x.ndim - 1) + (3,))  # noqa: E731
    if mode == "tf":
        x = x / 127.5 - 1.0
    elif mode == "torch":
        x = (x / 255.0 - per_channel(IMAGENET_MEAN)) / per_channel(IMAGENET_STD)
    elif mode == "caffe":
        x = x[..., ::-1] - per_channel(_CAFFE_MEAN_BGR)
    return x


@functools.cache
def _class_index() -> dict[int, tuple[str, str]]:
    raw = json.loads((Path(__file__).parent / "imagenet_class_index.json").read_text())
    return {int(k): (v[0], v[1]) for k, v in raw.items()}


def class_names() -> list[str]:
    """The 1000 ImageNet class names, in the order of the networks' outputs.

    >>> from highlevel.applications.imagenet_utils import class_names
    >>> len(class_names()), class_names()[281]
    (1000, 'tabby')
    """
    index = _class_index()
    return [index[i][1] for i in range(1000)]


def decode_predictions(preds, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The ``top`` classes of each prediction, as ``(wordnet_id, name, score)``, best first.

    Args:
      preds: ``(batch, 1000)`` scores (probabilities or logits).
      top: how many classes per sample.

    >>> import numpy as np
    >>> p = np.zeros((1, 1000)); p[0, 281] = 0.9; p[0, 285] = 0.1
    >>> decode_predictions(p, top=2)
    [[('n02123045', 'tabby', 0.9), ('n02124075', 'Egyptian_cat', 0.1)]]
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("decode_predictions expects a batch of ImageNet predictions of shape (samples, 1000), "
                         f"got {preds.shape}; it only decodes a model with include_top=True and 1000 classes.")
    index = _class_index()
    out = []
    for row in preds:
        best = np.argsort(-row, kind="stable")[:top]
        out.append([(index[int(i)][0], index[int(i)][1], float(row[i])) for i in best])
    return out
