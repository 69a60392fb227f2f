"""shendu.save/load of nested checkpoint dicts, as torch.save/torch.load are used, without pickle."""

import numpy as np
import pytest
import torch

import shendu
from shendu import nn, optim


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


def test_structure_like_torch_save(tmp_path):
    obj = {
        "w": np.arange(6, dtype=np.float16).reshape(2, 3),
        "t": shendu.tensor(2.5, dtype=shendu.float64),
        "n": np.int64(7),
        "nested": {"b": [1, 2.5, None, True, "文字"], 3: (np.zeros((0, 2), np.int32),)},
        "nan": float("nan"),
    }
    shendu.save(obj, tmp_path / "o.safetensors")
    back = shendu.load(tmp_path / "o.safetensors")
    assert list(back) == list(obj)
    assert isinstance(back["w"], shendu.Tensor)
    assert back["w"].dtype == np.float16 and back["w"].shape == (2, 3)
    assert isinstance(back["t"], shendu.Tensor) and back["t"].shape == () and back["t"].item() == 2.5
    assert back["n"] == 7 and isinstance(back["n"], int)
    assert back["nested"]["b"] == [1, 2.5, None, True, "文字"] and isinstance(back["nested"]["b"][0], int)
    assert isinstance(back["nested"][3], tuple) and back["nested"][3][0].shape == (0, 2)
    assert np.isnan(back["nan"])
    # the same structure torch.save/torch.load give for the same object
    torch.save({"nested": obj["nested"]}, tmp_path / "o.pt")
    ref = torch.load(tmp_path / "o.pt", weights_only=False)
    assert list(ref["nested"]) == list(back["nested"]) and ref["nested"]["b"] == back["nested"]["b"]
    with pytest.raises(ValueError, match="share the name 'a.b'"):
        shendu.save({"a.b": shendu.ones(2), "a": {"b": shendu.zeros(2)}}, tmp_path / "x")


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
