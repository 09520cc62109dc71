"""Keras-style layers on flax.nnx, one family per module."""

from highlevel.layers.base import (Hyperparameter, Layer, NonTrainable, Weight, call_context,
                                   deserialize_layer, get_layer_class, register_layer,
                                   serialize_layer)
from highlevel.layers.activation import *  # noqa: F401,F403
from highlevel.layers.activity import ActivityRegularization  # noqa: F401
from highlevel.layers.adaptive_pooling import *  # noqa: F401,F403
from highlevel.layers.aliases import *  # noqa: F401,F403
from highlevel.layers.attention import *  # noqa: F401,F403
from highlevel.layers.audio import *  # noqa: F401,F403
from highlevel.layers.augmentation import *  # noqa: F401,F403
from highlevel.layers.augmentation_augmix import *  # noqa: F401,F403
from highlevel.layers.augmentation_clahe import *  # noqa: F401,F403
from highlevel.layers.augmentation_color import *  # noqa: F401,F403
from highlevel.layers.augmentation_elastic import *  # noqa: F401,F403
from highlevel.layers.augmentation_mix import *  # noqa: F401,F403
from highlevel.layers.augmentation_perspective import *  # noqa: F401,F403
from highlevel.layers.augmentation_randaugment import *  # noqa: F401,F403
from highlevel.layers.augmentation_tone import *  # noqa: F401,F403
from highlevel.layers.bidirectional import *  # noqa: F401,F403
from highlevel.layers.categorical import *  # noqa: F401,F403
from highlevel.layers.convolutional import *  # noqa: F401,F403
from highlevel.layers.conv_lstm import *  # noqa: F401,F403
from highlevel.layers.convolutional_extra import *  # noqa: F401,F403
from highlevel.layers.core import *  # noqa: F401,F403
from highlevel.layers.depthwise import *  # noqa: F401,F403
from highlevel.layers.einsum_dense import *  # noqa: F401,F403
from highlevel.layers.hashed_crossing import *  # noqa: F401,F403
from highlevel.layers.jax_layer import JaxLayer  # noqa: F401
from highlevel.layers.image_preprocessing import *  # noqa: F401,F403
from highlevel.layers.input_spec import InputSpec  # noqa: F401
from highlevel.layers.lambda_layer import *  # noqa: F401,F403
from highlevel.layers.lookup import *  # noqa: F401,F403
from highlevel.layers.merging import *  # noqa: F401,F403
from highlevel.layers.multi_head_attention import *  # noqa: F401,F403
from highlevel.layers.noise import *  # noqa: F401,F403
from highlevel.layers.normalization import *  # noqa: F401,F403
from highlevel.layers.normalization_extra import *  # noqa: F401,F403
from highlevel.layers.pipeline import Pipeline  # noqa: F401
from highlevel.layers.pooling import *  # noqa: F401,F403
from highlevel.layers.preprocessing import *  # noqa: F401,F403
from highlevel.layers.recurrent import *  # noqa: F401,F403
from highlevel.layers.reversible_embedding import ReversibleEmbedding  # noqa: F401
from highlevel.layers.regularization import *  # noqa: F401,F403
from highlevel.layers.reshaping import *  # noqa: F401,F403
from highlevel.layers.rnn_cells import *  # noqa: F401,F403
from highlevel.layers.spectral_normalization import *  # noqa: F401,F403
from highlevel.layers.symbolic import Input, InputLayer, KerasTensor
from highlevel.layers.time_distributed import *  # noqa: F401,F403
from highlevel.layers.text import *  # noqa: F401,F403
from highlevel.layers.upsampling import *  # noqa: F401,F403
from highlevel.layers.wrappers import *  # noqa: F401,F403
from highlevel.layers.wrapper_base import Wrapper  # noqa: F401

deserialize = deserialize_layer
serialize = serialize_layer

__all__ = ["Activation", "ActivityRegularization", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D",
           "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D", "Add",
           "AlphaDropout", "AdditiveAttention", "Attention",
           "Average", "EinsumDense", "SpectralNormalization",
           "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "BatchNormalization",
           "Bidirectional", "CategoryEncoding", "Concatenate", "Conv1D", "Conv1DTranspose", "Conv2D",
           "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
           "Cropping1D", "Cropping2D",
           "Cropping3D", "Dense", "DepthwiseConv1D", "DepthwiseConv2D", "Discretization", "Dropout", "ELU",
           "Embedding",
           "Flatten", "FlaxLayer", "GRU", "GRUCell", "GaussianDropout", "GaussianNoise",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization",
           "GroupQueryAttention", "GroupedQueryAttention", "HashedCrossing", "Hashing", "Hyperparameter", "Identity", "Input",
           "InputLayer", "KerasTensor", "LSTM", "LSTMCell", "Lambda", "Layer", "LayerNormalization",
           "LeakyReLU", "Masking", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Maximum", "Minimum",
           "MultiHeadAttention", "Multiply", "NonTrainable", "Normalization", "PReLU", "Permute",
           "RMSNormalization", "RNN", "CenterCrop", "RandomBrightness", "RandomContrast", "RandomCrop",
           "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "ReLU", "RepeatVector",
           "RandomColorDegeneration", "RandomColorJitter", "RandomGrayscale", "RandomHue", "RandomSaturation",
           "RandomSharpness", "AutoContrast", "RandomInvert", "RandomPosterization", "Solarization",
           "Equalization", "RandomPerspective", "RandAugment", "STFTSpectrogram", "MelSpectrogram",
           "AugMix", "ContrastLimitedAdaptiveHistogramEqualization", "RandomElasticTransform",
           "CutMix", "MixUp", "RandomErasing", "RandomGaussianBlur", "RandomShear",
           "Rescaling", "Resizing", "Reshape", "SeparableConv1D", "SeparableConv2D", "SimpleRNN",
           "SimpleRNNCell", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
           "StackedRNNCells", "Subtract", "TimeDistributed", "UnitNormalization", "UpSampling1D",
           "UpSampling2D", "UpSampling3D", "Weight", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
           "call_context", "deserialize", "deserialize_layer", "get_layer_class", "register_layer",
           "serialize", "serialize_layer",
           "AvgPool1D", "AvgPool2D", "AvgPool3D", "Convolution1D", "Convolution1DTranspose", "Convolution2D",
           "Convolution2DTranspose", "Convolution3D", "Convolution3DTranspose", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "MaxPool1D", "MaxPool2D", "MaxPool3D", "SeparableConvolution1D", "SeparableConvolution2D",
           "Dot", "IntegerLookup", "StringLookup", "TextVectorization", "add", "average",
           "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]
__all__ += ["ReversibleEmbedding", "JaxLayer", "Wrapper", "InputSpec", "Pipeline"]
