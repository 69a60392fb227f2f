"""LeNet: the course's LeNet (Caffe's MNIST network) and LeCun et al.'s LeNet-5 (1998)."""

from __future__ import annotations

from shendu import nn

__all__ = ["LeNet", "lenet", "lenet5"]


def _pooled(size: int, kernel: int) -> int:
    """Side after a valid k×k convolution then 2×2 pooling with stride 2: ⌊(size − k + 1) / 2⌋."""
    return (size - kernel + 1) // 2


class LeNet(nn.Module):
    """A convolutional ``features`` stack, a flatten and a fully connected ``classifier``.

    x: (N, C, H, W) -> features (N, C', H', W') -> flatten (N, C'·H'·W') -> classifier (N, num_classes).
    """

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.flatten = nn.Flatten()
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def lenet(num_classes: int = 10, in_channels: int = 1, input_size: int = 28) -> LeNet:
    """The course's LeNet:

        conv 20×5×5 → maxpool 2 → conv 50×5×5 → maxpool 2 → flatten → Linear 500 → ReLU → Linear 10

    For 28×28 input the maps go 28 → 24 → 12 → 8 → 4, so the first Linear takes 50·4·4 = 800
    inputs; for 32×32 input, 32 → 28 → 14 → 10 → 5 and it takes 50·5·5 = 1250. As in the course
    (and Caffe's example it comes from) the convolutions have no activation of their own.

    >>> sum(p.numel() for p in lenet().parameters())   # 520 + 25050 + 400500 + 5010
    431080
    """
    side = _pooled(_pooled(input_size, 5), 5)
    if side < 1:
        raise ValueError(
            f"lenet: input_size must be at least 16 for two 5×5 convolutions and pools, got {input_size}"
        )
    features = nn.Sequential(
        nn.Conv2d(in_channels, 20, kernel_size=5),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(20, 50, kernel_size=5),
        nn.MaxPool2d(kernel_size=2, stride=2),
    )
    classifier = nn.Sequential(nn.Linear(50 * side * side, 500), nn.ReLU(), nn.Linear(500, num_classes))
    return LeNet(features, classifier)


def lenet5(num_classes: int = 10, in_channels: int = 1, input_size: int = 32) -> LeNet:
    """LeNet-5 of LeCun, Bottou, Bengio and Haffner (1998), for 32×32 input:

        C1 conv 6×5×5 → tanh → S2 avgpool 2 → C3 conv 16×5×5 → tanh → S4 avgpool 2
        → C5 conv 120×5×5 → tanh → flatten → F6 Linear 84 → tanh → output Linear num_classes

    Maps: 32 → 28 → 14 → 10 → 5 → 1. MNIST's 28×28 digits are what the paper padded to 32×32:
    with ``input_size=28`` the first convolution pads by 2 on each side, which gives the same maps.
    Simplifications of the paper, as every modern LeNet-5: plain tanh (the paper used
    1.7159·tanh(2a/3)), plain average pooling (the paper's S-layers had a trainable weight and
    bias per map), C3 connected to all six S2 maps (the paper used a sparse table), and a Linear
    output layer in place of the Euclidean RBF units. Parameters: 61,706 for 10 classes.

    >>> sum(p.numel() for p in lenet5().parameters())
    61706
    """
    if input_size > 32 or (32 - input_size) % 2:
        raise ValueError(
            f"lenet5: input_size must be 32, or less by an even number (28 for MNIST), got {input_size}"
        )
    pad = (32 - input_size) // 2
    features = nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=pad),  # C1
        nn.Tanh(),
        nn.AvgPool2d(kernel_size=2, stride=2),  # S2
        nn.Conv2d(6, 16, kernel_size=5),  # C3
        nn.Tanh(),
        nn.AvgPool2d(kernel_size=2, stride=2),  # S4
        nn.Conv2d(16, 120, kernel_size=5),  # C5: a 5×5 convolution over a 5×5 map
        nn.Tanh(),
    )
    classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes))  # F6, output
    return LeNet(features, classifier)
