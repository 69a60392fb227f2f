"""``make_grid`` and ``save_image``, as ``torchvision.utils``: tile a batch of images into one.

>>> import shendu
>>> grid = make_grid(shendu.zeros(5, 1, 28, 28), nrow=4, padding=2)
>>> grid.shape  # 1 channel is repeated to 3; 2 rows of 4 tiles of 28+2 pixels, plus 2
(3, 62, 122)
"""

from __future__ import annotations

import math
import os
from typing import Any, BinaryIO, Sequence

import numpy as np

from shendu.tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _as_batch(tensor: Tensor | Sequence[Tensor]) -> np.ndarray:
    """A (B, C, H, W) float array; grey images (C == 1) become 3 identical channels."""
    if isinstance(tensor, (list, tuple)):
        arr = np.stack([np.asarray(t) for t in tensor])
    elif isinstance(tensor, (Tensor, np.ndarray)):
        arr = np.asarray(tensor)
    else:
        raise TypeError(f"make_grid: expected a Tensor or a list of Tensors, got {type(tensor).__name__}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"make_grid: expected (B, C, H, W), (C, H, W) or (H, W), got shape {arr.shape}")
    if arr.shape[1] == 1:
        arr = np.concatenate([arr, arr, arr], axis=1)
    return arr


def _rescale(arr: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    low, high = value_range if value_range is not None else (float(arr.min()), float(arr.max()))
    return (np.clip(arr, low, high) - low) / max(high - low, 1e-5)


def make_grid(
    tensor: Tensor | Sequence[Tensor],
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Tile ``B`` images into a ``(C, rows·(H+p)+p, nrow·(W+p)+p)`` grid, ``nrow`` per row.

    ``normalize`` maps ``value_range`` (default: the min and max, of each image with
    ``scale_each``) to [0, 1]. A single image is returned as it is (after the grey→RGB step).
    """
    arr = _as_batch(tensor).copy()
    if normalize:
        if scale_each:
            arr = np.stack([_rescale(a, value_range) for a in arr]).astype(arr.dtype)
        else:
            arr = _rescale(arr, value_range).astype(arr.dtype)
    if arr.shape[0] == 1:
        return Tensor._wrap(arr[0])
    nmaps, c, h, w = arr.shape
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(nmaps / xmaps))
    height, width = h + padding, w + padding
    grid = np.full((c, height * ymaps + padding, width * xmaps + padding), pad_value, dtype=arr.dtype)
    for k in range(nmaps):  # a loop over tiles, not pixels
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding : (y + 1) * height, x * width + padding : (x + 1) * width] = arr[k]
    return Tensor._wrap(grid)


def save_image(
    tensor: Tensor | Sequence[Tensor],
    fp: str | os.PathLike | BinaryIO,
    format: str | None = None,
    **kwargs: Any,
) -> None:
    """Save ``make_grid(tensor, **kwargs)`` as an image file (values in [0, 1] -> 0..255)."""
    from PIL import Image

    grid = np.asarray(make_grid(tensor, **kwargs))
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(pixels).save(fp, format=format)
