import gzip
import hashlib
import os
import socket

import numpy as np
import pytest

from shendu.data import MNIST, DatasetNotFoundError, FashionMNIST, load_dataset
from tests.conftest import SHARED_MNIST
from tests.data.conftest import Route, idx_bytes, write_idx

HAVE_SHARED = os.path.isfile(os.path.join(SHARED_MNIST, "t10k-images-idx3-ubyte.gz"))
needs_shared = pytest.mark.skipif(
    not HAVE_SHARED, reason=f"official MNIST test set not found in {SHARED_MNIST}"
)


def _fake(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def _write_split(folder, prefix, imgs, lbls, compress):
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if compress else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", imgs, compress)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", lbls, compress)


@pytest.mark.parametrize("compress", [True, False])
def test_train_split_from_fake_files(tmp_path, compress):
    imgs, lbls = _fake(30)
    _write_split(tmp_path, "train", imgs, lbls, compress)
    ds = MNIST(tmp_path, "train", download=False, verify=False)
    assert ds.images.shape == (30, 1, 28, 28) and ds.images.dtype == np.float32
    assert ds.labels.dtype == np.int64 and ds.labels.tolist() == lbls.tolist()
    np.testing.assert_allclose(ds.images[:, 0], imgs / 255.0, rtol=1e-6)
    assert ds.images.min() >= 0 and ds.images.max() <= 1
    assert ds.classes == [str(d) for d in range(10)] and ds.name == "mnist" and ds.split == "train"


def test_verify_rejects_non_official_content(tmp_path):
    _write_split(tmp_path, "train", *_fake(5), compress=True)
    with pytest.raises(ValueError, match="differs from the official file's 6bbc9ace898e44ae57da46a324031adb"):
        MNIST(tmp_path, "train", download=False)


def test_missing_split_without_download_names_files_and_folder(tmp_path):
    _write_split(tmp_path, "t10k", *_fake(5), compress=False)
    assert len(MNIST(tmp_path, "test", download=False, verify=False)) == 5  # test split alone works
    with pytest.raises(DatasetNotFoundError) as e:
        MNIST(tmp_path, "train", download=False)
    msg = str(e.value)
    assert (
        "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg and str(tmp_path) in msg
    )


def test_offline_download_error_names_missing_files_and_folder(tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(MNIST, "mirrors", (f"http://127.0.0.1:{port}/",))
    with pytest.raises(DatasetNotFoundError) as e:
        MNIST(tmp_path / "data", "test")
    msg = str(e.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "by hand" in msg and str(tmp_path / "data") in msg
    assert not (tmp_path / "data").exists()  # no partial file, and no empty folder either


def test_download_from_mirrors_then_load(tmp_path, monkeypatch, http_server):
    imgs, lbls = _fake(12, seed=1)
    blobs = {"t10k-images-idx3-ubyte": idx_bytes(imgs), "t10k-labels-idx1-ubyte": idx_bytes(lbls)}
    gz = {k: gzip.compress(v) for k, v in blobs.items()}
    resources = dict(MNIST.resources)
    resources["test"] = tuple(
        (k, hashlib.md5(gz[k]).hexdigest(), hashlib.md5(blobs[k]).hexdigest()) for k in blobs
    )
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(MNIST, "mirrors", (f"{http_server.url}/down/", f"{http_server.url}/ok/"))
    for k in blobs:
        http_server.routes[f"/ok/{k}.gz"] = Route(gz[k])
    ds = MNIST(tmp_path, "test")  # first mirror 404s, second serves
    assert ds.labels.tolist() == lbls.tolist()
    assert (tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes() == gz["t10k-images-idx3-ubyte"]
    assert "/down/t10k-images-idx3-ubyte.gz" in http_server.hits


def test_env_var_and_subfolder(tmp_path, monkeypatch):
    _write_split(tmp_path / "root" / "mnist", "t10k", *_fake(4), compress=True)
    monkeypatch.setenv("SHENDU_DATA", str(tmp_path / "root"))
    assert len(MNIST(split="test", download=False, verify=False)) == 4
    assert len(MNIST(tmp_path / "root", "test", download=False, verify=False)) == 4  # data_dir/<name>/


def test_default_folder_is_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("SHENDU_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / ".cache" / "shendu" / "mnist")):
        MNIST(split="test", download=False)


def test_corrupt_contents_are_errors(tmp_path):
    imgs, lbls = _fake(6)
    _write_split(tmp_path, "t10k", imgs, lbls[:5], compress=False)
    with pytest.raises(ValueError, match="6 images but t10k-labels-idx1-ubyte has 5 labels"):
        MNIST(tmp_path, "test", download=False, verify=False)
    lbls[0] = 10
    _write_split(tmp_path, "t10k", imgs, lbls, compress=False)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\), found 10"):
        MNIST(tmp_path, "test", download=False, verify=False)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        MNIST(tmp_path, "test", download=False, verify=False)


def test_unknown_split():
    with pytest.raises(ValueError, match="valid splits: train, test"):
        MNIST(split="val")


def test_fashion_mnist_classes_and_folder(tmp_path):
    _write_split(tmp_path / "fashion-mnist", "t10k", *_fake(3), compress=True)
    ds = FashionMNIST(tmp_path, "test", download=False, verify=False)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot" and ds.name == "fashion-mnist"
    assert FashionMNIST.resources["test"][1][1] == "bb300cfdad3c16e7a12a480ee83cd310"


@needs_shared
def test_official_test_set():
    ds = load_dataset("mnist", "test", data_dir=SHARED_MNIST, download=False)  # verify=True: content md5s
    assert ds.images.shape == (10000, 1, 28, 28) and ds.images.dtype == np.float32
    # published class counts of the MNIST test set
    assert np.bincount(ds.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert ds.images.min() == 0.0 and ds.images.max() == 1.0
    raw = gzip.decompress(open(os.path.join(SHARED_MNIST, "t10k-labels-idx1-ubyte.gz"), "rb").read())
    assert hashlib.md5(raw).hexdigest() == "27ae3e4e09519cfbb04c329615203637"
    assert ds.labels[:5].tolist() == list(raw[8:13])


@needs_shared
def test_official_test_set_without_train_files():
    with pytest.raises(DatasetNotFoundError, match="train-images-idx3-ubyte"):
        MNIST(SHARED_MNIST, "train", download=False)
