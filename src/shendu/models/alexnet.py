"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012): torchvision's layout and the paper's network."""

from __future__ import annotations

from shendu import nn

__all__ = ["AlexNet", "alexnet", "alexnet2012"]


class AlexNet(nn.Module):
    """``features`` (convolutions) → ``avgpool`` → flatten → ``classifier`` (fully connected).

    The attribute names and the indices inside ``features`` and ``classifier`` are torchvision's,
    so ``state_dict()`` keys read ``features.0.weight``, ``classifier.1.weight``, … and
    torchvision's weights load with ``load_state_dict``.
    x: (N, C, H, W) -> (N, num_classes).
    """

    def __init__(self, features: nn.Sequential, avgpool: nn.Module, classifier: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.avgpool = avgpool
        self.flatten = nn.Flatten()
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def _classifier(in_features: int, hidden: int, num_classes: int, dropout: float) -> nn.Sequential:
    # Indices 1, 4, 6 hold the Linear layers, as in torchvision.
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def alexnet(
    num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, small_input: bool = False
) -> AlexNet:
    """AlexNet as torchvision builds it ("One weird trick", Krizhevsky 2014: 64-192-384-256-256 maps).

    ImageNet form (224×224 input, 61,100,840 parameters):
    conv 64×11×11/4 pad 2 → ReLU → maxpool 3/2 → conv 192×5×5 pad 2 → ReLU → maxpool 3/2 →
    conv 384×3×3 → ReLU → conv 256×3×3 → ReLU → conv 256×3×3 → ReLU → maxpool 3/2 →
    adaptive avgpool 6×6 → Dropout → Linear 9216→4096 → ReLU → Dropout → Linear 4096→4096 → ReLU → Linear.

    ``small_input=True`` (28×28 or 32×32 images): the first convolution is 5×5 with stride 1 and
    padding 2 (an 11×11/4 filter would shrink a 28×28 digit to 6×6 at once), the pooled map
    (2×2 for 28, 3×3 for 32) is averaged to 1×1, and the classifier is 256→512→512→num_classes.
    The layer indices stay the same, so the key names do too (shapes differ).
    """
    if small_input:
        conv1 = nn.Conv2d(in_channels, 64, kernel_size=5, stride=1, padding=2)
        avgpool = nn.AdaptiveAvgPool2d((1, 1))
        flat, hidden = 256, 512
    else:
        conv1 = nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2)
        avgpool, flat, hidden = nn.AdaptiveAvgPool2d((6, 6)), 256 * 6 * 6, 4096
    features = nn.Sequential(
        conv1,
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )
    return AlexNet(features, avgpool, _classifier(flat, hidden, num_classes, dropout))


def alexnet2012(
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.5,
    small_input: bool = False,
    two_gpu: bool = False,
) -> AlexNet:
    """The network of the 2012 paper, as the course describes it.

    Input 224×224×3. The paper's arithmetic (55×55 maps after the first layer) needs 227×227:
    (227 − 11)/4 + 1 = 55. Here the first convolution pads by 2, so a 224×224 image gives
    ⌊(224 + 4 − 11)/4⌋ + 1 = 55 as well, and every later map is the paper's:
    55 → 27 → 27 → 13 → 13 → 13 → 13 → 6, so 256·6·6 = 9216 features reach the classifier.
    (A 227×227 image gives 56 here, and the same 27 → … → 6 after the first pool.)

        conv 96×11×11/4 → ReLU → LRN → maxpool 3/2 (overlapping)
        → conv 256×5×5 pad 2 → ReLU → LRN → maxpool 3/2
        → conv 384×3×3 → ReLU → conv 384×3×3 → ReLU → conv 256×3×3 → ReLU → maxpool 3/2
        → Dropout → Linear 9216→4096 → ReLU → Dropout → Linear 4096→4096 → ReLU → Linear 4096→1000

    Local response normalisation with the paper's k = 2, n = 5, α = 1e-4, β = 0.75:
    b = a / (k + α Σ a²)^β over the 5 neighbouring maps. ``nn.LocalResponseNorm`` follows
    PyTorch, which divides α by n, so it is given alpha = n·α = 5e-4 to compute the paper's formula.

    Weights are drawn as in the paper: N(0, 0.01²); biases 1 in the second, fourth and fifth
    convolutions and the hidden fully connected layers (to give ReLUs positive input early), 0 elsewhere.

    One stream, 62,378,344 parameters. ``two_gpu=True`` splits the second, fourth and fifth
    convolutions into two groups, as the paper's two GPUs did (each half sees only its own
    half of the maps): 60,965,224 parameters, the paper's "60 million".

    ``small_input=True``: as in :func:`alexnet`, a 5×5 stride-1 first convolution with 64 maps, average
    pooling to 1×1 and a 256→512→512 classifier, for 28×28 and 32×32 images.
    """
    from shendu.nn import init

    groups = 2 if two_gpu else 1
    avgpool: nn.Module
    if small_input:
        conv1 = nn.Conv2d(in_channels, 96, kernel_size=5, stride=1, padding=2)
        avgpool, flat, hidden = nn.AdaptiveAvgPool2d((1, 1)), 256, 512
    else:
        conv1 = nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=2)
        avgpool = nn.Identity()  # 6×6 already
        flat, hidden = 256 * 6 * 6, 4096
    features = nn.Sequential(
        conv1,
        nn.ReLU(),
        nn.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=groups),
        nn.ReLU(),
        nn.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=groups),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=groups),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )
    net = AlexNet(features, avgpool, _classifier(flat, hidden, num_classes, dropout))
    ones_bias = {
        id(features[4]),
        id(features[10]),
        id(features[12]),
        id(net.classifier[1]),
        id(net.classifier[4]),
    }
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            init.normal_(m.weight, 0.0, 0.01)
            init.constant_(m.bias, 1.0 if id(m) in ones_bias else 0.0)
    return net
