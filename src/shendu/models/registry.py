"""Every network of the zoo by name, for ``shendu train MODEL`` and ``shendu summary MODEL``.

>>> from shendu.models import get_model, list_models
>>> 'resnet18' in list_models()
True
>>> net = get_model('mlp', num_classes=10, in_channels=1, input_size=28)
>>> [m.out_features for m in net.modules() if hasattr(m, 'out_features')]
[100, 100, 10]
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from shendu import nn

__all__ = ["register_model", "get_model", "list_models"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}

# Options a training script knows about its data; forwarded only to builders that take them.
DATA_OPTIONS = ("num_classes", "in_channels", "small_input", "input_size")


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None):
    """Decorator adding a model builder to the registry under ``name`` (default: the function's name).

    >>> @register_model(name='tiny_mlp_example')
    ... def tiny(num_classes=10):
    ...     return nn.Linear(4, num_classes)
    >>> get_model('tiny_mlp_example', num_classes=3).out_features
    3
    """

    def add(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__
        if key in _REGISTRY and _REGISTRY[key] is not f:
            raise ValueError(f"register_model: a model named {key!r} is already registered")
        _REGISTRY[key] = f
        return f

    return add(fn) if fn is not None else add


def list_models() -> list[str]:
    """The registered names, sorted."""
    return sorted(_REGISTRY)


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the network registered as ``name``.

    ``num_classes``, ``in_channels``, ``small_input`` and ``input_size`` describe the data and are
    passed on only where the builder takes them (so one training command can pass all four to any
    model); any other keyword goes to the builder as is, and an unknown one is a TypeError.
    When ``input_size`` is given and ``small_input`` is not, ``small_input = input_size < 64``.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    builder = _REGISTRY[name]
    params = inspect.signature(builder).parameters
    if "small_input" in params and "small_input" not in kwargs and kwargs.get("input_size") is not None:
        # A training command knows the image size; ImageNet stems would shrink a 28×28 image to nothing.
        kwargs["small_input"] = kwargs["input_size"] < 64
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    args = {k: v for k, v in kwargs.items() if k not in DATA_OPTIONS or k in params or takes_any}
    unknown = [k for k in args if k not in params and not takes_any]
    if unknown:
        raise TypeError(f"get_model({name!r}): unexpected option(s) {unknown}; it takes {list(params)}")
    model = builder(**args)
    # what Trainer(out_dir=...) records in config.json, so `shendu eval` can rebuild the network
    model.zoo_config = {
        "model": name,
        **{k: v for k, v in args.items() if isinstance(v, (int, float, str, bool))},
    }
    return model


def _register_zoo() -> None:
    # Import the builders themselves: in the package, names like ``alexnet`` are the functions, not modules.
    from shendu.models.alexnet import alexnet, alexnet2012
    from shendu.models.googlenet import googlenet
    from shendu.models.lenet import lenet, lenet5
    from shendu.models.mlp import mlp
    from shendu.models.resnet import resnet18, resnet34, resnet50, resnet101, resnet152
    from shendu.models.vgg import vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

    @register_model(name="mlp")
    def mlp_model(
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 28,
        hidden: tuple[int, ...] = (100, 100),
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> nn.Module:
        """The course's MLP: in_channels·input_size² → 100 → 100 → num_classes (784-100-100-10 for MNIST)."""
        return mlp([in_channels * input_size * input_size, *hidden, num_classes], activation, dropout)

    for fn in (
        lenet,
        lenet5,
        alexnet,
        alexnet2012,
        vgg11,
        vgg11_bn,
        vgg13,
        vgg13_bn,
        vgg16,
        vgg16_bn,
        vgg19,
        vgg19_bn,
        googlenet,
        resnet18,
        resnet34,
        resnet50,
        resnet101,
        resnet152,
    ):
        register_model(fn)


_register_zoo()
