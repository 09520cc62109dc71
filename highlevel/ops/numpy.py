"""``hl.ops.numpy``: Keras's ``keras.ops.numpy`` (element-wise, reductions, arrays, products)."""

from highlevel.ops import (numpy_binary, numpy_creation, numpy_indexing, numpy_products, numpy_reductions,
                           numpy_shape, numpy_unary)
from highlevel.ops.numpy_binary import *  # noqa: F401,F403
from highlevel.ops.numpy_creation import *  # noqa: F401,F403
from highlevel.ops.numpy_indexing import *  # noqa: F401,F403
from highlevel.ops.numpy_products import *  # noqa: F401,F403
from highlevel.ops.numpy_reductions import *  # noqa: F401,F403
from highlevel.ops.numpy_shape import *  # noqa: F401,F403
from highlevel.ops.numpy_unary import *  # noqa: F401,F403
from highlevel.ops.nn import tanh  # noqa: F401 - Keras lists it in both namespaces

__all__ = ["tanh"] + sorted(set(numpy_binary.__all__) | set(numpy_creation.__all__) | set(numpy_indexing.__all__)
                 | set(numpy_products.__all__) | set(numpy_reductions.__all__) | set(numpy_shape.__all__)
                 | set(numpy_unary.__all__))
