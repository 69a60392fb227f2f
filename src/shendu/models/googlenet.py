"""GoogLeNet (Szegedy et al., 2014, "Going deeper with convolutions").

Inception modules, in torchvision's layout."""

from __future__ import annotations

from typing import NamedTuple

import shendu
from shendu import nn
from shendu.nn import functional as F

__all__ = ["BasicConv2d", "Inception", "InceptionAux", "GoogLeNet", "GoogLeNetOutputs", "googlenet"]


class GoogLeNetOutputs(NamedTuple):
    """What GoogLeNet returns in training mode with auxiliary classifiers (torchvision's order)."""

    logits: shendu.Tensor
    aux_logits2: shendu.Tensor | None
    aux_logits1: shendu.Tensor | None


class BasicConv2d(nn.Module):
    """conv (no bias) → BatchNorm(eps=0.001) → ReLU.  x: (N, C_in, H, W) -> (N, C_out, H', W')."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches, concatenated along the channels:

        branch1: 1×1 conv (ch1x1)
        branch2: 1×1 conv (ch3x3red) → 3×3 conv (ch3x3)
        branch3: 1×1 conv (ch5x5red) → "5×5" conv (ch5x5)
        branch4: 3×3 max-pool stride 1 → 1×1 conv (pool_proj)

    The 1×1 convolutions before the wide filters cut the channels first (the paper's dimension
    reduction). Like torchvision — whose pretrained weights this layout must load — branch3 uses a
    3×3 kernel where the paper has 5×5 (a known slip kept in torchvision for compatibility), which
    fixes the parameter counts. x: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),  # 3×3, as torchvision (see above)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        return shendu.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on an intermediate map (training only; its loss is added with weight 0.3):

    adaptive avgpool 4×4 → 1×1 conv 128 → flatten (2048) → Linear 1024 → ReLU → Dropout → Linear num_classes
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(shendu.flatten(x, 1)))
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1), torchvision's names: conv1, maxpool1, conv2, conv3, maxpool2,
    inception3a/3b, maxpool3, inception4a–4e, maxpool4, inception5a/5b, [aux1, aux2], avgpool, dropout, fc.

    Maps for 224×224 input: 112 (conv1) → 56 → 56 → 28 (inception 3) → 14 (inception 4) → 7 (inception 5)
    → global average → dropout 0.2 → Linear 1024 → num_classes.
    In training mode with ``aux_logits`` the forward returns ``GoogLeNetOutputs(logits, aux_logits2,
    aux_logits1)``; otherwise the logits alone.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = False,
        transform_input: bool = False,
        in_channels: int = 3,
        small_input: bool = False,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
    ) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError(
                f"googlenet: transform_input re-normalises 3 RGB channels, got in_channels={in_channels}"
            )
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        if small_input:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=3, stride=1, padding=1)
            self.maxpool1: nn.Module = nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:
            self.aux1: InceptionAux | None = InceptionAux(512, num_classes, dropout_aux)
            self.aux2: InceptionAux | None = InceptionAux(528, num_classes, dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's: weights N(0, 0.01²) truncated to [−2, 2], BatchNorm γ = 1, β = 0;
        Linear biases keep their default."""
        from shendu.nn import init

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2.0, b=2.0)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)

    def _transform_input(self, x):
        """Turn ImageNet-normalised input into the (x − 0.5)/0.5 scaling Google's weights were trained on."""
        if not self.transform_input:
            return x
        mean = shendu.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
        std = shendu.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
        return (x * std + mean - 0.5) / 0.5

    def forward(self, x):
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        want_aux = self.aux_logits and self.training
        aux1 = self.aux1(x) if want_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if want_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(shendu.flatten(self.avgpool(x), 1)))
        if want_aux:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(
    num_classes: int = 1000,
    aux_logits: bool = False,
    transform_input: bool = False,
    in_channels: int = 3,
    small_input: bool = False,
) -> GoogLeNet:
    """GoogLeNet: 6,624,904 parameters (13,004,888 with the two auxiliary classifiers).

    ``small_input=True`` (28×28, 32×32 images): conv1 is 3×3 stride 1 and maxpool1 the identity,
    so the Inception stages see 16 → 8 → 4 (32×32 input) or 14 → 7 → 4 (28×28); keys unchanged
    except ``conv1.conv.weight``'s shape.
    """
    return GoogLeNet(num_classes, aux_logits, transform_input, in_channels, small_input)
