"""The multilayer perceptron (多层感知机): fully connected layers with a nonlinearity between them."""

from __future__ import annotations

from typing import Sequence

from shendu import nn

__all__ = ["mlp", "ACTIVATIONS"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "softplus": nn.Softplus,
}


def mlp(sizes: Sequence[int], activation: str = "relu", dropout: float = 0.0) -> nn.Sequential:
    """A Sequential ``Flatten → Linear → act [→ Dropout] → … → Linear`` with layer widths ``sizes``.

    ``sizes = [784, 100, 100, 10]`` makes two hidden layers of 100 units for 28×28 images and
    ten classes: x: (N, 1, 28, 28) or (N, 784) -> (N, 10) logits (no softmax: the loss applies it).
    The Flatten first lets the same network take images; the last layer has no activation.

    >>> net = mlp([784, 100, 100, 10])
    >>> sum(p.numel() for p in net.parameters())   # 784·100+100 + 100·100+100 + 100·10+10
    89610
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(
            f"mlp: sizes must list at least an input and an output width, all positive, got {sizes}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"mlp: dropout must be in [0, 1), got {dropout}")
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
