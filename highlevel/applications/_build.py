"""Building blocks the architectures share: Keras's input rules, padding, torchvision conversion."""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

import numpy as np

from highlevel import activations as hl_activations
from highlevel import layers
from highlevel.applications import _common
from highlevel.layers.symbolic import Input, InputLayer, KerasTensor
from highlevel.models import Model


TORCH_CONV_INIT = {"class_name": "VarianceScaling",
                   "config": {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"}}


def check_weights_argument(weights: Any) -> None:
    if weights is None or weights == "imagenet":
        return
    if not isinstance(weights, (str, os.PathLike)) or not os.path.exists(weights):
        raise ValueError(f"`weights` must be None (random initialization), 'imagenet' (pre-training on "
                         f"ImageNet) or the path of an existing weights file; got weights={weights!r}.")


def obtain_input_shape(label: str, input_shape: Any, *, default_size: int, min_size: int,
                       require_flatten: bool, weights: Any) -> tuple[int | None, int | None, int]:
    """The model's input shape (channels last) from ``input_shape``, by Keras's rules.

    Without ``input_shape``: ``(default_size, default_size, 3)`` when the top needs a
    static shape, else ``(None, None, 3)``. ImageNet weights with the top need exactly
    the default shape; ImageNet weights need 3 channels; height and width are at least
    ``min_size``.
    """
    if input_shape is not None:
        if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3 or not all(
                d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0)
                for d in input_shape)):
            raise ValueError(f"{label}: `input_shape` must be a tuple of three positive integers "
                             f"(height, width, channels), got input_shape={input_shape!r}.")
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
    if weights != "imagenet" and input_shape is not None:
        if input_shape[-1] not in (1, 3):
            warnings.warn(f"{label} usually expects 1 or 3 input channels, but input_shape={input_shape} "
                          f"has {input_shape[-1]}.", stacklevel=4)
        default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default_shape:
            raise ValueError(f"{label} with include_top=True and weights='imagenet' takes input_shape="
                             f"{default_shape}, got input_shape={input_shape}; pass include_top=False "
                             "for other sizes.")
        return default_shape
    if input_shape is None:
        input_shape = default_shape if require_flatten else (None, None, 3)
    if input_shape[-1] != 3 and weights == "imagenet":
        raise ValueError(f"{label} with weights='imagenet' takes images with 3 channels, got "
                         f"input_shape={input_shape}.")
    if any(d is not None and d < min_size for d in input_shape[:2]):
        raise ValueError(f"{label} takes images of at least {min_size}x{min_size}, got "
                         f"input_shape={input_shape}.")
    if require_flatten and None in input_shape:
        raise ValueError(f"{label} with include_top=True needs a static input_shape, got "
                         f"input_shape={input_shape}; give the height and width, or pass include_top=False.")
    return input_shape


def _source_inputs(tensor: KerasTensor) -> list[KerasTensor]:
    """The ``hl.Input`` tensors that ``tensor`` is computed from, in order."""
    found: list[KerasTensor] = []
    stack = [tensor]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        layer, node_index, _ = t.keras_history
        if isinstance(layer, InputLayer):
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        stack.extend(reversed(layer.inbound_nodes[node_index].input_tensors))
    return found


def prepare_input(label: str, *, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any,
                  pooling: Any, classes: int, classifier_activation: Any, default_size: int,
                  min_size: int) -> tuple[KerasTensor, Any]:
    """Checks a keras.applications constructor's arguments; returns ``(image tensor, model inputs)``."""
    check_weights_argument(weights)
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"{label} with weights='imagenet' and include_top=True has 1000 classes, got "
                         f"classes={classes}; pass include_top=False to put your own classifier on top.")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{label}: `pooling` must be None, 'avg' or 'max', got pooling={pooling!r}.")
    if include_top and weights is not None:
        activation = hl_activations.get(classifier_activation)
        if activation not in (hl_activations.softmax, hl_activations.linear):
            raise ValueError(f"{label} with pretrained weights and include_top=True allows only "
                             f"classifier_activation=None or 'softmax', got {classifier_activation!r}.")
    shape = obtain_input_shape(label, input_shape, default_size=default_size, min_size=min_size,
                               require_flatten=include_top, weights=weights)
    if input_tensor is None:
        img_input = Input(shape)
        return img_input, img_input
    if not isinstance(input_tensor, KerasTensor) or input_tensor.keras_history is None:
        raise TypeError(f"{label}: `input_tensor` must be an hl.Input tensor (or a layer's output on one), "
                        f"got {type(input_tensor).__name__}.")
    sources = _source_inputs(input_tensor)
    return input_tensor, sources[0] if len(sources) == 1 else sources


