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
NOT_SUPPORTED: dict[str, str] = {}

__all__ = sorted(set(convolution.__all__) | set(core.__all__) | set(linalg.__all__) | set(math.__all__)
                 | set(nn.__all__) | set(numpy.__all__)) + ["NOT_SUPPORTED"]

# Listed here (not computed) so that the API reference's tools see the star-imported names as public.
__all__ = ["abs", "absolute", "adaptive_average_pool", "adaptive_max_pool", "add", "all", "allclose", "amax", "amin", "angle", "any", "append", "arange",
           "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin",
           "argpartition", "argsort", "array", "array_split", "associative_scan", "average", "average_pool",
           "bartlett", "batch_normalization", "binary_crossentropy", "bincount", "bitwise_and",
           "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift",
           "bitwise_xor", "blackman", "broadcast_to", "cast", "categorical_crossentropy", "cbrt", "cdist",
           "ceil", "celu", "cholesky", "cholesky_inverse", "clip", "concatenate", "cond", "conj", "conjugate",
           "conv", "conv_transpose", "convert_to_numpy", "convert_to_tensor", "copy", "corrcoef", "correlate",
           "cos", "cosh", "count_nonzero", "cross", "ctc_decode", "ctc_loss", "cumprod", "cumsum", "custom_gradient",
           "deg2rad", "depth_to_space", "depthwise_conv", "det", "diag", "diagflat", "diagonal", "diff",
           "digitize", "divide", "divide_no_nan", "dot", "dot_product_attention", "dsplit", "dstack", "dtype",
           "eig", "eigh", "einsum", "elu", "empty", "empty_like", "equal", "erf", "erfc", "erfinv", "exp",
           "exp2", "expand_dims", "expm1", "extract_sequences", "eye", "fabs", "fft", "fft2", "flip",
           "fliplr", "flipud", "floor", "floor_divide", "fmax", "fmin", "fmod", "fold", "fori_loop", "full",
           "full_like", "gcd", "gelu", "geomspace", "get_item", "glu", "greater", "greater_equal", "hamming",
           "hanning", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "heaviside",
           "histogram", "hsplit", "hstack", "hypot", "i0", "identity", "ifft2", "imag", "in_top_k", "inner",
           "inv", "irfft", "is_tensor", "istft", "isclose", "isfinite", "isin", "isinf", "isnan", "isneginf",
           "isposinf", "isreal", "jvp", "kaiser", "kron", "layer_normalization", "lcm", "ldexp", "leaky_relu",
           "left_shift", "less", "less_equal", "linspace", "log", "log10", "log1p", "log2", "log_sigmoid",
           "log_softmax", "logaddexp", "logaddexp2", "logdet", "logical_and", "logical_not", "logical_or",
           "logical_xor", "logspace", "logsumexp", "lstsq", "lu_factor", "map", "matmul", "matrix_rank",
           "max", "max_pool", "maximum", "mean", "median", "meshgrid", "min", "minimum", "mod", "moments",
           "moveaxis", "multi_hot", "multiply", "nan_to_num", "nanargmax", "nanargmin", "nancumprod",
           "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile",
           "nanstd", "nansum", "nanvar", "ndim", "negative", "nextafter", "nonzero", "norm", "normalize",
           "not_equal", "one_hot", "ones", "ones_like", "outer", "pad", "percentile", "pinv", "polar",
           "power", "prod", "psnr", "ptp", "qr", "quantile", "rad2deg", "ravel", "real", "rearrange", "reciprocal", "relu",
           "relu6", "repeat", "reshape", "rfft", "right_shift", "rms_normalization", "roll", "rot90", "round",
           "rsqrt", "saturate_cast", "scan", "scatter", "scatter_update", "searchsorted", "segment_max",
           "segment_min", "segment_prod", "segment_sum", "select", "selu", "separable_conv", "shape",
           "sigmoid", "sign", "signbit", "silu", "sin", "sinc", "sinh", "size", "slice", "slice_update",
           "slogdet", "soft_shrink", "softmax", "softplus", "softsign", "solve", "solve_triangular", "sort",
           "space_to_depth", "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid", "sparsemax",
           "split", "sqrt", "square", "squareplus", "squeeze", "stack", "std", "stft", "stop_gradient", "subtract",
           "sum", "svd", "swapaxes", "swish", "switch", "take", "take_along_axis", "tan", "tanh",
           "tanh_shrink", "tensordot", "threshold", "tile", "top_k", "trace", "transpose", "trapezoid", "tri",
           "tril", "triu", "true_divide", "trunc", "unfold", "unique", "unravel_index", "unstack", "vander", "var",
           "vdot", "vectorize", "vectorized_map", "view", "view_as_complex", "view_as_real", "vsplit",
           "vstack", "where", "while_loop", "zeros", "zeros_like", "NOT_SUPPORTED"]
