"""The page's pictures go through the reader of ``shendu predict``: one thin adapter, one place to switch.

A drawing and an uploaded file arrive as bytes; :func:`read_image` hands them to
:func:`shendu.training.images.load_image` (the reader ``shendu predict`` uses) through a temporary
file, so both see exactly the same preprocessing. The limits checked here (bytes, pixels) come
before Pillow decodes anything: a small compressed file can hold a huge image.
"""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np

from shendu.training.images import ImageError, load_image

__all__ = ["ImageError", "MAX_BYTES", "MAX_PIXELS", "read_image"]

MAX_BYTES = 10 * 1024 * 1024  # an upload above this is refused (HTTP 413) before it is read
MAX_PIXELS = 50_000_000  # 50 megapixels: a 12000×12000 PNG of 620 KB would need 5 GB decoded


def _check_size(data: bytes) -> None:
    """Read only the header: refuse an image with more than MAX_PIXELS pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:  # lazy: the pixels are not decoded here
            w, h = img.size
    except Image.DecompressionBombError as err:  # over twice Pillow's own limit (about 179 MP)
        raise ImageError(f"the image is too large: {err}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return  # not an image at all: the reader below says so in its own words
    if w * h > MAX_PIXELS:
        raise ImageError(
            f"the image is {w}×{h} = {w * h / 1e6:.0f} megapixels; at most {MAX_PIXELS / 1e6:.0f} are read"
        )


def read_image(data: bytes, input_shape: tuple[int, int, int], digit_style: bool = True) -> np.ndarray:
    """Image file bytes -> ``(C, H, W)`` float32 in [0, 1], prepared as ``shendu predict`` prepares files.

    Raises :class:`ImageError` (a ``ValueError``) for empty, unreadable, blank or too large images.
    """
    if not data:
        raise ImageError("the file is empty")
    if len(data) > MAX_BYTES:
        raise ImageError(f"the file has {len(data):,} bytes; at most {MAX_BYTES:,} are read")
    _check_size(data)
    fd, name = tempfile.mkstemp(prefix="shendu-web-", suffix=".img")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return load_image(name, input_shape, digit_style=digit_style)
    except ImageError as err:  # Pillow's messages name the file: the upload has no name here
        raise ImageError(str(err).replace(f"'{name}'", "the upload").replace(name, "the upload")) from None
    finally:
        os.unlink(name)
