"""What ``Model.from_config`` and ``Model.load_weights`` do, apart from the class: rebuilding a
model from its config, and reading weights from a save directory or a foreign file."""

from __future__ import annotations

import inspect
from typing import Any

from highlevel.models import functional as _functional

__all__ = ["model_from_config", "load_weights"]


def model_from_config(cls: type, config: dict[str, Any], custom_objects: dict | None = None):
    """``cls.from_config(config, custom_objects)``: a functional graph when the config is one and
    ``cls`` takes ``Model``'s constructor arguments, else ``cls(**config)``."""
    from highlevel.models.model import Model
    from highlevel.utils.serialization import custom_object_scope
    if not isinstance(config, dict):
        raise TypeError(f"{cls.__name__}.from_config takes the dict get_config() returned, got "
                        f"{type(config).__name__}.")
    with custom_object_scope(custom_objects):
        if _is_functional_config(config) and _takes_graph_arguments(cls, Model):
            inputs, outputs, name, trainable = _functional.graph_from_config(config)
            model = cls(inputs, outputs, name=name)
            if not trainable:  # else the layers keep the flags of their own configs
                model.trainable = False
            return model
        if cls is Model:
            raise ValueError("Model.from_config was given a config that is not a functional model's (it "
                             f"lacks {sorted(_FUNCTIONAL_KEYS - set(config))}); call from_config on the "
                             "subclass whose get_config() wrote it.")
        try:
            return cls(**config)
        except TypeError as err:
            raise TypeError(f"Cannot rebuild {cls.__name__} from its config with {cls.__name__}(**config) "
                            f"({err}): make get_config() return exactly its constructor arguments, or "
                            "define the classmethod from_config(cls, config).") from err


def load_weights(model, filepath, skip_mismatch: bool = False):
    """``model.load_weights(filepath, skip_mismatch)``: a save directory, a Keras ``.weights.h5``/``.h5``
    file or, for ``hl.applications`` models, a torchvision state dict."""
    from highlevel.models import weight_files
    from highlevel.models.saving import load_weights_directory
    path = str(filepath)
    foreign = getattr(model, "foreign_weights_loader", None)
    if weight_files.is_keras_h5(path) or (foreign is not None and path.endswith((".pth", ".pt", ".safetensors"))):
        model.require_built("load_weights")
        model.trainer.sync()
        if weight_files.is_keras_h5(path):
            tensors = weight_files.read_keras_h5(path, model)
        else:
            tensors = foreign(path, model, strict=not skip_mismatch)
        return weight_files.assign(model, tensors, source=path, skip_mismatch=skip_mismatch)
    if path.endswith((".pth", ".pt", ".safetensors")):
        raise ValueError(f"{path} is a PyTorch state dict; its tensor names mean something only for the "
                         "architecture they came from, so it loads only into hl.applications models "
                         "(e.g. hl.applications.MobileNetV2(weights=path)).")
    load_weights_directory(model, filepath)
    return None


_FUNCTIONAL_KEYS = frozenset({"layers", "calls", "inputs", "outputs"})


def _is_functional_config(config: dict[str, Any]) -> bool:
    return _FUNCTIONAL_KEYS <= set(config)


def _takes_graph_arguments(cls: type, Model: type) -> bool:
    """Whether ``cls(inputs, outputs, name=...)`` builds a graph: ``Model``'s own constructor, one
    whose first arguments are ``inputs, outputs``, or one taking ``*args, **kwargs`` (Keras's test
    for reviving a subclass as functional)."""
    init = cls.__init__
    if init is Model.__init__:
        return True
    spec = inspect.getfullargspec(init)
    return spec.args[1:3] == ["inputs", "outputs"] or (spec.varargs is not None and spec.varkw is not None)
