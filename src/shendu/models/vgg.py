"""VGG (Simonyan and Zisserman, 2014): stacks of 3×3 convolutions, torchvision's layout."""

from __future__ import annotations

from typing import Sequence

from shendu import nn

__all__ = [
    "VGG",
    "CFGS",
    "make_features",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]

# Output channels of each 3×3 convolution; "M" is a 2×2 max-pool with stride 2 (torchvision's cfgs).
CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # VGG-11
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # VGG-13
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],  # VGG-16
    "E": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],  # VGG-19
}


def make_features(
    cfg: Sequence[int | str], batch_norm: bool = False, in_channels: int = 3, ceil_mode: bool = False
) -> nn.Sequential:
    """The convolutional stack: for each number v, conv v×3×3 (stride 1, padding 1) [→ BatchNorm] → ReLU;
    for each "M", maxpool 2×2 stride 2. Padding 1 keeps the side, so only the pools halve it.

    ``ceil_mode=True`` rounds pooled sides up (28 → 14 → 7 → 4 → 2 → 1), so five pools fit a 28×28 image.
    """
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
            continue
        layers.append(nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU())
        in_channels = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` → ``avgpool`` → flatten → ``classifier``, with torchvision's names and indices
    (``features.0.weight``, ``classifier.0.weight``, ``classifier.3.weight``, ``classifier.6.weight``).

    ImageNet form: avgpool is AdaptiveAvgPool2d((7, 7)) and the classifier
    Linear 25088→4096 → ReLU → Dropout → Linear 4096→4096 → ReLU → Dropout → Linear 4096→num_classes.
    x: (N, C, H, W) -> (N, num_classes).
    """

    def __init__(
        self,
        features: nn.Sequential,
        num_classes: int = 1000,
        dropout: float = 0.5,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        self.features = features
        side, hidden = (1, 512) if small_input else (7, 4096)
        self.avgpool = nn.AdaptiveAvgPool2d((side, side))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(512 * side * side, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self._init_weights(small_input)

    def _init_weights(self, small_input: bool) -> None:
        """ImageNet form: torchvision's — He-normal (fan_out) convolutions, N(0, 0.01²) Linear weights,
        zero biases. Small-input form: He-normal (fan_in) everywhere, which keeps the activations' variance
        through every layer (He et al., 2015). torchvision's N(0, 0.01²) suits 4096-wide layers but
        shrinks a 512-wide classifier's signal ~4× per layer, and the plain (no BatchNorm) VGG then
        sits at chance for epochs on MNIST."""
        from shendu.nn import init

        mode = "fan_in" if small_input else "fan_out"
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                if small_input:
                    init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                else:
                    init.normal_(m.weight, 0.0, 0.01)
                init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def _vgg(
    cfg: str, batch_norm: bool, num_classes: int, in_channels: int, dropout: float, small_input: bool
) -> VGG:
    features = make_features(CFGS[cfg], batch_norm, in_channels, ceil_mode=small_input)
    return VGG(features, num_classes, dropout, small_input)


_SMALL = """
    ``small_input=True`` (28×28 and 32×32 images): the same ``features`` (keys unchanged) with the
    pools rounding up, so 28 → 14 → 7 → 4 → 2 → 1 (32 → 16 → 8 → 4 → 2 → 1); avgpool to 1×1 and a
    512→512→512→num_classes classifier (same indices, smaller shapes), He-normal (fan_in) initialisation."""


def vgg11(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-11 (configuration A): 8 convolutions + 3 fully connected layers; 132,863,336 parameters."""
    return _vgg("A", False, num_classes, in_channels, dropout, small_input)


def vgg11_bn(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-11 with BatchNorm after each convolution; 132,868,840 parameters."""
    return _vgg("A", True, num_classes, in_channels, dropout, small_input)


def vgg13(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-13 (configuration B); 133,047,848 parameters."""
    return _vgg("B", False, num_classes, in_channels, dropout, small_input)


def vgg13_bn(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-13 with BatchNorm; 133,053,736 parameters."""
    return _vgg("B", True, num_classes, in_channels, dropout, small_input)


def vgg16(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-16 (configuration D); 138,357,544 parameters."""
    return _vgg("D", False, num_classes, in_channels, dropout, small_input)


def vgg16_bn(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-16 with BatchNorm; 138,365,992 parameters."""
    return _vgg("D", True, num_classes, in_channels, dropout, small_input)


def vgg19(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-19 (configuration E); 143,667,240 parameters."""
    return _vgg("E", False, num_classes, in_channels, dropout, small_input)


def vgg19_bn(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> VGG:
    """VGG-19 with BatchNorm; 143,678,248 parameters."""
    return _vgg("E", True, num_classes, in_channels, dropout, small_input)


for _fn in (vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn):
    _fn.__doc__ = (_fn.__doc__ or "") + "\n" + _SMALL
