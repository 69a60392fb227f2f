"""The layers, one family per module (as ``torch.nn.modules``)."""

from shendu.nn.modules.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Step,
    Tanh,
)
from shendu.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d
from shendu.nn.modules.container import ModuleDict, ModuleList, Sequential
from shendu.nn.modules.conv import Conv1d, Conv2d
from shendu.nn.modules.dropout import Dropout, Dropout2d
from shendu.nn.modules.linear import Flatten, Identity, Linear, Unflatten
from shendu.nn.modules.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from shendu.nn.modules.module import Module
from shendu.nn.modules.normalization import LayerNorm, LocalResponseNorm
from shendu.nn.modules.sparse import Embedding
from shendu.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

__all__ = [
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "Linear",
    "Embedding",
    "Identity",
    "Flatten",
    "Unflatten",
    "Conv1d",
    "Conv2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "Step",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "GELU",
    "ELU",
    "SiLU",
    "Dropout",
    "Dropout2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "LocalResponseNorm",
    "MSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]