def preprocess_mode(origin: str) -> str:
    """``imagenet_utils.preprocess_input``'s mode for the weights of ``origin``."""
    modes = {"keras": "caffe", "torchvision": "torch"}
    if origin not in modes:
        raise ValueError(f"`origin` must be 'keras' or 'torchvision', got origin={origin!r}.")
    return modes[origin]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to a multiple of ``divisor``, never more than 10% below it (Keras and torchvision).

    Args:
        value: The channel count to round (e.g. ``filters * alpha``).
        divisor: The multiple to round to.
        min_value: The smallest result (default: ``divisor``).

    Returns:
        The rounded channel count.

    >>> from highlevel.applications.mobilenet_v2 import make_divisible
    >>> make_divisible(32 * 0.35), make_divisible(100), make_divisible(3)
    (16, 104, 8)
    """
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return new_value + divisor if new_value < 0.9 * value else new_value


def correct_pad(shape: tuple, kernel_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's zero padding before a stride-2 "valid" conv: "same"'s split of the padding.

    Args:
        shape: The input's shape ``(batch, height, width, channels)`` (height None: unknown).
        kernel_size: The convolution's (square) kernel size.

    Returns:
        ``((top, bottom), (left, right))`` for ``ZeroPadding2D``.

    >>> from highlevel.applications.mobilenet_v2 import correct_pad
    >>> correct_pad((None, 224, 224, 3), 3), correct_pad((None, 225, 225, 3), 3)
    (((0, 1), (0, 1)), ((1, 1), (1, 1)))
    """
    if shape[1] is None:
        adjust = (1, 1)
    else:
        adjust = (1 - shape[1] % 2, 1 - shape[2] % 2)
    half = kernel_size // 2
    return (half - adjust[0], half), (half - adjust[1], half)


def check_origin(origin: str) -> str:
    if origin not in _common.ORIGINS:
        raise ValueError(f"`origin` must be one of {_common.ORIGINS}, got origin={origin!r}.")
    return origin


def convert_torch_layers(state_dict: _common.TorchStateDict, model: Model, torch_names: dict[str, str],
                         app: str, dense_kernel: dict[str, Callable] | None = None
                         ) -> dict[str, list[np.ndarray]]:
    """Each weighted layer's arrays, taken from ``state_dict`` at ``torch_names[layer.name]``.

    Conv2D: ``weight`` (OIHW to HWIO) and ``bias`` if the layer has one; DepthwiseConv2D:
    ``weight`` (``(C, 1, kh, kw)`` to ``(kh, kw, C, 1)``); Dense: ``weight`` (``(out, in)`` to
    ``(in, out)``, or ``dense_kernel[name](weight)``) and ``bias``; BatchNormalization:
    ``weight, bias, running_mean, running_var``. Every converted shape is checked against
    the layer's, and a difference names the tensor.

    Args:
        state_dict: The torchvision tensors, as a ``TorchStateDict``.
        model: The model whose layers receive them.
        torch_names: Our layer name -> torchvision module path, for every layer with weights.
        app: The network's name, for error messages.
        dense_kernel: Layer name -> a converter of its Dense ``weight``, where a plain
            transpose is wrong.

    Returns:
        ``{layer name: [arrays in get_weights() order]}``.

    >>> import highlevel as hl, numpy as np
    >>> from highlevel.applications._common import TorchStateDict
    >>> from highlevel.applications.mobilenet_v2 import convert_torch_layers
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, name="head")])
    >>> sd = TorchStateDict({"fc.weight": np.zeros((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32)})
    >>> [a.shape for a in convert_torch_layers(sd, model, {"head": "fc"}, "Demo")["head"]]
    [(3, 2), (2,)]
    """
    dense_kernel = dense_kernel or {}
    result: dict[str, list[np.ndarray]] = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = torch_names.get(layer.name)
        if prefix is None:
            raise ValueError(f"Layer '{layer.name}' of model '{model.name}' has no torchvision counterpart; "
                             f"torchvision weights load only into hl.applications.{app} built with "
                             "origin='torchvision'.")
        if isinstance(layer, layers.BatchNormalization):
            keys = [f"{prefix}.{n}" for n in ("weight", "bias", "running_mean", "running_var")]
            arrays = _common.batch_norm_from_torch(state_dict, prefix)
        elif isinstance(layer, layers.DepthwiseConv2D):
            keys = [f"{prefix}.weight"] + ([f"{prefix}.bias"] if layer.use_bias else [])
            arrays = [_common.depthwise_from_torch(state_dict.take(keys[0]))] + [
                state_dict.take(k) for k in keys[1:]]
        elif isinstance(layer, layers.Conv2D):
            keys = [f"{prefix}.weight"] + ([f"{prefix}.bias"] if layer.use_bias else [])
            arrays = [_common.conv_from_torch(state_dict.take(keys[0]))] + [state_dict.take(k) for k in keys[1:]]
        elif isinstance(layer, layers.Dense):
            keys = [f"{prefix}.weight", f"{prefix}.bias"]
            to_kernel = dense_kernel.get(layer.name, _common.dense_from_torch)
            arrays = [to_kernel(state_dict.take(keys[0])), state_dict.take(keys[1])]
        else:
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) of model '{model.name}' has no "
                             "torchvision counterpart.")
        for key, array, (weight_name, var) in zip(keys, arrays, layer.named_weights()):
            if tuple(np.shape(array)) != tuple(var.get_value().shape) and state_dict.strict:
                raise ValueError(f"Tensor {key!r} of {state_dict.source} converts to shape "
                                 f"{tuple(np.shape(array))}, but {weight_name} has shape "
                                 f"{tuple(var.get_value().shape)}; the state dict comes from another "
                                 f"variant of {app} (width, or number of classes).")
        result[layer.name] = arrays
    return result
