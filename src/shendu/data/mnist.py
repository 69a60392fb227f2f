"""MNIST and Fashion-MNIST from their IDX files: 28×28 grey images, 10 classes.

Files (gzip or uncompressed, in the data folder, see :mod:`shendu.data.paths`):
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte`` (60,000 images) for ``split="train"``
and ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (10,000) for ``split="test"``. A split
needs only its own two files. Missing files are downloaded from the official mirrors and checked
against the published md5 of the ``.gz`` archive; every file read is checked against the md5 of its
uncompressed content (so a re-compressed copy of the official data is accepted too).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from shendu.data.dataset import ArrayDataset
from shendu.data.download import DownloadError, download
from shendu.data.idx import parse_idx, read_bytes_maybe_gzip
from shendu.data.paths import DatasetNotFoundError, candidate_dirs, find_file


class _IDXImageDataset(ArrayDataset):
    """Shared loader of MNIST-like IDX datasets; subclasses set the class attributes."""

    dataset_name = ""
    title = ""
    mirrors: tuple[str, ...] = ()
    # split -> ((file, md5 of file.gz as published, md5 of the uncompressed file), ...) images then labels
    resources: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {}
    default_classes: tuple[str, ...] = ()
    splits = ("train", "test")
    image_shape = (1, 28, 28)  # (C, H, W) of every image, known before any file is read

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        split: str = "train",
        download: bool = True,
        verify: bool = True,
    ) -> None:
        if split not in self.resources:
            raise ValueError(f"{self.title}: unknown split {split!r}; valid splits: {', '.join(self.splits)}")
        dirs = candidate_dirs(self.dataset_name, data_dir)
        raw_images, raw_labels, paths = self._read_split(dirs, split, download, verify)
        n, h, w = raw_images.shape
        images = raw_images.reshape(n, 1, h, w).astype(np.float32) / np.float32(255.0)
        labels = raw_labels.astype(np.int64)
        super().__init__(images, labels, classes=self.default_classes, name=self.dataset_name, split=split)
        self.files = paths

    def _read_split(
        self, dirs: list[Path], split: str, allow_download: bool, verify: bool
    ) -> tuple[np.ndarray, np.ndarray, list[Path]]:
        """``(images (N, H, W) uint8, labels (N,) uint8, files)`` of ``split``, found in ``dirs``
        (downloaded into ``dirs[0]`` when missing), each file's md5 checked."""
        paths = self._locate(dirs, split, allow_download)
        (img_name, _, img_md5), (lbl_name, _, lbl_md5) = self.resources[split]
        images = self._read(paths[0], img_md5 if verify else None, img_name)
        labels = self._read(paths[1], lbl_md5 if verify else None, lbl_name)
        self._check(images, labels, paths)
        return images, labels, paths

    @classmethod
    def read_split(
        cls, dirs: list[Path], split: str, allow_download: bool = True, verify: bool = True
    ) -> tuple[np.ndarray, np.ndarray, list[Path]]:
        """The raw uint8 arrays of ``split`` without building a dataset (torchvision-style datasets
        keep them as uint8, see :mod:`shendu.vision.datasets`)."""
        return cls.__new__(cls)._read_split(dirs, split, allow_download, verify)

    # ---- finding and downloading ----------------------------------------------------
    def _locate(self, dirs: list[Path], split: str, allow_download: bool) -> list[Path]:
        found, missing = [], []
        for name, gz_md5, _ in self.resources[split]:
            p = find_file(dirs, [name + ".gz", name])
            found.append(p)
            if p is None:
                missing.append((name, gz_md5))
        if not missing:
            return found  # type: ignore[return-value]
        target_dir = dirs[0]
        where = " or ".join(str(d) for d in dirs)
        names = ", ".join(f"{n}.gz" for n, _ in missing)
        if not allow_download:
            raise DatasetNotFoundError(
                f"{self.title} split {split!r}: missing {names} (gzip or uncompressed) in {where}. Download "
                f"them from {self.mirrors[0]} and put them in {target_dir}, or pass download=True."
            )
        errors = []
        for name, gz_md5 in missing:
            try:
                download([m + name + ".gz" for m in self.mirrors], target_dir / (name + ".gz"), md5=gz_md5)
            except DownloadError as e:
                errors.append(str(e))
        if errors:
            raise DatasetNotFoundError(
                f"{self.title} split {split!r}: missing {names} in {where}, and the download failed; put "
                f"the files (gzip or uncompressed) in {target_dir} by hand, or point data_dir / --data-dir / "
                f"$SHENDU_DATA at a folder that has them\n" + "\n".join(errors)
            )
        return [
            p if p is not None else target_dir / (n + ".gz")
            for p, (n, _, _) in zip(found, self.resources[split], strict=True)
        ]

    # ---- reading and checking -----------------------------------------------------
    def _read(self, path: Path, raw_md5: str | None, name: str) -> np.ndarray:
        try:
            data = read_bytes_maybe_gzip(path)
        except ValueError as e:  # a gzip bomb or a damaged stream: the official files are neither
            raise ValueError(
                f"{e}; the file is damaged: delete it to download it again, or replace it"
            ) from None
        if raw_md5 is not None:
            actual = hashlib.md5(data).hexdigest()
            other = _known_file(actual)
            if actual != raw_md5 and other is not None:  # a genuine file of another data set
                raise ValueError(
                    f"{path} is {other[0]}'s {other[1]}, not {self.title}'s {name}: the folder holds "
                    f"another data set. Point --data-dir (data_dir) at a folder with {self.title}'s files, "
                    f"or ask for --data {other[2]}."
                )
            if actual != raw_md5:
                raise ValueError(
                    f"{path}: content md5 {actual} differs from the official file's {raw_md5} "
                    f"({len(data)} bytes uncompressed): the file is corrupt or not the official "
                    f"one. Delete it to download it again (or pass verify=False for your own data)."
                )
        return parse_idx(data, name=str(path))

    def _check(self, images: np.ndarray, labels: np.ndarray, paths: list[Path]) -> None:
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{paths[0]}: expected uint8 images shaped (N, H, W), got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(
                f"{paths[1]}: expected uint8 labels shaped (N,), got {labels.dtype} {labels.shape}"
            )
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{self.title}: {paths[0].name} has {images.shape[0]} images but {paths[1].name} "
                f"has {labels.shape[0]} labels"
            )
        k = len(self.default_classes)
        if labels.size and labels.max() >= k:
            raise ValueError(f"{paths[1]}: labels must lie in [0, {k}), found {int(labels.max())}")


