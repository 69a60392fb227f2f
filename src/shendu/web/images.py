"""The page's pictures go through the reader of ``shendu predict``: one thin adapter, one place to switch.

A drawing and an uploaded file arrive as bytes; :func:`read_image` writes them to a temporary
file and hands it to :func:`shendu.training.images.read_image`, the one reader ``shendu predict``
uses, with its limit on pixels (checked before anything is decoded) — so both see exactly the
same preprocessing and refuse the same files. The size of a request body is limited by the app
(:data:`MAX_BYTES`, HTTP 413) before it is even read.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from shendu.training import images

__all__ = ["ImageError", "MAX_BYTES", "MAX_PIXELS", "read_image"]

ImageError = images.ImageError
MAX_BYTES = 10 * 1024 * 1024  # an upload above this is refused (HTTP 413) before it is read
MAX_PIXELS = images.MAX_PIXELS  # predict's limit (50 megapixels by default)


def read_image(data: bytes, input_shape: tuple[int, int, int], digit_style: bool = True) -> np.ndarray:
    """Image file bytes -> ``(C, H, W)`` float32 in [0, 1], prepared as ``shendu predict`` prepares files.

    Raises :class:`ImageError` (a ``ValueError``) for empty, unreadable, blank or too large images.
    """
    if len(data) > MAX_BYTES:
        raise ImageError(f"the file has {len(data):,} bytes; at most {MAX_BYTES:,} are read")
    c, h, w = input_shape
    fd, name = tempfile.mkstemp(prefix="shendu-web-", suffix=".img")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return images.read_image(name, c, (h, w), digit_style=digit_style, max_pixels=MAX_PIXELS)
    except ImageError as err:  # messages may name the file: the upload has no name here
        raise ImageError(str(err).replace(f"'{name}'", "the upload").replace(name, "the upload")) from None
    finally:
        os.unlink(name)
