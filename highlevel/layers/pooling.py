"""Pooling layers: max and average pooling over windows (1-D, 2-D, 3-D) and over all positions.

Keras 3's arguments, defaults and numbers: "same" padding pads as TensorFlow does,
and "same" average pooling divides each window's sum by its count of real
(non-padded) elements. Either data_format ("channels_first" pools between two
transposes). No weights.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.convolutional import (channels_last_shape, check_data_format, check_rank, conv_output_size,
                                            from_channels_last, input_layout, normalize_padding, normalize_tuple,
                                            to_channels_last)

__all__ = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
           "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"]

def _max_pool_tiles(x, pool: tuple[int, ...]):
    """``(batch, *spatial, channels)`` cut into non-overlapping ``pool`` tiles (the remainder dropped)."""
    out = [size // p for size, p in zip(x.shape[1:-1], pool)]
    x = x[(slice(None),) + tuple(slice(0, o * p) for o, p in zip(out, pool)) + (slice(None),)]
    return x.reshape((x.shape[0],) + sum(((o, p) for o, p in zip(out, pool)), ()) + (x.shape[-1],))


def _tile_axes(rank: int) -> tuple[int, ...]:
    return tuple(range(2, 2 * rank + 1, 2))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _max_pool_nonoverlapping(x, pool):
    """Max pooling with strides == pool_size and no padding, as a reshape and a max.

    On XLA:CPU the gradient of ``lax.reduce_window`` (select-and-scatter) is 5-10x slower
    than this; the custom gradient sends each window's gradient to its first maximum in
    row-major order, exactly as reduce_window's (and so Keras's) does, ties included.
    """
    return jnp.max(_max_pool_tiles(x, pool), axis=_tile_axes(len(pool)))


def _max_pool_fwd(x, pool):
    y = _max_pool_nonoverlapping(x, pool)
    return y, (x, y)


def _max_pool_bwd(pool, residuals, g):
    x, y = residuals
    tiles = _max_pool_tiles(x, pool)
    axes = _tile_axes(len(pool))

    def expand(a):  # (batch, *out, channels) -> one size-1 axis after each out axis
        return jnp.expand_dims(a, axes)

    # Row-major position in the window; the first position holding the maximum gets the gradient.
    order = np.arange(int(np.prod(pool)), dtype=np.int32).reshape(
        (1,) + sum(((1, p) for p in pool), ()) + (1,))
    score = jnp.where(tiles == expand(y), order, np.int32(order.size))
    first = score == jnp.min(score, axis=axes, keepdims=True)
    dx = jnp.where(first, expand(g), jnp.zeros((), g.dtype)).reshape(
        (x.shape[0],) + tuple(o * p for o, p in zip(y.shape[1:-1], pool)) + (x.shape[-1],))
    dropped = [(0, size - kept) for size, kept in zip(x.shape[1:-1], dx.shape[1:-1])]
    return (jnp.pad(dx, [(0, 0)] + dropped + [(0, 0)]),)


_max_pool_nonoverlapping.defvjp(_max_pool_fwd, _max_pool_bwd)


def _lowest(dtype):
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.floating):
        return jnp.array(-jnp.inf, dtype)
    return jnp.array(jnp.iinfo(dtype).min, dtype)


class _Pooling(Layer):
    """Abstract windowed pooling (subclasses set ``rank`` and ``mode``)."""

    rank: int = 0
    mode: str = ""

    def __init__(self, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", cls)
        self.strides = normalize_tuple(self.pool_size if strides is None else strides, self.rank, "strides", cls)
        self.padding = normalize_padding(padding, cls)
        self.data_format = check_data_format(data_format, cls)

    def build(self, input_shape):
        check_rank(self, input_shape, self.rank, input_layout(self.rank, self.data_format))
        out = [conv_output_size(n, k, s, 1, self.padding) for n, k, s in
               zip(channels_last_shape(input_shape, self.data_format)[1:-1], self.pool_size, self.strides)]
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(f"{type(self).__name__} layer '{self.name}': an input of shape "
                             f"{format_shape(tuple(input_shape))} is smaller than pool_size {self.pool_size} "
                             "(the output would be empty). Use larger inputs, a smaller pool_size, "
                             "or padding='same'.")

    def call(self, inputs):
        check_rank(self, inputs.shape, self.rank, input_layout(self.rank, self.data_format))
        return from_channels_last(self._pool(to_channels_last(inputs, self.data_format)), self.data_format)

    def _pool(self, inputs):
        window = (1,) + self.pool_size + (1,)
        strides = (1,) + self.strides + (1,)
        padding = self.padding.upper()
        if self.mode == "max":
            if self.strides == self.pool_size and (self.padding == "valid" or all(
                    size % p == 0 for size, p in zip(inputs.shape[1:-1], self.pool_size))):
                return _max_pool_nonoverlapping(inputs, self.pool_size)
            return lax.reduce_window(inputs, _lowest(inputs.dtype), lax.max, window, strides, padding)
        total = lax.reduce_window(inputs, jnp.array(0, inputs.dtype), lax.add, window, strides, padding)
        if self.padding == "valid":
            return total / np.prod(self.pool_size).astype(inputs.dtype)
        # Windows at the border hold fewer real elements; the counts are static, so NumPy computes them.
        counts = np.ones((1,), np.float32)
        for axis, (n, k, s) in enumerate(zip(inputs.shape[1:-1], self.pool_size, self.strides)):
            counts = np.multiply.outer(counts, _window_counts(n, k, s))
        counts = counts.reshape((1,) + counts.shape[1:] + (1,))
        return total / jnp.asarray(counts, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


def _window_counts(size: int, pool: int, stride: int) -> np.ndarray:
    """How many real elements each "same"-padded window covers along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + pool - size, 0)
    starts = np.arange(out) * stride - total // 2
    return (np.minimum(starts + pool, size) - np.maximum(starts, 0)).astype(np.float32)


