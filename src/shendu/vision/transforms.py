"""Per-sample image transforms with torchvision's names and semantics.

Each transform takes ONE image, a PIL image or a Tensor shaped ``(..., C, H, W)``, and returns the
same kind (``ToTensor`` turns a PIL image or an ``(H, W, C)`` ndarray into a float32 ``(C, H, W)``
Tensor in [0, 1]). Random transforms draw from shendu's generator (``shendu.manual_seed``; inside a
DataLoader worker, the worker's own), as torchvision's draw from torch's.

>>> import numpy as np
>>> from PIL import Image
>>> t = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
>>> x = t(Image.fromarray(np.full((2, 3), 255, np.uint8)))
>>> x.shape, x.dtype, float(x.numpy().max())
((1, 2, 3), dtype('float32'), 1.0)
"""

from __future__ import annotations

import numbers
from enum import Enum
from typing import Any, Callable, Sequence

import numpy as np

from shendu import random as _random
from shendu.tensor import Tensor

__all__ = [
    "CenterCrop",
    "Compose",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "Pad",
    "PILToTensor",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "ToPILImage",
    "ToTensor",
]


class InterpolationMode(Enum):
    """Resampling filters, as ``torchvision.transforms.InterpolationMode``."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _pil_filter(mode: InterpolationMode) -> Any:
    from PIL import Image

    return getattr(Image.Resampling, mode.name)


def _is_pil(img: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return False
    return isinstance(img, Image.Image)


def _check_image(img: Any, who: str) -> None:
    if not (_is_pil(img) or isinstance(img, Tensor)):
        raise TypeError(f"{who}: img should be a PIL Image or a shendu Tensor, got {type(img).__name__}")
    if isinstance(img, Tensor) and img.ndim < 2:
        raise ValueError(f"{who}: a tensor image must be shaped (..., H, W), got shape {tuple(img.shape)}")


def _size_of(img: Any) -> tuple[int, int]:
    """(height, width) of a PIL image or a (..., H, W) tensor."""
    if _is_pil(img):
        w, h = img.size
        return h, w
    return int(img.shape[-2]), int(img.shape[-1])


def _pair(size: int | Sequence[int], who: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    sizes = [int(s) for s in size]  # type: ignore[union-attr]
    if len(sizes) == 1:
        return sizes[0], sizes[0]
    if len(sizes) != 2:
        raise ValueError(f"{who}: size must be an int or a (h, w) pair, got {sizes}")
    return sizes[0], sizes[1]


def _on_planes(arr: np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    """Apply a PIL operation to every (H, W) plane of ``arr`` as a float32 "F" image."""
    from PIL import Image

    lead = arr.shape[:-2]
    planes = arr.reshape(-1, *arr.shape[-2:]).astype(np.float32)
    out = np.stack([np.asarray(fn(Image.fromarray(p, mode="F"))) for p in planes])
    out = out.reshape(*lead, *out.shape[-2:])
    if arr.dtype.kind in "iub":
        info = np.iinfo(arr.dtype) if arr.dtype.kind != "b" else None
        out = np.rint(out)
        if info is not None:
            out = np.clip(out, info.min, info.max)
    return out.astype(arr.dtype)


# ---- conversion ----------------------------------------------------------------------------
class ToTensor:
    """PIL image or ``(H, W, C)`` ndarray -> ``(C, H, W)`` Tensor; uint8 values scale to [0, 1] float32.

    Other dtypes keep their values (as torchvision: a float ndarray is not rescaled).
    """

    def __call__(self, pic: Any) -> Tensor:
        if _is_pil(pic):
            kinds = {"I": np.int32, "I;16": np.int16, "F": np.float32}
            arr = np.array(pic, dtype=kinds.get(pic.mode, np.uint8), copy=True)
            if pic.mode == "1":
                arr = arr * np.uint8(255)
        elif isinstance(pic, np.ndarray):
            if pic.ndim not in (2, 3):
                raise ValueError(
                    f"ToTensor: pic should be 2 or 3 dimensional (H, W[, C]), got {pic.ndim} dims"
                )
            arr = pic
        else:
            raise TypeError(f"ToTensor: pic should be a PIL Image or an ndarray, got {type(pic).__name__}")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(np.float32) / np.float32(255.0)
        return Tensor._wrap(chw)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """PIL image -> uint8 ``(C, H, W)`` Tensor, values unchanged."""

    def __call__(self, pic: Any) -> Tensor:
        if not _is_pil(pic):
            raise TypeError(f"PILToTensor: pic should be a PIL Image, got {type(pic).__name__}")
        arr = np.array(pic, copy=True)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return Tensor._wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))

    def __repr__(self) -> str:
        return "PILToTensor()"


class ToPILImage:
    """``(C, H, W)`` Tensor (float in [0, 1] is scaled by 255) or ``(H, W, C)`` ndarray -> PIL image."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        from PIL import Image

        if isinstance(pic, Tensor):
            arr = np.asarray(pic)
            if arr.ndim == 2:
                arr = arr[None]
            if arr.ndim != 3:
                raise ValueError(f"ToPILImage: expected a (C, H, W) tensor, got shape {arr.shape}")
            if arr.dtype.kind == "f":
                arr = (arr * 255).astype(np.uint8)  # torchvision: pic.mul(255).byte(), truncating
            arr = arr.transpose(1, 2, 0)
        elif isinstance(pic, np.ndarray):
            arr = pic if pic.ndim == 3 else pic[:, :, None]
        else:
            raise TypeError(f"ToPILImage: pic should be a Tensor or an ndarray, got {type(pic).__name__}")
        if arr.shape[2] == 1:
            return Image.fromarray(arr[:, :, 0], mode=self.mode)
        return Image.fromarray(arr, mode=self.mode)

    def __repr__(self) -> str:
        return f"ToPILImage(mode={self.mode})"


