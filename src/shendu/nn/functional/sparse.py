"""Embedding lookup: row ``i`` of a weight table for each integer index ``i``."""

from __future__ import annotations

import numpy as np

from shendu.autograd.function import Function
from shendu.autograd.grad_mode import no_grad
from shendu.backend import get_array_module
from shendu.tensor import Tensor, array_of

__all__ = ["embedding", "one_hot"]


class Embedding(Function):
    """y[..., :] = W[idx[...], :].  idx: (*) integers, W: (num, dim) -> y: (*, dim).

    ∂L/∂W[k] = Σ over positions with idx = k of G (scatter-add), 0 for ``padding_idx``; with
    ``scale_grad_by_freq`` each row's sum is divided by how often k occurs in ``idx``.
    """

    def forward(self, w, idx, padding_idx=None, scale_grad_by_freq=False):
        self.save(idx)
        self.num = w.shape[0]
        self.padding_idx, self.scale = padding_idx, scale_grad_by_freq
        return w[idx]

    def backward(self, gy):
        (idx,) = self.saved
        flat_idx = idx.reshape(-1)
        g = gy.reshape(flat_idx.size, gy.shape[-1])
        if self.scale:
            counts = np.bincount(flat_idx, minlength=self.num)
            g = g / counts[flat_idx][:, None].astype(g.dtype)
        gw = np.zeros_like(gy, shape=(self.num, gy.shape[-1]))  # on gy's device
        get_array_module(gw).add.at(gw, flat_idx, g)  # np.add.at, or CuPy's on a GPU
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw, None


def _renorm_(weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Shrink, in place and outside the graph, the looked-up rows whose norm exceeds ``max_norm``."""
    w = weight._data
    rows = np.unique(idx)
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        with no_grad():
            new = w.copy()
            new[rows[big]] *= scale[:, None]
            weight.copy_(Tensor._wrap(new))


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up the rows of ``weight`` (num_embeddings, dim) at the integer indices ``input``.

    As ``torch.nn.functional.embedding``: ``padding_idx``'s row gets no gradient; ``max_norm``
    first rescales, in place, each looked-up row whose ``norm_type``-norm exceeds it.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> w = shendu.arange(6.0).reshape(3, 2)
    >>> F.embedding(shendu.tensor([[2, 0]]), w).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """
    idx = array_of(input)  # a GPU's indices stay there
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: expected integer indices (Long or Int), got dtype {idx.dtype}; use input.long()"
        )
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}"
        )
    num = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(
            f"embedding: index out of range in self: indices must lie in [0, {num}), got "
            f"[{idx.min()}, {idx.max()}]"
        )
    if sparse:
        raise ValueError("embedding: sparse gradients are not supported by shendu (use sparse=False)")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx must be within [-{num}, {num}), got {padding_idx}")
        padding_idx %= num
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return Embedding.apply(
        weight,
        Tensor._wrap(idx.astype(np.int64, copy=False)),
        padding_idx=padding_idx,
        scale_grad_by_freq=bool(scale_grad_by_freq),
    )


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (*) -> int64 one-hot rows (*, num_classes), as ``F.one_hot``; with
    ``num_classes=-1`` the number of classes is ``max + 1``.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.one_hot(shendu.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    idx = array_of(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors (int64), got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and idx.max() >= num_classes:
        raise ValueError(
            f"one_hot: class values must be smaller than num_classes={num_classes}, got {int(idx.max())}"
        )
    classes = get_array_module(idx).arange(num_classes)
    return Tensor._wrap((idx[..., None] == classes).astype(np.int64))
