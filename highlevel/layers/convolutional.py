"""Convolution layers: Conv1D, Conv2D, Conv2DTranspose, ZeroPadding2D (depthwise ones: ``depthwise.py``).

Keras 3's arguments, defaults, weight names and weight shapes, so the weights of a
Keras layer load with ``set_weights(keras_layer.get_weights())``. ``data_format="channels_first"``
moves the channels last around the same computation, with the weights in Keras's layout.
``Conv1D``/``Conv2D`` call ``hl.backend.conv``, which lowers them for the backend (on a
CPU: patches and one matmul, or XLA's convolution with a chunked kernel gradient; see
``highlevel/backend/``); ``Conv2DTranspose`` is ``jax.lax.conv_transpose`` with Keras's
padding rules.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np
from jax import lax

from highlevel import activations as _activations
from highlevel import backend as _backend
from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, format_shape, register_layer

__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "ZeroPadding2D"]


# ---------------------------------------------------------------------------
# Argument checks shared by the convolution and pooling families.


def _dense_part_config(layer) -> dict:
    """The config of the arguments every kernel-and-bias convolution shares."""
    return {"activation": _activations.serialize(layer.activation), "use_bias": layer.use_bias,
            "kernel_initializer": _ser_init(layer.kernel_initializer),
            "bias_initializer": _ser_init(layer.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(layer.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(layer.bias_regularizer),
            "kernel_constraint": _constraints.serialize(layer.kernel_constraint),
            "bias_constraint": _constraints.serialize(layer.bias_constraint)}


def init_dense_part(layer, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                    bias_regularizer, kernel_constraint, bias_constraint) -> None:
    """Stores the arguments every kernel-and-bias convolution shares (as ``_dense_part_config`` reads them)."""
    layer.activation = _activations.get(activation)
    layer.use_bias = bool(use_bias)
    layer.kernel_initializer = kernel_initializer
    layer.bias_initializer = bias_initializer
    layer.kernel_regularizer = _regularizers.get(kernel_regularizer)
    layer.bias_regularizer = _regularizers.get(bias_regularizer)
    layer.kernel_constraint = _constraints.get(kernel_constraint)
    layer.bias_constraint = _constraints.get(bias_constraint)


def add_kernel_and_bias(layer, kernel_shape: tuple, bias_size: int) -> None:
    """Creates ``kernel`` (and ``bias``) with the layer's initializers, regularizers and constraints."""
    layer.add_weight("kernel", kernel_shape, layer.kernel_initializer, regularizer=layer.kernel_regularizer,
                     constraint=layer.kernel_constraint)
    if layer.use_bias:
        layer.add_weight("bias", (bias_size,), layer.bias_initializer, regularizer=layer.bias_regularizer,
                         constraint=layer.bias_constraint)


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


def normalize_tuple(value: Any, n: int, arg: str, layer: str, allow_zero: bool = False) -> tuple[int, ...]:
    """``3`` or ``(3, 3)`` -> ``(3, 3)``; a clear error for anything else."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if is_int(value):
        out = (int(value),) * n
    elif isinstance(value, (list, tuple)) and len(value) == n and all(is_int(v) for v in value):
        out = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{layer} `{arg}` must be an integer or a tuple of {n} integers, got {value!r}.")
    low = 0 if allow_zero else 1
    if any(v < low for v in out):
        raise ValueError(f"{layer} `{arg}` must be {'non-negative' if allow_zero else 'positive'}, "
                         f"got {value!r}.")
    return out


def normalize_padding(value: Any, layer: str, allowed: Sequence[str] = ("valid", "same")) -> str:
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{layer} `padding` must be one of {', '.join(repr(a) for a in allowed)}, "
                         f"got {value!r}.")
    return padding


def check_data_format(value: Any, layer: str) -> str:
    """Keras's ``standardize_data_format``: None means ``hl.backend.image_data_format()``
    ("channels_last" unless set); the case is ignored."""
    name = _backend.image_data_format() if value is None else str(value).lower()
    if name not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer} `data_format` must be 'channels_last' or 'channels_first', got {value!r}.")
    return name


def channels_last_shape(shape, data_format: str) -> tuple:
    """``(batch, channels, *spatial)`` -> ``(batch, *spatial, channels)`` for "channels_first"."""
    shape = tuple(shape)
    if data_format == "channels_first" and len(shape) > 2:
        return (shape[0],) + shape[2:] + (shape[1],)
    return shape


def to_channels_last(x, data_format: str):
    """Moves the channels of a "channels_first" batch last, where the layers compute."""
    return jnp.moveaxis(x, 1, -1) if data_format == "channels_first" and x.ndim > 2 else x


def from_channels_last(y, data_format: str):
    """The inverse of ``to_channels_last``: the output back in the layer's ``data_format``."""
    return jnp.moveaxis(y, -1, 1) if data_format == "channels_first" and y.ndim > 2 else y