class MNIST(_IDXImageDataset):
    """MNIST handwritten digits: ``split`` "train" (60,000) or "test" (10,000).

    ``MNIST(data_dir="../shared/data/mnist", split="test")`` reads the official test set;
    ``images`` are float32 in [0, 1] shaped (N, 1, 28, 28), ``labels`` int64.
    """

    dataset_name = "mnist"
    title = "MNIST"
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
    # md5s of the .gz files as torchvision publishes them; of the uncompressed files as widely recorded
    resources = {
        "train": (
            (
                "train-images-idx3-ubyte",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "6bbc9ace898e44ae57da46a324031adb",
            ),
            (
                "train-labels-idx1-ubyte",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "a25bea736e30d166cdddb491f175f624",
            ),
        ),
        "test": (
            (
                "t10k-images-idx3-ubyte",
                "9fb629c4189551a2d022fa330f9573f3",
                "2646ac647ad5339dbf082846283269ea",
            ),
            (
                "t10k-labels-idx1-ubyte",
                "ec29112dd5afa0611ce80d1b7f02629c",
                "27ae3e4e09519cfbb04c329615203637",
            ),
        ),
    }
    default_classes = tuple(str(d) for d in range(10))


class FashionMNIST(_IDXImageDataset):
    """Fashion-MNIST (Zalando): 28×28 clothing images, same layout and sizes as MNIST."""

    dataset_name = "fashion-mnist"
    title = "Fashion-MNIST"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    resources = {
        "train": (
            (
                "train-images-idx3-ubyte",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            ),
            (
                "train-labels-idx1-ubyte",
                "25c81989df183df01b3e8a0aad5dffbe",
                "9018921c3c673c538a1fc5bad174d6f9",
            ),
        ),
        "test": (
            (
                "t10k-images-idx3-ubyte",
                "bef4ecab320f06d8554ea6380940ec79",
                "8181f5470baa50b63fa0f6fddb340f0a",
            ),
            (
                "t10k-labels-idx1-ubyte",
                "bb300cfdad3c16e7a12a480ee83cd310",
                "15d484375f8d13e6eb1aabb0c3f46965",
            ),
        ),
    }
    default_classes = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )


def _known_file(raw_md5: str) -> tuple[str, str, str] | None:
    """(data set title, file name, data set name) of an official file with this content md5."""
    for cls in (MNIST, FashionMNIST):
        for files in cls.resources.values():
            for name, _, md5 in files:
                if md5 == raw_md5:
                    return cls.title, name, cls.dataset_name
    return None
