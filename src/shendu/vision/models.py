"""The model zoo under torchvision's builder names and keyword arguments.

``models.resnet18(weights=None, num_classes=10)``, ``models.googlenet(init_weights=True,
aux_logits=False)``, ``models.vgg16(weights=None)`` build the same modules (same state_dict keys)
as torchvision, from :mod:`shendu.models`. ``weights`` must be None: shendu downloads no
pretrained weights (convert a torchvision checkpoint with ``shendu convert-torch`` and
``load_state_dict`` it). ``init_weights=False`` leaves every layer with PyTorch's per-layer default
initialisation instead of the architecture's own scheme, as in torchvision.

>>> net = resnet18(weights=None, num_classes=10)
>>> net.fc.out_features
10
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from shendu import models as _zoo
from shendu.models import (  # noqa: F401  (the classes, re-exported as torchvision does)
    VGG,
    AlexNet,
    BasicBlock,
    Bottleneck,
    GoogLeNet,
    GoogLeNetOutputs,
    LeNet,
    ResNet,
)
from shendu.nn import Module

_BUILDERS = [
    "alexnet", "googlenet", "lenet", "lenet5",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
]  # fmt: skip

__all__ = _BUILDERS + [
    "AlexNet",
    "VGG",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "ResNet",
    "BasicBlock",
    "Bottleneck",
    "LeNet",
]


def _reset_to_default(model: Module) -> None:
    """Re-initialise every layer that has ``reset_parameters`` (PyTorch's per-layer defaults)."""
    for m in model.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()


def _torchvision_kwargs(builder: Callable[..., Module], name: str) -> Callable[..., Module]:
    @functools.wraps(builder)
    def build(
        *, weights: Any = None, progress: bool = True, init_weights: bool | None = None, **kwargs: Any
    ) -> Module:
        if weights is not None:
            raise ValueError(
                f"{name}(weights={weights!r}): shendu downloads no pretrained weights; pass weights=None, "
                f"convert a torchvision checkpoint with `shendu convert-torch` and load_state_dict it"
            )
        if kwargs.pop("pretrained", False):
            raise ValueError(f"{name}(pretrained=True): shendu downloads no pretrained weights")
        kwargs.pop("aux_logits", None) if name != "googlenet" else None
        model = builder(**kwargs)
        if init_weights is False:
            _reset_to_default(model)
        return model

    build.__doc__ = (builder.__doc__ or "") + (
        "\n\n    torchvision keywords: ``weights`` (must be None), ``progress`` (ignored), ``init_weights``."
    )
    return build


for _name in _BUILDERS:
    globals()[_name] = _torchvision_kwargs(getattr(_zoo, _name), _name)
del _name
