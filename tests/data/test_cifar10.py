import io
import tarfile

import numpy as np
import pytest

from shendu.data import CIFAR10, DatasetNotFoundError
from shendu.data.cifar10 import ARCHIVE, ARCHIVE_MD5, RECORD

NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def _records(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    # one record: label byte, then red plane, green plane, blue plane
    blob = b"".join(bytes([labels[i]]) + pixels[i].tobytes() for i in range(n))
    return blob, labels, pixels


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


@pytest.fixture
def fake_cifar(tmp_path):
    parts = {name: _records(4, seed) for seed, name in enumerate(NAMES)}
    _tar(tmp_path / ARCHIVE, {name: p[0] for name, p in parts.items()})
    return tmp_path, parts


def test_reads_train_and_test_from_tar(fake_cifar):
    folder, parts = fake_cifar
    train = CIFAR10(folder, "train", download=False, verify=False)
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == np.float32
    assert train.labels.dtype == np.int64
    np.testing.assert_array_equal(train.labels, np.concatenate([parts[n][1] for n in NAMES[:5]]))
    np.testing.assert_allclose(train.images[4:8] * 255, parts["data_batch_2.bin"][2], atol=1e-3)
    test = CIFAR10(folder, "test", download=False, verify=False)
    assert len(test) == 4 and test.classes[0] == "airplane" and test.classes[9] == "truck"
    np.testing.assert_allclose(test.images * 255, parts["test_batch.bin"][2], atol=1e-3)


def test_extracted_folder_works(tmp_path):
    blob, labels, _ = _records(3, 9)
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(blob)
    ds = CIFAR10(tmp_path, "test", download=False)
    assert ds.labels.tolist() == labels.tolist()


def test_verify_checks_archive_md5(fake_cifar):
    folder, _ = fake_cifar
    with pytest.raises(ValueError, match=ARCHIVE_MD5):
        CIFAR10(folder, "test", download=False)


def test_truncated_record_and_bad_label(tmp_path):
    blob, _, _ = _records(2, 0)
    _tar(tmp_path / ARCHIVE, {"test_batch.bin": blob[:-7]})
    with pytest.raises(ValueError, match=f"not a whole number of {RECORD}-byte records"):
        CIFAR10(tmp_path, "test", download=False, verify=False)
    bad = bytes([12]) + blob[1:]
    _tar(tmp_path / ARCHIVE, {"test_batch.bin": bad})
    with pytest.raises(ValueError, match="label byte 12"):
        CIFAR10(tmp_path, "test", download=False, verify=False)


def test_truncated_archive_and_missing_member(tmp_path, fake_cifar):
    folder, _ = fake_cifar
    data = (folder / ARCHIVE).read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / ARCHIVE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt archive"):
        CIFAR10(tmp_path / "cut", "train", download=False, verify=False)
    _tar(tmp_path / ARCHIVE, {"test_batch.bin": _records(1, 0)[0]})
    with pytest.raises(ValueError, match="lacks data_batch_1.bin"):
        CIFAR10(tmp_path, "train", download=False, verify=False)


def test_missing_archive_message(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="cifar-10-binary.tar.gz") as e:
        CIFAR10(tmp_path, "test", download=False)
    assert str(tmp_path) in str(e.value)
    with pytest.raises(ValueError, match="valid splits: train, test"):
        CIFAR10(tmp_path, "val")
