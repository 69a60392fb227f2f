"""CIFAR-10 from its BINARY release (``cifar-10-binary.tar.gz``), never the pickled one.

Each ``.bin`` file holds 10,000 records of 3,073 bytes: one label byte (0-9), then the 32×32
image as 1,024 red, 1,024 green and 1,024 blue bytes (rows top to bottom). ``split="train"`` is
``data_batch_1.bin`` ... ``data_batch_5.bin`` (50,000 images), ``"test"`` is ``test_batch.bin``.
The records are read straight out of the tar archive (nothing is extracted, nothing unpickled);
an already extracted ``cifar-10-batches-bin/`` folder works too.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np

from shendu.data.dataset import ArrayDataset
from shendu.data.download import DownloadError, download, file_digest
from shendu.data.paths import DatasetNotFoundError, candidate_dirs, find_file

ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on https://www.cs.toronto.edu/~kriz/cifar.html
URLS = ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",)
FOLDER = "cifar-10-batches-bin"
RECORD = 1 + 3 * 32 * 32
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLIT_FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}


def parse_records(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR binary records -> ``(images (N, 3, 32, 32) uint8, labels (N,) uint8)``."""
    if len(data) == 0 or len(data) % RECORD:
        raise ValueError(
            f"{name}: truncated or corrupt CIFAR-10 batch: {len(data)} bytes is not a whole number "
            f"of {RECORD}-byte records (10,000 records = {10000 * RECORD} bytes expected)"
        )
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    labels = rec[:, 0]
    if labels.max() >= len(CLASSES):
        raise ValueError(
            f"{name}: label byte {int(labels.max())} out of range [0, {len(CLASSES)}): corrupt file"
        )
    return rec[:, 1:].reshape(-1, 3, 32, 32), labels


def _read_from_tar(archive: Path, wanted: tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of the wanted members, in one pass over the (compressed) archive."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                base = member.name.rsplit("/", 1)[-1]
                if base in wanted and member.isfile():
                    f = tf.extractfile(member)
                    found[base] = f.read() if f is not None else b""
                    if len(found) == len(wanted):
                        break
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ValueError(
            f"{archive}: truncated or corrupt archive ({e}); delete it to download it again"
        ) from None
    absent = [w for w in wanted if w not in found]
    if absent:
        raise ValueError(
            f"{archive}: archive lacks {', '.join(absent)}; is it the binary version ({ARCHIVE})?"
        )
    return found


class CIFAR10(ArrayDataset):
    """CIFAR-10: 32×32 colour images in 10 classes; ``images`` float32 (N, 3, 32, 32) in [0, 1]."""

    splits = ("train", "test")
    image_shape = (3, 32, 32)  # (C, H, W) of every image, known before any file is read

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        split: str = "train",
        download: bool = True,
        verify: bool = True,
    ) -> None:
        if split not in SPLIT_FILES:
            raise ValueError(f"CIFAR-10: unknown split {split!r}; valid splits: {', '.join(self.splits)}")
        wanted = SPLIT_FILES[split]
        dirs = candidate_dirs("cifar10", data_dir)
        blobs = self._from_folder(dirs, wanted)
        if blobs is None:
            archive = self._archive(dirs, download, verify)
            blobs = _read_from_tar(archive, wanted)
        parts = [parse_records(blobs[w], w) for w in wanted]
        images = np.concatenate([p[0] for p in parts]).astype(np.float32) / np.float32(255.0)
        labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
        super().__init__(images, labels, classes=CLASSES, name="cifar10", split=split)

    @staticmethod
    def _from_folder(dirs: list[Path], wanted: tuple[str, ...]) -> dict[str, bytes] | None:
        for d in dirs:
            folder = d / FOLDER
            if all((folder / w).is_file() for w in wanted):
                return {w: (folder / w).read_bytes() for w in wanted}
        return None

    @staticmethod
    def _archive(dirs: list[Path], allow_download: bool, verify: bool) -> Path:
        archive = find_file(dirs, [ARCHIVE])
        if archive is not None:
            actual = file_digest(archive) if verify else ARCHIVE_MD5
            if actual != ARCHIVE_MD5:
                raise ValueError(
                    f"{archive}: md5 {actual} differs from the published {ARCHIVE_MD5}: "
                    f"corrupt or incomplete; delete it to download it again"
                )
            return archive
        where = " or ".join(str(d) for d in dirs)
        if not allow_download:
            raise DatasetNotFoundError(
                f"CIFAR-10: missing {ARCHIVE} (or an extracted {FOLDER}/) in {where}. "
                f"Download it from {URLS[0]} and put it in {dirs[0]}."
            )
        try:
            return download(URLS, dirs[0] / ARCHIVE, md5=ARCHIVE_MD5)
        except DownloadError as e:
            raise DatasetNotFoundError(
                f"CIFAR-10: missing {ARCHIVE} in {where}, and the download failed; put it in {dirs[0]} by "
                f"hand, or point data_dir / --data-dir / $SHENDU_DATA at a folder that has it\n{e}"
            ) from None