def input_layout(rank: int, data_format: str) -> str:
    """The expected input layout, for error messages."""
    if data_format != "channels_first":
        return INPUT_LAYOUTS[rank]
    return {1: "(batch, channels, steps)", 2: "(batch, channels, height, width)",
            3: "(batch, channels, depth, height, width)"}[rank]


def check_rank(layer: Layer, shape, rank: int, layout: str) -> None:
    """Raises when the input does not have ``rank`` spatial dimensions plus batch and channels."""
    shape = tuple(shape)
    if len(shape) != rank + 2:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' expects inputs of rank {rank + 2} "
                         f"{layout}, got an input of shape {format_shape(shape)}.")


def _check_channels(layer: Layer, shape) -> int:
    """The number of input channels (axis -1, or 1 for "channels_first"), which must be known."""
    first = getattr(layer, "data_format", None) == "channels_first"
    channels = shape[1] if first else shape[-1]
    if channels is None:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' needs a known number of input channels "
                         f"(axis {1 if first else -1}), got shape {format_shape(tuple(shape))}.")
    return int(channels)


def conv_output_size(size: int | None, kernel: int, stride: int, dilation: int, padding: str) -> int | None:
    """Keras's ``compute_conv_output_shape`` for one spatial axis."""
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def _check_output_size(layer: Layer, input_shape, out_sizes) -> None:
    if any(s is not None and s <= 0 for s in out_sizes):
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': an input of shape "
                         f"{format_shape(tuple(input_shape))} is too small for kernel_size "
                         f"{layer.kernel_size} with strides {layer.strides}, dilation_rate "
                         f"{layer.dilation_rate} and padding '{layer.padding}' (the output would be empty). "
                         "Use larger inputs, a smaller kernel, or padding='same'.")


def _add_bias(y, bias):
    return y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (bias.shape[0],))


def _check_stride_dilation(layer: str, strides, dilation_rate) -> None:
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(f"{layer}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
                         f"Received strides={strides} and dilation_rate={dilation_rate}.")


INPUT_LAYOUTS = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)",
                 3: "(batch, depth, height, width, channels)"}


# ---------------------------------------------------------------------------
# Convolutions.


