"""Batched image transforms: each works on a whole batch ``x: (B, C, H, W)`` float array at once.

The DataLoader applies a transform to every batch of images after indexing, so one call handles
``B`` images with array operations (no loop over samples). Random transforms draw from the
``generator`` they are given (the loader passes its per-epoch generator, which makes augmentation
reproducible for a seed), else from shendu's global generator.

>>> import numpy as np
>>> t = Compose([Pad(2), Normalize(0.5, 0.5)])
>>> t(np.zeros((4, 1, 28, 28), np.float32)).shape
(4, 1, 32, 32)
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from shendu import random as _random
from shendu.tensor import Tensor


def _check_batch(x: Any, who: str) -> np.ndarray:
    """The ndarray of ``x``, which must be a (B, C, H, W) float batch."""
    arr = x._data if isinstance(x, Tensor) else x
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{who}: expected a NumPy array or shendu Tensor, got {type(x).__name__}")
    if arr.ndim != 4:
        raise ValueError(f"{who}: expected a batch of images shaped (B, C, H, W), got shape {arr.shape}")
    if arr.dtype.kind != "f":
        raise ValueError(f"{who}: expected a float array (images scaled to [0, 1]), got dtype {arr.dtype}")
    return arr


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return generator if generator is not None else _random.default_generator()


def _pair(v: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{what} must be an int or a pair (h, w), got {v}")
    return v  # type: ignore[return-value]


class Transform:
    """Base class: ``t(x, generator=None)`` maps a batch ``(B, C, H, W)`` to a new batch."""

    def __call__(self, x: np.ndarray, generator: np.random.Generator | None = None) -> np.ndarray:
        arr = _check_batch(x, type(self).__name__)
        out = self.apply(arr, generator)
        return Tensor._wrap(out) if isinstance(x, Tensor) else out

    def apply(self, x: np.ndarray, generator: np.random.Generator | None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        # arrays as lists: the repr lands in config.json, where "array([0.13])" reads badly
        fields = ", ".join(
            f"{k}={v.tolist() if isinstance(v, np.ndarray) else v!r}"
            for k, v in vars(self).items()
            if not k.startswith("_")
        )
        return f"{type(self).__name__}({fields})"


def call_transform(t: Callable, x: Any, generator: np.random.Generator | None) -> Any:
    """Call ``t`` on ``x``, passing ``generator`` when ``t`` is a shendu :class:`Transform`."""
    return t(x, generator=generator) if isinstance(t, Transform) else t(x)


class Compose(Transform):
    """Apply ``transforms`` one after another (plain callables ``f(x)`` are allowed too)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any, generator: np.random.Generator | None = None) -> Any:
        for t in self.transforms:
            x = call_transform(t, x, generator)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class Normalize(Transform):
    """``y[:, c] = (x[:, c] - mean[c]) / std[c]`` per channel (scalars apply to every channel).

    MNIST's usual values are ``Normalize(0.1307, 0.3081)``.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-d sequences (one per channel)")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {self.std.tolist()}")

    def apply(self, x, generator):
        c = x.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(f"Normalize: {name} has {v.size} values but the images have {c} channels")
        mean = self.mean.astype(x.dtype).reshape(1, -1, 1, 1)
        std = self.std.astype(x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    @staticmethod
    def stats(images: np.ndarray) -> dict[str, list[float]]:
        """Per-channel mean and standard deviation of ``images: (N, C, H, W)`` (rounded to 6 digits),
        as ``Normalize(**Normalize.stats(train_images))`` takes them."""
        x = np.asarray(images).astype(np.float64, copy=False)
        return {
            "mean": x.mean(axis=(0, 2, 3)).round(6).tolist(),
            "std": x.std(axis=(0, 2, 3)).round(6).tolist(),
        }


class Pad(Transform):
    """Pad the borders with ``fill``: ``padding`` is an int (all sides), ``(left/right, top/bottom)``
    or ``(left, top, right, bottom)``, as torchvision. ``Pad(2)`` turns 28×28 digits into 32×32."""

    def __init__(self, padding: int | Sequence[int], fill: float = 0.0) -> None:
        p = (padding,) if isinstance(padding, (int, np.integer)) else tuple(padding)
        if len(p) == 1:
            p = p * 4
        elif len(p) == 2:
            p = (p[0], p[1], p[0], p[1])
        if len(p) != 4 or any(int(v) < 0 for v in p):
            raise ValueError(f"Pad: padding must be a non-negative int, 2 or 4 ints, got {padding!r}")
        self.padding = tuple(int(v) for v in p)  # (left, top, right, bottom)
        self.fill = float(fill)

    def apply(self, x, generator):
        left, top, right, bottom = self.padding
        return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=self.fill)


def _crop_at(x: np.ndarray, top: np.ndarray, left: np.ndarray, h: int, w: int) -> np.ndarray:
    """Per-sample crops: ``out[b] = x[b, :, top[b]:top[b]+h, left[b]:left[b]+w]``, one gather."""
    rows = top[:, None] + np.arange(h)  # (B, h)
    cols = left[:, None] + np.arange(w)  # (B, w)
    b = np.arange(x.shape[0])[:, None, None, None]
    c = np.arange(x.shape[1])[None, :, None, None]
    return x[b, c, rows[:, None, :, None], cols[:, None, None, :]]


class RandomCrop(Transform):
    """Crop a random ``size`` window from each image (after zero-padding ``padding`` on each side).

    ``RandomCrop(28, padding=2)`` shifts each digit by up to 2 pixels."""

    def __init__(self, size: int | Sequence[int], padding: int = 0, fill: float = 0.0) -> None:
        self.size = _pair(size, "RandomCrop size")
        if int(padding) < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = int(padding)
        self.fill = float(fill)

    def apply(self, x, generator):
        if self.padding:
            p = self.padding
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        h, w = self.size
        H, W = x.shape[2:]
        if h > H or w > W:
            raise ValueError(f"RandomCrop: crop size ({h}, {w}) is larger than the (padded) image ({H}, {W})")
        rng = _rng(generator)
        top = rng.integers(0, H - h + 1, size=x.shape[0])
        left = rng.integers(0, W - w + 1, size=x.shape[0])
        return _crop_at(x, top, left, h, w)


class RandomShift(Transform):
    """Shift each image by whole pixels ``(dy, dx)``, each drawn from ``[-max_shift, max_shift]``;
    uncovered pixels get ``fill``. The image size is unchanged."""

    def __init__(self, max_shift: int, fill: float = 0.0) -> None:
        if int(max_shift) < 0:
            raise ValueError(f"RandomShift: max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)
        self.fill = float(fill)

    def apply(self, x, generator):
        s = self.max_shift
        if s == 0:
            return x.copy()
        rng = _rng(generator)
        xp = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)), constant_values=self.fill)
        # a window starting at s - dy shows the image moved down by dy
        top = s - rng.integers(-s, s + 1, size=x.shape[0])
        left = s - rng.integers(-s, s + 1, size=x.shape[0])
        return _crop_at(xp, top, left, x.shape[2], x.shape[3])


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p}")
        self.p = float(p)

    def apply(self, x, generator):
        flip = _rng(generator).random(x.shape[0]) < self.p
        return np.where(flip[:, None, None, None], x[..., ::-1], x)


def affine_grid_sample(x: np.ndarray, matrices: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Warp each image by its own 2×3 affine map with bilinear interpolation.

    ``matrices: (B, 2, 3)`` maps an OUTPUT pixel ``(row, col, 1)`` (relative to the image centre)
    to the INPUT position it samples; neighbours outside the image read ``fill``.
    x: (B, C, H, W) -> (B, C, H, W).
    """
    B, C, H, W = x.shape
    cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
    rr, cc = np.meshgrid(np.arange(H) - cy, np.arange(W) - cx, indexing="ij")
    grid = np.stack([rr.ravel(), cc.ravel(), np.ones(H * W)]).astype(np.float32)  # (3, H*W)
    src = matrices.astype(np.float32) @ grid  # (B, 2, H*W)
    sy, sx = src[:, 0] + np.float32(cy), src[:, 1] + np.float32(cx)
    y0, x0 = np.floor(sy), np.floor(sx)
    wy, wx = (sy - y0).astype(x.dtype), (sx - x0).astype(x.dtype)
    # a one-pixel border of `fill` lets every neighbour be read without masks: coordinates are
    # clipped into [-1, H] x [-1, W], and anything outside the image lands on the border
    Hp, Wp = H + 2, W + 2
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=fill).reshape(B * C, Hp * Wp)
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    y1, x1 = np.clip(y0 + 1, -1, H) + 1, np.clip(x0 + 1, -1, W) + 1  # +1: index into the padded image
    y0, x0 = np.clip(y0, -1, H) + 1, np.clip(x0, -1, W) + 1
    flat = padded.ravel()
    base = (np.arange(B * C) * (Hp * Wp)).reshape(B, C, 1)

    def gather(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return flat[base + (yy * Wp + xx)[:, None, :]]  # (B, C, H*W)

    top = gather(y0, x0) * (1 - wx)[:, None] + gather(y0, x1) * wx[:, None]
    bottom = gather(y1, x0) * (1 - wx)[:, None] + gather(y1, x1) * wx[:, None]
    out = top * (1 - wy)[:, None] + bottom * wy[:, None]
    return out.reshape(B, C, H, W)


class RandomAffine(Transform):
    """Random rotation, translation and scaling of each image about its centre (bilinear).

    ``degrees``: angle range, a number ``d`` meaning ``(-d, d)``; positive turns counter-clockwise
    as displayed. ``translate=(fx, fy)``: horizontal shift drawn from ``[-fx·W, fx·W]``, vertical
    from ``[-fy·H, fy·H]``. ``scale=(lo, hi)``: zoom factor range. ``RandomAffine(10, (0.1, 0.1))``
    gives the small shifts and rotations that help on MNIST.
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        fill: float = 0.0,
    ) -> None:
        if isinstance(degrees, (int, float, np.integer, np.floating)):
            if degrees < 0:
                raise ValueError(f"RandomAffine: degrees must be >= 0 when a single number, got {degrees}")
            degrees = (-float(degrees), float(degrees))
        self.degrees = tuple(float(d) for d in degrees)
        if len(self.degrees) != 2:
            raise ValueError(f"RandomAffine: degrees must be a number or (min, max), got {degrees!r}")
        if translate is not None:
            translate = tuple(float(t) for t in translate)
            if len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"RandomAffine: translate must be (fx, fy) in [0, 1], got {translate!r}")
        self.translate = translate
        if scale is not None:
            scale = tuple(float(s) for s in scale)
            if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
                raise ValueError(f"RandomAffine: scale must be (lo, hi) with 0 < lo <= hi, got {scale!r}")
        self.scale = scale
        self.fill = float(fill)

    def apply(self, x, generator):
        B, _, H, W = x.shape
        rng = _rng(generator)
        theta = np.deg2rad(rng.uniform(*self.degrees, size=B))
        if self.translate is not None:
            tx = rng.uniform(-self.translate[0] * W, self.translate[0] * W, size=B)
            ty = rng.uniform(-self.translate[1] * H, self.translate[1] * H, size=B)
        else:
            tx = ty = np.zeros(B)
        s = rng.uniform(*self.scale, size=B) if self.scale is not None else np.ones(B)
        # output (r, c) samples input R^-1 ((r, c) - t) / s; with rows pointing down, undoing a
        # counter-clockwise turn by theta is [[cos, sin], [-sin, cos]] in (row, col) coordinates
        cos, sin = np.cos(theta) / s, np.sin(theta) / s
        m = np.empty((B, 2, 3))
        m[:, 0, 0], m[:, 0, 1] = cos, sin
        m[:, 1, 0], m[:, 1, 1] = -sin, cos
        m[:, 0, 2] = -(cos * ty + sin * tx)
        m[:, 1, 2] = -(-sin * ty + cos * tx)
        return affine_grid_sample(x, m, self.fill)


__all__ = [
    "Transform",
    "Compose",
    "Normalize",
    "Pad",
    "RandomCrop",
    "RandomShift",
    "RandomHorizontalFlip",
    "RandomAffine",
    "affine_grid_sample",
    "call_transform",
]
