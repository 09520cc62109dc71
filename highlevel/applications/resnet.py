"""ResNet50 and ResNet18, as Keras builds them (origin "keras") or as torchvision does ("torchvision").

The two origins share layer names wherever their layers correspond
(``conv1_conv``, ``conv2_block1_1_conv``, ..., ``predictions``), so code that
freezes or replaces layers by name works on both. They differ where the
published weights were trained on different networks:

=================  ===============================  ====================================
                   keras (ResNet v1)                 torchvision (ResNet v1.5)
=================  ===============================  ====================================
stride             on the first 1x1 conv             on the 3x3 conv
conv bias          yes                               no
BN epsilon         1.001e-5                          1e-5
3x3 padding        "same" (TensorFlow's)             symmetric (``*_2_pad`` + "valid")
preprocessing      "caffe" (BGR, mean subtracted)    "torch" (/255, mean/std)
initialization     Keras's defaults                  torchvision's (kaiming fan-out convs)
=================  ===============================  ====================================

ResNet18 has no Keras ImageNet weights; its ``weights="imagenet"`` means torchvision's.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from highlevel import layers
from highlevel.applications import _common, imagenet_utils
from highlevel.applications._build import TORCH_CONV_INIT, convert_torch_layers, prepare_input, preprocess_mode
from highlevel.applications._common import WeightFile
from highlevel.models import Model

__all__ = ["ResNet50", "ResNet18", "preprocess_input", "decode_predictions", "torchvision_weights"]

_KERAS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
_TORCH_BASE = "https://download.pytorch.org/models/"

# (include_top, notop) files of keras.applications.ResNet50, with Keras's md5 hashes.
KERAS_WEIGHTS: dict[str, tuple[WeightFile, WeightFile]] = {
    "resnet50": (
        WeightFile(_KERAS_BASE + "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                   "resnet50_weights_tf_dim_ordering_tf_kernels.h5", "md5:2cb95161c43110f7111970584f804107"),
        WeightFile(_KERAS_BASE + "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                   "md5:4d473c1dd8becc155b73f8504c6f6626"),
    ),
}

# torchvision's IMAGENET1K_V1 files; the file name carries the first 8 hex digits of its sha256.
TORCHVISION_WEIGHTS: dict[str, WeightFile] = {
    "resnet50": WeightFile(_TORCH_BASE + "resnet50-0676ba61.pth", "resnet50-0676ba61.pth",
                           "sha256-prefix:0676ba61"),
    "resnet18": WeightFile(_TORCH_BASE + "resnet18-f37072fd.pth", "resnet18-f37072fd.pth",
                           "sha256-prefix:f37072fd"),
}

_KERAS_EPSILON = 1.001e-5
_TORCH_EPSILON = 1e-5
# torchvision's initialization (Keras's origin keeps Keras's defaults): kaiming-normal
# fan-out convolutions, and torch's default Linear, U(+-1 / sqrt(fan_in)).
_TORCH_LINEAR_INIT = {"class_name": "VarianceScaling",
                      "config": {"scale": 1.0 / 3.0, "mode": "fan_in", "distribution": "uniform"}}


# ---------------------------------------------------------------------------
# Arguments, as keras.applications checks them (vgg.py uses these too).


# ---------------------------------------------------------------------------
# Blocks. Each takes and returns a symbolic tensor; ``name`` is the block's prefix.


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, origin: str, relu: bool):
    """conv -> batch norm (-> relu), with each origin's padding, bias and epsilon."""
    if origin == "keras":
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same" if kernel > 1 else "valid",
                          name=f"{name}_conv")(x)
        epsilon = _KERAS_EPSILON
    else:
        if kernel > 1:
            x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        x = layers.Conv2D(filters, kernel, strides=stride, use_bias=False, kernel_initializer=TORCH_CONV_INIT,
                          name=f"{name}_conv")(x)
        epsilon = _TORCH_EPSILON
    x = layers.BatchNormalization(axis=3, epsilon=epsilon, name=f"{name}_bn")(x)
    if relu:
        x = layers.Activation("relu", name=f"{name}_relu")(x)
    return x


