"""Keras's ``unfold`` (im2col) and ``fold`` (col2im), part of ``keras.ops.nn``, on channels-first images.

PyTorch's layout, as Keras's: ``unfold`` turns ``(N, C, H, W)`` into ``(N, C * kH * kW, L)``,
row ``c * kH * kW + i * kW + j`` holding kernel tap ``(i, j)`` of channel ``c`` at each of the
``L`` window positions (row-major); ``fold`` sums such columns back into an image. Both are
strided slices (and ``fold`` their scatter-add), so they are exact and differentiable.

One difference from Keras 3.15's JAX backend: where the windows stop short of ``fold``'s
``output_size`` (``(7 - 2) // 2 + 1 = 3`` windows of 2 cover 6 of 7 rows), Keras returns only
the covered rows, against its own shape inference; here the output has ``output_size`` and
the rows no window reaches are zeros, as in PyTorch.
"""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["unfold", "fold"]


def _pair(value, name: str, where: str, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in pair)):
        raise ValueError(f"{where} `{name}` must be an int or a pair of ints, each >= {minimum}, got {value!r}.")
    return int(pair[0]), int(pair[1])


def _windows(size: int, k: int, d: int, p: int, s: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding ``kernel_size`` blocks of a ``(N, C, H, W)`` image as columns ``(N, C * kH * kW, L)``.

    Args:
        x: a 4-D channels-first tensor.
        kernel_size: the window, an int or ``(kH, kW)``.
        dilation: the spacing between taps, an int or a pair.
        padding: zeros added on both sides of each spatial axis, an int or a pair.
        stride: the step between windows, an int or a pair.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.unfold(np.arange(16.0).reshape(1, 1, 4, 4), kernel_size=2, stride=2)[0, :, 0]
    Array([0., 1., 4., 5.], dtype=float32)
    """
    x = jnp.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"unfold takes a 4-D (N, C, H, W) input, got shape {x.shape}.")
    (kh, kw), (dh, dw) = _pair(kernel_size, "kernel_size", "unfold", 1), _pair(dilation, "dilation", "unfold", 1)
    (ph, pw), (sh, sw) = _pair(padding, "padding", "unfold", 0), _pair(stride, "stride", "unfold", 1)
    n, c, h, w = x.shape
    oh, ow = _windows(h, kh, dh, ph, sh), _windows(w, kw, dw, pw, sw)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"unfold: an input of spatial size {(h, w)} with padding {(ph, pw)} is smaller than the "
                         f"dilated kernel {(dh * (kh - 1) + 1, dw * (kw - 1) + 1)}.")
    x = jnp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    taps = [x[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
            for i in range(kh) for j in range(kw)]
    return jnp.stack(taps, axis=2).reshape(n, c * kh * kw, oh * ow)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums columns ``(N, C * kH * kW, L)`` of sliding blocks into an image ``(N, C, oH, oW)`` (inverts ``unfold``'s layout).

    Args:
        x: a 3-D tensor of columns, as ``unfold`` makes.
        output_size: the image's spatial size, an int or ``(oH, oW)``.
        kernel_size: the window, an int or ``(kH, kW)``.
        dilation: the spacing between taps, an int or a pair.
        padding: the padding ``unfold`` added (cut off again), an int or a pair.
        stride: the step between windows, an int or a pair.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fold(np.ones((1, 4, 9)), output_size=4, kernel_size=2)[0, 0, :, 0]
    Array([1., 2., 2., 1.], dtype=float32)
    """
    x = jnp.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"fold takes a 3-D (N, C * kH * kW, L) input, got shape {x.shape}.")
    (oh, ow), (kh, kw) = _pair(output_size, "output_size", "fold", 1), _pair(kernel_size, "kernel_size", "fold", 1)
    (dh, dw), (ph, pw) = _pair(dilation, "dilation", "fold", 1), _pair(padding, "padding", "fold", 0)
    sh, sw = _pair(stride, "stride", "fold", 1)
    n, ckk, length = x.shape
    nh, nw = _windows(oh, kh, dh, ph, sh), _windows(ow, kw, dw, pw, sw)
    if ckk % (kh * kw) or nh * nw != length:
        raise ValueError(f"fold: an input of shape {x.shape} does not hold C * {kh * kw} rows and {nh} * {nw} "
                         f"columns, the blocks of kernel_size {(kh, kw)} in an output of size {(oh, ow)}; pass the "
                         "output_size, kernel_size, dilation, padding and stride that unfold used.")
    c = ckk // (kh * kw)
    cols = x.reshape(n, c, kh, kw, nh, nw)
    out = jnp.zeros((n, c, oh + 2 * ph, ow + 2 * pw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out = out.at[:, :, i * dh:i * dh + (nh - 1) * sh + 1:sh, j * dw:j * dw + (nw - 1) * sw + 1:sw].add(
                cols[:, :, i, j])
    return out[:, :, ph:ph + oh, pw:pw + ow]


dispatch_namespace("nn", globals(), __all__)   # calls on symbolic tensors become graph nodes
