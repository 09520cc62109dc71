"""``hl.ops``: Keras 3's ``keras.ops`` over ``jax.numpy``, ``jax.nn`` and ``jax.lax``.

``from keras import ops`` becomes ``from highlevel import ops``: the same names, argument
names, defaults and semantics (Keras's JAX backend is the reference the tests compare
with), returning JAX arrays that work inside ``jax.jit``/``jax.grad`` and in layers'
``call``. The namespaces ``ops.nn``, ``ops.linalg``, ``ops.image``, ``ops.numpy`` and
``ops.math`` hold the same functions as Keras's.

What differs from Keras, by design of a JAX-only framework: no sparse or ragged tensors
(``sparse=True`` is refused with a sentence saying so), and ``segment_*`` need
``num_segments`` (shapes are static under ``jax.jit``), as on Keras's own JAX backend.
The operations Keras has and this module does not are listed in :data:`NOT_SUPPORTED`
with the reason (``tests/test_ops.py`` checks the list against ``dir(keras.ops)``).

>>> from highlevel import ops
>>> ops.top_k(ops.convert_to_tensor([1.0, 4.0, 2.0]), k=2)[1]
Array([1, 2], dtype=int32)
"""

from highlevel.ops import convolution, core, image, linalg, math, nn, numpy
from highlevel.ops.convolution import *  # noqa: F401,F403
from highlevel.ops.core import *  # noqa: F401,F403
from highlevel.ops.linalg import *  # noqa: F401,F403
from highlevel.ops.math import *  # noqa: F401,F403
from highlevel.ops.nn import *  # noqa: F401,F403
from highlevel.ops.numpy import *  # noqa: F401,F403

#: The operations of ``keras.ops`` that ``hl.ops`` does not have, with the reason.
NOT_SUPPORTED: dict[str, str] = {
    "rearrange": "einops-style patterns; write the reshape/transpose, or use einops itself on JAX arrays",
    "ctc_decode": "greedy and beam-search CTC decoding is not implemented yet",
    "fold": "PyTorch-style col2im: not implemented; use conv_transpose or scatter",
    "unfold": "PyTorch-style im2col: use ops.image.extract_patches",
    "adaptive_average_pool": "not implemented yet; for sizes that divide the input, use average_pool",
    "adaptive_max_pool": "not implemented yet; for sizes that divide the input, use max_pool",
    "stft": "not implemented yet; jax.scipy.signal.stft computes a short-time Fourier transform",
    "istft": "not implemented yet; jax.scipy.signal.istft inverts one",
    "image.affine_transform": "not implemented yet (jax.scipy.ndimage.map_coordinates is ops.image.map_coordinates)",
    "image.perspective_transform": "not implemented yet",
    "image.elastic_transform": "not implemented yet",
    "image.extract_patches_3d": "not implemented yet; extract_patches handles 2-D images",
    "image.gaussian_blur": "not implemented yet; a depthwise_conv with a Gaussian kernel does it",
    "image.sobel_edges": "not implemented yet; a depthwise_conv with Sobel kernels does it",
    "image.ssim": "not implemented yet",
}

__all__ = sorted(set(convolution.__all__) | set(core.__all__) | set(linalg.__all__) | set(math.__all__)
                 | set(nn.__all__) | set(numpy.__all__)) + ["NOT_SUPPORTED"]
