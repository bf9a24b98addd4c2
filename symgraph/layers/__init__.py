"""Keras-like layers and models (NCHW images).

    model = sg.layers.Sequential([sg.layers.Conv2D(16, 3, padding="same", activation="relu"),
                                  sg.layers.MaxPool2D(2), sg.layers.Flatten(),
                                  sg.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=32)
"""
from .base import Layer, Input, set_seed
from .core import (Dense, Embedding, Masking, InputLayer, Flatten, Reshape, Permute, RepeatVector, Activation, Lambda,
                   ActivityRegularization, Dropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, AlphaDropout,
                   GaussianNoise, GaussianDropout)
from .activation import ReLU, LeakyReLU, ELU, ThresholdedReLU, PReLU, Softmax
from .conv import (Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, MaxPool2D, AvgPool2D, MaxPooling2D,
                   AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAvgPool2D, GlobalMaxPool2D,
                   UpSampling2D, ZeroPadding2D, Cropping2D)
from .conv3d import (Conv3D, Conv3DTranspose, MaxPooling3D, AveragePooling3D, MaxPool3D, AvgPool3D, GlobalAveragePooling3D,
                     GlobalMaxPooling3D, GlobalAvgPool3D, GlobalMaxPool3D, UpSampling3D, ZeroPadding3D, Cropping3D)
from .einsum_dense import EinsumDense
from .conv_lstm import ConvLSTM2D
from .conv1d import (Conv1D, MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D, MaxPool1D,
                     AvgPool1D, GlobalMaxPool1D, GlobalAvgPool1D, UpSampling1D, ZeroPadding1D, Cropping1D,
                     Conv1DTranspose, DepthwiseConv1D, SeparableConv1D)
from .normalization import (BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization,
                            Identity)
from .wrappers import TimeDistributed
from .recurrent import SimpleRNN, LSTM, GRU, Bidirectional
from .cells import RNN, SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells
from .merge import (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, add, subtract, multiply,
                    average, maximum, minimum, concatenate, dot)
from .attention import Attention, AdditiveAttention, MultiHeadAttention
from .preprocessing import (Rescaling, Normalization, CenterCrop, Resizing, RandomFlip, RandomRotation,
                            RandomTranslation, RandomZoom, RandomContrast, RandomCrop, RandomBrightness)
from .encoding import CategoryEncoding, Discretization, TextVectorization
from .lookup import StringLookup, IntegerLookup
from .model import Model, Sequential, clone_model
from .plot import plot_model, model_to_dot
from .saving import load_model, model_from_json, model_from_config

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Embedding", "Masking", "Flatten", "Reshape", "Permute", "RepeatVector",
           "Activation", "Lambda", "ActivityRegularization", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
           "AlphaDropout", "GaussianNoise", "GaussianDropout", "ReLU", "LeakyReLU", "ELU", "ThresholdedReLU", "PReLU",
           "Softmax", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "MaxPool2D", "AvgPool2D", "MaxPooling2D", "AveragePooling2D",
           "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "UpSampling2D",
           "ZeroPadding2D", "Cropping2D", "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
           "GlobalAveragePooling1D", "MaxPool1D", "AvgPool1D", "GlobalMaxPool1D", "GlobalAvgPool1D", "UpSampling1D",
           "ZeroPadding1D", "Cropping1D",
           "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Identity", "TimeDistributed", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "Attention", "AdditiveAttention", "MultiHeadAttention", "Rescaling", "Normalization",
           "CenterCrop", "Resizing", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "RandomContrast", "CategoryEncoding", "Discretization",
           "TextVectorization", "StringLookup", "IntegerLookup", "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
           "Model", "Sequential", "clone_model", "plot_model", "model_to_dot", "set_seed", "load_model", "model_from_json",
           "model_from_config", "RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "Conv1DTranspose",
           "DepthwiseConv1D", "SeparableConv1D", "RandomCrop", "RandomBrightness", "Conv3D", "Conv3DTranspose", "MaxPooling3D",
           "AveragePooling3D", "MaxPool3D", "AvgPool3D", "GlobalAveragePooling3D", "GlobalMaxPooling3D",
           "GlobalAvgPool3D", "GlobalMaxPool3D", "UpSampling3D", "ZeroPadding3D", "Cropping3D", "SpatialDropout3D",
           "EinsumDense", "ConvLSTM2D"]
