"""MobileNetV2, as Keras builds it (origin "keras") or as torchvision does ("torchvision").

Both origins name their layers as ``keras.applications.MobileNetV2`` does (``Conv1``,
``expanded_conv_depthwise``, ``block_5_project_BN``, ..., ``predictions``), so code that
freezes or replaces layers by name works on both. They differ where the published
weights were trained on different networks:

===================  =================================  ====================================
                     keras                              torchvision
===================  =================================  ====================================
stride-2 padding     TensorFlow's "same" (extra row     symmetric (``Conv1_pad`` and
                     and column after)                  ``block_*_pad``, then "valid")
BN epsilon/momentum  1e-3 / 0.999                       1e-5 / 0.9 (torch's momentum 0.1)
block widths         ``make_divisible(int(f * alpha))``  ``make_divisible(f * alpha)``
classifier           Dense                              Dropout(0.2) then Dense
preprocessing        "tf" (to [-1, 1])                  "torch" (/255, then mean/std)
===================  =================================  ====================================
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from highlevel import layers
from highlevel.applications import _common, imagenet_utils
from highlevel.applications._build import (TORCH_CONV_INIT, check_origin, convert_torch_layers, correct_pad,
                                            make_divisible, prepare_input)
from highlevel.applications._common import WeightFile
from highlevel.models import Model

__all__ = ["MobileNetV2", "preprocess_input", "decode_predictions", "torchvision_weights",
           "make_divisible", "correct_pad", "convert_torch_layers"]

_KERAS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
KERAS_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
KERAS_SIZES = (96, 128, 160, 192, 224)
# torchvision's IMAGENET1K_V1 file (alpha 1.0); the name carries the first 8 hex digits of its sha256.
TORCHVISION_WEIGHTS = WeightFile("https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
                                 "mobilenet_v2-b0353104.pth", "sha256-prefix:b0353104")

# (expansion, filters, repeats, first stride) per stage, as both Keras and torchvision list them.
_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1))
_BN = {"keras": {"epsilon": 1e-3, "momentum": 0.999}, "torchvision": {"epsilon": 1e-5, "momentum": 0.9}}
# torchvision's initialization (resnet.TORCH_CONV_INIT for convolutions; Keras's origin keeps Keras's
# defaults). torch counts a depthwise kernel's fan-out as channels * kh * kw: our (kh, kw, channels, 1) fan-in.
_TORCH_DEPTHWISE_INIT = {"class_name": "VarianceScaling",
                         "config": {"scale": 2.0, "mode": "fan_in", "distribution": "untruncated_normal"}}
_TORCH_DENSE_INIT = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.01}}


def keras_weight_file(alpha: float, rows: int, include_top: bool) -> WeightFile:
    """Keras's ImageNet file for ``alpha`` and input size ``rows`` (Keras publishes no checksum)."""
    filename = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                f"{'' if include_top else '_no_top'}.h5")
    return WeightFile(_KERAS_BASE + filename, filename, None)


def _default_size(input_shape: Any, input_tensor: Any) -> int:
    """Keras's rule: a square input of a published size picks that size's weights, else 224."""
    shape = None
    if input_shape is not None and isinstance(input_shape, (tuple, list)) and len(input_shape) == 3:
        shape = tuple(input_shape)
    elif input_tensor is not None and getattr(input_tensor, "shape", None) is not None \
            and len(input_tensor.shape) == 4:
        shape = tuple(input_tensor.shape[1:])
    if shape is not None and shape[0] == shape[1] and shape[0] in KERAS_SIZES:
        return int(shape[0])
    return 224


def _conv_bn_relu(x, filters: int, kernel: int, stride: int, origin: str, conv: str, bn: str, relu: str,
                  pad: str | None = None, depthwise: bool = False):
    """conv (or depthwise conv) -> batch norm -> ReLU6, with each origin's padding."""
    # "same" at stride 1 pads kernel // 2 on each side: torch's symmetric padding too.
    padding = "same"
    if kernel > 1 and stride == 2:
        if origin == "torchvision":
            x = layers.ZeroPadding2D(kernel // 2, name=pad)(x)
            padding = "valid"
        elif depthwise:
            # Keras pads its stride-2 depthwise convs explicitly (and its first conv with "same",
            # which splits the padding the same way).
            x = layers.ZeroPadding2D(correct_pad(x.shape, kernel), name=pad)(x)
            padding = "valid"
    torch = origin == "torchvision"
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding=padding, use_bias=False, name=conv,
                                   depthwise_initializer=_TORCH_DEPTHWISE_INIT if torch else "glorot_uniform")(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False, name=conv,
                          kernel_initializer=TORCH_CONV_INIT if torch else "glorot_uniform")(x)
    x = layers.BatchNormalization(axis=-1, name=bn, **_BN[origin])(x)
    return x if relu is None else layers.ReLU(6.0, name=relu)(x)


