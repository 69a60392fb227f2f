import gzip

import numpy as np
import pytest

from shendu.data import parse_idx, read_idx
from tests.data.conftest import idx_bytes, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, dtype, compress):
    arr = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / ("a.gz" if compress else "a")
    write_idx(p, arr, compress)
    out = read_idx(p)
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.dtype(dtype)  # native byte order
    np.testing.assert_array_equal(out, arr)


def test_gzip_detected_by_magic_bytes_not_name(tmp_path):
    arr = np.arange(6, dtype=np.uint8)
    p = tmp_path / "labels-no-gz-suffix"
    write_idx(p, arr, compress=True)
    np.testing.assert_array_equal(read_idx(p), arr)


def test_truncated_raw_file_names_file_and_sizes(tmp_path):
    data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(data[:-100])
    with pytest.raises(ValueError) as e:
        read_idx(p)
    msg = str(e.value)
    assert str(p) in msg and str(16 + 7840) in msg and str(16 + 7840 - 100) in msg


def test_trailing_bytes_rejected(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(idx_bytes(np.zeros(5, np.uint8)) + b"\x00")
    with pytest.raises(ValueError, match="trailing"):
        read_idx(p)


def test_truncated_gzip_is_error(tmp_path):
    blob = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8) % 7))
    p = tmp_path / "x.gz"
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="gzip file is truncated or corrupt") as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_corrupt_gzip_crc_is_error(tmp_path):
    blob = bytearray(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8))))
    blob[-6] ^= 0xFF  # inside the CRC32 trailer
    p = tmp_path / "x.gz"
    p.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="corrupt"):
        read_idx(p)


@pytest.mark.parametrize(
    "header, match",
    [
        (bytes([1, 0, 8, 1]), "magic number"),
        (bytes([0, 0, 0x42, 1]), "unknown IDX type code 0x42"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0]), "header needs 16 bytes"),
        (b"\x00\x00", "fewer than the 4-byte"),
    ],
)
def test_bad_headers(header, match):
    with pytest.raises(ValueError, match=match):
        parse_idx(header, name="f")


def test_big_endian_values_decoded():
    raw = bytes([0, 0, 0x0C, 1, 0, 0, 0, 2]) + (258).to_bytes(4, "big") + (-1).to_bytes(4, "big", signed=True)
    assert parse_idx(raw).tolist() == [258, -1]


def test_huge_declared_size_is_an_error_not_an_overflow():
    raw = bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + b"\x00" * 10
    with pytest.raises(ValueError, match="truncated or corrupt"):
        parse_idx(raw, name="huge")
