"""Depthwise convolutions: DepthwiseConv1D/2D and SeparableConv1D/2D.

Keras 3's arguments, weight names and shapes (either data_format; the weights' layout is the same). The depthwise convolution
is ``hl.backend.depthwise_conv``, lowered for the backend (on a CPU, a sum over the
kernel's taps: XLA:CPU's grouped convolution is many times slower there); the 1-D
layers run it on a unit height axis.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from jax import lax

from highlevel import activations as _activations
from highlevel import constraints as _constraints
from highlevel import backend as _backend
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, register_layer
from highlevel.layers.convolutional import (_add_bias, _check_channels, _check_output_size, _check_stride_dilation,
                                            _ser_init, channels_last_shape, check_data_format, check_rank,
                                            conv_output_size, from_channels_last, input_layout, normalize_padding,
                                            normalize_tuple, to_channels_last)

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]


class _DepthwiseBase(Layer):
    """Abstract: the arguments, weights and call the depthwise and separable layers share."""

    _rank = 2

    def _init_common(self, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                     activation, use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
                     bias_regularizer, depthwise_constraint=None, bias_constraint=None):
        cls = type(self).__name__
        if (not isinstance(depth_multiplier, (int, np.integer)) or isinstance(depth_multiplier, bool)
                or depth_multiplier <= 0):
            raise ValueError(f"{cls} `depth_multiplier` must be a positive integer, got {depth_multiplier!r}.")
        self.depth_multiplier = int(depth_multiplier)
        self.kernel_size = normalize_tuple(kernel_size, self._rank, "kernel_size", cls)
        self.strides = normalize_tuple(strides, self._rank, "strides", cls)
        self.dilation_rate = normalize_tuple(dilation_rate, self._rank, "dilation_rate", cls)
        _check_stride_dilation(cls, self.strides, self.dilation_rate)
        self.padding = normalize_padding(padding, cls)
        self.data_format = check_data_format(data_format, cls)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = depthwise_initializer
        self.bias_initializer = bias_initializer
        self.depthwise_regularizer = _regularizers.get(depthwise_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.depthwise_constraint = _constraints.get(depthwise_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)

    def _check_input(self, input_shape) -> int:
        check_rank(self, input_shape, self._rank, input_layout(self._rank, self.data_format))
        channels = _check_channels(self, input_shape)
        _check_output_size(self, input_shape, [
            conv_output_size(n, k, s, d, self.padding) for n, k, s, d in
            zip(channels_last_shape(input_shape, self.data_format)[1:1 + self._rank], self.kernel_size,
                self.strides, self.dilation_rate)])
        return channels

    def _depthwise(self, inputs, kernel):
        """The depthwise step on ``inputs`` in the layer's data_format, returned channels_last."""
        check_rank(self, inputs.shape, self._rank, input_layout(self._rank, self.data_format))
        x = to_channels_last(inputs, self.data_format)
        if self._rank == 2:
            return _backend.depthwise_conv(x, kernel, self.strides, self.padding, self.dilation_rate)
        y = _backend.depthwise_conv(x[:, None], kernel[None], (1,) + self.strides, self.padding,
                                    (1,) + self.dilation_rate)
        return y[:, 0]

    def _finish(self, y):
        """Bias, activation and the data_format of the output, from channels_last ``y``."""
        if self.use_bias:
            y = _add_bias(y, self.bias.get_value())
        return self.activation(from_channels_last(y, self.data_format))

    def _common_config(self):
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "depth_multiplier": self.depth_multiplier,
                "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": _ser_init(self.depthwise_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "depthwise_regularizer": _regularizers.serialize(self.depthwise_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "depthwise_constraint": _constraints.serialize(self.depthwise_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint)}


class _DepthwiseConv(_DepthwiseBase):
    """Abstract: DepthwiseConv1D and DepthwiseConv2D (their rank and signature apart)."""

    def _init(self, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
              use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
              depthwise_constraint, bias_constraint):
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                          activation, use_bias, depthwise_initializer, bias_initializer,
                          depthwise_regularizer, bias_regularizer, depthwise_constraint, bias_constraint)

    def build(self, input_shape):
        channels = self._check_input(input_shape)
        self.add_weight("kernel", self.kernel_size + (channels, self.depth_multiplier),
                        self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                        constraint=self.depthwise_constraint)
        if self.use_bias:
            self.add_weight("bias", (channels * self.depth_multiplier,), self.bias_initializer,
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def call(self, inputs):
        return self._finish(self._depthwise(inputs, self.kernel.get_value()))

    def get_config(self):
        return {**super().get_config(), **self._common_config()}


@register_layer
class DepthwiseConv1D(_DepthwiseConv):
    """A depthwise 1-D convolution: each input channel convolved with its own ``depth_multiplier`` filters.

    Args:
      kernel_size, strides, padding, dilation_rate: as for ``Conv1D`` (``padding`` is
        ``"valid"`` or ``"same"``).
      depth_multiplier: output channels per input channel.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      activation, use_bias: as for ``Dense``.
      depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer: for the
        kernel and bias.
      depthwise_constraint, bias_constraint: constraints (``hl.constraints``) on the kernel and
        bias, applied after each update.

    Input shape ``(batch, steps, channels)``; output
    ``(batch, new_steps, channels * depth_multiplier)`` (channel ``c * depth_multiplier + j``).
    Weights (Keras order): ``kernel (k, channels, depth_multiplier)``,
    ``bias (channels * depth_multiplier,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.DepthwiseConv1D(3, depth_multiplier=2)(np.ones((2, 5, 3), "float32")).shape
    (2, 3, 6)
    """

    _rank = 1

    def __init__(self, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: int | Sequence[int] = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        self._init(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                   use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                   depthwise_constraint, bias_constraint)


@register_layer
class DepthwiseConv2D(_DepthwiseConv):
    """A depthwise 2-D convolution: each input channel convolved with its own ``depth_multiplier`` filters.

    Args:
      kernel_size, strides, padding, dilation_rate: as for ``Conv2D``.
      depth_multiplier: output channels per input channel.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      activation, use_bias: as for ``Dense``.
      depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer: for the
        kernel and bias.
      depthwise_constraint, bias_constraint: constraints (``hl.constraints``) on the kernel and
        bias, applied after each update.

    Input shape ``(batch, height, width, channels)``; output
    ``(batch, new_h, new_w, channels * depth_multiplier)`` (channel ``c * depth_multiplier + j``).
    Weights (Keras order): ``kernel (kh, kw, channels, depth_multiplier)``,
    ``bias (channels * depth_multiplier,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.DepthwiseConv2D(3, depth_multiplier=2)(np.ones((2, 5, 5, 3), "float32")).shape
    (2, 3, 3, 6)
    """

    _rank = 2

    def __init__(self, kernel_size: int | Sequence[int], strides: int | Sequence[int] = (1, 1),
                 padding: str = "valid", depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: int | Sequence[int] = (1, 1), activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        self._init(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                   use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                   depthwise_constraint, bias_constraint)


class _SeparableConv(_DepthwiseBase):
    """Abstract: SeparableConv1D and SeparableConv2D (their rank and signature apart)."""

    def _init(self, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
              activation, use_bias, depthwise_initializer, pointwise_initializer, bias_initializer,
              depthwise_regularizer, pointwise_regularizer, bias_regularizer, depthwise_constraint,
              pointwise_constraint, bias_constraint):
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"{type(self).__name__} `filters` must be a positive integer, got {filters!r}.")
        self.filters = int(filters)
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                          activation, use_bias, depthwise_initializer, bias_initializer,
                          depthwise_regularizer, bias_regularizer, depthwise_constraint, bias_constraint)
        self.pointwise_initializer = pointwise_initializer
        self.pointwise_regularizer = _regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = _constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._check_input(input_shape)
        self.add_weight("depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
                        self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                        constraint=self.depthwise_constraint)
        self.add_weight("pointwise_kernel", (1,) * self._rank + (channels * self.depth_multiplier, self.filters),
                        self.pointwise_initializer, regularizer=self.pointwise_regularizer,
                        constraint=self.pointwise_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)

    def call(self, inputs):
        y = self._depthwise(inputs, self.depthwise_kernel.get_value())
        # A 1x1 convolution (dilated like Keras's, a no-op) rather than a matmul: the same op as
        # Keras, so cuDNN picks the same algorithm and GPUs give the same TF32 numbers too.
        y = lax.conv_general_dilated(y, self.pointwise_kernel.get_value(), (1,) * self._rank, "VALID",
                                     rhs_dilation=self.dilation_rate,
                                     dimension_numbers=_backend.dimension_numbers(self._rank))
        return self._finish(y)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._common_config(),
                "pointwise_initializer": _ser_init(self.pointwise_initializer),
                "pointwise_regularizer": _regularizers.serialize(self.pointwise_regularizer),
                "pointwise_constraint": _constraints.serialize(self.pointwise_constraint)}


