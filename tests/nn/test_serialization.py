"""shendu.serialization: safetensors round trips, atomic writes, clear errors on foreign files."""

import json
import os
import pickle

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import shendu
from shendu import nn, serialization


def test_round_trip_keeps_values_dtypes_shapes(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "w": shendu.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        "d": rng.standard_normal(5),  # float64 ndarray
        "count": np.array(7, dtype=np.int64),  # 0-d, as num_batches_tracked
        "mask": np.array([True, False]),
        "strided": np.arange(12, dtype=np.float32).reshape(3, 4).T,  # not C-contiguous
        "empty": np.zeros((0, 3), np.float32),
    }
    path = tmp_path / "state.safetensors"
    serialization.save(state, path)
    loaded = serialization.load(path)
    assert set(loaded) == set(state)
    for k, v in state.items():
        expected = v.numpy() if isinstance(v, shendu.Tensor) else v
        assert loaded[k].dtype == expected.dtype and loaded[k].shape == expected.shape, k
        np.testing.assert_array_equal(loaded[k], expected)
    assert loaded["count"].shape == ()
    # a standard safetensors file: the reference reader agrees
    ref = load_file(str(path))
    assert all((ref[k] == loaded[k]).all() for k in ref)


def test_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    serialization.save({"a": np.ones(2, np.float32)}, path, metadata={"epoch": "3", "model": "lenet"})
    tensors, meta = serialization.load_with_metadata(path)
    assert meta == {"epoch": "3", "model": "lenet"} and list(tensors) == ["a"]
    serialization.save({"a": np.ones(2, np.float32)}, path)
    assert serialization.load_with_metadata(path)[1] == {}
    with pytest.raises(TypeError, match="json.dumps"):
        serialization.save({"a": np.ones(1)}, path, metadata={"epoch": 3})


def test_module_round_trip_gives_identical_outputs(tmp_path):
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2))
    net(shendu.randn(4, 1, 4, 4))  # move BatchNorm's running statistics
    net.eval()
    path = tmp_path / "net.safetensors"
    serialization.save(net.state_dict(), path)
    twin = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2)
    ).eval()
    twin.load_state_dict(serialization.load(path))
    x = shendu.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(twin(x).detach().numpy(), net(x).detach().numpy())
    assert twin[1].num_batches_tracked.item() == 1


def test_torch_state_dict_via_safetensors(tmp_path):
    """A torch model's weights, exported as arrays, load into the shendu twin."""
    t = torch.nn.Linear(4, 2)
    path = tmp_path / "t.safetensors"
    serialization.save({k: v.detach().numpy() for k, v in t.state_dict().items()}, path)
    s = nn.Linear(4, 2)
    s.load_state_dict(serialization.load(path))
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(
        s(shendu.tensor(x)).detach().numpy(), t(torch.from_numpy(x)).detach().numpy(), rtol=1e-6
    )


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    serialization.save({"a": np.zeros(3, np.float32)}, path)
    serialization.save({"a": np.ones(3, np.float32)}, path)  # overwrite
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert (serialization.load(path)["a"] == 1).all()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)  # fail after the temporary file was written
    with pytest.raises(OSError, match="disk full"):
        serialization.save({"a": np.full(3, 2, np.float32)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # temp file removed
    assert (serialization.load(path)["a"] == 1).all()  # the old checkpoint is intact


def test_save_uses_a_temp_file_in_the_same_directory(tmp_path, monkeypatch):
    calls = []
    real_replace = os.replace

    def spy(src, dst):
        calls.append((os.path.dirname(src), os.path.dirname(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    serialization.save({"a": np.zeros(1)}, tmp_path / "x.safetensors")
    assert calls == [(str(tmp_path), str(tmp_path))]


def test_save_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="keys must be strings, numbers, None or tuples of them, got Tensor"):
        serialization.save({shendu.ones(1): np.zeros(1)}, tmp_path / "a")
    with pytest.raises(TypeError, match="a.b.1: cannot store a value of type object.*never pickles"):
        serialization.save({"a": {"b": [1, object()]}}, tmp_path / "a")
    with pytest.raises(TypeError, match="dtype <U"):
        serialization.save({"a": np.array(["x"])}, tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        serialization.save({"a": np.zeros(1)}, tmp_path / "no" / "a")


def _expect_bad_file(path, *fragments):
    with pytest.raises(ValueError) as e:
        serialization.load(path)
    msg = str(e.value)
    assert str(path) in msg and "not a valid safetensors file" in msg
    for f in fragments:
        assert f in msg, msg


def test_foreign_and_truncated_files_are_clear_errors(tmp_path):
    good = tmp_path / "good.safetensors"
    serialization.save({"w": np.arange(100, dtype=np.float32)}, good)
    data = good.read_bytes()

    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[:-10])
    _expect_bad_file(truncated, "truncated")

    header_cut = tmp_path / "header_cut.safetensors"
    header_cut.write_bytes(data[:20])
    _expect_bad_file(header_cut, "truncated")

    text = tmp_path / "notes.txt"
    text.write_text("these are not weights at all")
    _expect_bad_file(text)

    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    _expect_bad_file(empty, "0 bytes")

    bad_json = tmp_path / "bad_json.safetensors"
    bad_json.write_bytes((5).to_bytes(8, "little") + b"{nope")
    _expect_bad_file(bad_json, "JSON")

    pt = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, pt)
    _expect_bad_file(pt, "torch.save")

    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(pickle.dumps({"w": np.ones(2)}))
    _expect_bad_file(pkl, "pickle")

    with pytest.raises(FileNotFoundError):
        serialization.load(tmp_path / "missing.safetensors")


def test_file_layout_is_header_then_data(tmp_path):
    path = tmp_path / "x.safetensors"
    serialization.save({"w": np.zeros((2, 2), np.float32)}, path, metadata={"k": "v"})
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    assert header["w"]["dtype"] == "F32" and header["w"]["shape"] == [2, 2]
    assert header["__metadata__"]["k"] == "v"  # beside shendu's structure entry
    assert json.loads(header["__metadata__"]["shendu.structure"]) == {"w": {"__ndarray__": "w"}}
    assert len(raw) == 8 + n + 16


def test_nn_and_serialization_never_import_torch(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, shendu, shendu.nn as nn, shendu.serialization as s\n"
        f"s.save(nn.Linear(2, 2).state_dict(), {str(tmp_path / 'a.st')!r})\n"
        f"s.load({str(tmp_path / 'a.st')!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
