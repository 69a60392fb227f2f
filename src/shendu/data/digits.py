"""``digits``: scikit-learn's 1,797 handwritten digits at 8×8 pixels, bundled (no download).

Pixel values 0-16 are scaled to [0, 1]; images are float32 (N, 1, 8, 8). A fixed stratified split
puts 20% of each class in ``"test"`` and the rest in ``"train"``; ``"all"`` is every image. Small
enough for a quick MLP.
"""

from __future__ import annotations

import numpy as np

from shendu.data.dataset import ArrayDataset, stratified_split

SPLIT_SEED = 0
TEST_FRACTION = 0.2


class Digits(ArrayDataset):
    """scikit-learn's 8×8 digits; ``split`` is "train", "test" or "all"."""

    splits = ("train", "test", "all")
    image_shape = (1, 8, 8)  # (C, H, W) of every image

    def __init__(self, split: str = "train") -> None:
        if split not in self.splits:
            raise ValueError(f"digits: unknown split {split!r}; valid splits: {', '.join(self.splits)}")
        from sklearn.datasets import load_digits  # imported here: scikit-learn is slow to import

        bunch = load_digits()
        images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
        labels = bunch.target.astype(np.int64)
        if split != "all":
            train, test = stratified_split(labels, TEST_FRACTION, seed=SPLIT_SEED)
            idx = train if split == "train" else test
            images, labels = images[idx], labels[idx]
        super().__init__(images, labels, classes=[str(d) for d in range(10)], name="digits", split=split)