def _inverted_res_block(inputs, expansion: int, stride: int, alpha: float, filters: int, block_id: int,
                        origin: str):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1, linear), plus the input where shapes allow."""
    in_channels = inputs.shape[-1]
    if origin == "keras":
        out_channels = make_divisible(int(filters * alpha), 8)
    else:
        out_channels = make_divisible(filters * alpha, 8)
    x = inputs
    if block_id:
        prefix = f"block_{block_id}_"
        x = _conv_bn_relu(x, expansion * in_channels, 1, 1, origin, f"{prefix}expand", f"{prefix}expand_BN",
                          f"{prefix}expand_relu")
    else:
        prefix = "expanded_conv_"
    x = _conv_bn_relu(x, None, 3, stride, origin, f"{prefix}depthwise", f"{prefix}depthwise_BN",
                      f"{prefix}depthwise_relu", pad=f"{prefix}pad", depthwise=True)
    x = _conv_bn_relu(x, out_channels, 1, 1, origin, f"{prefix}project", f"{prefix}project_BN", None)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def MobileNetV2(input_shape: tuple[int | None, ...] | None = None, alpha: float = 1.0, include_top: bool = True,
                weights: Any = "imagenet", input_tensor: Any = None, pooling: str | None = None,
                classes: int = 1000, classifier_activation: Any = "softmax", name: str | None = None, *,
                origin: str | None = None) -> Model:
    """MobileNetV2 as ``keras.applications.MobileNetV2`` (origin "keras") or ``torchvision.models.mobilenet_v2``.

    Args:
      input_shape: ``(height, width, 3)``, at least 32x32. With ``include_top`` and ImageNet
        weights it must be square, of a published size (96, 128, 160, 192 or 224; 224 by
        default).
      alpha: the width multiplier; Keras publishes weights for 0.35, 0.5, 0.75, 1.0, 1.3
        and 1.4, torchvision for 1.0.
      include_top: whether to end with global average pooling and the ``predictions`` Dense layer.
      weights: ``None`` (random), ``"imagenet"`` (downloaded and cached), or the path of a
        weights file: a Keras ``.weights.h5``/``.h5`` file, or a torchvision ``.pth``/``.safetensors``
        state dict (which implies ``origin="torchvision"``).
      input_tensor: an ``hl.Input`` tensor (or a layer's output on one) to build the model on.
      pooling: with ``include_top=False``, ``None`` (the 4-D feature map), ``"avg"`` or ``"max"``.
      classes: the number of classes when ``include_top`` (1000 with ImageNet weights).
      classifier_activation: the top layer's activation; ``None`` or ``"softmax"`` with
        pretrained weights.
      name: the model's name (Keras's ``mobilenetv2_<alpha>_<rows>`` by default).
      origin: ``"keras"`` or ``"torchvision"`` (see the module docstring); ``None`` infers it
        from ``weights`` (a torch file means torchvision, anything else Keras).

    Input ``(batch, height, width, 3)`` preprocessed by ``preprocess_input(x, origin=...)``;
    output ``(batch, classes)`` with the top, else ``(batch, h / 32, w / 32, channels)``
    (1280 channels for ``alpha <= 1``) or ``(batch, channels)`` with pooling.

    >>> import highlevel as hl
    >>> model = hl.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
    >>> model.output_shapes()
    [(None, 3, 3, 1280)]
    """
    label = "MobileNetV2"
    origin = _common.resolve_origin(weights, origin, label)
    img_input, inputs = prepare_input(
        label, include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, classifier_activation=classifier_activation,
        default_size=_default_size(input_shape, input_tensor), min_size=32)
    rows, cols = img_input.shape[1], img_input.shape[2]
    if weights == "imagenet":
        if origin == "torchvision" and alpha != 1.0:
            raise ValueError(f"{label}: torchvision publishes ImageNet weights for alpha=1.0 only, got "
                             f"alpha={alpha}; pass origin='keras' for Keras's weights of that width, or "
                             "weights=None.")
        if alpha not in KERAS_ALPHAS:
            raise ValueError(f"{label} with weights='imagenet' takes alpha in {KERAS_ALPHAS}, got alpha={alpha}; "
                             "pass weights=None to train another width from scratch.")
        if origin == "keras" and (rows != cols or rows not in KERAS_SIZES):
            rows = 224
            warnings.warn(f"{label}: the input shape is undefined, non-square or not one of {KERAS_SIZES}, so "
                          "the ImageNet weights for 224x224 inputs are loaded.", stacklevel=2)

    x = _conv_bn_relu(img_input, make_divisible(32 * alpha, 8), 3, 2, origin, "Conv1", "bn_Conv1", "Conv1_relu",
                      pad="Conv1_pad")
    block_id = 0
    for expansion, filters, repeats, first_stride in _STAGES:
        for i in range(repeats):
            x = _inverted_res_block(x, expansion, first_stride if i == 0 else 1, alpha, filters, block_id,
                                    origin)
            block_id += 1
    # No alpha below 1 on the last conv (the paper's choice), more channels above it.
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = _conv_bn_relu(x, last_filters, 1, 1, origin, "Conv_1", "Conv_1_bn", "out_relu")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
        if origin == "torchvision":
            x = layers.Dropout(0.2, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions",
                         kernel_initializer=_TORCH_DENSE_INIT if origin == "torchvision" else "glorot_uniform")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="global_max_pooling2d")(x)
    model = Model(inputs, x, name=name if name is not None else f"mobilenetv2_{alpha:0.2f}_{rows}")

    if origin == "keras":
        imagenet_file = keras_weight_file(alpha, rows, include_top) if weights == "imagenet" else None
    else:
        imagenet_file = TORCHVISION_WEIGHTS
    # Called with weights=None too: it lets model.load_weights() read torchvision files later.
    _common.load_pretrained(model, weights, origin=origin, app_name=label, imagenet_file=imagenet_file,
                            converter=torchvision_weights)
    return model


# ---------------------------------------------------------------------------
# torchvision state dicts.


def _torch_names() -> dict[str, str]:
    """Our layer name -> torchvision module path, for the layers with weights."""
    names = {"Conv1": "features.0.0", "bn_Conv1": "features.0.1", "predictions": "classifier.1",
             "expanded_conv_depthwise": "features.1.conv.0.0", "expanded_conv_depthwise_BN": "features.1.conv.0.1",
             "expanded_conv_project": "features.1.conv.1", "expanded_conv_project_BN": "features.1.conv.2"}
    blocks = sum(repeats for _, _, repeats, _ in _STAGES)
    for block_id in range(1, blocks):
        base = f"features.{block_id + 1}.conv"
        for ours, theirs in (("expand", "0.0"), ("expand_BN", "0.1"), ("depthwise", "1.0"),
                             ("depthwise_BN", "1.1"), ("project", "2"), ("project_BN", "3")):
            names[f"block_{block_id}_{ours}"] = f"{base}.{theirs}"
    names["Conv_1"] = f"features.{blocks + 1}.0"
    names["Conv_1_bn"] = f"features.{blocks + 1}.1"
    return names


def torchvision_weights(state_dict: _common.TorchStateDict, model: Model) -> dict[str, list[np.ndarray]]:
    """Our weights (layer name -> ``get_weights()`` order) from a torchvision MobileNetV2 state dict.

    Conv kernels go from OIHW to HWIO, depthwise kernels from ``(C, 1, kh, kw)`` to
    ``(kh, kw, C, 1)``, the classifier from ``(out, in)`` to ``(in, out)``, batch norms to
    ``[gamma, beta, moving_mean, moving_variance]``. Every tensor is taken or skipped
    (``num_batches_tracked``; ``classifier.*`` without the top), so the loader can name any
    that is left over; a tensor of the wrong shape is named here.

    Args:
      state_dict: the torchvision tensors, as a ``TorchStateDict`` (it records which are used).
      model: the network, built with ``origin="torchvision"`` (any model whose layers carry
        MobileNetV2's layer names).

    Returns:
      ``{layer name: [arrays in get_weights() order]}`` for each layer with weights.
      ``model.load_weights(path)`` calls this for a ``.pth``/``.safetensors`` file.

    A stem-only model shows the mapping (a real one is ``hl.applications.MobileNetV2(...)``):

    >>> import highlevel as hl, numpy as np
    >>> from highlevel.applications._common import TorchStateDict
    >>> stem = hl.Sequential([hl.Input((4, 4, 3)), hl.layers.Conv2D(2, 3, use_bias=False, name="Conv1")])
    >>> sd = TorchStateDict({"features.0.0.weight": np.zeros((2, 3, 3, 3), np.float32)})
    >>> {name: [a.shape for a in arrays]
    ...  for name, arrays in hl.applications.mobilenet_v2.torchvision_weights(sd, stem).items()}
    {'Conv1': [(3, 3, 3, 2)]}
    """
    bn = {layer.name: layer for layer in model.layers}.get("bn_Conv1")
    if bn is not None and bn.epsilon != _BN["torchvision"]["epsilon"]:
        raise ValueError(f"Model '{model.name}' was built with origin='keras' (TensorFlow padding, epsilon "
                         f"{bn.epsilon}); torchvision weights need the torchvision network: build it with "
                         "origin='torchvision'.")
    result = convert_torch_layers(state_dict, model, _torch_names(), "MobileNetV2")
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

    ``"keras"``: Keras's "tf" mode, ``x / 127.5 - 1``; ``"torchvision"``: ``x / 255`` then
    ``(x - mean) / std`` per channel with ImageNet's mean ``[0.485, 0.456, 0.406]`` and std
    ``[0.229, 0.224, 0.225]``.

    >>> import numpy as np
    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0))[0, 0, 0]
    array([1., 1., 1.], dtype=float32)
    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0), origin="torchvision")[0, 0, 0].round(3)
    array([2.249, 2.429, 2.64 ], dtype=float32)
    """
    mode = {"keras": "tf", "torchvision": "torch"}[check_origin(origin)]
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)


decode_predictions = imagenet_utils.decode_predictions
