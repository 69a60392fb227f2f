"""ResNet (He, Zhang, Ren and Sun, 2015), in torchvision's layout.

Residual blocks: y = relu(F(x) + shortcut(x))."""

from __future__ import annotations

from typing import Sequence

from shendu import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution, padding 1, no bias (the BatchNorm after it has one)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution, no bias: mixes channels, or projects a shortcut to a new width/stride."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a shortcut (ResNet-18/34):

        y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

    shortcut is the identity, or ``downsample`` (1×1 conv + BatchNorm) when the stride or width
    changes. x: (N, inplanes, H, W) -> (N, planes, H/stride, W/stride).
    """

    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 (reduce) → 3×3 (stride here, as torchvision's "ResNet v1.5") → 1×1 (expand ×4), with a shortcut
    (ResNet-50/101/152):

        y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))

    x: (N, inplanes, H, W) -> (N, 4·planes, H/stride, W/stride).
    """

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """conv1 → bn1 → relu → maxpool → layer1 … layer4 → avgpool → flatten → fc, torchvision's names.

    ImageNet stem: conv 64×7×7 stride 2 padding 3, maxpool 3×3 stride 2 (224 → 112 → 56); the four
    stages then have 64, 128, 256, 512 planes (×4 for Bottleneck), the last three starting with stride 2
    (56 → 28 → 14 → 7). ``small_input=True`` (28×28, 32×32 images): conv1 is 3×3 stride 1 padding 1
    and maxpool is the identity, so the stages see 28 → 28 → 14 → 7 → 4 (the usual CIFAR stem);
    keys are unchanged except ``conv1.weight``'s shape.

    ``zero_init_residual=True`` starts each block's last BatchNorm at γ = 0, so every block begins as the
    identity (Goyal et al., 2017). x: (N, in_channels, H, W) -> (N, num_classes).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        zero_init_residual: bool = False,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = 64
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        """``blocks`` blocks; the first may change stride/width and then needs a projected shortcut."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """torchvision's: He-normal (fan_out) convolutions, BatchNorm γ = 1, β = 0."""
        from shendu.nn import init

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.avgpool(x)))


def resnet18(
    num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False, small_input: bool = False
) -> ResNet:
    """ResNet-18: BasicBlock × [2, 2, 2, 2]; 11,689,512 parameters."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, zero_init_residual, small_input)


def resnet34(
    num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False, small_input: bool = False
) -> ResNet:
    """ResNet-34: BasicBlock × [3, 4, 6, 3]; 21,797,672 parameters."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual, small_input)


def resnet50(
    num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False, small_input: bool = False
) -> ResNet:
    """ResNet-50: Bottleneck × [3, 4, 6, 3]; 25,557,032 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual, small_input)


def resnet101(
    num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False, small_input: bool = False
) -> ResNet:
    """ResNet-101: Bottleneck × [3, 4, 23, 3]; 44,549,160 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, zero_init_residual, small_input)


def resnet152(
    num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False, small_input: bool = False
) -> ResNet:
    """ResNet-152: Bottleneck × [3, 8, 36, 3]; 60,192,808 parameters."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, zero_init_residual, small_input)