_POOL_DOC = """{kind} pooling over {what} windows of ``pool_size``.

    Args:
      pool_size: the window {size_kind}.
      strides: the step between windows ({size_kind}); ``None`` means ``pool_size``.
      padding: ``"valid"`` (windows inside the input only) or ``"same"`` (output size
        ``ceil(size / strides)``; {same_note}).
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).

    Input shape ``{layout}``; output with each spatial size pooled. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.{name}({example_arg})(np.ones({example_shape}, "float32")).shape
    {example_out}
    """

_MAX_NOTE = "padded positions never win"
_AVG_NOTE = "each window's sum is divided by its count of real, non-padded elements, as in Keras"


@register_layer
class MaxPooling1D(_Pooling):
    rank, mode = 1, "max"
    __doc__ = _POOL_DOC.format(kind="Max", what="1-D", size_kind="length (an int)", same_note=_MAX_NOTE,
                               layout="(batch, steps, channels)", name="MaxPooling1D", example_arg="2",
                               example_shape="(2, 9, 3)", example_out="(2, 4, 3)")

    def __init__(self, pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register_layer
class MaxPooling2D(_Pooling):
    rank, mode = 2, "max"
    __doc__ = _POOL_DOC.format(kind="Max", what="2-D", size_kind="size (an int or a pair)", same_note=_MAX_NOTE,
                               layout="(batch, height, width, channels)", name="MaxPooling2D", example_arg="2",
                               example_shape="(2, 9, 8, 3)", example_out="(2, 4, 4, 3)")

    def __init__(self, pool_size: int | Sequence[int] = (2, 2), strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register_layer
class MaxPooling3D(_Pooling):
    rank, mode = 3, "max"
    __doc__ = _POOL_DOC.format(kind="Max", what="3-D", size_kind="size (an int or a triple)",
                               same_note=_MAX_NOTE, layout="(batch, depth, height, width, channels)",
                               name="MaxPooling3D", example_arg="2", example_shape="(2, 4, 5, 6, 3)",
                               example_out="(2, 2, 2, 3, 3)")

    def __init__(self, pool_size: int | Sequence[int] = (2, 2, 2), strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register_layer
class AveragePooling1D(_Pooling):
    rank, mode = 1, "average"
    __doc__ = _POOL_DOC.format(kind="Average", what="1-D", size_kind="length (an int)", same_note=_AVG_NOTE,
                               layout="(batch, steps, channels)", name="AveragePooling1D",
                               example_arg='2, padding="same"', example_shape="(2, 9, 3)",
                               example_out="(2, 5, 3)")

    def __init__(self, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register_layer
class AveragePooling2D(_Pooling):
    rank, mode = 2, "average"
    __doc__ = _POOL_DOC.format(kind="Average", what="2-D", size_kind="size (an int or a pair)",
                               same_note=_AVG_NOTE, layout="(batch, height, width, channels)",
                               name="AveragePooling2D", example_arg='2, padding="same"',
                               example_shape="(2, 9, 8, 3)", example_out="(2, 5, 4, 3)")

    def __init__(self, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register_layer
class AveragePooling3D(_Pooling):
    rank, mode = 3, "average"
    __doc__ = _POOL_DOC.format(kind="Average", what="3-D", size_kind="size (an int or a triple)",
                               same_note=_AVG_NOTE, layout="(batch, depth, height, width, channels)",
                               name="AveragePooling3D", example_arg='2, padding="same"',
                               example_shape="(2, 4, 5, 6, 3)", example_out="(2, 2, 3, 3, 3)")

    def __init__(self, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Abstract pooling over all spatial positions (subclasses set ``rank`` and ``mode``)."""

    rank: int = 0
    mode: str = ""

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        check_rank(self, input_shape, self.rank, input_layout(self.rank, self.data_format))

    def call(self, inputs):
        check_rank(self, inputs.shape, self.rank, input_layout(self.rank, self.data_format))
        start = 2 if self.data_format == "channels_first" else 1
        reduce = jnp.max if self.mode == "max" else jnp.mean
        return reduce(inputs, axis=tuple(range(start, start + self.rank)), keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


_GLOBAL_DOC = """The {kind} over all {what} of each channel.

    Args:
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      keepdims: keep the pooled axes with size 1.

    Input shape ``{layout}``; output ``(batch, channels)`` (or with size-1 spatial axes when
    ``keepdims``). No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.{name}()(np.ones({example_shape}, "float32")).shape
    (2, 3)
    """


@register_layer
class GlobalAveragePooling1D(_GlobalPooling):
    rank, mode = 1, "average"
    __doc__ = _GLOBAL_DOC.format(kind="mean", what="steps", layout="(batch, steps, channels)",
                                 name="GlobalAveragePooling1D", example_shape="(2, 9, 3)") + """
    With a ``mask`` (``(batch, steps)`` booleans) the mean is over the unmasked steps only, as
    in Keras: a padded sequence gets the mean of its own steps.
    """
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        check_rank(self, inputs.shape, 1, input_layout(1, self.data_format))
        steps = 2 if self.data_format == "channels_first" else 1
        keep = jnp.expand_dims(jnp.asarray(mask).astype(bool), 3 - steps)   # (batch, 1, steps) or (batch, steps, 1)
        total = jnp.sum(jnp.where(keep, inputs, jnp.zeros((), inputs.dtype)), axis=steps, keepdims=self.keepdims)
        count = jnp.sum(keep.astype(inputs.dtype), axis=steps, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs, mask=None):
        """None: the steps are pooled away."""
        return None


@register_layer
class GlobalAveragePooling2D(_GlobalPooling):
    rank, mode = 2, "average"
    __doc__ = _GLOBAL_DOC.format(kind="mean", what="positions", layout="(batch, height, width, channels)",
                                 name="GlobalAveragePooling2D", example_shape="(2, 9, 8, 3)")


@register_layer
class GlobalMaxPooling1D(_GlobalPooling):
    rank, mode = 1, "max"
    __doc__ = _GLOBAL_DOC.format(kind="maximum", what="steps", layout="(batch, steps, channels)",
                                 name="GlobalMaxPooling1D", example_shape="(2, 9, 3)")


@register_layer
class GlobalMaxPooling2D(_GlobalPooling):
    rank, mode = 2, "max"
    __doc__ = _GLOBAL_DOC.format(kind="maximum", what="positions", layout="(batch, height, width, channels)",
                                 name="GlobalMaxPooling2D", example_shape="(2, 9, 8, 3)")


@register_layer
class GlobalAveragePooling3D(_GlobalPooling):
    rank, mode = 3, "average"
    __doc__ = _GLOBAL_DOC.format(kind="mean", what="positions", layout="(batch, depth, height, width, channels)",
                                 name="GlobalAveragePooling3D", example_shape="(2, 4, 9, 8, 3)")


@register_layer
class GlobalMaxPooling3D(_GlobalPooling):
    rank, mode = 3, "max"
    __doc__ = _GLOBAL_DOC.format(kind="maximum", what="positions", layout="(batch, depth, height, width, channels)",
                                 name="GlobalMaxPooling3D", example_shape="(2, 4, 9, 8, 3)")
