import numpy as np
import pytest
from scipy import ndimage

import shendu
from shendu.data import transforms as T


def _batch(rng, b=6, c=2, h=7, w=9):
    return rng.random((b, c, h, w)).astype(np.float32)


def test_normalize_per_channel(rng):
    x = _batch(rng, c=3)
    y = T.Normalize([0.1, 0.2, 0.3], [0.5, 2.0, 4.0])(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    for c, (m, s) in enumerate([(0.1, 0.5), (0.2, 2.0), (0.3, 4.0)]):
        np.testing.assert_allclose(y[:, c], (x[:, c] - m) / s, rtol=1e-6)
    np.testing.assert_allclose(T.Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="mean has 2 values but the images have 3 channels"):
        T.Normalize([0.1, 0.2], [1.0, 1.0])(x)
    with pytest.raises(ValueError, match="non-zero"):
        T.Normalize(0.0, 0.0)


def test_pad_28_to_32(rng):
    x = _batch(rng, c=1, h=28, w=28)
    y = T.Pad(2)(x)
    assert y.shape == (6, 1, 32, 32) and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, :, 2:30, 2:30], x)
    assert y[:, :, :2].sum() == 0 and y[:, :, :, 30:].sum() == 0
    z = T.Pad((1, 2, 3, 4), fill=-1.0)(x)  # left, top, right, bottom
    assert z.shape == (6, 1, 28 + 6, 28 + 4)
    np.testing.assert_array_equal(z[:, :, 2:30, 1:29], x)
    assert (z[:, :, :2] == -1).all() and (z[:, :, :, 29:] == -1).all()
    with pytest.raises(ValueError, match="padding"):
        T.Pad(-1)


def _find_window(big, small):
    """All (top, left) where ``small`` sits inside ``big`` (C, H, W)."""
    h, w = small.shape[1:]
    return [
        (i, j)
        for i in range(big.shape[1] - h + 1)
        for j in range(big.shape[2] - w + 1)
        if np.array_equal(big[:, i : i + h, j : j + w], small)
    ]


def test_random_crop_windows_are_real_and_vary(rng):
    x = _batch(rng, b=20)
    y = T.RandomCrop((5, 6), padding=1)(x, generator=np.random.default_rng(0))
    assert y.shape == (20, 2, 5, 6)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = [_find_window(padded[b], y[b]) for b in range(20)]
    assert all(len(o) >= 1 for o in offsets)
    assert len({o[0] for o in offsets}) > 3  # different crops per sample
    with pytest.raises(ValueError, match="larger than"):
        T.RandomCrop(20)(x)


def test_random_shift_moves_whole_pixels(rng):
    x = np.zeros((50, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1.0
    y = T.RandomShift(2)(x, generator=np.random.default_rng(1))
    pos = np.array([np.argwhere(y[b, 0] == 1.0)[0] for b in range(50)]) - 4
    assert y.sum() == 50 and np.abs(pos).max() <= 2
    assert len({tuple(p) for p in pos}) > 5


def test_horizontal_flip(rng):
    x = _batch(rng, b=200)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    y = T.RandomHorizontalFlip(0.5)(x, generator=np.random.default_rng(0))
    flipped = np.array([np.array_equal(y[b], x[b, :, :, ::-1]) for b in range(200)])
    kept = np.array([np.array_equal(y[b], x[b]) for b in range(200)])
    assert (flipped ^ kept).all() and 70 < flipped.sum() < 130


@pytest.mark.parametrize("k", [1, -1, 2])
def test_affine_rotation_matches_rot90(rng, k):
    x = _batch(rng, h=8, w=8)
    y = T.RandomAffine((90 * k, 90 * k))(x)
    np.testing.assert_allclose(y, np.rot90(x, k, axes=(2, 3)), atol=1e-5)


def test_affine_grid_sample_matches_scipy(rng):
    x = _batch(rng, b=3, c=2, h=10, w=12)
    mats = rng.normal(size=(3, 2, 3)) * [[0.3, 0.3, 2.0], [0.3, 0.3, 2.0]] + [[1, 0, 0], [0, 1, 0]]
    y = T.affine_grid_sample(x, mats, fill=0.25)
    centre = np.array([(10 - 1) / 2, (12 - 1) / 2])
    for b in range(3):
        a = mats[b, :, :2]
        offset = mats[b, :, 2] + centre - a @ centre
        for c in range(2):
            ref = ndimage.affine_transform(
                x[b, c].astype(np.float64), a, offset=offset, order=1, mode="grid-constant", cval=0.25
            )
            np.testing.assert_allclose(y[b, c], ref, atol=1e-5)


def test_affine_translate_and_determinism(rng):
    x = _batch(rng, b=4, h=12, w=12)
    t = T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1))
    a = t(x, generator=np.random.default_rng(3))
    b = t(x, generator=np.random.default_rng(3))
    assert a.dtype == np.float32 and a.shape == x.shape
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    ident = T.RandomAffine(0)(x)
    np.testing.assert_allclose(ident, x, atol=1e-6)
    with pytest.raises(ValueError, match="translate"):
        T.RandomAffine(5, translate=(2.0, 0.1))


def test_global_generator_used_by_default(rng):
    x = _batch(rng, b=30)
    shendu.manual_seed(4)
    a = T.RandomCrop(5, padding=2)(x)
    shendu.manual_seed(4)
    b = T.RandomCrop(5, padding=2)(x)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "t",
    [
        T.Normalize(0.5, 0.5),
        T.Pad(2),
        T.RandomCrop(3),
        T.RandomShift(1),
        T.RandomHorizontalFlip(),
        T.RandomAffine(5),
    ],
)
def test_wrong_shapes_and_dtypes_are_clear(t):
    with pytest.raises(ValueError, match=r"\(B, C, H, W\), got shape \(28, 28\)"):
        t(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="float"):
        t(np.zeros((2, 1, 8, 8), np.uint8))
    out = t(shendu.zeros(2, 1, 8, 8))
    assert isinstance(out, shendu.Tensor) and out.dtype == np.float32


def test_compose_passes_generator(rng):
    x = _batch(rng, b=10)
    t = T.Compose([T.RandomShift(1), T.RandomHorizontalFlip(), lambda a: a + 1])
    a = t(x, generator=np.random.default_rng(5))
    b = t(x, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert "RandomShift" in repr(t)


def test_repr_shows_arrays_as_plain_lists():
    """A transform's repr goes into config.json: numbers, not NumPy's ``array(...)``."""
    text = repr(T.Compose([T.Normalize([0.5, 0.25], [2.0, 4.0])]))
    assert "Normalize(mean=[0.5, 0.25], std=[2.0, 4.0])" in text and "array" not in text
