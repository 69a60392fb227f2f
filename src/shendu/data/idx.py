"""Reader for IDX files, the format of MNIST and Fashion-MNIST (gzip-compressed or raw).

Layout (big-endian): two zero bytes, a type code, the number of dimensions ``d``; then ``d``
uint32 sizes; then the values, row-major. Type codes: 0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64. A file is accepted only when its length is exactly the
header plus ``prod(sizes) × itemsize``: a truncated or corrupt file is a ValueError naming the
file and both sizes, never a garbage array.

>>> import gzip, io, numpy as np
>>> raw = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes([7, 8, 9])
>>> parse_idx(raw).tolist()
[7, 8, 9]
>>> parse_idx(raw[:-1])
Traceback (most recent call last):
...
ValueError: <bytes>: IDX file is truncated or corrupt: header says 1-d uint8 of shape (3,), which needs 11 bytes, but the data has 10 bytes
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"

IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes_maybe_gzip(path: str | os.PathLike) -> bytes:
    """The file's bytes, decompressed when it starts with the gzip magic number (whatever its name)."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:  # truncated stream, bad CRC or length, bad deflate data
        raise ValueError(
            f"{path}: gzip file is truncated or corrupt ({e}); {len(data)} compressed bytes "
            f"on disk. Delete it and download it again."
        ) from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into an array of native byte order, shape given by the header."""
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file: {len(data)} bytes, fewer than the 4-byte magic number")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{name}: not an IDX file: magic number starts with bytes {data[0]:#04x} {data[1]:#04x}, "
            f"expected 0x00 0x00"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"{c:#04x}" for c in IDX_DTYPES)
        raise ValueError(f"{name}: unknown IDX type code {code:#04x} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{name}: IDX file is truncated: the header needs {header} bytes, the data has {len(data)}"
        )
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = header + math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a corrupt header
    if len(data) != expected:
        kind = "truncated or corrupt" if len(data) < expected else "corrupt (trailing bytes)"
        raise ValueError(
            f"{name}: IDX file is {kind}: header says {ndim}-d {dtype.name} of shape {shape}, "
            f"which needs {expected} bytes, but the data has {len(data)} bytes"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip or raw, detected by its first bytes) into an ndarray.

    Raises ValueError naming the file for a bad magic number, unknown type code, or a length
    that does not match the header (truncated or corrupt file).
    """
    return parse_idx(read_bytes_maybe_gzip(path), name=str(path))