class _Conv(Layer):
    """Abstract N-D convolution (Conv1D and Conv2D set ``rank``)."""

    rank: int = 0

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: int | Sequence[int] = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"{cls} `filters` must be a positive integer, got {filters!r}.")
        if not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(f"{cls} `groups` must be a positive integer, got {groups!r}.")
        if filters % groups:
            raise ValueError(f"{cls} `filters` ({filters}) must be divisible by `groups` ({groups}).")
        self.filters = int(filters)
        self.groups = int(groups)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", cls)
        self.strides = normalize_tuple(strides, self.rank, "strides", cls)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", cls)
        _check_stride_dilation(cls, self.strides, self.dilation_rate)
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self.padding = normalize_padding(padding, cls, allowed)
        self.data_format = check_data_format(data_format, cls)
        init_dense_part(self, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer, kernel_constraint, bias_constraint)

    def _out_sizes(self, input_shape):
        # Causal padding adds (kernel - 1) * dilation steps in front: the length of "same".
        padding = "same" if self.padding == "causal" else self.padding
        return [conv_output_size(n, k, s, d, padding) for n, k, s, d in
                zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate)]

    def build(self, input_shape):
        check_rank(self, input_shape, self.rank, input_layout(self.rank, self.data_format))
        channels = _check_channels(self, input_shape)
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': the input's {channels} channels must "
                             f"be divisible by groups={self.groups} (input shape "
                             f"{format_shape(tuple(input_shape))}).")
        _check_output_size(self, input_shape, self._out_sizes(channels_last_shape(input_shape, self.data_format)))
        add_kernel_and_bias(self, self.kernel_size + (channels // self.groups, self.filters), self.filters)

    def call(self, inputs):
        check_rank(self, inputs.shape, self.rank, input_layout(self.rank, self.data_format))
        # "channels_first" computes channels-last between two transposes; the kernel keeps Keras's
        # layout either way, so Keras's weights load unchanged.
        y = _backend.conv(to_channels_last(inputs, self.data_format), self.kernel.get_value(), self.strides,
                          self.padding, self.dilation_rate, self.groups)
        if self.use_bias:
            y = _add_bias(y, self.bias.get_value())
        return self.activation(from_channels_last(y, self.data_format))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                **_dense_part_config(self)}


@register_layer
class Conv1D(_Conv):
    """A 1-D convolution over steps: ``activation(conv(inputs, kernel) + bias)``.

    Args:
      filters: the number of output channels.
      kernel_size: the window length (an int or a 1-tuple).
      strides: the step between windows.
      padding: ``"valid"`` (no padding), ``"same"`` (output length ``ceil(steps / strides)``) or
        ``"causal"`` (left padding only, so output ``t`` sees inputs up to ``t``).
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      dilation_rate: the spacing between kernel taps (strides must be 1 when it is above 1).
      groups: split the channels into this many independent convolutions.
      activation: the activation of the output (a Keras name or a callable; None: linear).
      use_bias: whether to add a learned bias.
      kernel_initializer: the kernel's initializer (a Keras name or an ``hl.initializers`` object).
      bias_initializer: the bias's initializer.
      kernel_regularizer: a penalty on the kernel, added to the loss.
      bias_regularizer: a penalty on the bias, added to the loss.
      kernel_constraint: a constraint (``hl.constraints``) on the kernel, applied after each update.
      bias_constraint: a constraint on the bias, applied after each update.

    Input shape ``(batch, steps, channels)``; output ``(batch, new_steps, filters)``.
    Weights (Keras order): ``kernel (kernel_size, channels // groups, filters)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Conv1D(4, 3)(np.ones((2, 10, 3), "float32")).shape
    (2, 8, 4)
    """

    rank = 1


@register_layer
class Conv2D(_Conv):
    """A 2-D convolution over height and width: ``activation(conv(inputs, kernel) + bias)``.

    Args:
      filters: the number of output channels.
      kernel_size: the window size, an int or ``(kh, kw)``.
      strides: the step between windows, an int or a pair.
      padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(size / strides)``,
        padded as TensorFlow does: the odd extra element after).
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      dilation_rate: the spacing between kernel taps (strides must be 1 when it is above 1).
      groups: split the channels into this many independent convolutions.
      activation: the activation of the output (a Keras name or a callable; None: linear).
      use_bias: whether to add a learned bias.
      kernel_initializer: the kernel's initializer (a Keras name or an ``hl.initializers`` object).
      bias_initializer: the bias's initializer.
      kernel_regularizer: a penalty on the kernel, added to the loss.
      bias_regularizer: a penalty on the bias, added to the loss.
      kernel_constraint: a constraint (``hl.constraints``) on the kernel, applied after each update.
      bias_constraint: a constraint on the bias, applied after each update.

    Input shape ``(batch, height, width, channels)``; output ``(batch, new_h, new_w, filters)``.
    Weights (Keras order): ``kernel (kh, kw, channels // groups, filters)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Conv2D(8, 3, padding="same")(np.ones((2, 5, 5, 3), "float32")).shape
    (2, 5, 5, 8)
    """

    rank = 2


class _ConvTranspose(Layer):
    """Abstract N-D transposed convolution (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose set ``rank``)."""

    rank: int = 0

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", output_padding: int | Sequence[int] | None = None,
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs):
        super().__init__(**kwargs)
        cls, rank = type(self).__name__, self.rank
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"{cls} `filters` must be a positive integer, got {filters!r}.")
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", cls)
        self.strides = normalize_tuple(strides, rank, "strides", cls)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", cls)
        _check_stride_dilation(cls, self.strides, self.dilation_rate)
        self.padding = normalize_padding(padding, cls)
        self.output_padding = (None if output_padding is None
                               else normalize_tuple(output_padding, rank, "output_padding", cls, allow_zero=True))
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{cls} `output_padding` must be smaller than `strides` on each axis, got "
                             f"output_padding={self.output_padding} and strides={self.strides}.")
        self.data_format = check_data_format(data_format, cls)
        init_dense_part(self, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer, kernel_constraint, bias_constraint)

    def _pads(self) -> list[tuple[int, int]]:
        """Keras's ``_convert_conv_transpose_padding_args_from_keras_to_jax``, per axis."""
        pads = []
        for i in range(self.rank):
            k = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
            s = self.strides[i]
            op = None if self.output_padding is None else self.output_padding[i]
            if self.padding == "valid":
                op = max(k, s) - k if op is None else op
                pads.append((k - 1, k - 1 + op))
            else:
                total = s + k - 2 if op is None else k + k % 2 - 2 + op
                left = min(total // 2 + total % 2, k - 1)
                pads.append((left, total - left))
        return pads

    def build(self, input_shape):
        check_rank(self, input_shape, self.rank, input_layout(self.rank, self.data_format))
        channels = _check_channels(self, input_shape)
        add_kernel_and_bias(self, self.kernel_size + (self.filters, channels), self.filters)

    def call(self, inputs):
        check_rank(self, inputs.shape, self.rank, input_layout(self.rank, self.data_format))
        # transpose_kernel=True flips the taps and swaps in/out: the exact gradient of the convolution.
        y = lax.conv_transpose(to_channels_last(inputs, self.data_format), self.kernel.get_value(), self.strides,
                               self._pads(), rhs_dilation=self.dilation_rate,
                               dimension_numbers=_backend.dimension_numbers(self.rank), transpose_kernel=True)
        if self.use_bias:
            y = _add_bias(y, self.bias.get_value())
        return self.activation(from_channels_last(y, self.data_format))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                **_dense_part_config(self)}