def _bottleneck(x, filters: int, stride: int, shortcut_conv: bool, name: str, origin: str):
    """1x1 -> 3x3 -> 1x1 (4 * filters) plus the shortcut: Keras's v1 block or torchvision's v1.5."""
    shortcut = x
    if shortcut_conv:
        shortcut = _conv_bn(x, 4 * filters, 1, stride, f"{name}_0", origin, relu=False)
    # Keras (ResNet v1) strides the first 1x1 conv, torchvision (v1.5) the 3x3.
    first, second = (stride, 1) if origin == "keras" else (1, stride)
    x = _conv_bn(x, filters, 1, first, f"{name}_1", origin, relu=True)
    x = _conv_bn(x, filters, 3, second, f"{name}_2", origin, relu=True)
    x = _conv_bn(x, 4 * filters, 1, 1, f"{name}_3", origin, relu=False)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _basic(x, filters: int, stride: int, shortcut_conv: bool, name: str, origin: str):
    """3x3 -> 3x3 plus the shortcut (ResNet18/34's block), in Keras's naming."""
    shortcut = x
    if shortcut_conv:
        shortcut = _conv_bn(x, filters, 1, stride, f"{name}_0", origin, relu=False)
    x = _conv_bn(x, filters, 3, stride, f"{name}_1", origin, relu=True)
    x = _conv_bn(x, filters, 3, 1, f"{name}_2", origin, relu=False)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stack(x, block: Callable, filters: int, blocks: int, stride: int, expansion: int, name: str,
           origin: str):
    in_channels = x.shape[-1]
    # A projection shortcut where the shape changes, as both Keras and torchvision do.
    x = block(x, filters, stride, stride != 1 or in_channels != filters * expansion, f"{name}_block1", origin)
    for i in range(2, blocks + 1):
        x = block(x, filters, 1, False, f"{name}_block{i}", origin)
    return x


# ---------------------------------------------------------------------------
# The network.

_ARCHITECTURES = {
    # app name: (block, expansion, blocks per stage)
    "resnet50": (_bottleneck, 4, (3, 4, 6, 3)),
    "resnet18": (_basic, 1, (2, 2, 2, 2)),
}


def _resnet(app: str, *, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any,
            pooling: str | None, classes: int, classifier_activation: Any, name: str,
            origin: str | None) -> Model:
    label = {"resnet50": "ResNet50", "resnet18": "ResNet18"}[app]
    img_input, inputs = prepare_input(
        label, include_top=include_top, weights=weights, input_tensor=input_tensor,
        input_shape=input_shape, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, default_size=224, min_size=32)
    # ResNet18 has only torchvision's ImageNet weights, so "imagenet" means those.
    origin = _common.resolve_origin(weights, origin, label,
                                    default="keras" if app in KERAS_WEIGHTS else "torchvision")

    x = layers.ZeroPadding2D(((3, 3), (3, 3)), name="conv1_pad")(img_input)
    torch = origin == "torchvision"
    x = layers.Conv2D(64, 7, strides=2, use_bias=not torch, name="conv1_conv",
                      kernel_initializer=TORCH_CONV_INIT if torch else "glorot_uniform")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_TORCH_EPSILON if torch else _KERAS_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    # Zero padding equals torch's -inf padding here: the inputs are ReLU outputs, never negative.
    x = layers.ZeroPadding2D(((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

    block, expansion, counts = _ARCHITECTURES[app]
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), counts)):
        x = _stack(x, block, filters, blocks, 1 if stage == 0 else 2, expansion, f"conv{stage + 2}", origin)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions",
                         kernel_initializer=_TORCH_LINEAR_INIT if torch else "glorot_uniform")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name)

    keras_file = KERAS_WEIGHTS[app][0 if include_top else 1] if app in KERAS_WEIGHTS else None
    # Called with weights=None too: it lets model.load_weights() read torchvision files later.
    _common.load_pretrained(
        model, weights, origin=origin, app_name=label,
        imagenet_file=keras_file if origin == "keras" else TORCHVISION_WEIGHTS[app],
        converter=torchvision_weights)
    return model


