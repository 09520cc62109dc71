"""Keras 3's short and long alias names of layers (``MaxPool2D``, ``Convolution2D``...).

Each alias is the same class as its full name, as in ``keras.layers``; a config naming the
alias (``{"class_name": "MaxPool2D", ...}``) loads that class, and ``get_config`` names the
full class, as Keras's does.
"""

from __future__ import annotations

from highlevel.layers.base import register_layer
from highlevel.layers.convolutional import Conv1D, Conv2D, Conv2DTranspose
from highlevel.layers.convolutional_extra import Conv1DTranspose, Conv3D, Conv3DTranspose
from highlevel.layers.depthwise import SeparableConv1D, SeparableConv2D
from highlevel.layers.pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, GlobalAveragePooling1D,
                                      GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
                                      GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPooling1D, MaxPooling2D,
                                      MaxPooling3D)

#: ``{alias: full class}``, every alias of ``keras.layers`` (Keras 3.15) whose class highlevel has.
ALIASES = {
    "AvgPool1D": AveragePooling1D, "AvgPool2D": AveragePooling2D, "AvgPool3D": AveragePooling3D,
    "MaxPool1D": MaxPooling1D, "MaxPool2D": MaxPooling2D, "MaxPool3D": MaxPooling3D,
    "GlobalAvgPool1D": GlobalAveragePooling1D, "GlobalAvgPool2D": GlobalAveragePooling2D,
    "GlobalAvgPool3D": GlobalAveragePooling3D,
    "GlobalMaxPool1D": GlobalMaxPooling1D, "GlobalMaxPool2D": GlobalMaxPooling2D,
    "GlobalMaxPool3D": GlobalMaxPooling3D,
    "Convolution1D": Conv1D, "Convolution2D": Conv2D, "Convolution3D": Conv3D,
    "Convolution1DTranspose": Conv1DTranspose, "Convolution2DTranspose": Conv2DTranspose,
    "Convolution3DTranspose": Conv3DTranspose,
    "SeparableConvolution1D": SeparableConv1D, "SeparableConvolution2D": SeparableConv2D,
}

for _alias, _cls in ALIASES.items():
    register_layer(_cls, name=_alias)

AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (Conv1DTranspose, Conv2DTranspose,
                                                                          Conv3DTranspose)
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ = sorted(ALIASES)
