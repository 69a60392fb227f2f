"""Preparing digit pictures like MNIST; the figures; the history file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shendu.training import History, plot_confusion_matrix, plot_history
from shendu.training.images import ImageError, load_image, mnist_like


def _centre_of_mass(img):
    rows, cols = np.indices(img.shape)
    return (rows * img).sum() / img.sum(), (cols * img).sum() / img.sum()


def test_mnist_like_inverts_crops_scales_and_centres():
    paper = np.ones((90, 60), np.float32)
    paper[10:70, 40:52] = 0.0  # a tall dark bar near the right edge: 60 × 12 pixels
    out = mnist_like(paper)
    assert out.shape == (28, 28) and out.dtype == np.float32
    ink = out > 0.5
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20  # the longer side becomes 20 pixels
    assert 3 <= cols[-1] - cols[0] + 1 <= 5  # aspect ratio kept: 12/60 of 20
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6  # where MNIST puts it
    assert out[0].max() == 0 and out[:, 0].max() == 0  # black background


def test_mnist_like_keeps_light_on_dark_and_matches_mnist_digits():
    from shendu.data import load_dataset

    digits = load_dataset("mnist-5k", "val").images[::50, 0]  # one per class
    for d in digits:
        big = np.kron(d, np.ones((2, 2), np.float32))  # already white on black: no inversion
        out = mnist_like(big)
        # MNIST digits are themselves made this way: the result lies close to the original
        assert np.abs(out - d).mean() < 0.02
        assert np.corrcoef(out.ravel(), d.ravel())[0, 1] > 0.99


def test_blank_image_is_an_error():
    with pytest.raises(ImageError, match="blank"):
        mnist_like(np.ones((30, 30), np.float32))


def test_load_image_formats_and_errors(tmp_path):
    rgb = np.full((40, 30, 3), 255, np.uint8)
    rgb[5:35, 12:18] = (20, 30, 200)  # a blue pen stroke on white paper
    Image.fromarray(rgb).save(tmp_path / "a.jpg")
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[5:35, 18:24] = (0, 0, 0, 255)  # black ink on a transparent background
    Image.fromarray(rgba).save(tmp_path / "b.png")
    for name in ("a.jpg", "b.png"):
        x = load_image(tmp_path / name, (1, 28, 28))
        assert x.shape == (1, 28, 28) and x.max() > 0.9 and x[0, 0].max() == 0
    colour = load_image(tmp_path / "a.jpg", (3, 32, 32))
    assert colour.shape == (3, 32, 32) and colour.dtype == np.float32
    (tmp_path / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    for bad, message in (("c.png", "not a readable image"), ("missing.png", "no such file")):
        with pytest.raises(ImageError, match=message):
            load_image(tmp_path / bad, (1, 28, 28))


def _rows():
    return [
        dict(
            epoch=e,
            train_loss=1 / e,
            train_acc=1 - 0.3 / e,
            val_loss=1.2 / e,
            val_acc=1 - 0.4 / e,
            lr=0.001,
            seconds=1.0,
            images_per_s=100.0,
        )
        for e in (1, 2, 3)
    ]


def test_history_columns_best_and_file(tmp_path):
    h = History()
    for r in _rows():
        h.append(**r)
    assert h["epoch"] == [1, 2, 3] and h.best("val_loss")["epoch"] == 3 and h.best("val_acc")["epoch"] == 3
    with pytest.raises(KeyError, match="columns"):
        h["nope"]
    h.save(tmp_path / "h.json")
    assert History.load(tmp_path / "h.json").rows == h.rows


def test_figures_are_pngs(tmp_path):
    p = plot_history(History(_rows()), tmp_path / "curves.png")
    im = Image.open(p)
    assert im.format == "PNG" and im.size[0] > im.size[1]  # two panels side by side
    cm = np.array([[5, 1], [2, 7]])
    q = plot_confusion_matrix(cm, ["cat", "dog"], tmp_path / "cm.png")
    assert Image.open(q).format == "PNG"
    with pytest.raises(ValueError, match="2 classes"):
        plot_confusion_matrix(np.zeros((3, 3)), ["a", "b"], tmp_path / "x.png")


def _bar_digit(tmp_path, name, ink, paper, mode="L", alpha=None):
    """A vertical bar 'digit' (ink on paper) saved as ``name``; ``alpha`` makes the paper transparent."""
    img = np.full((40, 40), paper, np.float32)
    stroke = np.zeros((40, 40), bool)
    stroke[5:35, 17:23] = True
    img[stroke] = ink
    if alpha is not None:
        grey = (img * 255).astype(np.uint8)
        a = np.where(stroke, 255, alpha).astype(np.uint8)
        Image.fromarray(np.stack([grey, grey, grey, a], axis=-1)).save(tmp_path / name)
    elif mode == "F":
        Image.fromarray(img, mode="F").save(tmp_path / name)  # float TIFF, values in [0, 1]
    else:
        Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path / name)
    return load_image(tmp_path / name, (1, 28, 28))


def test_light_ink_on_transparent_paper_and_float_images(tmp_path):
    """White ink on a transparent canvas was composited on white (blank); float images were clipped."""
    expected = _bar_digit(tmp_path, "ref.png", ink=1.0, paper=0.0)
    white_on_clear = _bar_digit(tmp_path, "white.png", ink=1.0, paper=1.0, alpha=0)
    black_on_clear = _bar_digit(tmp_path, "black.png", ink=0.0, paper=0.0, alpha=0)
    floats = _bar_digit(tmp_path, "float.tiff", ink=0.0, paper=1.0, mode="F")
    for got in (white_on_clear, black_on_clear, floats):
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_empty_file_says_so(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="the file is empty"):
        load_image(tmp_path / "empty.png", (1, 28, 28))