def ResNet50(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: tuple[int | None, ...] | None = None, pooling: str | None = None,
             classes: int = 1000, classifier_activation: Any = "softmax", name: str = "resnet50", *,
             origin: str | None = None) -> Model:
    """ResNet50 as ``keras.applications.ResNet50`` (origin "keras") or ``torchvision.models.resnet50``.

    Args:
      include_top: whether to end with global average pooling and the ``predictions`` Dense layer.
      weights: ``None`` (random), ``"imagenet"`` (downloaded and cached), or the path of a
        weights file: a Keras ``.weights.h5``/``.h5`` file, or a torchvision ``.pth``/``.safetensors``
        state dict (which implies ``origin="torchvision"``).
      input_tensor: an ``hl.Input`` tensor (or a layer's output on one) to build the model on.
      input_shape: ``(height, width, 3)``; at least 32x32. Only with ``include_top=False``
        (or random weights) may it differ from ``(224, 224, 3)``.
      pooling: with ``include_top=False``, ``None`` (the 4-D feature map), ``"avg"`` or ``"max"``
        (global pooling to ``(batch, 2048)``).
      classes: the number of classes when ``include_top`` (1000 with ImageNet weights).
      classifier_activation: the top layer's activation; ``None`` or ``"softmax"`` with
        pretrained weights.
      name: the model's name.
      origin: ``"keras"`` (ResNet v1, Keras's weights and ``preprocess_input``) or
        ``"torchvision"`` (ResNet v1.5, torchvision's); ``None`` infers it from ``weights``.

    Input ``(batch, height, width, 3)`` preprocessed by ``preprocess_input(x, origin=...)``;
    output ``(batch, classes)`` with the top, else ``(batch, h / 32, w / 32, 2048)`` or
    ``(batch, 2048)`` with pooling.

    >>> import highlevel as hl
    >>> model = hl.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    >>> model.output_shapes()
    [(None, 2, 2, 2048)]
    """
    return _resnet("resnet50", include_top=include_top, weights=weights, input_tensor=input_tensor,
                   input_shape=input_shape, pooling=pooling, classes=classes,
                   classifier_activation=classifier_activation, name=name, origin=origin)


def ResNet18(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: tuple[int | None, ...] | None = None, pooling: str | None = None,
             classes: int = 1000, classifier_activation: Any = "softmax", name: str = "resnet18", *,
             origin: str | None = None) -> Model:
    """ResNet18 (basic blocks), as ``torchvision.models.resnet18`` or in Keras's ResNet style.

    Keras has no ResNet18; its "keras" form here is Keras's ResNet recipe (conv bias,
    "same" padding, BN epsilon 1.001e-5) with basic blocks, and has no ImageNet weights.
    ``weights="imagenet"`` therefore means torchvision's weights (origin "torchvision").

    Args:
      include_top: whether to end with global average pooling and the ``predictions`` Dense layer.
      weights: ``None`` (random), ``"imagenet"`` (torchvision's, downloaded and cached), or the
        path of a weights file (a torchvision ``.pth``/``.safetensors`` state dict, or a Keras
        weights file saved from this network).
      input_tensor: an ``hl.Input`` tensor (or a layer's output on one) to build the model on.
      input_shape: ``(height, width, 3)``; at least 32x32.
      pooling: with ``include_top=False``, ``None`` (the 4-D feature map), ``"avg"`` or ``"max"``
        (global pooling to ``(batch, 512)``).
      classes: the number of classes when ``include_top`` (1000 with ImageNet weights).
      classifier_activation: the top layer's activation; ``None`` or ``"softmax"`` with
        pretrained weights.
      name: the model's name.
      origin: ``"torchvision"`` or ``"keras"``; ``None`` infers it from ``weights``
        (torchvision's for ``"imagenet"``).

    >>> import highlevel as hl
    >>> model = hl.applications.ResNet18(weights=None, include_top=False, input_shape=(64, 64, 3),
    ...                                  pooling="avg")
    >>> model.output_shapes()
    [(None, 512)]
    """
    return _resnet("resnet18", include_top=include_top, weights=weights, input_tensor=input_tensor,
                   input_shape=input_shape, pooling=pooling, classes=classes,
                   classifier_activation=classifier_activation, name=name, origin=origin)