@register_layer
class SeparableConv1D(_SeparableConv):
    """A depthwise 1-D convolution followed by a pointwise (size-1) convolution to ``filters`` channels.

    Args:
      filters: the number of output channels.
      kernel_size, strides, padding, dilation_rate: of the depthwise step, as for ``Conv1D``
        (``padding`` is ``"valid"`` or ``"same"``).
      depth_multiplier: depthwise output channels per input channel.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      activation, use_bias: as for ``Dense``.
      depthwise_initializer: the depthwise kernel's initializer.
      pointwise_initializer: the pointwise (size-1) kernel's initializer.
      bias_initializer: the bias's initializer.
      depthwise_regularizer: a penalty on the depthwise kernel, added to the loss.
      pointwise_regularizer: a penalty on the pointwise kernel, added to the loss.
      bias_regularizer: a penalty on the bias, added to the loss.
      depthwise_constraint, pointwise_constraint, bias_constraint: constraints
        (``hl.constraints``) on the kernels and bias, applied after each update.

    Input shape ``(batch, steps, channels)``; output ``(batch, new_steps, filters)``.
    Weights (Keras order): ``depthwise_kernel (k, channels, depth_multiplier)``,
    ``pointwise_kernel (1, channels * depth_multiplier, filters)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.SeparableConv1D(8, 3, padding="same")(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 8)
    """

    _rank = 1

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: int | Sequence[int] = 1, depth_multiplier: int = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        self._init(filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                   activation, use_bias, depthwise_initializer, pointwise_initializer, bias_initializer,
                   depthwise_regularizer, pointwise_regularizer, bias_regularizer, depthwise_constraint,
                   pointwise_constraint, bias_constraint)


