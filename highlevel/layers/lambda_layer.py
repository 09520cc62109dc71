"""The Lambda layer: any Python function of the inputs as a layer (never loaded from a config).

A ``Lambda`` works like Keras's in Python code. Its config names the function but cannot
be loaded back: rebuilding it would mean running code that a config names, which
highlevel never does (``from_config``, ``hl.layers.deserialize``, ``load_model`` and the
YAML configs of ``highlevel validate/train`` all refuse it with one sentence). Write the
function as a registered ``Layer`` subclass to save and load it.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from highlevel.layers.base import Layer, register_layer

__all__ = ["Lambda"]

#: The refusal every config path gives for a Lambda layer (``highlevel/config`` reads it too).
LAMBDA_REFUSAL = ("a Lambda layer cannot be built from a config, since that would run code the config "
                  "names; rebuild the model in Python with the function, or write it as a Layer subclass "
                  "registered with hl.layers.register_layer.")


def _parameters(function: Callable) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


@register_layer
class Lambda(Layer):
    """Wraps a function of the inputs, ``function(inputs, **arguments)``, as a layer.

    The function must use ``jax.numpy`` (it runs inside the compiled step); it gets
    ``mask=`` and ``training=`` too when its signature names them. A Lambda has no weights.

    Args:
      function: the function of the inputs (a single array, or the list of a multi-input call).
      output_shape: the output shape without the batch (or a function of the input shape);
        None: found by tracing ``function``.
      mask: the output mask: a function ``(inputs, mask) -> mask``, a fixed mask, or None.
      arguments: keyword arguments passed to ``function`` at every call.

    ``config_refusal`` (a class attribute) is the sentence with which every config path
    refuses a Lambda.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Lambda(lambda x, power: x ** power, arguments={"power": 2})(np.array([[3.0]], "float32")).tolist()
    [[9.0]]
    """

    config_refusal = LAMBDA_REFUSAL

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs):
        if not callable(function):
            raise TypeError(f"Lambda needs a Python function of the inputs, got {function!r} "
                            f"({type(function).__name__}); {LAMBDA_REFUSAL}")
        super().__init__(**kwargs)
        self.function = function
        self.output_shape_arg = output_shape
        self.mask = mask
        self.supports_masking = mask is not None
        self.arguments = dict(arguments or {})
        params = _parameters(function)
        self._takes_mask = "mask" in params
        self._takes_training = "training" in params

    def call(self, inputs, mask=None, training: bool = False):
        kwargs = dict(self.arguments)
        if self._takes_mask:
            kwargs["mask"] = mask
        if self._takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        """``mask(inputs, mask)`` when ``mask`` is a function, else the fixed ``mask`` (None by default)."""
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def compute_output_shape(self, input_shape):
        if self.output_shape_arg is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape_arg):
            return self.output_shape_arg(input_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + tuple(self.output_shape_arg)

    def get_config(self):
        name = getattr(self.function, "__qualname__", repr(self.function))
        output_shape = self.output_shape_arg
        return {**super().get_config(), "function": f"{getattr(self.function, '__module__', '?')}:{name}",
                "output_shape": None if callable(output_shape) else output_shape, "arguments": self.arguments}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Lambda":
        raise ValueError(f"Layer '{config.get('name', 'lambda')}': {LAMBDA_REFUSAL}")
