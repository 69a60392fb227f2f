"""The model zoo: from the perceptron to ResNet-152, with torchvision's layouts and names.

>>> from shendu.models import get_model
>>> net = get_model('resnet18', num_classes=10, in_channels=1, small_input=True)
>>> sum(p.numel() for p in net.parameters())
11172810
"""

from shendu.models.alexnet import AlexNet, alexnet, alexnet2012
from shendu.models.convert import convert_torch
from shendu.models.googlenet import (
    BasicConv2d,
    GoogLeNet,
    GoogLeNetOutputs,
    Inception,
    InceptionAux,
    googlenet,
)
from shendu.models.lenet import LeNet, lenet, lenet5
from shendu.models.mlp import mlp
from shendu.models.perceptron import (
    Perceptron,
    PerceptronResult,
    and_gate,
    nand_gate,
    or_gate,
    xor_gate,
)
from shendu.models.registry import get_model, list_models, register_model
from shendu.models.resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from shendu.models.summary import Summary, summary
from shendu.models.vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "and_gate",
    "or_gate",
    "nand_gate",
    "xor_gate",
    "Perceptron",
    "PerceptronResult",
    "mlp",
    "LeNet",
    "lenet",
    "lenet5",
    "AlexNet",
    "alexnet",
    "alexnet2012",
    "VGG",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "BasicConv2d",
    "Inception",
    "InceptionAux",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "googlenet",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "get_model",
    "list_models",
    "register_model",
    "summary",
    "Summary",
    "convert_torch",
]
