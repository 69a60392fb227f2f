"""``shendu train/eval/predict --device``: cpu by default, auto falls back to the CPU, cuda trains on
the (stand-in) GPU, and asking for a GPU that is not there is one clear error line."""

from __future__ import annotations

import json

import pytest

from shendu import backend
from shendu.cli.device_option import pick_device
from shendu.cli.main import main


def _train(out, *extra: str) -> int:
    return main(
        ["train", "mlp", "--data", "digits", "--out", str(out), "--epochs", "1", "--no-progress", *extra]
    )


@pytest.mark.usefixtures("fake_cuda")
def test_train_and_eval_on_the_gpu_give_the_cpu_numbers(tmp_path, capsys):
    assert _train(tmp_path / "gpu", "--device", "cuda") == 0
    assert _train(tmp_path / "cpu") == 0
    rows = [json.loads((tmp_path / d / "history.json").read_text())["epochs"][-1] for d in ("gpu", "cpu")]
    assert rows[0]["train_loss"] == pytest.approx(rows[1]["train_loss"], rel=1e-4)
    assert rows[0]["val_acc"] == pytest.approx(rows[1]["val_acc"], abs=0.01)
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "gpu"), "--device", "cuda", "--json"]) == 0
    assert 0.0 <= json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"] <= 1.0


def test_auto_is_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(backend, "is_available", lambda device_type: False)
    assert str(pick_device("auto")) == "cpu" and str(pick_device("cpu")) == "cpu"


def test_cuda_without_cupy_is_one_error_line(tmp_path, capsys, monkeypatch):
    def missing():
        raise RuntimeError(f"a CUDA device was asked for, but CuPy is not installed; {backend.INSTALL_HINT}")

    previous = backend.loaded("cuda")
    backend.unregister("cuda")
    monkeypatch.setitem(backend._loaders, "cuda", missing)
    try:
        assert _train(tmp_path / "run", "--device", "cuda") != 0
    finally:
        if previous is not None:
            backend.register(previous)
    err = capsys.readouterr().err
    assert 'pip install "shendu[cuda]"' in err and "Traceback" not in err


def test_bad_device_name_is_an_error():
    with pytest.raises(ValueError, match="--device"):
        pick_device("gpu")
