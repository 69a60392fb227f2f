"""torchvision-style datasets: ``MNIST(root, train=True, transform=None, target_transform=None,
download=False)``, ``FashionMNIST`` and ``CIFAR10``, giving ``(PIL image, int label)`` samples.

On-disk layout as torchvision: ``root/MNIST/raw/t10k-images-idx3-ubyte[.gz]`` (and
``root/FashionMNIST/raw/...``), so an existing torchvision download is reused. Downloads and md5
checks are shendu's (:mod:`shendu.data.mnist`). CIFAR-10 is read from the *binary* release
(``root/cifar-10-binary.tar.gz`` or ``root/cifar-10-batches-bin/``), never from torchvision's
pickled ``cifar-10-batches-py`` (unpickling can run code).

>>> import numpy as np, shendu
>>> ds = MNIST.from_arrays(np.zeros((2, 28, 28), np.uint8), np.array([3, 5]), transform=None)
>>> img, label = ds[1]
>>> img.size, img.mode, label
((28, 28), 'L', 5)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from shendu.data import cifar10 as _cifar
from shendu.data import mnist as _mnist
from shendu.data.dataset import Dataset
from shendu.data.paths import DatasetNotFoundError
from shendu.tensor import Tensor

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "VisionDataset"]


class VisionDataset(Dataset):
    """Base class: ``root``, ``transform`` (on the image), ``target_transform`` (on the label)."""

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        self.root = os.fspath(os.path.expanduser(root)) if root is not None else ""
        self.transform = transform
        self.target_transform = target_transform

    def _apply(self, img: Any, target: int) -> tuple[Any, Any]:
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Number of datapoints: {len(self)}", f"Root location: {self.root}"]
        lines += [line for line in self.extra_repr().splitlines() if line]
        if self.transform is not None:
            lines.append(f"Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"Target transform: {self.target_transform!r}")
        return f"Dataset {type(self).__name__}\n" + "\n".join("    " + line for line in lines)


class MNIST(VisionDataset):
    """MNIST handwritten digits as torchvision gives them.

    ``data`` is a uint8 Tensor ``(N, 28, 28)``, ``targets`` an int64 Tensor ``(N,)``; ``ds[i]`` is
    ``(PIL image mode "L", int)``, then ``transform`` / ``target_transform``. ``train=True`` reads
    the 60,000 training images, ``False`` the 10,000 test images, from ``root/MNIST/raw``.
    """

    _source: type[_mnist._IDXImageDataset] = _mnist.MNIST
    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        split = "train" if self.train else "test"
        try:
            images, labels, _ = self._source.read_split([Path(self.raw_folder)], split, download)
        except DatasetNotFoundError as e:
            raise RuntimeError(f"Dataset not found. You can use download=True to download it.\n{e}") from None
        self.data = Tensor._wrap(images)
        self.targets = Tensor._wrap(labels.astype(np.int64))

    @classmethod
    def from_arrays(cls, images: np.ndarray, labels: np.ndarray, **kw: Any) -> MNIST:
        """A dataset of this kind over given uint8 images ``(N, H, W)`` (for tests and demos)."""
        ds = cls.__new__(cls)
        VisionDataset.__init__(ds, "", kw.get("transform"), kw.get("target_transform"))
        ds.train = True
        ds.data = Tensor._wrap(np.asarray(images, np.uint8))
        ds.targets = Tensor._wrap(np.asarray(labels, np.int64))
        return ds

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        img = Image.fromarray(self.data.numpy()[index], mode="L")
        return self._apply(img, int(self.targets.numpy()[index]))

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): as :class:`MNIST`, files in ``root/FashionMNIST/raw``."""

    _source = _mnist.FashionMNIST
    classes = list(_mnist.FashionMNIST.default_classes)


class CIFAR10(VisionDataset):
    """CIFAR-10 as torchvision gives it: ``data`` uint8 ndarray ``(N, 32, 32, 3)``, ``targets`` a
    list of ints, ``ds[i]`` a ``(PIL RGB image, int)``; read from the binary release in ``root``."""

    classes = list(_cifar.CLASSES)

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        wanted = _cifar.SPLIT_FILES["train" if self.train else "test"]
        dirs = [Path(self.root)]
        blobs = _cifar.CIFAR10._from_folder(dirs, wanted)
        if blobs is None:
            try:
                archive = _cifar.CIFAR10._archive(dirs, download, verify=True)
            except DatasetNotFoundError as e:
                raise RuntimeError(
                    f"Dataset not found or corrupted. You can use download=True to download it.\n{e}"
                ) from None
            blobs = _cifar._read_from_tar(archive, wanted)
        parts = [_cifar.parse_records(blobs[w], w) for w in wanted]
        self.data: np.ndarray = np.ascontiguousarray(
            np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)
        )
        self.targets: list[int] = np.concatenate([p[1] for p in parts]).astype(int).tolist()

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        return self._apply(Image.fromarray(self.data[index]), self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"
