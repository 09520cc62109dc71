"""The CPU lowerings of convolutions, where XLA:CPU's own are slow.

- patches and one matmul (``patch_conv``): 'valid', 1x1 and strided convolutions;
- XLA's convolution, forward and input gradient, with a kernel gradient of matrix products
  over cache-sized chunks of the batch (``conv_with_kernel_grad``, ``kernel_grad``): the others;
- a sum over the kernel's taps (``depthwise_taps``): depthwise convolutions.

Which one a call takes is decided in ``convolution.py`` (``choose_conv_lowering``); nothing
here looks at the backend.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["patch_conv", "conv_with_kernel_grad", "kernel_grad", "depthwise_taps", "dimension_numbers",
           "MAX_PATCH_BYTES", "GRAD_CHUNK_BYTES"]


def dimension_numbers(rank: int) -> lax.ConvDimensionNumbers:
    """``lax`` dimension numbers for channels-last inputs and Keras's ``(*window, in, out)`` kernels.

    Args:
      rank: the number of spatial axes (1 for Conv1D, 2 for Conv2D).

    >>> dimension_numbers(2).lhs_spec
    (0, 3, 1, 2)
    """
    spatial = tuple(range(1, rank + 1))
    return lax.ConvDimensionNumbers(lhs_spec=(0, rank + 1) + spatial,
                                    rhs_spec=(rank + 1, rank) + tuple(range(rank)),
                                    out_spec=(0, rank + 1) + spatial)


#: The largest patch matrix (bytes) the patch lowering builds; above it, XLA's convolution.
MAX_PATCH_BYTES = 256 << 20


def _patches(inputs, window, strides, pads):
    """The window's shifted, strided slices of ``inputs`` (channels last), concatenated on the
    channel axis: ``(batch, *out, taps * channels)``, tap-major as the kernel's rows."""
    if any(p != (0, 0) for p in pads):
        inputs = jnp.pad(inputs, [(0, 0), *pads, (0, 0)])
    channels, sizes = inputs.shape[-1], inputs.shape[1:-1]
    out = [(n - k) // s + 1 for n, k, s in zip(sizes, window, strides)]
    slices = []
    for offsets in np.ndindex(*window):
        start = (0, *offsets, 0)
        limit = (inputs.shape[0], *(o + (m - 1) * s + 1 for o, m, s in zip(offsets, out, strides)), channels)
        slices.append(lax.slice(inputs, start, limit, (1, *strides, 1)))
    return slices[0] if len(slices) == 1 else jnp.concatenate(slices, axis=-1)


def patch_conv(inputs, kernel, strides, pads):
    """``conv(inputs, kernel)`` (channels last, kernel ``(*window, in, out)``) as patches and one
    matmul with the kernel reshaped to ``(taps * in, out)``: the same sums, as one large matrix
    product. Autodiff's gradient reuses the patches (its residual) for the kernel's."""
    return _plain_patch_conv(inputs, kernel, tuple(strides), tuple(map(tuple, pads)))


#: The patch matrix one step of ``kernel_grad`` builds, at most (bytes): a chunk of the batch
#: whose patches stay in cache (1-4 MiB measured best on the benchmark's layers).
GRAD_CHUNK_BYTES = 2 << 20


def kernel_grad(inputs, d_out, kernel_shape, strides, pads):
    """The gradient of ``conv(inputs, kernel)`` with respect to the kernel, given the output's
    gradient ``d_out``, as matrix products summed over cache-sized chunks of the batch.

    XLA:CPU computes it as a convolution whose window is the whole output image, plus
    transposes: 1.6-3x slower on the benchmark ResNet's 3x3 layers. Two forms, whichever
    builds less data per sample:

    - patches: ``patches(inputs)^T @ d_out`` (``taps * in`` columns);
    - shifts (stride 1, rank 1 or 2): the ``kh`` row-shifted copies of the padded input
      against the ``kw`` column-shifted copies of ``d_out``; their product holds every
      ``(row tap, column tap)`` block once (``kh * in + kw * out`` columns, each a padded row
      wide). For 16-32 channels it builds about 30% less than patches and was 1.3-1.6x faster.
    """
    window = tuple(kernel_shape[:-2])
    c_in, c_out = kernel_shape[-2], kernel_shape[-1]
    if len(window) == 1:  # a row of one pixel: the rank-2 forms, with kh = 1
        g = kernel_grad(inputs[:, None], d_out[:, None], (1, *kernel_shape), (1, *strides),
                         ((0, 0), *pads))
        return g[0]
    rows_out = int(np.prod(d_out.shape[1:-1]))
    taps = int(np.prod(window))
    shifts = _use_shifts(inputs.shape, kernel_shape, d_out.shape, strides, pads)
    if shifts:
        kh, kw = window
        ho, wp = d_out.shape[1], inputs.shape[2] + sum(pads[1])
    if shifts:
        per_sample = (kh * c_in + kw * c_out) * ho * wp * inputs.dtype.itemsize

        def operands(x, d):
            p = jnp.concatenate([x[:, i:i + ho] for i in range(kh)], axis=-1)
            q = jnp.concatenate([jnp.pad(d, [(0, 0), (0, 0), (j, kw - 1 - j), (0, 0)])
                                 for j in range(kw)], axis=-1)
            return jnp.reshape(p, (-1, kh * c_in)), jnp.reshape(q, (-1, kw * c_out))

        padded = jnp.pad(inputs, [(0, 0), *pads, (0, 0)])
        m = _chunked_product(operands, padded, d_out, per_sample, (kh * c_in, kw * c_out))
        return jnp.transpose(jnp.reshape(m, (kh, c_in, kw, c_out)), (0, 2, 1, 3))

    per_sample = rows_out * taps * c_in * inputs.dtype.itemsize

    def operands(x, d):
        p = _patches(x, window, strides, pads)
        return jnp.reshape(p, (-1, taps * c_in)), jnp.reshape(d, (-1, c_out))

    return jnp.reshape(_chunked_product(operands, inputs, d_out, per_sample, (taps * c_in, c_out)),
                       kernel_shape)


def _use_shifts(input_shape, kernel_shape, out_shape, strides, pads) -> bool:
    """Whether ``kernel_grad`` takes the shifted copies (they build less than the patches)."""
    window = tuple(kernel_shape[:-2])
    if len(window) == 1:
        return _use_shifts((input_shape[0], 1, *input_shape[1:]), (1, *kernel_shape),
                           (out_shape[0], 1, *out_shape[1:]), (1, *strides), ((0, 0), *pads))
    if len(window) != 2 or any(st != 1 for st in strides):
        return False
    (kh, kw), c_in, c_out = window, kernel_shape[-2], kernel_shape[-1]
    ho, wo, wp = out_shape[1], out_shape[2], input_shape[2] + sum(pads[1])
    return (kh * c_in + kw * c_out) * ho * wp < kh * kw * c_in * ho * wo


def _chunked_product(operands, inputs, d_out, per_sample: int, shape: tuple):
    """``sum over chunks of a^T @ b`` for ``a, b = operands(inputs_chunk, d_out_chunk)``,
    the batch cut into equal chunks of at most ``GRAD_CHUNK_BYTES`` of operands (float32 sums)."""
    batch = inputs.shape[0]
    chunk = max([d for d in range(1, batch + 1) if batch % d == 0 and d * per_sample <= GRAD_CHUNK_BYTES],
                default=1)
    contract = (((0,), (0,)), ((), ()))

    def step(acc, pair):
        a, b = operands(*pair)
        return acc + lax.dot_general(a, b, contract, preferred_element_type=jnp.float32), None

    start = jnp.zeros(shape, jnp.float32)
    if chunk == batch:
        return step(start, (inputs, d_out))[0]
    xs = jnp.reshape(inputs, (batch // chunk, chunk, *inputs.shape[1:]))
    ds = jnp.reshape(d_out, (batch // chunk, chunk, *d_out.shape[1:]))
    return lax.scan(step, start, (xs, ds))[0]


def _plain_lax_conv(inputs, kernel, strides, pads):
    return lax.conv_general_dilated(inputs, kernel, strides, pads,
                                    dimension_numbers=dimension_numbers(kernel.ndim - 2))


def _plain_patch_conv(inputs, kernel, strides, pads):
    patches = _patches(inputs, kernel.shape[:-2], strides, pads)
    return jnp.dot(patches, jnp.reshape(kernel, (-1, kernel.shape[-1])))


def _with_kernel_grad(conv):
    """``conv`` with ``kernel_grad`` as its kernel gradient; the input's is autodiff's."""
    wrapped = jax.custom_vjp(conv, nondiff_argnums=(2, 3))

    def fwd(inputs, kernel, strides, pads):
        return conv(inputs, kernel, strides, pads), (inputs, kernel)

    def bwd(strides, pads, res, d_out):
        inputs, kernel = res
        _, input_vjp = jax.vjp(lambda x: conv(x, kernel, strides, pads), inputs)
        d_kernel = kernel_grad(inputs, d_out, kernel.shape, strides, pads)
        return input_vjp(d_out)[0], d_kernel.astype(kernel.dtype)

    wrapped.defvjp(fwd, bwd)
    return wrapped


#: XLA's convolution (undilated, ungrouped) with the chunked kernel gradient:
#: ``conv_with_kernel_grad(inputs, kernel, strides, pads)``, strides and pads as tuples.
conv_with_kernel_grad = _with_kernel_grad(_plain_lax_conv)


def depthwise_taps(inputs, kernel, strides, pads, dilation_rate):
    """The depthwise convolution as a sum over its ``kh * kw`` taps of shifted inputs times weights.

    ``kernel (kh, kw, c, m)`` gives output channel ``c * m + j``, as Keras's. XLA:CPU runs
    grouped convolutions (``feature_group_count=channels``) very slowly: for MobileNetV2's
    48x48x96 layers at batch 32 the taps are 10x faster forward and 9x faster
    forward+backward, and 50-100x on small late layers (interleaved medians on a 2-core
    CPU). Elementwise products and slices are what XLA:CPU vectorizes well, and their
    gradients are slices and pads again.
    """
    kh, kw, c, m = kernel.shape
    x = inputs if m == 1 else jnp.repeat(inputs, m, axis=-1)  # channel c * m + j, as the kernel
    x = jnp.pad(x, ((0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)))
    (sh, sw), (dh, dw) = strides, dilation_rate
    out_h = (x.shape[1] - dh * (kh - 1) - 1) // sh + 1
    out_w = (x.shape[2] - dw * (kw - 1) - 1) // sw + 1
    taps = jnp.reshape(kernel, (kh, kw, c * m)).astype(x.dtype)
    y = None
    for i in range(kh):
        for j in range(kw):
            start = (0, i * dh, j * dw, 0)
            limit = (x.shape[0], i * dh + (out_h - 1) * sh + 1, j * dw + (out_w - 1) * sw + 1, x.shape[3])
            term = lax.slice(x, start, limit, (1, sh, sw, 1)) * taps[i, j][None, None, None, :]
            y = term if y is None else y + term
    return y
