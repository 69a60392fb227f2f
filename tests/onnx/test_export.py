"""ONNX export of the whole model zoo: the file runs in onnxruntime and agrees with shendu (rtol 1e-4)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu
from shendu import models

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ZOO = [
    ("mlp", lambda: models.get_model("mlp", input_size=28), (1, 28, 28)),
    ("lenet", lambda: models.lenet(), (1, 28, 28)),
    ("lenet5", lambda: models.lenet5(), (1, 32, 32)),
    ("alexnet-small", lambda: models.alexnet(num_classes=10, in_channels=1, small_input=True), (1, 28, 28)),
    ("vgg11_bn-small", lambda: models.vgg11_bn(num_classes=10, in_channels=3, small_input=True), (3, 32, 32)),
    (
        "googlenet-small",
        lambda: models.googlenet(num_classes=10, in_channels=1, small_input=True),
        (1, 28, 28),
    ),
    ("resnet18-small", lambda: models.resnet18(num_classes=10, in_channels=3, small_input=True), (3, 32, 32)),
    ("resnet50-small", lambda: models.resnet50(num_classes=10, in_channels=1, small_input=True), (1, 16, 16)),
    ("resnet18", lambda: models.resnet18(num_classes=10), (3, 64, 64)),  # ImageNet stem: strided, padded pool
    ("googlenet", lambda: models.googlenet(num_classes=10), (3, 64, 64)),  # ceil-mode pools
]


def _randomise_batchnorm(net):
    """Non-trivial running statistics and affine parameters, so normalisation is really tested."""
    rng = np.random.default_rng(0)
    for m in net.modules():
        if isinstance(m, (shendu.nn.BatchNorm1d, shendu.nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(shendu.tensor(rng.normal(0, 0.1, c).astype(np.float32)))
            m.running_var.copy_(shendu.tensor(rng.uniform(0.5, 2, c).astype(np.float32)))
            m.weight.copy_(shendu.tensor(rng.uniform(0.5, 1.5, c).astype(np.float32)))
            m.bias.copy_(shendu.tensor(rng.normal(0, 0.1, c).astype(np.float32)))


@pytest.mark.parametrize("name,make,shape", ZOO, ids=[z[0] for z in ZOO])
def test_zoo_model_runs_in_onnxruntime_like_shendu(name, make, shape, tmp_path):
    net = make()
    with shendu.no_grad():
        _randomise_batchnorm(net)
    net.eval()
    path = tmp_path / f"{name}.onnx"
    shendu.onnx.export(net, shendu.randn(1, *shape), path)
    onnx.checker.check_model(onnx.load(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((3, *shape)).astype(np.float32)  # another batch size
    got = sess.run(None, {"input": x})[0]
    with shendu.no_grad():
        want = net(shendu.tensor(x)).numpy()
    assert got.shape == want.shape == (3, 10)
    assert np.ptp(want, axis=0).max() > 0  # the inputs give different outputs: not a constant graph
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    names = {i.name for i in onnx.load(path).graph.initializer}
    assert set(dict(net.named_parameters())) <= names  # weights under their state_dict names


def test_unsupported_op_and_train_mode_errors(tmp_path):
    class Odd(shendu.nn.Module):
        def forward(self, x):
            return x.exp()

    with pytest.raises(NotImplementedError, match="Exp has no ONNX translation"):
        shendu.onnx.export(Odd(), shendu.zeros(1, 3), tmp_path / "odd.onnx")
    bn = shendu.nn.Sequential(shendu.nn.Conv2d(1, 2, 3), shendu.nn.BatchNorm2d(2))
    with pytest.raises(NotImplementedError, match="model.eval"):
        shendu.onnx.export(bn, shendu.zeros(2, 1, 5, 5), tmp_path / "bn.onnx")
    with pytest.raises(ValueError, match="float32"):
        shendu.onnx.export(bn.eval(), np.zeros((1, 1, 5, 5)), tmp_path / "bn.onnx")


def test_export_replaces_a_file_whole_or_not_at_all(tmp_path, monkeypatch):
    """A write that fails half-way (disk full, kill) leaves the earlier .onnx as it was."""
    from shendu.onnx import export

    path = tmp_path / "net.onnx"
    net = models.get_model("mlp", input_size=28).eval()
    x = np.zeros((1, 1, 28, 28), np.float32)
    export(net, x, path)
    before = path.read_bytes()
    real_replace = os.replace

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        export(models.get_model("mlp", input_size=28).eval(), x, path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["net.onnx"]


def test_cli_export_of_a_run(tmp_path):
    net = models.lenet()
    run = tmp_path / "run"
    run.mkdir()
    shendu.save(net.state_dict(), run / "model.safetensors")
    config = {
        "model": "lenet",
        "input_shape": [1, 28, 28],
        "num_classes": 10,
        "normalize": {"mean": [0.1], "std": [0.3]},
    }
    (run / "config.json").write_text(json.dumps(config))
    out = tmp_path / "lenet.onnx"
    proc = subprocess.run(
        [sys.executable, "-m", "shendu.cli.main", "export", str(run), "--onnx", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "normalise inputs first" in proc.stdout
    model = onnx.load(out)
    assert {p.key: p.value for p in model.metadata_props}["shendu.model"] == "lenet"
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    with shendu.no_grad():
        want = net.eval()(shendu.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    bad = subprocess.run(
        [sys.executable, "-m", "shendu.cli.main", "export", str(tmp_path / "missing"), "--onnx", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("error: no run directory or weights file")
