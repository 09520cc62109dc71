"""More convolutions: Conv3D, Conv1DTranspose and Conv3DTranspose (Keras's arguments and weights).

They share their code with Conv1D/Conv2D and Conv2DTranspose (``convolutional.py``):
``Conv3D`` calls ``hl.backend.conv`` like the others; the transposed ones are
``jax.lax.conv_transpose`` with Keras's padding rules. Either data_format, as ``convolutional.py``.
"""

from __future__ import annotations

from highlevel.layers.base import register_layer
from highlevel.layers.convolutional import TRANSPOSE_ARGS_DOC, _Conv, _ConvTranspose

__all__ = ["Conv3D", "Conv1DTranspose", "Conv3DTranspose"]


@register_layer
class Conv3D(_Conv):
    """A 3-D convolution over depth, height and width: ``activation(conv(inputs, kernel) + bias)``.

    Args:
      filters: the number of output channels.
      kernel_size: the window size, an int or ``(kd, kh, kw)``.
      strides: the step between windows, an int or a triple.
      padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(size / strides)``).
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

    Input shape ``(batch, depth, height, width, channels)``; output
    ``(batch, new_d, new_h, new_w, filters)``. Weights (Keras order):
    ``kernel (kd, kh, kw, channels // groups, filters)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Conv3D(4, 3)(np.ones((2, 5, 6, 7, 3), "float32")).shape
    (2, 3, 4, 5, 4)
    """

    rank = 3


@register_layer
class Conv1DTranspose(_ConvTranspose):
    __doc__ = """A transposed 1-D convolution (the gradient of Conv1D): upsamples sequences by ``strides``.

    """ + TRANSPOSE_ARGS_DOC.format(rank=1) + """

    Input shape ``(batch, steps, channels)``; output ``(batch, new_steps, filters)``.
    Weights (Keras order and shapes): ``kernel (k, filters, channels)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Conv1DTranspose(4, 3, strides=2)(np.ones((2, 5, 3), "float32")).shape
    (2, 11, 4)
    """

    rank = 1


@register_layer
class Conv3DTranspose(_ConvTranspose):
    __doc__ = """A transposed 3-D convolution (the gradient of Conv3D): upsamples volumes by ``strides``.

    """ + TRANSPOSE_ARGS_DOC.format(rank=3) + """

    Input shape ``(batch, depth, height, width, channels)``; output
    ``(batch, new_d, new_h, new_w, filters)``. Weights (Keras order and shapes):
    ``kernel (kd, kh, kw, filters, channels)``, ``bias (filters,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Conv3DTranspose(4, 2, strides=2, padding="same")(np.ones((1, 2, 3, 4, 3), "float32")).shape
    (1, 4, 6, 8, 4)
    """

    rank = 3
