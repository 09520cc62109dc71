"""Keras's ``keras.ops.nn``: activations, losses, normalizations, encodings and attention (convolutions and pooling come from ``convolution.py``).

The functions live in one module per family (``nn_activations``, ``nn_losses``, ``nn_normalization``,
``nn_attention``, ``convolution``); this module assembles the namespace.
"""

from __future__ import annotations

from highlevel.ops.convolution import (average_pool, conv, conv_transpose, depth_to_space, depthwise_conv,
                                       max_pool, separable_conv, space_to_depth)
from highlevel.ops.nn_activations import (relu, relu6, sigmoid, sparse_sigmoid, tanh, tanh_shrink, softplus,
                                          softsign, soft_shrink, hard_shrink, threshold, sparse_plus, silu, swish,
                                          squareplus, log_sigmoid, leaky_relu, hard_sigmoid, hard_silu, hard_swish,
                                          hard_tanh, elu, selu, gelu, celu, glu, polar)
from highlevel.ops.nn_adaptive import adaptive_average_pool, adaptive_max_pool
from highlevel.ops.nn_attention import dot_product_attention
from highlevel.ops.nn_ctc import ctc_decode
from highlevel.ops.nn_losses import (softmax, log_softmax, sparsemax, one_hot, multi_hot, binary_crossentropy,
                                     categorical_crossentropy, sparse_categorical_crossentropy, ctc_loss, psnr)
from highlevel.ops.nn_patches import fold, unfold
from highlevel.ops.nn_normalization import (moments, batch_normalization, layer_normalization, rms_normalization,
                                            normalize)
from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "tanh", "tanh_shrink", "softplus", "softsign", "soft_shrink",
           "hard_shrink", "threshold", "sparse_plus", "silu", "swish", "squareplus", "log_sigmoid",
           "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "elu", "selu", "gelu",
           "celu", "glu", "softmax", "log_softmax", "sparsemax", "one_hot", "multi_hot",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "moments",
           "batch_normalization", "layer_normalization", "rms_normalization", "normalize", "psnr", "polar",
           "ctc_loss", "dot_product_attention"]

__all__ += ["average_pool", "conv", "conv_transpose", "depth_to_space", "depthwise_conv", "max_pool",
            "separable_conv", "space_to_depth"]
__all__ += ["adaptive_average_pool", "adaptive_max_pool", "unfold", "fold", "ctc_decode"]

dispatch_namespace("nn", globals(), __all__)   # calls on symbolic tensors become graph nodes
