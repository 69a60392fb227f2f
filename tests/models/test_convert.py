"""convert_torch: a torch state dict -> safetensors -> shendu's load_state_dict, same outputs."""

import sys

import numpy as np
import pytest
import torch

import shendu
from shendu.models import convert_torch, get_model

from tests.models import torch_reference as ref


@pytest.fixture
def torch_resnet(tmp_path):
    t = ref.build("resnet18", num_classes=10, in_channels=1, small_input=True).eval()
    with torch.no_grad():
        for m in t.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "resnet18.pth"
    torch.save(t.state_dict(), path)
    return t, path


def test_convert_and_load(torch_resnet, tmp_path):
    from shendu.serialization import load

    t, pth = torch_resnet
    out = tmp_path / "resnet18.safetensors"
    arrays = convert_torch(pth, out)
    assert set(arrays) == set(t.state_dict())
    state = load(out)
    assert np.asarray(state["layer1.0.bn1.num_batches_tracked"]).dtype == np.int64
    net = get_model("resnet18", num_classes=10, in_channels=1, small_input=True)
    net.load_state_dict(state)
    net.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with shendu.no_grad():
        y = net(shendu.tensor(x)).numpy()
    with torch.no_grad():
        yt = t(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, yt, rtol=1e-4, atol=1e-4 * np.abs(yt).max())


def test_wrapped_checkpoint(tmp_path):
    lin = torch.nn.Linear(3, 2)
    torch.save({"state_dict": lin.state_dict(), "epoch": 3}, tmp_path / "ck.pth")
    arrays = convert_torch(tmp_path / "ck.pth", tmp_path / "ck.safetensors")
    assert sorted(arrays) == ["bias", "weight"]
    np.testing.assert_array_equal(arrays["weight"], lin.weight.detach().numpy())


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_refuses_arbitrary_pickles(tmp_path, capsys):
    torch.save({"weight": torch.zeros(2), "x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="could run code") as err:
        convert_torch(tmp_path / "evil.pth", tmp_path / "evil.safetensors")
    assert "weights_only=False" not in str(err.value)
    assert "must never run" not in capsys.readouterr().out


def test_missing_torch_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match="needs PyTorch"):
        convert_torch(tmp_path / "a.pth", tmp_path / "a.safetensors")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        convert_torch(tmp_path / "none.pth", tmp_path / "a.safetensors")
