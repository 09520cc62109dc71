"""Reshaping layers: Cropping1D/2D/3D, ZeroPadding1D/3D, RepeatVector and Permute, as Keras's.

Either data_format (Cropping1D has none, as in Keras); no weights. (``ZeroPadding2D`` lives with the convolutions, ``Reshape``
and ``Flatten`` with the core layers, the up-sampling layers in ``upsampling.py``.)
"""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.convolutional import check_data_format, check_rank, input_layout, normalize_tuple

__all__ = ["Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding3D", "RepeatVector",
           "Permute"]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def pairs_per_axis(value: Any, rank: int, arg: str, layer: str) -> tuple[tuple[int, int], ...]:
    """Keras's forms of a per-axis ``(before, after)`` amount: an int (all sides), ``rank`` ints
    (symmetric per axis) or ``rank`` pairs; each non-negative."""
    if _is_int(value):
        n = normalize_tuple(value, 1, arg, layer, allow_zero=True)[0]
        return ((n, n),) * rank
    if isinstance(value, (list, tuple)) and len(value) == rank:
        if all(_is_int(v) for v in value):
            return tuple((n, n) for n in normalize_tuple(tuple(value), rank, arg, layer, allow_zero=True))
        if all(isinstance(v, (list, tuple)) for v in value):
            return tuple(normalize_tuple(tuple(v), 2, f"{arg}[{i}]", layer, allow_zero=True)
                         for i, v in enumerate(value))
    if rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (normalize_tuple(tuple(value), 2, arg, layer, allow_zero=True),)
    forms = "an int or a pair (before, after)" if rank == 1 else (
        f"an int, {rank} ints (symmetric per axis) or {rank} pairs (before, after)")
    raise ValueError(f"{layer} `{arg}` must be {forms}, got {value!r}.")


class _Cropping(Layer):
    """Abstract: crops ``(before, after)`` elements from each spatial axis."""

    rank = 0

    def __init__(self, cropping: Any, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.cropping = pairs_per_axis(cropping, self.rank, "cropping", cls)
        self.data_format = check_data_format(data_format, cls)

    def _spatial(self) -> slice:
        return slice(2, None) if self.data_format == "channels_first" else slice(1, -1)

    def _check(self, shape) -> None:
        check_rank(self, shape, self.rank, input_layout(self.rank, self.data_format))
        for size, (before, after) in zip(tuple(shape)[self._spatial()], self.cropping):
            if size is not None and before + after >= size:
                raise ValueError(f"{type(self).__name__} layer '{self.name}' crops {before + after} of {size} "
                                 f"elements from an axis of inputs of shape {format_shape(tuple(shape))}, which "
                                 "leaves nothing. Crop less, or pass larger inputs.")

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs):
        self._check(inputs.shape)
        index = tuple(slice(b, n - a) for (b, a), n in zip(self.cropping, inputs.shape[self._spatial()]))
        return inputs[(slice(None), slice(None)) + index if self.data_format == "channels_first"
                      else (slice(None),) + index + (slice(None),)]

    def get_config(self):
        cropping = self.cropping[0] if self.rank == 1 else self.cropping
        return {**super().get_config(), "cropping": cropping, **(
            {} if self.rank == 1 else {"data_format": self.data_format})}


@register_layer
class Cropping1D(_Cropping):
    """Crops ``cropping`` steps from the start and end of each sequence.

    Args:
      cropping: an int (both ends) or a pair ``(start, end)``.

    Input shape ``(batch, steps, features)``; output ``(batch, steps - start - end, features)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Cropping1D((1, 2))(np.ones((2, 6, 3), "float32")).shape
    (2, 3, 3)
    """

    rank = 1

    def __init__(self, cropping: int | Sequence[int] = (1, 1), **kwargs):
        super().__init__(cropping, "channels_last", **kwargs)   # no data_format in Keras: always channels-last


