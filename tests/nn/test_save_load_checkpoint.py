"""shendu.save/load of nested checkpoint dicts, as torch.save/torch.load are used, without pickle."""

import io
import json
import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import shendu
from shendu import nn, optim, serialization


def _train(model, opt, sched, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = shendu.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        loss = (model(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return loss.item()


def test_checkpoint_round_trip_resumes_exactly(tmp_path):
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _train(model, opt, sched, 3, seed=0)
    ckpt = {
        "epoch": 3,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
    }
    shendu.save(ckpt, tmp_path / "ckpt.pt")
    expected = _train(model, opt, sched, 4, seed=1)

    back = shendu.load(tmp_path / "ckpt.pt", map_location="cpu", weights_only=False)
    assert list(back) == ["epoch", "model", "optimizer", "scheduler"] and back["epoch"] == 3
    assert list(back["model"]) == list(model.state_dict())  # insertion order, not sorted
    assert isinstance(back["model"]["0.weight"], shendu.Tensor)
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert sorted(back["optimizer"]["state"]) == [0, 1, 2, 3]  # int keys stay ints
    model2 = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    opt2 = optim.Adam(model2.parameters(), lr=0.01)
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    model2.load_state_dict(back["model"])
    opt2.load_state_dict(back["optimizer"])
    sched2.load_state_dict(back["scheduler"])
    assert _train(model2, opt2, sched2, 4, seed=1) == expected


def _assert_same(s, t, path="obj"):
    """shendu's loaded value ``s`` has the type, structure and values of torch's ``t``."""
    if isinstance(t, torch.Tensor):
        assert isinstance(s, shendu.Tensor), f"{path}: {type(s).__name__}, torch gives a Tensor"
        assert isinstance(s, nn.Parameter) == isinstance(t, torch.nn.Parameter), path
        assert s.requires_grad == t.requires_grad and s.is_leaf, path
        assert s.dtype == np.dtype(str(t.dtype).replace("torch.", "")), path
        np.testing.assert_array_equal(s.detach().numpy(), t.detach().numpy(), err_msg=path)
        return
    assert type(s) is type(t), f"{path}: {type(s).__name__}, torch gives {type(t).__name__}"
    if isinstance(t, (np.ndarray, np.generic)):
        assert s.dtype == t.dtype and np.shape(s) == np.shape(t), path
        np.testing.assert_array_equal(s, t, err_msg=path)
    elif isinstance(t, dict):
        assert list(s) == list(t), path  # the same keys (types included) in the same order
        for (ks, vs), (kt, vt) in zip(s.items(), t.items(), strict=True):
            assert type(ks) is type(kt), path
            _assert_same(vs, vt, f"{path}[{kt!r}]")
    elif isinstance(t, (list, tuple)):
        assert len(s) == len(t), path
        for i, (a, b) in enumerate(zip(s, t, strict=True)):
            _assert_same(a, b, f"{path}[{i}]")
    elif isinstance(t, float) and math.isnan(t):
        assert math.isnan(s), path
    else:
        assert s == t, path


def _everything(lib):
    """One of each kind of value a checkpoint may hold, built the same way in either library."""
    param = torch.nn.Parameter if lib is torch else nn.Parameter
    shared = lib.tensor([[1.0, 2.0]], dtype=lib.float64)
    return {
        "tensor": shared,
        "same tensor": shared,  # saved once, loaded as one object
        "requires grad": lib.tensor([1.0, 2.0], requires_grad=True),
        "parameter": param(lib.ones(3)),
        "frozen parameter": param(lib.zeros(2, dtype=lib.int64), requires_grad=False),
        "half array": np.arange(6, dtype=np.float16).reshape(2, 3),
        "0-d array": np.array(7, np.int64),
        "bool array": np.array([True, False]),
        "empty array": np.zeros((0, 2), np.int32),
        "numpy scalars": [np.float32(1.5), np.float64(0.1), np.int64(-3), np.uint8(200), np.bool_(True)],
        "numpy complex": np.complex64(1 - 2j),
        "python": [3, 2.5, False, "文字", None, 2**70, float("inf"), 1 - 2j, b"\x00ab"],
        "nan": float("nan"),
        "nesting": [1, (2, [3.0, ()]), {"a": {"b": (None,)}}],
        "keys": {
            1: "int",
            2.5: "float",
            None: "none",
            (1, "a"): "tuple",
            "__dunder": "str",
            np.int64(4): "np",
        },
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "sets": [{1, "a"}, frozenset({(1, 2)})],
        "a.b": lib.ones(1),
        "a": {"b": lib.zeros(1)},  # the same key path as "a.b": both kept, as torch does
    }


def test_round_trip_keeps_every_type_as_torch_save_load(tmp_path):
    shendu.save(_everything(shendu), tmp_path / "s.safetensors")
    torch.save(_everything(torch), tmp_path / "t.pt")
    back = shendu.load(tmp_path / "s.safetensors")
    ref = torch.load(tmp_path / "t.pt", weights_only=False)  # weights_only=True refuses NumPy values
    _assert_same(back, ref)
    assert back["same tensor"] is back["tensor"] and ref["same tensor"] is ref["tensor"]
    assert back["a.b"].tolist() == [1.0] and back["a"]["b"].tolist() == [0.0]


def test_unflatten_gives_arrays_where_tensors_were_saved():
    state = {"t": shendu.ones(2), "a": np.zeros(2, np.float32), "n": np.int64(3)}
    arrays, meta = serialization.flatten_state_dict(state)
    back = serialization.unflatten_state_dict(arrays, json.dumps(meta))
    assert type(back["t"]) is np.ndarray and type(back["a"]) is np.ndarray and type(back["n"]) is np.int64


def test_state_dict_comes_back_an_ordered_dict_as_with_torch(tmp_path):
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    shendu.save(net.state_dict(), tmp_path / "w.safetensors")
    back = shendu.load(tmp_path / "w.safetensors", map_location="cpu")
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    torch.save(tnet.state_dict(), tmp_path / "w.pt")
    ref = torch.load(tmp_path / "w.pt", map_location="cpu", weights_only=True)
    assert type(back) is type(ref) is OrderedDict and list(back) == list(ref)
    assert all(type(v) is shendu.Tensor and not v.requires_grad for v in back.values())
    assert back["1.num_batches_tracked"].dtype == np.int64 and back["1.num_batches_tracked"].shape == ()


def test_load_takes_torch_load_arguments(tmp_path):
    shendu.save({"w": shendu.ones(2)}, tmp_path / "x")
    for kwargs in ({"weights_only": True}, {"weights_only": False, "mmap": True}, {"weights_only": None}):
        assert shendu.load(tmp_path / "x", "cpu", **kwargs)["w"].tolist() == [1.0, 1.0]
    assert shendu.load(tmp_path / "x", map_location={"cuda:0": "cpu"})["w"].device == shendu.device("cpu")
    with pytest.raises(TypeError, match="weights_only must be"):
        shendu.load(tmp_path / "x", weights_only="yes")
    with pytest.raises(TypeError, match="never pickles"):
        shendu.load(tmp_path / "x", "cpu", __import__("pickle"))
    with pytest.raises(TypeError, match="map_location must be"):
        shendu.load(tmp_path / "x", map_location=lambda storage, loc: storage)


def test_plain_state_dict_stays_a_standard_safetensors_file(tmp_path):
    from safetensors.numpy import load_file

    net = nn.Linear(2, 3)
    shendu.save(net.state_dict(), tmp_path / "w.safetensors")
    raw = load_file(tmp_path / "w.safetensors")  # any safetensors reader gets the named tensors
    assert sorted(raw) == ["bias", "weight"]
    np.testing.assert_array_equal(raw["weight"], net.weight.numpy())


def test_refusals_say_why(tmp_path):
    class Config:
        pass

    msg = r"cfg: cannot store a value of type Config.*never pickles.*run any code"
    with pytest.raises(TypeError, match=msg):
        shendu.save({"cfg": Config()}, tmp_path / "x")
    with pytest.raises(TypeError, match="function"):
        shendu.save({"fn": lambda: 0}, tmp_path / "x")
    shendu.save({"a": 1, "w": shendu.ones(2)}, tmp_path / "x")
    back = shendu.load(tmp_path / "x", map_location="cpu", weights_only=True)
    assert back["a"] == 1 and back["w"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="weights_only"):
        shendu.load(tmp_path / "x", weights_only="yes")


def test_save_and_load_take_file_objects_as_torch(tmp_path):
    buf = io.BytesIO()
    shendu.save({"w": shendu.ones(2), "n": np.int32(3)}, buf)
    buf.seek(0)
    back = shendu.load(buf, map_location="cpu")
    assert back["w"].tolist() == [1.0, 1.0] and type(back["n"]) is np.int32
    back["w"].add_(1)  # a writable tensor, not a view of the read bytes
    with open(tmp_path / "f.safetensors", "wb") as f:
        shendu.save([1, shendu.zeros(1)], f)
    with open(tmp_path / "f.safetensors", "rb") as f:
        assert shendu.load(f)[0] == 1
    torch_file = io.BytesIO()
    torch.save({"w": torch.ones(2)}, torch_file)
    torch_file.seek(0)
    with pytest.raises(ValueError, match="zip archive, probably a PyTorch checkpoint"):
        shendu.load(torch_file)
