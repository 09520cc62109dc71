"""Pretrained CNNs, as ``keras.applications``, with Keras's or torchvision's ImageNet weights.

Each network takes Keras's constructor arguments (``include_top``, ``weights``,
``input_shape``, ``pooling``, ``classes``, ...) and an ``origin``: ``"keras"`` builds it as
``keras.applications`` does and loads Keras's ``.h5``/``.weights.h5`` files;
``"torchvision"`` builds it as ``torchvision.models`` does and loads torchvision's state
dicts (``.pth`` or ``.safetensors``). ``weights="imagenet"`` finds the published file in
highlevel's, Keras's or torch's cache (or an installed package that ships it), or
downloads it and checks its checksum. Each module has the ``preprocess_input`` that
matches its weights, and ``decode_predictions``.

Transfer learning: ``base.trainable = False`` freezes a base (no gradients, no optimizer
state, batch norm in inference mode), :func:`unfreeze_top` trains its top blocks,
``hl.optimizers.MultiOptimizer`` gives the base a lower learning rate than the head, and
``model.load_weights(path, skip_mismatch=True)`` loads what matches by name.
"""

from highlevel.applications import efficientnet, imagenet_utils, mobilenet_v2, resnet, vgg
from highlevel.applications._common import WeightFile, get_weights_file, weights_dir
from highlevel.applications.efficientnet import EfficientNetB0
from highlevel.applications.imagenet_utils import decode_predictions
from highlevel.applications.mobilenet_v2 import MobileNetV2
from highlevel.applications.resnet import ResNet18, ResNet50
from highlevel.applications.transfer import blocks, unfreeze_top
from highlevel.applications.vgg import VGG16

__all__ = ["MobileNetV2", "ResNet50", "ResNet18", "VGG16", "EfficientNetB0", "mobilenet_v2", "resnet", "vgg",
           "efficientnet", "imagenet_utils", "decode_predictions", "blocks", "unfreeze_top", "get", "names",
           "WeightFile", "get_weights_file", "weights_dir"]

_NETWORKS = {"MobileNetV2": MobileNetV2, "ResNet50": ResNet50, "ResNet18": ResNet18, "VGG16": VGG16,
             "EfficientNetB0": EfficientNetB0}


def names() -> list[str]:
    """The networks' names, as configs write them.

    >>> import highlevel as hl
    >>> hl.applications.names()
    ['EfficientNetB0', 'MobileNetV2', 'ResNet18', 'ResNet50', 'VGG16']
    """
    return sorted(_NETWORKS)


def get(name: str):
    """The constructor of the network called ``name`` (e.g. ``"MobileNetV2"``).

    Args:
        name: One of :func:`names`.

    Returns:
        The constructor function, e.g. :func:`ResNet50`.

    >>> get("ResNet50").__name__
    'ResNet50'
    """
    if name not in _NETWORKS:
        raise ValueError(f"Unknown network {name!r}; hl.applications has {', '.join(names())}.")
    return _NETWORKS[name]