class Normalize:
    """``out[c] = (x[c] - mean[c]) / std[c]`` on a float Tensor ``(..., C, H, W)``; dtype kept."""

    def __init__(
        self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False
    ) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: expected a Tensor (use ToTensor first), got {type(tensor).__name__}")
        arr = np.asarray(tensor)
        if arr.dtype.kind != "f":
            raise TypeError(f"Normalize: input tensor should be a float tensor, got {arr.dtype}")
        if arr.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image of size (..., C, H, W), got {arr.shape}")
        mean = np.asarray(self.mean, dtype=arr.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=arr.dtype).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(
                f"Normalize: std evaluated to zero after conversion to {arr.dtype}, "
                "leading to division by zero"
            )
        if mean.shape[0] not in (1, arr.shape[-3]) or std.shape[0] not in (1, arr.shape[-3]):
            raise ValueError(
                f"Normalize: {mean.shape[0]} means and {std.shape[0]} stds for {arr.shape[-3]} channels"
            )
        if self.inplace:
            arr -= mean
            arr /= std
            return tensor
        return Tensor._wrap((arr - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Compose:
    """Apply ``transforms`` in order: ``Compose([ToTensor(), Normalize(m, s)])(img)``."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


# ---- geometry ------------------------------------------------------------------------------
def _padding_ltrb(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    if isinstance(padding, numbers.Integral):
        p = int(padding)
        return p, p, p, p
    pad = [int(p) for p in padding]  # type: ignore[union-attr]
    if len(pad) == 1:
        return pad[0], pad[0], pad[0], pad[0]
    if len(pad) == 2:
        return pad[0], pad[1], pad[0], pad[1]
    if len(pad) == 4:
        return pad[0], pad[1], pad[2], pad[3]
    raise ValueError(f"padding must be an int or a 1, 2 or 4 element sequence, got {len(pad)} elements")


def pad(img: Any, padding: int | Sequence[int], fill: float = 0, padding_mode: str = "constant") -> Any:
    """Pad the last two axes: ``padding`` is all sides, (left/right, top/bottom) or (l, t, r, b)."""
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"padding_mode must be constant, edge, reflect or symmetric, got {padding_mode!r}")
    left, top, right, bottom = _padding_ltrb(padding)
    if _is_pil(img):
        from PIL import Image

        arr = np.asarray(img)
        widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
        out = _np_pad(arr, widths, fill, padding_mode)
        result = Image.fromarray(out, mode=img.mode)
        if img.mode == "P":
            result.putpalette(img.getpalette())
        return result
    arr = np.asarray(img)
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    return Tensor._wrap(_np_pad(arr, widths, fill, padding_mode))


def _np_pad(arr: np.ndarray, widths: list[tuple[int, int]], fill: float, mode: str) -> np.ndarray:
    if mode == "constant":
        return np.pad(arr, widths, mode="constant", constant_values=fill)
    return np.pad(arr, widths, mode=mode)  # type: ignore[call-overload]


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height × width`` window at (top, left) of the last two axes."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    return Tensor._wrap(np.asarray(img)[..., top : top + height, left : left + width].copy())


def hflip(img: Any) -> Any:
    """Mirror left-right."""
    if _is_pil(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return Tensor._wrap(np.asarray(img)[..., ::-1].copy())


def vflip(img: Any) -> Any:
    """Mirror top-bottom."""
    if _is_pil(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return Tensor._wrap(np.asarray(img)[..., ::-1, :].copy())


class Pad:
    """Pad the image on all sides (see :func:`pad`)."""

    def __init__(self, padding: int | Sequence[int], fill: float = 0, padding_mode: str = "constant") -> None:
        _padding_ltrb(padding)
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img: Any) -> Any:
        _check_image(img, "Pad")
        return pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


class CenterCrop:
    """The central ``size`` window (zero padding first if the image is smaller)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _pair(size, "CenterCrop")

    def __call__(self, img: Any) -> Any:
        _check_image(img, "CenterCrop")
        th, tw = self.size
        h, w = _size_of(img)
        if th > h or tw > w:
            ltrb = [(tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0]
            ltrb += [(tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0]
            img = pad(img, ltrb, fill=0)
            h, w = _size_of(img)
            if h == th and w == tw:
                return img
        top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
        return crop(img, top, left, th, tw)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class RandomCrop:
    """A ``size`` window at a uniformly drawn position, after optional padding.

    ``pad_if_needed`` pads an image smaller than ``size``; otherwise a smaller image is an error.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
    ) -> None:
        self.size = _pair(size, "RandomCrop")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = (
            padding,
            pad_if_needed,
            fill,
            padding_mode,
        )

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of a random crop."""
        h, w = _size_of(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if h == th and w == tw:
            return 0, 0, h, w
        gen = _random.default_generator()
        return int(gen.integers(0, h - th + 1)), int(gen.integers(0, w - tw + 1)), th, tw

    def __call__(self, img: Any) -> Any:
        _check_image(img, "RandomCrop")
        if self.padding is not None:
            img = pad(img, self.padding, self.fill, self.padding_mode)
        h, w = _size_of(img)
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            img = pad(img, [tw - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = pad(img, [0, th - h], self.fill, self.padding_mode)
        return crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        _check_image(img, "RandomHorizontalFlip")
        return hflip(img) if _random.default_generator().random() < self.p else img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomVerticalFlip:
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        _check_image(img, "RandomVerticalFlip")
        return vflip(img) if _random.default_generator().random() < self.p else img

    def __repr__(self) -> str:
        return f"RandomVerticalFlip(p={self.p})"


def _output_size(h: int, w: int, size: int | Sequence[int], max_size: int | None) -> tuple[int, int]:
    """torchvision's rule: an int (or 1-sequence) sets the SHORTER edge, keeping the aspect ratio."""
    if isinstance(size, numbers.Integral) or len(size) == 1:  # type: ignore[arg-type]
        requested = int(size if isinstance(size, numbers.Integral) else size[0])  # type: ignore[index]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(
                    f"max_size = {max_size} must be strictly greater than the requested size {requested}"
                )
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        return new_h, new_w
    if max_size is not None:
        raise ValueError("max_size is only supported when size is an int")
    return _pair(size, "Resize")


def resize(
    img: Any,
    size: int | Sequence[int],
    interpolation: InterpolationMode = InterpolationMode.BILINEAR,
    max_size: int | None = None,
) -> Any:
    """Resize to ``size`` (an int: the shorter edge). Tensors go plane by plane through PIL's
    resampling, which is the antialiased filter torchvision's ``antialias=True`` reproduces."""
    h, w = _size_of(img)
    oh, ow = _output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    resample = _pil_filter(interpolation)
    if _is_pil(img):
        return img.resize((ow, oh), resample)
    return Tensor._wrap(_on_planes(np.asarray(img), lambda p: p.resize((ow, oh), resample)))


class Resize:
    """Resize to ``size``: ``(h, w)``, or an int for the shorter edge (aspect ratio kept)."""

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
        max_size: int | None = None,
        antialias: bool | None = True,
    ) -> None:
        if not isinstance(size, (numbers.Integral, Sequence)) or (
            isinstance(size, Sequence) and len(size) not in (1, 2)
        ):
            raise TypeError(f"Resize: size should be an int or a sequence of 1 or 2 ints, got {size!r}")
        if not isinstance(interpolation, InterpolationMode):
            raise TypeError(f"Resize: interpolation should be an InterpolationMode, got {interpolation!r}")
        self.size, self.interpolation, self.max_size, self.antialias = (
            size,
            interpolation,
            max_size,
            antialias,
        )

    def __call__(self, img: Any) -> Any:
        _check_image(img, "Resize")
        return resize(img, self.size, self.interpolation, self.max_size)

    def __repr__(self) -> str:
        return f"Resize(size={self.size}, interpolation={self.interpolation.value})"


def rotate(
    img: Any,
    angle: float,
    interpolation: InterpolationMode = InterpolationMode.NEAREST,
    expand: bool = False,
    center: Sequence[int] | None = None,
    fill: float = 0,
) -> Any:
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image centre)."""
    resample = _pil_filter(interpolation)
    ctr = None if center is None else tuple(center)
    if _is_pil(img):
        bands = len(img.getbands())
        fillcolor = fill if bands == 1 or not isinstance(fill, numbers.Number) else (fill,) * bands
        return img.rotate(angle, resample=resample, expand=expand, center=ctr, fillcolor=fillcolor)
    return Tensor._wrap(
        _on_planes(
            np.asarray(img),
            lambda p: p.rotate(angle, resample=resample, expand=expand, center=ctr, fillcolor=float(fill)),
        )
    )


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means (-d, d))."""

    def __init__(
        self,
        degrees: float | Sequence[float],
        interpolation: InterpolationMode = InterpolationMode.NEAREST,
        expand: bool = False,
        center: Sequence[int] | None = None,
        fill: float = 0,
    ) -> None:
        if isinstance(degrees, numbers.Number):
            if degrees < 0:  # type: ignore[operator]
                raise ValueError(
                    f"RandomRotation: if degrees is a single number, it must be positive, got {degrees}"
                )
            self.degrees = (-float(degrees), float(degrees))  # type: ignore[arg-type]
        else:
            d = [float(v) for v in degrees]  # type: ignore[union-attr]
            if len(d) != 2:
                raise ValueError(f"RandomRotation: degrees should be a number or a sequence of 2, got {d}")
            self.degrees = (d[0], d[1])
        self.interpolation, self.expand, self.center, self.fill = interpolation, expand, center, fill

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        """An angle drawn uniformly from ``[degrees[0], degrees[1]]``."""
        return float(_random.default_generator().uniform(float(degrees[0]), float(degrees[1])))

    def __call__(self, img: Any) -> Any:
        _check_image(img, "RandomRotation")
        angle = self.get_params(self.degrees)
        return rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation.value})"


class Grayscale:
    """Convert to grey (ITU-R 601-2 luma, PIL's "L"), with 1 or 3 output channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be 1 or 3, got {num_output_channels}")
        self.num_output_channels = num_output_channels

    def __call__(self, img: Any) -> Any:
        _check_image(img, "Grayscale")
        if _is_pil(img):
            grey = img.convert("L")
            return grey if self.num_output_channels == 1 else grey.convert("RGB")
        arr = np.asarray(img)
        if arr.shape[-3] == 1:
            g = arr
        else:
            r, gch, b = arr[..., 0, :, :], arr[..., 1, :, :], arr[..., 2, :, :]
            g = (0.2989 * r + 0.587 * gch + 0.114 * b).astype(arr.dtype)[..., None, :, :]
        reps = (1,) * (arr.ndim - 3) + (self.num_output_channels, 1, 1)
        return Tensor._wrap(np.tile(g, reps) if self.num_output_channels == 3 else g)

    def __repr__(self) -> str:
        return f"Grayscale(num_output_channels={self.num_output_channels})"
