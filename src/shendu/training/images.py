"""Turn a photo or scan of a digit into the 28×28 grey image an MNIST model expects.

MNIST's own preprocessing (LeCun et al.): the digit is white on black, its bounding box is scaled
so the longer side is 20 pixels (keeping the aspect ratio, with anti-aliasing), and the 20×20 box
is placed in a 28×28 field so that its centre of mass sits at the centre. :func:`mnist_like` does
the same to any picture; :func:`load_image` reads a file with Pillow and prepares it for a model's
input shape.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class ImageError(ValueError):
    """A file that cannot be read as an image, or that holds no digit."""


def _to_grey(img) -> np.ndarray:
    """Pillow image -> (H, W) float32 in [0, 1]; transparent pixels count as background.

    A transparent background becomes the opposite of the ink: white behind a dark pen, black
    behind a light one, so a digit drawn in white on a transparent canvas is not lost.
    """
    if img.mode in ("RGBA", "LA", "PA", "P"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's "L"
        ink = float((grey * alpha).sum() / alpha.sum()) if alpha.sum() > 0 else 0.0
        background = 0.0 if ink > 0.5 else 1.0
        return grey * alpha + background * (1.0 - alpha)
    if img.mode in ("I", "F") or img.mode.startswith("I;"):
        # 16- and 32-bit grey: scale by the brightest pixel, as Pillow's "L" would clip at 255
        arr = np.asarray(img, dtype=np.float32)
        peak = float(arr.max())
        return arr / peak if peak > 0 else arr
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _resize(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(np.clip(arr * 255.0, 0, 255).astype(np.uint8))
    return np.asarray(im.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0


def mnist_like(grey: np.ndarray, box: int = 20, size: int = 28, threshold: float = 0.25) -> np.ndarray:
    """MNIST-style normalisation of one grey picture ``(H, W)`` in [0, 1] -> ``(size, size)`` float32.

    1. ink must be bright: if the border is mostly light (dark ink on paper), invert;
    2. crop to the bounding box of the ink (pixels above ``threshold`` times the brightest);
    3. scale so the longer side is ``box`` pixels, keeping the aspect ratio;
    4. paste into a ``size × size`` black field so the centre of mass is at the centre.

    >>> img = np.ones((50, 40), np.float32); img[10:40, 15:22] = 0.0   # a dark bar on white
    >>> out = mnist_like(img)
    >>> out.shape, out.dtype, round(float(out.max()), 2), bool(out[0].max() == 0)
    ((28, 28), dtype('float32'), 1.0, True)
    """
    grey = np.asarray(grey, dtype=np.float32)
    if grey.ndim != 2:
        raise ValueError(f"mnist_like: expected a grey image (H, W), got shape {grey.shape}")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 0.5:
        grey, border = 1.0 - grey, 1.0 - border
    grey = np.clip(grey - np.median(border), 0.0, None)  # background to 0
    peak = float(grey.max())
    if peak <= 0.05:
        raise ImageError("the image is blank (no digit found)")
    grey = grey / peak
    rows = np.flatnonzero((grey > threshold).any(axis=1))
    cols = np.flatnonzero((grey > threshold).any(axis=0))
    crop = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    digit = np.clip(_resize(crop, nh, nw), 0.0, 1.0)
    # centre of mass of the scaled digit, placed at (size/2, size/2) as measured on MNIST itself
    total = digit.sum()
    cy = (digit.sum(axis=1) * np.arange(nh)).sum() / total
    cx = (digit.sum(axis=0) * np.arange(nw)).sum() / total
    top = int(round(size / 2 - cy))
    left = int(round(size / 2 - cx))
    top, left = min(max(top, 0), size - nh), min(max(left, 0), size - nw)
    out = np.zeros((size, size), np.float32)
    out[top : top + nh, left : left + nw] = digit
    return out


def load_image(
    path: str | os.PathLike, input_shape: tuple[int, int, int], digit_style: bool = True
) -> np.ndarray:
    """Read ``path`` with Pillow and return a ``(C, H, W)`` float32 image in [0, 1] for a model.

    One channel and ``digit_style``: :func:`mnist_like` (scaled so the box is 20/28 of the side).
    One channel otherwise: grey, resized to ``H × W``. Three channels: RGB, resized.
    Raises :class:`ImageError` for files Pillow cannot read.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    c, h, w = input_shape
    try:
        with Image.open(path) as img:
            img.load()
            if c == 1:
                grey = _to_grey(img)
                if not digit_style:
                    return _resize(grey, h, w)[None]
                if h == w:  # the digit box keeps MNIST's proportion 20/28 of the side
                    return mnist_like(grey, box=max(1, round(20 * h / 28)), size=h)[None]
                return _resize(mnist_like(grey), h, w)[None]
            if c == 3:
                rgb = (
                    np.asarray(img.convert("RGB").resize((w, h), Image.Resampling.BILINEAR), np.float32)
                    / 255.0
                )
                return rgb.transpose(2, 0, 1).copy()
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except IsADirectoryError:
        raise ImageError("is a directory, not an image") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        if path.is_file() and path.stat().st_size == 0:
            raise ImageError("the file is empty") from None
        raise ImageError(f"not a readable image ({type(err).__name__}: {err})") from None
    raise ImageError(f"cannot prepare images for a model with {c} input channels")
