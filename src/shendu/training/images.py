"""Turn a photo or scan of a digit into the 28×28 grey image an MNIST model expects.

MNIST's own preprocessing (LeCun et al.): the digit is white on black, its bounding box is scaled
so the longer side is 20 pixels (keeping the aspect ratio, with anti-aliasing), and the 20×20 box
is placed in a 28×28 field so that its centre of mass sits at the centre. :func:`mnist_like` does
the same to any picture.

:func:`read_image` is the one way shendu reads an image file (``shendu predict``, the web demo):
it takes only regular files (a FIFO or device would hang), refuses images above ``max_pixels``
before decoding them (default 50 megapixels), decodes large JPEGs at a reduced scale (Pillow's
``draft``) and shrinks other large images with ``reduce`` before any float conversion, reads
8-bit, 16-bit and floating-point pixels at their true scale (NaN pixels count as 0), and raises
:class:`ImageError` — and nothing else — for any file it cannot use.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np

#: default limit of :func:`read_image`, in pixels (width × height)
MAX_PIXELS = 50_000_000


class ImageError(ValueError):
    """A file that cannot be used as an image (unreadable, too large, not a regular file, blank)."""


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


def _open_regular(path: Path):
    """A binary file object for ``path``, only if it is a regular file (opened without blocking)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except OSError as err:
        raise ImageError(f"cannot open it ({err.strerror or err})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a pipe, device or socket"
        raise ImageError(f"is {kind}, not a regular image file")
    if info.st_size == 0:
        os.close(fd)
        raise ImageError("the file is empty")
    return os.fdopen(fd, "rb")


def _scaled_pixels(img) -> tuple[np.ndarray, np.ndarray | None]:
    """Pillow image -> (pixels (H, W, 1 or 3) float32 in [0, 1], alpha (H, W) or None), at the true
    scale of its mode: 8-bit / 255, 16-bit / 65535, floats as they are if in [0, 1] (else min-max)."""
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(img).astype(np.float32)
        if mode == "I" and (arr.min(initial=0) < 0 or arr.max(initial=0) > 65535):
            return _min_max(arr)[..., None], None
        return (arr / 65535.0)[..., None], None
    if mode == "F":
        return _min_max(np.asarray(img, dtype=np.float32), keep_unit=True)[..., None], None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if mode in ("L", "1", "LA", "La") or (mode == "P" and not _is_colour_palette(img)):
        target = "LA" if has_alpha else "L"
    else:
        target = "RGBA" if has_alpha else "RGB"
    arr = np.asarray(img.convert(target), dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    if has_alpha:
        return arr[..., :-1], arr[..., -1]
    return arr, None


def _is_colour_palette(img) -> bool:
    palette = img.getpalette() or []
    rgb = np.asarray(palette[: 3 * 256], dtype=np.int32).reshape(-1, 3) if palette else np.zeros((0, 3))
    return bool(len(rgb)) and not bool((rgb == rgb[:, :1]).all())


def _min_max(arr: np.ndarray, keep_unit: bool = False) -> np.ndarray:
    """Floating pixels -> [0, 1]: NaN and infinities become 0; values already in [0, 1] stay."""
    finite = np.isfinite(arr)
    if not finite.any():
        raise ImageError("no pixel of the image has a finite value (all NaN or infinite)")
    arr = np.where(finite, arr, 0.0).astype(np.float32)
    low, high = float(arr[finite].min()), float(arr[finite].max())
    if keep_unit and low >= 0.0 and high <= 1.0:
        return arr
    return (arr - low) / (high - low) if high > low else np.zeros_like(arr)


def _grey(pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """(H, W) grey in [0, 1]; transparent pixels count as background, the opposite of the ink
    (white behind a dark pen, black behind a light one), so a digit drawn on a transparent canvas
    is not lost."""
    grey = pixels[..., 0] if pixels.shape[-1] == 1 else pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    if alpha is None:
        return grey
    ink = float((grey * alpha).sum() / alpha.sum()) if alpha.sum() > 0 else 0.0
    background = 0.0 if ink > 0.5 else 1.0  # ITU-R 601 weights above, as Pillow's "L"
    return grey * alpha + background * (1.0 - alpha)


def _resize_float(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an (H, W) float image without quantising it (Pillow mode "F", bilinear)."""
    from PIL import Image

    if arr.shape == (height, width):
        return arr.astype(np.float32, copy=False)
    out = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(out.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def _shrink(img, height: int, width: int, digit_style: bool):
    """Decode a large image at a reduced scale: JPEG's DCT scaling (``draft``) before decoding,
    an integer box ``reduce`` after it. A digit keeps 8× the model's side, a photo 2×."""
    keep = 8 if digit_style else 2
    want = (max(width * keep, 64), max(height * keep, 64))
    if img.format == "JPEG" and img.mode in ("L", "RGB", "CMYK", "YCbCr"):
        img.draft(img.mode if img.mode != "CMYK" else "RGB", want)
    img.load()
    factor = min(img.width // want[0], img.height // want[1])
    if factor < 2:
        return img
    if img.mode in ("P", "PA", "1"):  # reduce averages pixel values: palette indices first become colours
        img = img.convert(
            "RGBA" if img.mode == "PA" or "transparency" in img.info else "RGB" if img.mode != "1" else "L"
        )
    elif img.mode.startswith("I;16"):
        img = img.convert("I")  # same values, in a mode reduce takes
    return (
        img.reduce(factor) if img.mode in ("L", "LA", "RGB", "RGBA", "I", "F", "CMYK", "RGBa", "La") else img
    )


def read_image(
    path: str | os.PathLike,
    channels: int,
    size: int | tuple[int, int],
    *,
    digit_style: bool = False,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """Read an image file and prepare it for a model: ``(channels, H, W)`` float32 in [0, 1].

    ``channels`` is 1 (grey) or 3 (RGB); ``size`` is ``H`` (square) or ``(H, W)``. With
    ``digit_style`` a one-channel image is prepared as MNIST's digits were (:func:`mnist_like`).
    Raises :class:`ImageError`, and no other exception, for a file that is missing, not a regular
    file, empty, not an image, damaged, larger than ``max_pixels`` pixels, or blank (digit style).
    """
    from PIL import Image

    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if channels not in (1, 3):
        raise ImageError(f"cannot prepare images for a model with {channels} input channels (1 or 3)")
    with _open_regular(Path(path)) as f:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore"
                )  # Pillow warns about odd metadata: the error, if any, says enough
                with Image.open(f) as img:
                    if img.width * img.height > max_pixels:
                        raise ImageError(
                            f"the image has {img.width}×{img.height} = {img.width * img.height / 1e6:.1f} "
                            f"megapixels, above the limit of {max_pixels / 1e6:g}: shrink it first"
                        )
                    img = _shrink(img, height, width, digit_style and channels == 1)
                    pixels, alpha = _scaled_pixels(img)
        except ImageError:
            raise
        except Image.DecompressionBombError as err:  # above twice Pillow's MAX_IMAGE_PIXELS: no size given
            claimed = re.search(r"\((\d+) pixels\)", str(err))
            many = f"{int(claimed[1]) / 1e6:.1f} megapixels" if claimed else "too many pixels"
            raise ImageError(
                f"the image has {many}, above Pillow's decompression-bomb limit of "
                f"{2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels (--max-pixels cannot raise it): "
                f"shrink it first"
            ) from None
        except MemoryError:
            raise ImageError("the image is too large to decode in this machine's memory") from None
        except Image.UnidentifiedImageError:
            raise ImageError(
                "not a readable image: not a format Pillow reads (PNG, JPEG, BMP, TIFF, GIF, WebP, ...)"
            ) from None
        except Exception as err:  # Pillow raises many kinds for damaged files: all mean "unreadable"
            raise ImageError(f"not a readable image, damaged ({type(err).__name__}: {err})") from None
    if channels == 1:
        grey = _grey(pixels, alpha)
        if not digit_style:
            return _resize_float(grey, height, width)[None]
        if height == width:  # the digit box keeps MNIST's proportion 20/28 of the side
            return mnist_like(grey, box=max(1, round(20 * height / 28)), size=height)[None]
        return _resize_float(mnist_like(grey), height, width)[None]
    if alpha is not None:  # a photo's transparent parts: white
        pixels = pixels * alpha[..., None] + (1.0 - alpha[..., None])
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return np.stack([_resize_float(pixels[..., c], height, width) for c in range(3)]).clip(0.0, 1.0)


def load_image(
    path: str | os.PathLike,
    input_shape: tuple[int, int, int],
    digit_style: bool = True,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """:func:`read_image` for a model's ``input_shape (C, H, W)``: a ``(C, H, W)`` float32 image."""
    c, h, w = input_shape
    return read_image(path, c, (h, w), digit_style=digit_style, max_pixels=max_pixels)
