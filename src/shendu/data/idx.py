"""Reader for IDX files, the format of MNIST and Fashion-MNIST (gzip-compressed or raw).

Layout (big-endian): two zero bytes, a type code, the number of dimensions ``d``; then ``d``
uint32 sizes; then the values, row-major. Type codes: 0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64. A file is accepted only when its length is exactly the
header plus ``prod(sizes) × itemsize``: a truncated or corrupt file is a ValueError naming the
file and both sizes, never a garbage array. A gzip file is inflated only as far as its IDX header
allows (and never past :data:`MAX_BYTES`), so a small "gzip bomb" cannot fill the memory.

>>> import gzip, io, numpy as np
>>> raw = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes([7, 8, 9])
>>> parse_idx(raw).tolist()
[7, 8, 9]
>>> parse_idx(raw[:-1])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: <bytes>: IDX file is truncated or corrupt: header says 1-d uint8 of shape (3,), ...
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
#: the largest IDX content read (bytes); EMNIST, the largest IDX data set in use, is about 0.7 GB
MAX_BYTES = 1 << 30

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes_maybe_gzip(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """The file's bytes, decompressed when it starts with the gzip magic number (whatever its name).

    Inflation stops at the size the IDX header inside declares (plus one byte, to see that there is
    more), and never goes past ``max_bytes`` (default :data:`MAX_BYTES`): a ValueError names the file.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] != GZIP_MAGIC:
        return data
    limit = MAX_BYTES if max_bytes is None else max_bytes
    try:
        return _gunzip_bounded(data, limit)
    except (EOFError, OSError, zlib.error) as e:  # truncated stream, bad CRC or length, bad deflate data
        raise ValueError(
            f"{path}: gzip file is truncated or corrupt ({e}); {len(data)} compressed bytes "
            f"on disk. Delete it and download it again."
        ) from None
    except _TooLarge as e:
        raise ValueError(f"{path}: {e} ({len(data)} compressed bytes on disk)") from None


class _TooLarge(Exception):
    pass


def idx_size(head: bytes) -> int | None:
    """Total bytes of the IDX file whose first bytes are ``head`` (None if they are no IDX header)."""
    if len(head) < 4 or head[0] or head[1] or head[2] not in IDX_DTYPES or head[3] == 0:
        return None
    header = 4 + 4 * head[3]
    if len(head) < header:
        return None
    shape = (int.from_bytes(head[i : i + 4], "big") for i in range(4, header, 4))
    return header + math.prod(shape) * IDX_DTYPES[head[2]].itemsize


def _gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Inflate gzip ``data`` (every member), bounding the output by the IDX header it starts with.

    The first KiB is inflated alone and read as an IDX header; from then on at most the declared
    size plus one byte (or ``limit``) is inflated, so the memory used never exceeds what a valid
    file of that header needs.
    """
    parts: list[bytes] = []
    total, budget, rest = 0, limit + 1, data
    while rest[:2] == GZIP_MAGIC:  # one gzip member per round
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = rest
        while not d.eof:
            out = d.decompress(pending, 1024 if not parts else max(1, min(budget - total, 1 << 22)))
            if not out and d.unconsumed_tail == pending and not d.eof:
                raise EOFError("the compressed stream ends before its end marker")
            pending = d.unconsumed_tail
            if not parts:  # the first bytes: an IDX header bounds the rest
                need = idx_size(out)
                if need is not None and need > limit:
                    raise _TooLarge(f"the IDX header declares {need} bytes, more than the limit of {limit}")
                budget = need + 1 if need is not None else budget
            parts.append(out)
            total += len(out)
            if total >= budget:
                what = "the size its IDX header declares" if budget <= limit else f"the limit of {limit}"
                raise _TooLarge(f"the file inflates to more than {budget - 1} bytes, {what}")
        rest = d.unused_data
    if rest.strip(b"\0"):
        raise OSError(f"{len(rest)} bytes of other data follow the gzip stream")
    return b"".join(parts)


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
