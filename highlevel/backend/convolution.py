"""The convolutions layers call, and the one function that picks their lowering.

``conv`` and ``depthwise_conv`` compute Keras's channels-last convolutions; how they
lower is decided by ``choose_conv_lowering`` from the backend and the setting
(``settings.py``), at trace time, so the compiled step holds one lowering and nothing
is decided per step.
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np
from jax import lax

from highlevel.backend import cpu as _cpu
from highlevel.backend.device import is_cpu
from highlevel.backend.settings import get_conv_lowering

__all__ = ["conv", "depthwise_conv", "choose_conv_lowering", "conv_padding", "dimension_numbers", "LOWERINGS"]

dimension_numbers = _cpu.dimension_numbers

#: What ``choose_conv_lowering`` answers: XLA's convolution; patches and one matmul; XLA's
#: convolution with the chunked kernel gradient; a sum over a depthwise kernel's taps.
LOWERINGS = ("xla", "patches", "xla_kernel_grad", "taps")

#: Depthwise kernels of at most this many taps take the tap sum on a CPU.
MAX_DEPTHWISE_TAPS = 49


def conv_padding(padding: str, input_sizes: Sequence[int], kernel_size: Sequence[int], strides: Sequence[int],
                 dilation_rate: Sequence[int]) -> list[tuple[int, int]]:
    """The ``(before, after)`` padding of each spatial axis for Keras's ``padding`` argument.

    ``"same"`` pads as TensorFlow/XLA's "SAME" (the extra element after, as Keras does);
    ``"causal"`` (1-D) pads ``(kernel - 1) * dilation`` steps in front.

    Args:
      padding: ``"valid"``, ``"same"`` or ``"causal"``.
      input_sizes: the input's spatial sizes.
      kernel_size, strides, dilation_rate: one entry per spatial axis.

    >>> conv_padding("same", (10, 9), (3, 3), (2, 2), (1, 1))
    [(0, 1), (1, 1)]
    """
    if padding == "valid":
        return [(0, 0)] * len(kernel_size)
    if padding == "causal":
        return [((kernel_size[0] - 1) * dilation_rate[0], 0)]
    pads = []
    for size, kernel, stride, dilation in zip(input_sizes, kernel_size, strides, dilation_rate):
        effective = (kernel - 1) * dilation + 1
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def choose_conv_lowering(op: str, input_shape: Sequence[int], dtype, kernel_size: Sequence[int],
                         strides: Sequence[int], padding: str, dilation_rate: Sequence[int],
                         groups: int = 1) -> str:
    """How a convolution lowers here: the one place that weighs the backend and the setting.

    On a CPU (unless the setting is ``"lax"``):

    - a depthwise convolution of at most 7x7 taps is a sum over its taps (``"taps"``):
      XLA:CPU's grouped convolution was 9-100x slower;
    - an ungrouped, undilated convolution that is 1x1 (a plain matmul: 3x) or 'valid'
      (XLA:CPU's convolution was about 1.5-2x slower there, forward and backward) runs as
      patches and one matmul (``"patches"``), unless the patches would pass
      ``MAX_PATCH_BYTES``; with the setting ``"patches"``, every ungrouped, undilated one;
    - any other ungrouped, undilated one keeps XLA's convolution with a kernel gradient
      of matrix products over chunks of the batch (``"xla_kernel_grad"``: 1.6-2.6x on the
      ResNet's 'same' 3x3 layers, where patches were 0.4-0.8x; on its stride-2 'same' 3x3,
      formerly patches, the whole ResNet trained 1.07x faster, 485 against 455 samples/s).
      The benchmark CNN's 'valid' 32->64 layer alone was faster this way too (66 against
      105 ms forward and backward, ``benchmarks/torch_gap.py``), but the CNN as a whole
      trained 0.85x as fast, so 'valid' layers keep the patches.

    Everything else, and every convolution on other backends, is XLA's (``"xla"``).

    Args:
      op: ``"conv"`` (Conv1D/Conv2D) or ``"depthwise"``.
      input_shape: the input's shape, batch and channels included.
      dtype: the input's dtype.
      kernel_size, strides, dilation_rate: one entry per spatial axis.
      padding: ``"valid"``, ``"same"`` or ``"causal"``.
      groups: the convolution's channel groups (``"conv"``).

    Returns:
      One of ``LOWERINGS``.

    >>> import highlevel as hl
    >>> lowering = hl.backend.choose_conv_lowering("conv", (8, 28, 28, 1), "float32", (3, 3), (1, 1),
    ...                                           "valid", (1, 1))
    >>> lowering == ("patches" if hl.backend.is_cpu() and hl.backend.get_conv_lowering() != "lax" else "xla")
    True
    """
    setting = get_conv_lowering()
    if setting == "lax" or not is_cpu():
        return "xla"
    if op == "depthwise":
        return "taps" if int(np.prod(kernel_size)) <= MAX_DEPTHWISE_TAPS else "xla"
    if op != "conv":
        raise ValueError(f"choose_conv_lowering's op must be 'conv' or 'depthwise', got {op!r}.")
    if groups != 1 or any(d != 1 for d in dilation_rate):
        return "xla"
    one_by_one = all(k == 1 for k in kernel_size)
    patches = one_by_one or padding == "valid" or setting == "patches"
    if padding == "causal" and not one_by_one:
        patches = False
    taps = int(np.prod(kernel_size))
    if patches and int(np.prod(input_shape)) * taps * np.dtype(dtype).itemsize <= _cpu.MAX_PATCH_BYTES:
        return "patches"
    return "xla_kernel_grad"


def conv(inputs, kernel, strides: Sequence[int], padding: str, dilation_rate: Sequence[int] | None = None,
         groups: int = 1):
    """Keras's N-D convolution (Conv1D, Conv2D): channels-last inputs, a ``(*window, in, out)`` kernel.

    Args:
      inputs: ``(batch, *spatial, channels)``.
      kernel: ``(*window, channels // groups, filters)``.
      strides: one per spatial axis.
      padding: ``"valid"``, ``"same"`` or ``"causal"`` (1-D).
      dilation_rate: one per spatial axis (default: 1).
      groups: split the channels into this many independent convolutions.

    Returns:
      ``(batch, *out_spatial, filters)``, lowered as ``choose_conv_lowering`` says.

    >>> import jax.numpy as jnp, highlevel as hl
    >>> hl.backend.conv(jnp.ones((2, 5, 5, 3)), jnp.ones((3, 3, 3, 4)), (1, 1), "valid").shape
    (2, 3, 3, 4)
    """
    rank = kernel.ndim - 2
    strides = tuple(int(s) for s in strides)
    dilation_rate = (1,) * rank if dilation_rate is None else tuple(int(d) for d in dilation_rate)
    window = tuple(kernel.shape[:-2])
    pads = conv_padding(padding, inputs.shape[1:-1], window, strides, dilation_rate)
    lowering = choose_conv_lowering("conv", inputs.shape, inputs.dtype, window, strides, padding, dilation_rate,
                                    groups)
    if lowering == "patches":
        return _cpu.patch_conv(inputs, kernel, strides, pads)
    if lowering == "xla_kernel_grad":
        return _cpu.conv_with_kernel_grad(inputs, kernel, strides, tuple(map(tuple, pads)))
    return lax.conv_general_dilated(inputs, kernel, strides, pads, rhs_dilation=dilation_rate,
                                    dimension_numbers=dimension_numbers(rank), feature_group_count=groups)


def depthwise_conv(inputs, kernel, strides: Sequence[int], padding: str, dilation_rate: Sequence[int] | None = None):
    """Keras's depthwise 2-D convolution: ``kernel (kh, kw, c, m)`` gives output channel ``c * m + j``.

    Args:
      inputs: ``(batch, height, width, c)``.
      kernel: ``(kh, kw, c, m)``, ``m`` filters per input channel.
      strides: ``(sh, sw)``.
      padding: ``"valid"`` or ``"same"``.
      dilation_rate: ``(dh, dw)`` (default: 1).

    Returns:
      ``(batch, out_h, out_w, c * m)``, lowered as ``choose_conv_lowering`` says.

    >>> import jax.numpy as jnp, highlevel as hl
    >>> hl.backend.depthwise_conv(jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 2)), (1, 1), "same").shape
    (1, 4, 4, 4)
    """
    kh, kw, c, m = kernel.shape
    strides = tuple(int(s) for s in strides)
    dilation_rate = (1, 1) if dilation_rate is None else tuple(int(d) for d in dilation_rate)
    pads = conv_padding(padding, inputs.shape[1:3], (kh, kw), strides, dilation_rate)
    lowering = choose_conv_lowering("depthwise", inputs.shape, inputs.dtype, (kh, kw), strides, padding,
                                    dilation_rate, groups=c)
    if lowering == "taps":
        return _cpu.depthwise_taps(inputs, kernel, strides, pads, dilation_rate)
    return lax.conv_general_dilated(inputs, jnp.reshape(kernel, (kh, kw, 1, c * m)), strides, pads,
                                    rhs_dilation=dilation_rate, dimension_numbers=dimension_numbers(2),
                                    feature_group_count=c)