# ---------------------------------------------------------------------------
# torchvision state dicts.

_LAYER_NAME = re.compile(r"conv(\d)_block(\d+)_(\d)_(conv|bn)$")


def _torch_prefix(layer_name: str) -> str | None:
    """The torchvision module path of one of our layers (``conv3_block2_1_bn`` -> ``layer2.1.bn1``)."""
    if layer_name == "conv1_conv":
        return "conv1"
    if layer_name == "conv1_bn":
        return "bn1"
    if layer_name == "predictions":
        return "fc"
    match = _LAYER_NAME.match(layer_name)
    if match is None:
        return None
    stage, block, index, kind = match.groups()
    base = f"layer{int(stage) - 1}.{int(block) - 1}"
    if index == "0":
        return f"{base}.downsample.{0 if kind == 'conv' else 1}"
    return f"{base}.{kind}{index}"


def torchvision_weights(state_dict: _common.TorchStateDict, model: Model) -> dict[str, list[np.ndarray]]:
    """Our weights (layer name -> ``get_weights()`` order) from a torchvision ResNet state dict.

    ``conv1``/``bn1`` go to ``conv1_conv``/``conv1_bn``, ``layer{s}.{b}.conv{i}``/``bn{i}``
    to ``conv{s+1}_block{b+1}_{i}_conv``/``_bn``, ``downsample.0``/``.1`` to the block's
    ``_0_conv``/``_0_bn`` and ``fc`` to ``predictions``. Every tensor is taken or skipped
    (``num_batches_tracked``; ``fc.*`` without the top), so the loader can name any left over.

    Args:
      state_dict: the torchvision tensors, as a ``TorchStateDict`` (it records which are used).
      model: the network, built with ``origin="torchvision"`` (any model whose layers carry
        ResNet50's layer names).

    Returns:
      ``{layer name: [arrays in get_weights() order]}`` for each layer with weights.
      ``model.load_weights(path)`` calls this for a ``.pth``/``.safetensors`` file.

    A stem-only model shows the mapping (a real one is ``hl.applications.ResNet50(...)``):

    >>> import highlevel as hl, numpy as np
    >>> from highlevel.applications._common import TorchStateDict
    >>> stem = hl.Sequential([hl.Input((4, 4, 3)), hl.layers.Conv2D(2, 3, use_bias=False, name="conv1_conv")])
    >>> sd = TorchStateDict({"conv1.weight": np.zeros((2, 3, 3, 3), np.float32)})
    >>> {name: [a.shape for a in arrays]
    ...  for name, arrays in hl.applications.resnet.torchvision_weights(sd, stem).items()}
    {'conv1_conv': [(3, 3, 3, 2)]}
    """
    stem = {layer.name: layer for layer in model.layers}.get("conv1_conv")
    if stem is not None and getattr(stem, "use_bias", False):
        raise ValueError(f"Model '{model.name}' was built with origin='keras', whose convolutions have biases; "
                         "torchvision weights need the torchvision network: build it with "
                         "origin='torchvision'.")
    names = {layer.name: prefix for layer in model.layers
             if layer.weights and (prefix := _torch_prefix(layer.name)) is not None}
    result = convert_torch_layers(state_dict, model, names, "ResNet50/ResNet18")
    if "predictions" not in result:
        state_dict.skip_prefix("fc.")
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
    scaling); ``"torchvision"``: ``x / 255`` then ``(x - mean) / std`` per channel with
    ImageNet's mean ``[0.485, 0.456, 0.406]`` and std ``[0.229, 0.224, 0.225]``.

    >>> import numpy as np
    >>> preprocess_input(np.full((1, 2, 2, 3), 255.0), origin="torchvision")[0, 0, 0].round(3)
    array([2.249, 2.429, 2.64 ], dtype=float32)
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode=preprocess_mode(origin))


decode_predictions = imagenet_utils.decode_predictions
