"""shendu.vision: torchvision's names for datasets, per-sample transforms, models and image grids.

A script written for torchvision runs with its import lines switched::

    from shendu.vision import datasets, transforms      # from torchvision import datasets, transforms
    train = datasets.MNIST("data", train=True, download=True,
                           transform=transforms.Compose([transforms.ToTensor(),
                                                         transforms.Normalize((0.1307,), (0.3081,))]))

The files sit where torchvision puts them (``data/MNIST/raw/...``), so the two libraries share a
download. These transforms act on one sample at a time (a PIL image or a ``(C, H, W)`` Tensor),
inside ``Dataset.__getitem__``, as torchvision's do; shendu's own training CLI keeps its faster
batched transforms (:mod:`shendu.data.transforms`), which act on a whole ``(B, C, H, W)`` batch.
"""

from shendu.vision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
