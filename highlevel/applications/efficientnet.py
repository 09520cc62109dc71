"""EfficientNetB0, as Keras builds it (origin "keras") or as torchvision does ("torchvision").

Both origins name their layers as ``keras.applications.EfficientNetB0`` does
(``stem_conv``, ``block2a_expand_conv``, ``block2a_se_reduce``, ..., ``top_conv``,
``predictions``), so code that freezes or replaces layers by name works on both. They
differ where the published weights were trained on different networks:

===================  ====================================  ================================
                     keras                                 torchvision
===================  ====================================  ================================
input                pixels in [0, 255]: the model         ``preprocess_input(origin=
                     rescales and normalizes them itself   "torchvision")``: /255, mean/std
                     (``rescaling``, ``normalization``)
stride-2 padding     TensorFlow's "same" (extra after)     symmetric (``*_pad``, "valid")
BN epsilon/momentum  1e-3 / 0.99                           1e-5 / 0.9 (torch's momentum 0.1)
===================  ====================================  ================================

In both, residual blocks drop their branch per sample in training (Keras's ``*_drop``
Dropout with ``noise_shape=(None, 1, 1, 1)``, torchvision's stochastic depth) at rates
rising linearly to 0.2 * 15/16, and the classifier is Dropout(0.2) then Dense.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from highlevel import layers
from highlevel.applications import _common, imagenet_utils
from highlevel.applications._build import (TORCH_CONV_INIT, check_origin, convert_torch_layers, correct_pad,
                                            make_divisible, prepare_input)
from highlevel.applications._common import WeightFile
from highlevel.models import Model

__all__ = ["EfficientNetB0", "preprocess_input", "decode_predictions", "torchvision_weights"]

_KERAS_BASE = "https://storage.googleapis.com/keras-applications/"
# (include_top, notop) files of keras.applications.EfficientNetB0, with Keras's md5 hashes.
KERAS_WEIGHTS = (
    WeightFile(_KERAS_BASE + "efficientnetb0.h5", "efficientnetb0.h5", "md5:902e53a9f72be733fc0bcb005b3ebbac"),
    WeightFile(_KERAS_BASE + "efficientnetb0_notop.h5", "efficientnetb0_notop.h5",
               "md5:50bc09e76180e00e4465e1a485ddc09d"),
)
# torchvision's IMAGENET1K_V1 file; the name carries the first 8 hex digits of its sha256.
TORCHVISION_WEIGHTS = WeightFile("https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth",
                                 "efficientnet_b0_rwightman-7f5810bc.pth", "sha256-prefix:7f5810bc")

# (kernel, repeats, filters in, filters out, expansion, first stride) per stage; SE ratio 0.25.
_STAGES = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
           (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
_DROPOUT = 0.2
_DROP_CONNECT = 0.2
_IMAGENET_STD = (0.229, 0.224, 0.225)
_BN = {"keras": {"epsilon": 1e-3, "momentum": 0.99}, "torchvision": {"epsilon": 1e-5, "momentum": 0.9}}
# Keras's initializers; torchvision's convolutions are the untruncated kaiming fan-out.
_CONV_INIT = {"keras": {"class_name": "VarianceScaling",
                        "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}},
              "torchvision": TORCH_CONV_INIT}
# torch counts a depthwise kernel's fan-out as channels * kh * kw: our (kh, kw, channels, 1) fan-in.
_TORCH_DEPTHWISE_INIT = {"class_name": "VarianceScaling",
                         "config": {"scale": 2.0, "mode": "fan_in", "distribution": "untruncated_normal"}}
# Both: uniform in +-1/sqrt(classes).
_DENSE_INIT = {"class_name": "VarianceScaling",
               "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}


def _conv_bn(x, filters: int, kernel: int, stride: int, origin: str, name: str, conv: str, bn: str,
             activation: bool = True, depthwise: bool = False):
    """conv (or depthwise conv) -> batch norm (-> swish), with each origin's padding."""
    if stride == 2:
        padding = correct_pad(x.shape, kernel) if origin == "keras" else kernel // 2
        x = layers.ZeroPadding2D(padding, name=f"{name}{conv}_pad")(x)
    # "same" at stride 1 pads kernel // 2 on each side: torch's symmetric padding too.
    padding = "same" if stride == 1 else "valid"
    if depthwise:
        init = _CONV_INIT["keras"] if origin == "keras" else _TORCH_DEPTHWISE_INIT
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding=padding, use_bias=False,
                                   depthwise_initializer=init, name=f"{name}{conv}")(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                          kernel_initializer=_CONV_INIT[origin], name=f"{name}{conv}")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}{bn}", **_BN[origin])(x)
    if activation:
        x = layers.Activation("swish", name=f"{name}{bn.replace('bn', 'activation')}")(x)
    return x


