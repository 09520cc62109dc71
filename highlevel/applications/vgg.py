"""VGG16, as Keras builds it (origin "keras") or as torchvision does ("torchvision").

The thirteen convolutions are the same network in both (3x3, bias, ReLU, padding 1,
2x2 max pooling), named as Keras names them (``block1_conv1`` ... ``block5_pool``).
The top differs:

===============  ==================================  ===========================================
                 keras                               torchvision
===============  ==================================  ===========================================
flatten          the 7x7x512 map, (h, w, c) order    (c, h, w) order, after AdaptiveAvgPool2d(7)
                                                     (its converter reorders ``fc1``'s rows)
dropout          none                                0.5 after ``fc1`` and ``fc2``
input size       224x224 with ImageNet weights       224 to 255 pixels a side (where torchvision's
                                                     adaptive pooling to 7x7 does nothing)
preprocessing    "caffe" (BGR, mean subtracted)      "torch" (/255, mean/std)
===============  ==================================  ===========================================

Without the top (``include_top=False``) the origins differ only in their weights and
``preprocess_input``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from highlevel import layers
from highlevel.applications import _common, imagenet_utils
from highlevel.applications._build import TORCH_CONV_INIT, convert_torch_layers, prepare_input, preprocess_mode
from highlevel.applications._common import WeightFile
from highlevel.models import Model

__all__ = ["VGG16", "preprocess_input", "decode_predictions", "torchvision_weights", "fc1_from_torch"]

_KERAS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"

# (include_top, notop) files of keras.applications.VGG16, with Keras's md5 hashes.
KERAS_WEIGHTS = (
    WeightFile(_KERAS_BASE + "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
               "vgg16_weights_tf_dim_ordering_tf_kernels.h5", "md5:64373286793e3c8b2b4e3219cbf3544b"),
    WeightFile(_KERAS_BASE + "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
               "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "md5:6d6bbae143d832006294945121d1f1fc"),
)
# torchvision's IMAGENET1K_V1 file; the name carries the first 8 hex digits of its sha256.
TORCHVISION_WEIGHTS = WeightFile("https://download.pytorch.org/models/vgg16-397923af.pth",
                                 "vgg16-397923af.pth", "sha256-prefix:397923af")

# Convolutions per block and their filters.
_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
# torchvision pools the features to this grid before its classifier.
_TORCH_GRID = 7
# torchvision's initialization of its classifier (convolutions: resnet.TORCH_CONV_INIT, zero bias).
_TORCH_DENSE_INIT = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.01}}


def VGG16(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
          input_shape: tuple[int | None, ...] | None = None, pooling: str | None = None,
          classes: int = 1000, classifier_activation: Any = "softmax", name: str = "vgg16", *,
          origin: str | None = None) -> Model:
    """VGG16 as ``keras.applications.VGG16`` (origin "keras") or ``torchvision.models.vgg16``.

    Args:
      include_top: whether to end with the classifier: ``flatten``, ``fc1`` and ``fc2``
        (4096 units, ReLU) and ``predictions``.
      weights: ``None`` (random), ``"imagenet"`` (downloaded and cached), or the path of a
        weights file: a Keras ``.weights.h5``/``.h5`` file, or a torchvision ``.pth``/``.safetensors``
        state dict (which implies ``origin="torchvision"``).
      input_tensor: an ``hl.Input`` tensor (or a layer's output on one) to build the model on.
      input_shape: ``(height, width, 3)``, at least 32x32. With the top it is
        ``(224, 224, 3)`` for ImageNet weights; other sizes change ``fc1``'s input (Keras
        origin) or must stay within 224 to 255 pixels a side (torchvision origin).
      pooling: with ``include_top=False``, ``None`` (the 4-D feature map), ``"avg"`` or ``"max"``
        (global pooling to ``(batch, 512)``).
      classes: the number of classes when ``include_top`` (1000 with ImageNet weights).
      classifier_activation: the top layer's activation; ``None`` or ``"softmax"`` with
        pretrained weights.
      name: the model's name.
      origin: ``"keras"`` or ``"torchvision"`` (see the module docstring); ``None`` infers it
        from ``weights`` (a torch file means torchvision, anything else Keras).

    Input ``(batch, height, width, 3)`` preprocessed by ``preprocess_input(x, origin=...)``;
    output ``(batch, classes)`` with the top, else ``(batch, h / 32, w / 32, 512)`` or
    ``(batch, 512)`` with pooling.

    >>> import highlevel as hl
    >>> model = hl.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    >>> model.output_shapes()
    [(None, 2, 2, 512)]
    """
    label = "VGG16"
    img_input, inputs = prepare_input(
        label, include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, classifier_activation=classifier_activation, default_size=224,
        min_size=32)
    origin = _common.resolve_origin(weights, origin, label)
    if include_top and origin == "torchvision":
        for size in img_input.shape[1:3]:
            if size is None or size // 32 != _TORCH_GRID:
                raise ValueError(f"{label} with origin='torchvision' and include_top=True takes images of 224 "
                                 "to 255 pixels a side (torchvision's classifier reads a 7x7 feature map), got "
                                 f"an input of shape {img_input.shape}; pass include_top=False for other sizes.")

    torch = origin == "torchvision"
    conv_init = TORCH_CONV_INIT if torch else "glorot_uniform"
    dense_init = _TORCH_DENSE_INIT if torch else "glorot_uniform"
    x = img_input
    for block, (convs, filters) in enumerate(_BLOCKS, start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, activation="relu", padding="same", kernel_initializer=conv_init,
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)

    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", kernel_initializer=dense_init, name="fc1")(x)
        if torch:
            x = layers.Dropout(0.5, name="fc1_dropout")(x)
        x = layers.Dense(4096, activation="relu", kernel_initializer=dense_init, name="fc2")(x)
        if torch:
            x = layers.Dropout(0.5, name="fc2_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=dense_init,
                         name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(inputs, x, name=name)

    imagenet_file = KERAS_WEIGHTS[0 if include_top else 1] if origin == "keras" else TORCHVISION_WEIGHTS
    # Called with weights=None too: it lets model.load_weights() read torchvision files later.
    _common.load_pretrained(model, weights, origin=origin, app_name=label, imagenet_file=imagenet_file,
                            converter=torchvision_weights)
    return model


# ---------------------------------------------------------------------------
# torchvision state dicts.


def fc1_from_torch(w: np.ndarray, channels: int = 512, grid: int = _TORCH_GRID) -> np.ndarray:
    """torchvision's first Linear ``(out, c * h * w)`` as our ``fc1`` kernel ``(h * w * c, out)``.

    torch flattens the feature map channels first, we flatten it channels last: the
    kernel's rows are reordered accordingly. A weight of another size is only transposed
    (the shape check then names it).

    Args:
      w: torchvision's weight, shape ``(out, channels * grid * grid)``.
      channels: the channels of the flattened feature map.
      grid: its height and width.

    Returns:
      The kernel, shape ``(grid * grid * channels, out)``.

    >>> import numpy as np
    >>> from highlevel.applications.vgg import fc1_from_torch
    >>> w = np.arange(3 * 8.0).reshape(3, 8)  # 2 channels on a 2x2 grid
    >>> k = fc1_from_torch(w, channels=2, grid=2)
    >>> k.shape, bool(k[1, 0] == w[0, 4])  # our row (0, 0, c=1) is torch's column (c=1, 0, 0)
    ((8, 3), True)
    """
    if w.ndim != 2 or w.shape[1] != channels * grid * grid:
        return _common.dense_from_torch(w)
    return w.reshape(w.shape[0], channels, grid, grid).transpose(2, 3, 1, 0).reshape(-1, w.shape[0])


def _torch_names() -> dict[str, str]:
    """Our layer name -> torchvision module path (``features.{i}`` counts each conv, ReLU and pool)."""
    names = {"fc1": "classifier.0", "fc2": "classifier.3", "predictions": "classifier.6"}
    index = 0
    for block, (convs, _) in enumerate(_BLOCKS, start=1):
        for i in range(1, convs + 1):
            names[f"block{block}_conv{i}"] = f"features.{index}"
            index += 2
        index += 1
    return names


def torchvision_weights(state_dict: _common.TorchStateDict, model: Model) -> dict[str, list[np.ndarray]]:
    """Our weights (layer name -> ``get_weights()`` order) from a torchvision VGG16 state dict.

    ``features.{i}`` go to ``block{b}_conv{j}`` (OIHW to HWIO), ``classifier.0``/``.3``/``.6``
    to ``fc1``/``fc2``/``predictions`` (transposed; ``fc1``'s rows reordered from torch's
    (c, h, w) flattening to our (h, w, c)). ``classifier.*`` is skipped without the top.

    Args:
      state_dict: the torchvision tensors, as a ``TorchStateDict`` (it records which are used).
      model: the network, built with ``origin="torchvision"`` (any model whose layers carry
        VGG16's layer names).

    Returns:
      ``{layer name: [arrays in get_weights() order]}`` for each layer with weights.
      ``model.load_weights(path)`` calls this for a ``.pth``/``.safetensors`` file.

    A stem-only model shows the mapping (a real one is ``hl.applications.VGG16(...)``):

    >>> import highlevel as hl, numpy as np
    >>> from highlevel.applications._common import TorchStateDict
    >>> stem = hl.Sequential([hl.Input((4, 4, 3)), hl.layers.Conv2D(2, 3, name="block1_conv1")])
    >>> sd = TorchStateDict({"features.0.weight": np.zeros((2, 3, 3, 3), np.float32),
    ...                      "features.0.bias": np.zeros(2, np.float32)})
    >>> {name: [a.shape for a in arrays]
    ...  for name, arrays in hl.applications.vgg.torchvision_weights(sd, stem).items()}
    {'block1_conv1': [(3, 3, 3, 2), (2,)]}
    """
    result = convert_torch_layers(state_dict, model, _torch_names(), "VGG16",
                                  dense_kernel={"fc1": fc1_from_torch})
    if "predictions" not in result:
        state_dict.skip_prefix("classifier.")
    return result


# ---------------------------------------------------------------------------
# Pre- and post-processing.


def preprocess_input(x, data_format: str | None = None, origin: str = "keras"):
    """Scales RGB images in [0, 255] as the weights of ``origin`` expect.

    Args:
      x: images ``(..., height, width, 3)`` in [0, 255], a NumPy or JAX array (a float copy
        is returned).
      data_format: ``"channels_last"`` (or None); channels-first is not supported.
      origin: ``"keras"`` or ``"torchvision"``: whose weights the images are for.

    ``"keras"``: Keras's "caffe" mode (RGB to BGR, then the ImageNet mean subtracted, no
    scaling); ``"torchvision"``: ``x / 255`` then ``(x - mean) / std`` per channel.

    >>> import numpy as np
    >>> preprocess_input(np.zeros((1, 1, 1, 3)))[0, 0, 0]
    array([-103.939, -116.779, -123.68 ], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode=preprocess_mode(origin))


decode_predictions = imagenet_utils.decode_predictions
