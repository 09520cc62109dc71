"""How ``Conv1D``/``Conv2D`` lower on a CPU, where XLA's convolution is slow in two places.

- 'valid', 1x1 and strided convolutions run as patches and one matmul (``_patch_conv``);
- the others keep XLA's convolution, forward and input gradient, with a kernel gradient of
  matrix products over cache-sized chunks of the batch (``_lax_conv_cpu``, ``_kernel_grad``).

``HIGHLEVEL_CONV_CPU=lax`` (or ``CPU_LOWERING = "lax"`` here) turns both off.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__: list[str] = []


def _dimension_numbers(rank: int) -> lax.ConvDimensionNumbers:
    # Inputs (batch, *spatial, channels); kernels (*spatial, in, out), as Keras stores them.
    spatial = tuple(range(1, rank + 1))
    return lax.ConvDimensionNumbers(lhs_spec=(0, rank + 1) + spatial,
                                    rhs_spec=(rank + 1, rank) + tuple(range(rank)),
                                    out_spec=(0, rank + 1) + spatial)


# ---------------------------------------------------------------------------
# The convolution's lowering on a CPU.

#: How ``Conv1D``/``Conv2D`` lower on a CPU: ``"auto"`` (patches and one matmul where
#: that measured faster, see ``_use_patches``), ``"patches"`` (wherever it applies) or ``"lax"``.
CPU_LOWERING = os.environ.get("HIGHLEVEL_CONV_CPU", "auto")
#: The largest patch matrix (bytes) the patch lowering builds; above it, ``lax``.
MAX_PATCH_BYTES = 256 << 20


def _use_patches(layer, inputs) -> bool:
    """Whether this call lowers as patches + matmul: on a CPU, for an ungrouped, undilated
    convolution that is 1x1 (a plain matmul: 3x), strided (1.2x on the benchmark ResNet's
    stride-2 3x3) or 'valid' (XLA:CPU's own convolution was about 1.5-2x slower there,
    forward and backward, on the benchmark CNN's layers). A 'same' convolution of stride 1
    stays with XLA's, which was faster there (0.4-0.8x as patches on the ResNet's)."""
    if CPU_LOWERING == "lax" or jax.default_backend() != "cpu":
        return False
    if layer.groups != 1 or any(d != 1 for d in layer.dilation_rate):
        return False
    one_by_one = all(k == 1 for k in layer.kernel_size)
    strided = any(st > 1 for st in layer.strides)
    if not (one_by_one or strided) and layer.padding != "valid" and CPU_LOWERING != "patches":
        return False
    if layer.padding == "causal" and not one_by_one:
        return False
    taps = int(np.prod(layer.kernel_size))
    return inputs.size * taps * inputs.dtype.itemsize <= MAX_PATCH_BYTES


def _use_kernel_grad(layer) -> bool:
    """Whether a call that stays with XLA's convolution takes ``_kernel_grad`` for its kernel's
    gradient: on a CPU, ungrouped and undilated (the ResNet's 'same' 3x3 layers: 1.6-2.6x)."""
    if CPU_LOWERING == "lax" or jax.default_backend() != "cpu":
        return False
    return layer.groups == 1 and all(d == 1 for d in layer.dilation_rate)


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


def _patch_conv(inputs, kernel, strides, pads):
    """``conv(inputs, kernel)`` (channels last, kernel ``(*window, in, out)``) as patches and one
    matmul with the kernel reshaped to ``(taps * in, out)``: the same sums, as one large matrix
    product. Autodiff's gradient reuses the patches (its residual) for the kernel's."""
    return _plain_patch_conv(inputs, kernel, tuple(strides), tuple(map(tuple, pads)))


#: The patch matrix one step of ``_kernel_grad`` builds, at most (bytes): a chunk of the batch
#: whose patches stay in cache (1-4 MiB measured best on the benchmark's layers).
GRAD_CHUNK_BYTES = 2 << 20


def _kernel_grad(inputs, d_out, kernel_shape, strides, pads):
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
        g = _kernel_grad(inputs[:, None], d_out[:, None], (1, *kernel_shape), (1, *strides),
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
    """Whether ``_kernel_grad`` takes the shifted copies (they build less than the patches)."""
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
                                    dimension_numbers=_dimension_numbers(kernel.ndim - 2))


def _plain_patch_conv(inputs, kernel, strides, pads):
    patches = _patches(inputs, kernel.shape[:-2], strides, pads)
    return jnp.dot(patches, jnp.reshape(kernel, (-1, kernel.shape[-1])))


def _with_kernel_grad(conv):
    """``conv`` with ``_kernel_grad`` as its kernel gradient; the input's is autodiff's."""
    wrapped = jax.custom_vjp(conv, nondiff_argnums=(2, 3))

    def fwd(inputs, kernel, strides, pads):
        return conv(inputs, kernel, strides, pads), (inputs, kernel)

    def bwd(strides, pads, res, d_out):
        inputs, kernel = res
        _, input_vjp = jax.vjp(lambda x: conv(x, kernel, strides, pads), inputs)
        d_kernel = _kernel_grad(inputs, d_out, kernel.shape, strides, pads)
        return input_vjp(d_out)[0], d_kernel.astype(kernel.dtype)

    wrapped.defvjp(fwd, bwd)
    return wrapped


#: XLA's convolution (undilated, ungrouped) with the chunked kernel gradient; on a CPU only.
_lax_conv_cpu = _with_kernel_grad(_plain_lax_conv)