def _block(inputs, origin: str, drop_rate: float, name: str, filters_in: int, filters_out: int, kernel: int,
           stride: int, expansion: int):
    """MBConv: expand (1x1) -> depthwise -> squeeze-and-excite -> project (1x1), plus the input."""
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        x = _conv_bn(x, filters, 1, 1, origin, name, "expand_conv", "expand_bn")
    x = _conv_bn(x, filters, kernel, stride, origin, name, "dwconv", "bn", depthwise=True)

    squeezed = max(1, int(filters_in * 0.25))
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(squeezed, 1, padding="same", activation="swish", kernel_initializer=_CONV_INIT[origin],
                       name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=_CONV_INIT[origin],
                       name=f"{name}se_expand")(se)
    x = layers.Multiply(name=f"{name}se_excite")([x, se])

    x = _conv_bn(x, filters_out, 1, 1, origin, name, "project_conv", "project_bn", activation=False)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            # Drops the whole branch of a sample: torchvision's stochastic depth, Keras's drop-connect.
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def EfficientNetB0(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: tuple[int | None, ...] | None = None, pooling: str | None = None,
                   classes: int = 1000, classifier_activation: Any = "softmax", name: str = "efficientnetb0", *,
                   origin: str | None = None) -> Model:
    """EfficientNetB0 as ``keras.applications.EfficientNetB0`` (origin "keras") or torchvision's ``efficientnet_b0``.

    Args:
      include_top: whether to end with global average pooling, Dropout(0.2) and the
        ``predictions`` Dense layer.
      weights: ``None`` (random), ``"imagenet"`` (downloaded and cached), or the path of a
        weights file: a Keras ``.weights.h5``/``.h5`` file, or a torchvision ``.pth``/``.safetensors``
        state dict (which implies ``origin="torchvision"``).
      input_tensor: an ``hl.Input`` tensor (or a layer's output on one) to build the model on.
      input_shape: ``(height, width, 3)``; at least 32x32. Only with ``include_top=False``
        (or random weights) may it differ from ``(224, 224, 3)``.
      pooling: with ``include_top=False``, ``None`` (the 4-D feature map), ``"avg"`` or ``"max"``.
      classes: the number of classes when ``include_top`` (1000 with ImageNet weights).
      classifier_activation: the top layer's activation; ``None`` or ``"softmax"`` with
        pretrained weights.
      name: the model's name.
      origin: ``"keras"`` or ``"torchvision"`` (see the module docstring); ``None`` infers it
        from ``weights`` (a torch file means torchvision, anything else Keras).

    Input ``(batch, height, width, 3)``: pixels in [0, 255] for origin "keras" (the model
    scales them itself), ``preprocess_input(x, origin="torchvision")`` for torchvision's;
    output ``(batch, classes)`` with the top, else ``(batch, h / 32, w / 32, 1280)`` or
    ``(batch, 1280)`` with pooling.

    >>> import highlevel as hl
    >>> model = hl.applications.EfficientNetB0(weights=None, include_top=False, input_shape=(64, 64, 3))
    >>> model.output_shapes()
    [(None, 2, 2, 1280)]
    """
    label = "EfficientNetB0"
    origin = _common.resolve_origin(weights, origin, label)
    img_input, inputs = prepare_input(
        label, include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, classifier_activation=classifier_activation, default_size=224,
        min_size=32)

    x = img_input
    if origin == "keras":
        x = layers.Rescaling(1.0 / 255.0, name="rescaling")(x)
        x = layers.Normalization(axis=3, name="normalization")(x)
        if weights == "imagenet":
            # Keras's ImageNet file holds the standard deviation where the variance belongs, so its
            # normalization divides by sqrt(std); this divides by sqrt(std) again (tensorflow#49930).
            x = layers.Rescaling([1.0 / math.sqrt(s) for s in _IMAGENET_STD], name="rescaling_1")(x)
    x = _conv_bn(x, make_divisible(32), 3, 2, origin, "stem_", "conv", "bn")

    blocks = float(sum(stage[1] for stage in _STAGES))
    b = 0
    for i, (kernel, repeats, filters_in, filters_out, expansion, stride) in enumerate(_STAGES):
        for j in range(repeats):
            x = _block(x, origin, _DROP_CONNECT * b / blocks, f"block{i + 1}{chr(j + 97)}_",
                       filters_in if j == 0 else filters_out, filters_out, kernel, stride if j == 0 else 1,
                       expansion)
            b += 1
    x = _conv_bn(x, make_divisible(1280), 1, 1, origin, "top_", "conv", "bn")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(_DROPOUT, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=_DENSE_INIT,
                         name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name)

    imagenet_file = KERAS_WEIGHTS[0 if include_top else 1] if origin == "keras" else TORCHVISION_WEIGHTS
    # Called with weights=None too: it lets model.load_weights() read torchvision files later.
    _common.load_pretrained(model, weights, origin=origin, app_name=label, imagenet_file=imagenet_file,
                            converter=torchvision_weights)
    return model


# ---------------------------------------------------------------------------
# torchvision state dicts.