@register_layer
class Cropping2D(_Cropping):
    """Crops rows and columns from the borders of images.

    Args:
      cropping: an int (all four sides), ``(symmetric_height, symmetric_width)``, or
        ``((top, bottom), (left, right))``.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).

    Input shape ``(batch, height, width, channels)``; output with the cropped sizes.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Cropping2D(((1, 0), (2, 2)))(np.ones((2, 5, 6, 3), "float32")).shape
    (2, 4, 2, 3)
    """

    rank = 2

    def __init__(self, cropping: int | Sequence = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


@register_layer
class Cropping3D(_Cropping):
    """Crops the borders of volumes along depth, height and width.

    Args:
      cropping: an int (all six sides), three ints (symmetric per axis), or three pairs
        ``((d1, d2), (h1, h2), (w1, w2))``.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).

    Input shape ``(batch, depth, height, width, channels)``; output with the cropped sizes.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Cropping3D(1)(np.ones((2, 4, 5, 6, 3), "float32")).shape
    (2, 2, 3, 4, 3)
    """

    rank = 3

    def __init__(self, cropping: int | Sequence = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class _ZeroPadding(Layer):
    """Abstract: pads each spatial axis with ``(before, after)`` zeros."""

    rank = 0

    def __init__(self, padding: Any, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.padding = pairs_per_axis(padding, self.rank, "padding", cls)
        self.data_format = check_data_format(data_format, cls)

    def build(self, input_shape):
        check_rank(self, input_shape, self.rank, input_layout(self.rank, self.data_format))

    def call(self, inputs):
        check_rank(self, inputs.shape, self.rank, input_layout(self.rank, self.data_format))
        pads = ((0, 0), *self.padding)
        return jnp.pad(inputs, ((0, 0),) + pads if self.data_format == "channels_first" else pads + ((0, 0),))

    def get_config(self):
        padding = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


@register_layer
class ZeroPadding1D(_ZeroPadding):
    """Pads each sequence with zero steps at the start and end.

    Args:
      padding: an int (both ends) or a pair ``(start, end)``.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).

    Input shape ``(batch, steps, features)``; output ``(batch, steps + start + end, features)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.ZeroPadding1D((1, 2))(np.ones((2, 4, 3), "float32")).shape
    (2, 7, 3)
    """

    rank = 1

    def __init__(self, padding: int | Sequence[int] = 1, data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


@register_layer
class ZeroPadding3D(_ZeroPadding):
    """Pads volumes with zeros along depth, height and width.

    Args:
      padding: an int (all six sides), three ints (symmetric per axis), or three pairs
        ``((d1, d2), (h1, h2), (w1, w2))``.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).

    Input shape ``(batch, depth, height, width, channels)``; output with the padded sizes.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.ZeroPadding3D(1)(np.ones((2, 2, 3, 4, 3), "float32")).shape
    (2, 4, 5, 6, 3)
    """

    rank = 3

    def __init__(self, padding: int | Sequence = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs):
        super().__init__(padding, data_format, **kwargs)


@register_layer
class RepeatVector(Layer):
    """Repeats each input vector ``n`` times: ``(batch, features) -> (batch, n, features)``.

    Args:
      n: the number of repetitions.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.RepeatVector(3)(np.ones((2, 4), "float32")).shape
    (2, 3, 4)
    """

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(n) or n <= 0:
            raise ValueError(f"RepeatVector `n` must be a positive integer, got {n!r}.")
        self.n = int(n)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"RepeatVector layer '{self.name}' expects inputs of shape (batch, features), got "
                             f"shape {format_shape(tuple(input_shape))}. Flatten them first.")

    def call(self, inputs):
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


@register_layer
class Permute(Layer):
    """Permutes the axes of each sample (the batch axis stays first).

    Args:
      dims: a permutation of ``1..rank`` (1 is the first axis after the batch), e.g. ``(2, 1)``
        swaps the two axes of ``(batch, steps, features)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Permute((2, 1))(np.ones((2, 5, 3), "float32")).shape
    (2, 3, 5)
    """

    def __init__(self, dims: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else None
        if dims is None or sorted(dims) != list(range(1, len(dims) + 1)) or not all(_is_int(d) for d in dims):
            raise ValueError(f"Permute `dims` must be a permutation of 1..n (axis 0, the batch, stays put), "
                             f"e.g. (2, 1), got {dims!r}.")
        self.dims = tuple(int(d) for d in dims)

    def build(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute layer '{self.name}' has dims {self.dims} for inputs of rank "
                             f"{len(self.dims) + 1}, got inputs of shape {format_shape(tuple(input_shape))}.")

    def call(self, inputs):
        return jnp.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}
