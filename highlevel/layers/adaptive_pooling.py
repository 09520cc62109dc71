"""Adaptive pooling layers: average or max pooling to a fixed output size (1-D, 2-D, 3-D), as Keras 3's.

Each output position pools the input positions ``floor(i * n / out)`` to ``ceil((i + 1) * n / out)``
(``hl.ops.adaptive_average_pool`` and ``adaptive_max_pool``, Keras's numbers), so any input
size, divisible or not, gives ``output_size``. Either data_format. No weights.
"""

from __future__ import annotations

from typing import Sequence

from highlevel.layers.base import Layer, register_layer
from highlevel.layers.convolutional import check_data_format, check_rank, input_layout
from highlevel.ops.nn_adaptive import adaptive_average_pool, adaptive_max_pool, normalize_output_size

__all__ = ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]


class _AdaptivePooling(Layer):
    """Abstract adaptive pooling (subclasses set ``rank`` and ``mode``)."""

    rank: int = 0
    mode: str = ""

    def __init__(self, output_size: int | Sequence[int], data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.output_size = normalize_output_size(output_size, self.rank, cls)
        self.data_format = check_data_format(data_format, cls)

    def build(self, input_shape):
        check_rank(self, input_shape, self.rank, input_layout(self.rank, self.data_format))

    def call(self, inputs):
        check_rank(self, inputs.shape, self.rank, input_layout(self.rank, self.data_format))
        pool = adaptive_max_pool if self.mode == "max" else adaptive_average_pool
        return pool(inputs, self.output_size, data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


_DOC = """{kind} pooling of {what} inputs to a fixed ``output_size``, as ``keras.layers.{name}``.

    Output position ``i`` of an axis of length ``n`` pools the input positions
    ``floor(i * n / out)`` to ``ceil((i + 1) * n / out)``, so any input size works.

    Args:
      output_size: the output's {size_kind}.
      data_format: ``"channels_last"`` (None means ``hl.backend.image_data_format()``) or
        ``"channels_first"`` (channels on axis 1).

    Input shape ``{layout}``; output with the spatial sizes ``output_size``. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.{name}({example_arg})(np.ones({example_shape}, "float32")).shape
    {example_out}
    """


def _doc(kind, rank, name):
    what, size_kind, layout, shape, arg, out = {
        1: ("1-D", "length (an int)", "(batch, steps, channels)", "(2, 9, 3)", "4", "(2, 4, 3)"),
        2: ("2-D", "size (an int or a pair)", "(batch, height, width, channels)", "(2, 9, 7, 3)", "(4, 3)",
            "(2, 4, 3, 3)"),
        3: ("3-D", "size (an int or a triple)", "(batch, depth, height, width, channels)", "(2, 5, 9, 7, 3)",
            "2", "(2, 2, 2, 2, 3)")}[rank]
    return _DOC.format(kind=kind, what=what, name=name, size_kind=size_kind, layout=layout, example_arg=arg,
                       example_shape=shape, example_out=out)


@register_layer
class AdaptiveAveragePooling1D(_AdaptivePooling):
    rank, mode = 1, "average"
    __doc__ = _doc("Average", 1, "AdaptiveAveragePooling1D")


@register_layer
class AdaptiveAveragePooling2D(_AdaptivePooling):
    rank, mode = 2, "average"
    __doc__ = _doc("Average", 2, "AdaptiveAveragePooling2D")


@register_layer
class AdaptiveAveragePooling3D(_AdaptivePooling):
    rank, mode = 3, "average"
    __doc__ = _doc("Average", 3, "AdaptiveAveragePooling3D")


@register_layer
class AdaptiveMaxPooling1D(_AdaptivePooling):
    rank, mode = 1, "max"
    __doc__ = _doc("Max", 1, "AdaptiveMaxPooling1D")


@register_layer
class AdaptiveMaxPooling2D(_AdaptivePooling):
    rank, mode = 2, "max"
    __doc__ = _doc("Max", 2, "AdaptiveMaxPooling2D")


@register_layer
class AdaptiveMaxPooling3D(_AdaptivePooling):
    rank, mode = 3, "max"
    __doc__ = _doc("Max", 3, "AdaptiveMaxPooling3D")
