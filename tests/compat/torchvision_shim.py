"""What the torch run imports in place of torchvision (which does not import beside torch 2.13
here): ``datasets.MNIST`` and the three transforms the scripts use, written on torch and reading
the same files (``root/MNIST/raw``), so both runs see the same arrays."""

import gzip
import os

import numpy as np
import torch
from PIL import Image


def _idx(path):
    with open(path, "rb") as f:
        raw = gzip.decompress(f.read())
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


class _MNIST(torch.utils.data.Dataset):
    def __init__(self, root, train=True, download=False, transform=None):
        split = "train" if train else "t10k"
        raw = os.path.join(root, "MNIST", "raw")
        self.data = torch.from_numpy(_idx(os.path.join(raw, f"{split}-images-idx3-ubyte.gz")).copy())
        self.targets = torch.from_numpy(
            _idx(os.path.join(raw, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
        )
        self.transform = transform

    def __getitem__(self, i):
        img = Image.fromarray(self.data[i].numpy(), mode="L")
        return (self.transform(img) if self.transform else img), int(self.targets[i])

    def __len__(self):
        return len(self.data)


class _ToTensor:
    def __call__(self, pic):
        return torch.from_numpy(np.array(pic, np.uint8)[None]).float().div(255)


class _Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, x):
        return (x - torch.tensor(self.mean)[:, None, None]) / torch.tensor(self.std)[:, None, None]


class _Compose:
    def __init__(self, ts):
        self.ts = ts

    def __call__(self, x):
        for t in self.ts:
            x = t(x)
        return x


class datasets:  # noqa: N801  (a module-like namespace, as `from torchvision import datasets`)
    MNIST = _MNIST


class transforms:  # noqa: N801
    ToTensor, Normalize, Compose = _ToTensor, _Normalize, _Compose