TRANSPOSE_ARGS_DOC = """Args:
      filters: the number of output channels.
      kernel_size, strides, dilation_rate: ints or {rank}-tuples, as for ``Conv{rank}D``.
      padding: ``"valid"`` (output ``(size - 1) * strides + max(kernel, strides)``) or
        ``"same"`` (output ``size * strides``).
      output_padding: extra elements added after on each axis, each below its stride; when set,
        the output is ``(size - 1) * strides + kernel + output_padding`` for "valid" and
        ``(size - 1) * strides + kernel % 2 + output_padding`` for "same", as in Keras.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      activation: the activation of the output (a Keras name or a callable; None: linear).
      use_bias: whether to add a learned bias.
      kernel_initializer: the kernel's initializer (a Keras name or an ``hl.initializers`` object).
      bias_initializer: the bias's initializer.
      kernel_regularizer: a penalty on the kernel, added to the loss.
      bias_regularizer: a penalty on the bias, added to the loss.
      kernel_constraint: a constraint (``hl.constraints``) on the kernel, applied after each update.
      bias_constraint: a constraint on the bias, applied after each update."""


@register_layer
class Conv2DTranspose(_ConvTranspose):
    __doc__ = """A transposed 2-D convolution (the gradient of Conv2D): upsamples by ``strides``.

    """ + TRANSPOSE_ARGS_DOC.format(rank=2) + """

    Input shape ``(batch, height, width, channels)``; output ``(batch, new_h, new_w, filters)``.
    Weights (Keras order and shapes): ``kernel (kh, kw, filters, channels)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(np.ones((2, 5, 5, 3), "float32")).shape
    (2, 10, 10, 4)
    """

    rank = 2


@register_layer
class ZeroPadding2D(Layer):
    """Pads the height and width of images with zeros.

    Args:
      padding: an int (the same on all four sides), ``(symmetric_h, symmetric_w)``, or
        ``((top, bottom), (left, right))``.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).

    Input shape ``(batch, height, width, channels)``; output
    ``(batch, height + top + bottom, width + left + right, channels)``. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.ZeroPadding2D(((1, 0), (2, 2)))(np.ones((2, 5, 5, 3), "float32")).shape
    (2, 6, 9, 3)
    """

    def __init__(self, padding: int | Sequence = (1, 1), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
            pads = normalize_tuple(padding, 2, "padding", cls, allow_zero=True)
            self.padding = ((pads[0], pads[0]), (pads[1], pads[1]))
        elif isinstance(padding, (list, tuple)) and len(padding) == 2:
            self.padding = (normalize_tuple(padding[0], 2, "padding[0]", cls, allow_zero=True),
                            normalize_tuple(padding[1], 2, "padding[1]", cls, allow_zero=True))
        else:
            raise ValueError(f"{cls} `padding` must be an int, a pair of ints (symmetric_height, "
                             f"symmetric_width) or a pair of pairs ((top, bottom), (left, right)), "
                             f"got {padding!r}.")
        self.data_format = check_data_format(data_format, cls)

    def build(self, input_shape):
        check_rank(self, input_shape, 2, input_layout(2, self.data_format))

    def call(self, inputs):
        check_rank(self, inputs.shape, 2, input_layout(2, self.data_format))
        pads = ((0, 0), *self.padding)
        return jnp.pad(inputs, ((0, 0),) + pads if self.data_format == "channels_first" else pads + ((0, 0),))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