@register_layer
class SeparableConv2D(_SeparableConv):
    """A depthwise 2-D convolution followed by a pointwise (1x1) convolution to ``filters`` channels.

    Args:
      filters: the number of output channels.
      kernel_size, strides, padding, dilation_rate: of the depthwise step, as for ``Conv2D``.
      depth_multiplier: depthwise output channels per input channel.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      activation, use_bias: as for ``Dense``.
      depthwise_initializer: the depthwise kernel's initializer.
      pointwise_initializer: the pointwise (1x1) kernel's initializer.
      bias_initializer: the bias's initializer.
      depthwise_regularizer: a penalty on the depthwise kernel, added to the loss.
      pointwise_regularizer: a penalty on the pointwise kernel, added to the loss.
      bias_regularizer: a penalty on the bias, added to the loss.
      depthwise_constraint, pointwise_constraint, bias_constraint: constraints
        (``hl.constraints``) on the kernels and bias, applied after each update.

    Input shape ``(batch, height, width, channels)``; output ``(batch, new_h, new_w, filters)``.
    Weights (Keras order): ``depthwise_kernel (kh, kw, channels, depth_multiplier)``,
    ``pointwise_kernel (1, 1, channels * depth_multiplier, filters)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.SeparableConv2D(8, 3, padding="same")(np.ones((2, 5, 5, 3), "float32")).shape
    (2, 5, 5, 8)
    """

    _rank = 2

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: int | Sequence[int] = (1, 1), depth_multiplier: int = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        self._init(filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                   activation, use_bias, depthwise_initializer, pointwise_initializer, bias_initializer,
                   depthwise_regularizer, pointwise_regularizer, bias_regularizer, depthwise_constraint,
                   pointwise_constraint, bias_constraint)