def _torch_names() -> dict[str, str]:
    """Our layer name -> torchvision module path, for the layers with weights."""
    names = {"stem_conv": "features.0.0", "stem_bn": "features.0.1", "predictions": "classifier.1"}
    for i, (_, repeats, _, _, expansion, _) in enumerate(_STAGES):
        for j in range(repeats):
            ours, theirs = f"block{i + 1}{chr(j + 97)}_", f"features.{i + 1}.{j}.block"
            # torchvision's block is a Sequential without the expansion where there is none.
            k = 0
            if expansion != 1:
                names |= {f"{ours}expand_conv": f"{theirs}.0.0", f"{ours}expand_bn": f"{theirs}.0.1"}
                k = 1
            names |= {f"{ours}dwconv": f"{theirs}.{k}.0", f"{ours}bn": f"{theirs}.{k}.1",
                      f"{ours}se_reduce": f"{theirs}.{k + 1}.fc1", f"{ours}se_expand": f"{theirs}.{k + 1}.fc2",
                      f"{ours}project_conv": f"{theirs}.{k + 2}.0", f"{ours}project_bn": f"{theirs}.{k + 2}.1"}
    top = len(_STAGES) + 1
    names |= {"top_conv": f"features.{top}.0", "top_bn": f"features.{top}.1"}
    return names


def torchvision_weights(state_dict: _common.TorchStateDict, model: Model) -> dict[str, list[np.ndarray]]:
    """Our weights (layer name -> ``get_weights()`` order) from a torchvision EfficientNetB0 state dict.

    Conv kernels go from OIHW to HWIO, depthwise kernels from ``(C, 1, kh, kw)`` to
    ``(kh, kw, C, 1)``, the classifier from ``(out, in)`` to ``(in, out)``, batch norms to
    ``[gamma, beta, moving_mean, moving_variance]``. Every tensor is taken or skipped
    (``num_batches_tracked``; ``classifier.*`` without the top), so the loader can name any
    that is left over; a tensor of the wrong shape is named here.

    Args:
      state_dict: the torchvision tensors, as a ``TorchStateDict`` (it records which are used).
      model: the network, built with ``origin="torchvision"`` (any model whose layers carry
        EfficientNetB0's layer names).

    Returns:
      ``{layer name: [arrays in get_weights() order]}`` for each layer with weights.
      ``model.load_weights(path)`` calls this for a ``.pth``/``.safetensors`` file.

    A stem-only model shows the mapping (a real one is ``hl.applications.EfficientNetB0(...)``):

    >>> import highlevel as hl, numpy as np
    >>> from highlevel.applications._common import TorchStateDict
    >>> stem = hl.Sequential([hl.Input((4, 4, 3)), hl.layers.Conv2D(2, 3, use_bias=False, name="stem_conv")])
    >>> sd = TorchStateDict({"features.0.0.weight": np.zeros((2, 3, 3, 3), np.float32)})
    >>> {name: [a.shape for a in arrays]
    ...  for name, arrays in hl.applications.efficientnet.torchvision_weights(sd, stem).items()}
    {'stem_conv': [(3, 3, 3, 2)]}
    """
    by_name = {layer.name: layer for layer in model.layers}
    bn = by_name.get("stem_bn")
    if "normalization" in by_name or (bn is not None and bn.epsilon != _BN["torchvision"]["epsilon"]):
        raise ValueError(f"Model '{model.name}' was built with origin='keras' (its own input scaling, TensorFlow "
                         "padding, epsilon 1e-3); torchvision weights need the torchvision network: build it "
                         "with origin='torchvision'.")
    result = convert_torch_layers(state_dict, model, _torch_names(), "EfficientNetB0")
    if "predictions" not in result:
        state_dict.skip_prefix("classifier.")
    return result


# ---------------------------------------------------------------------------
# Pre- and post-processing.


def preprocess_input(x, data_format: str | None = None, origin: str = "keras"):
    """Prepares RGB images in [0, 255] as the weights of ``origin`` expect.

    Args:
      x: images ``(..., height, width, 3)`` in [0, 255], a NumPy or JAX array (returned as is for
        ``"keras"``, else a float copy).
      data_format: ``"channels_last"`` (or None); channels-first is not supported.
      origin: ``"keras"`` or ``"torchvision"``: whose weights the images are for.

    ``"keras"``: the identity (as Keras: the model rescales and normalizes its input
    itself); ``"torchvision"``: ``x / 255`` then ``(x - mean) / std`` per channel with
    ImageNet's mean ``[0.485, 0.456, 0.406]`` and std ``[0.229, 0.224, 0.225]``.

    >>> import numpy as np
    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0))[0, 0, 0]
    array([255., 255., 255.])
    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0), origin="torchvision")[0, 0, 0].round(3)
    array([2.249, 2.429, 2.64 ], dtype=float32)
    """
    if check_origin(origin) == "keras":
        if data_format not in (None, "channels_last"):
            raise ValueError(f"preprocess_input supports data_format='channels_last' only, got {data_format!r}.")
        return x
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = imagenet_utils.decode_predictions
