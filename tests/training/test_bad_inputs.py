"""Issue 14's spirit beyond its numbered items: more bad inputs a new user (or an attacker) gives the
commands, each answered with one ``error:`` line and the documented exit code, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shendu.cli.main import main
from tests.training.conftest import TRAIN
from tests.training.conftest import one_error_line as _one_error_line

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def digit(tmp_path):
    from PIL import Image

    img = np.zeros((16, 16), np.uint8)
    img[3:13, 7:9] = 255
    Image.fromarray(img).save(tmp_path / "digit.png")
    return tmp_path / "digit.png"


def _edit_config(run: Path, **changes) -> None:
    config = json.loads((run / "config.json").read_text())
    config.update(changes)
    (run / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"num_classes": "ten"}, "'num_classes' should be a int"),
        ({"classes": ["a"]}, "'classes' names 1 classes but 'num_classes' is 10"),
        ({"input_shape": [1, 8]}, "'input_shape' should be [C, H, W]"),
        ({"normalize": {"mean": [0.5], "std": [0.0]}}, "'normalize.std' must be positive"),
        ({"model": "nosuch"}, "unknown model 'nosuch'"),
    ],
)
def test_a_config_with_wrong_values_is_one_line(copy, digit, changes, words, capsys):
    _edit_config(copy, **changes)
    assert main(["predict", str(copy), str(digit)]) == 1
    assert words in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("content", [b"", b"\xb4\x00garbage"])
def test_an_empty_or_binary_config_is_not_valid_json(copy, digit, content, capsys):
    (copy / "config.json").write_bytes(content)
    assert main(["predict", str(copy), str(digit)]) == 1
    assert "config.json is not valid JSON" in _one_error_line(capsys.readouterr().err)


def test_a_truncated_weights_file(copy, digit, capsys):
    data = (copy / "model.safetensors").read_bytes()
    (copy / "model.safetensors").write_bytes(data[:1000])
    assert main(["predict", str(copy), str(digit)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "cannot read the weights" in line and "restore the file" in line and "Expected" not in line


def test_weights_of_another_network_are_one_line_naming_the_misfit(run, tmp_path, capsys):
    shutil.copy(run / "model.safetensors", tmp_path / "w.safetensors")  # an MLP's weights, no config
    assert main(["predict", str(tmp_path / "w.safetensors"), "--model", "lenet", "x.png"]) == 1
    err = capsys.readouterr().err
    line = _one_error_line(err)
    assert err.count("\n") == 1 and "tensor(s) missing" in line and "--model" in line


def test_a_run_folder_that_is_a_file_or_a_folder_without_config(tmp_path, digit, capsys):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty").mkdir()
    for target, words in (("afile", "not a .safetensors weights file"), ("empty", "has no config.json")):
        assert main(["predict", str(tmp_path / target), str(digit)]) == 1
        assert words in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--data", "nosuch"], "unknown dataset 'nosuch'"),
        (["eval", "RUN", "--data", "nosuch"], "unknown dataset 'nosuch'"),
        (["eval", "RUN", "--split", "nosuch"], "has no split 'nosuch'"),
    ],
)
def test_unknown_data_sets_and_splits_are_usage_errors(run, tmp_path, argv, words, capsys):
    argv = [str(run) if a == "RUN" else a for a in argv]
    if argv[0] == "train":
        argv += ["--out", str(tmp_path / "never")]
    assert main(argv) == 2
    assert words in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "never").exists()


def test_batch_size_zero_is_a_usage_error(run, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["eval", str(run), "--batch-size", "0"])
    assert stop.value.code == 2 and "--batch-size" in capsys.readouterr().err


def test_a_data_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    argv = ["train", "lenet", "--data", "mnist", "--data-dir", str(tmp_path / "afile")]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 1
    assert "is a file, not a folder" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()  # stopped before its first file: no folder left behind


def test_a_failed_download_is_one_error_line_with_details_and_leaves_no_run_folder(
    tmp_path, monkeypatch, capsys
):
    import shendu.data.mnist as mnist
    from shendu.data.download import DownloadError

    def offline(urls, path, **kwargs):
        raise DownloadError(f"could not download {Path(path).name} from any mirror:\n  {urls[0]}: offline?")

    monkeypatch.setattr(mnist, "download", offline)
    out = tmp_path / "run"
    assert (
        main(["train", "lenet", "--data", "mnist", "--data-dir", str(tmp_path / "d"), "--out", str(out)]) == 1
    )
    err = capsys.readouterr().err
    line = _one_error_line(err)
    assert "download failed" in line and "by hand" in line and "--data-dir" in line
    details = err.strip().splitlines()[1:]
    assert details and all(d.startswith("  ") for d in details)
    assert not out.exists()


def test_a_lock_that_is_a_folder(copy, capsys):
    (copy / ".lock").unlink()
    (copy / ".lock").mkdir()
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "2"]) == 2
    assert "remove that folder" in _one_error_line(capsys.readouterr().err)


def test_resuming_a_finished_run_without_curves_says_it_redrew_them(copy, capsys):
    (copy / "curves.png").unlink()
    assert main(["train", "--out", str(copy), "--resume", "--no-progress"]) == 0
    assert "repaired: curves.png" in capsys.readouterr().err
    assert (copy / "curves.png").is_file()


def test_unicode_paths_train_predict_and_eval(tmp_path, digit, capsys):
    out = tmp_path / "运行 ü"
    assert main([*TRAIN, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    picture = tmp_path / "数字 ö.png"
    shutil.copy(digit, picture)
    assert main(["predict", str(out), str(picture)]) == 0
    assert capsys.readouterr().out.startswith(str(picture))
    assert main(["eval", str(out), "--split", "test", "--out", str(tmp_path / "图")]) == 0
    assert (tmp_path / "图" / "confusion-digits-test.png").is_file()


def test_odd_images_one_pixel_palette_empty_device(run, tmp_path, digit, capsys):
    from PIL import Image

    Image.new("L", (1, 1), 255).save(tmp_path / "one.png")
    Image.open(digit).convert("P").save(tmp_path / "palette.png")
    (tmp_path / "empty.png").write_bytes(b"")
    files = [str(tmp_path / n) for n in ("one.png", "palette.png", "empty.png")] + [os.devnull]
    assert main(["predict", str(run), *files]) == 1
    captured = capsys.readouterr()
    assert [line.split(": ")[0] for line in captured.out.splitlines()] == [str(tmp_path / "palette.png")]
    assert (
        "one.png: error: the image is blank" in captured.err
        and "empty.png: error: the file is empty" in captured.err
    )
    assert f"{os.devnull}: error: is a pipe, device or socket" in captured.err
    assert "3 of 4 file(s)" in captured.err and "Traceback" not in captured.err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_eval_out_where_no_folder_can_be_made(run, capsys):
    assert main(["eval", str(run), "--split", "test", "--out", "/proc/shendu-eval"]) == 2  # as train's --out
    line = _one_error_line(capsys.readouterr().err)
    assert "/proc/shendu-eval" in line and "--out" in line


def test_shendu_debug_shows_the_traceback_and_only_then(copy):
    (copy / "config.json").write_text("[1]")
    argv = [sys.executable, "-m", "shendu.cli.main", "predict", str(copy), "x.png"]
    quiet = subprocess.run(argv, env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True)
    loud = subprocess.run(
        argv, env={**os.environ, "PYTHONPATH": SRC, "SHENDU_DEBUG": "1"}, capture_output=True, text=True
    )
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert _one_error_line(quiet.stderr).endswith("train again or restore the file")
    assert loud.returncode != 0 and "Traceback" in loud.stderr and "RunError: " in loud.stderr


def test_eval_into_a_read_only_run_directory_says_use_out(copy, monkeypatch, capsys):
    import errno

    from shendu import serialization

    real = serialization.atomic_write

    def read_only(path, data):
        if str(path).startswith(str(copy)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        real(path, data)

    monkeypatch.setattr(serialization, "atomic_write", read_only)
    assert main(["eval", str(copy), "--split", "test"]) == 5
    line = _one_error_line(capsys.readouterr().err)
    assert "confusion-digits-test.png" in line and "read-only" in line and "--out DIR" in line


def test_export_outputs_that_cannot_be_written_are_one_line(run, tmp_path, capsys):
    pytest.importorskip("onnx")
    (tmp_path / "afile").write_text("x")
    cases = [
        (str(tmp_path), "is a folder, not a file"),
        (str(tmp_path / "afile" / "x.onnx"), "is a file, not a folder"),
    ]
    for out, words in cases:
        assert main(["export", str(run), "--onnx", out]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in _one_error_line(err) and "[Errno" not in err, err
    assert main(["export", str(run), "--onnx", str(tmp_path / "ok.onnx"), "--input", "3xa"]) == 2
    assert "--input must look like" in _one_error_line(capsys.readouterr().err)


def test_resume_refuses_damaged_cycles_in_config_json(copy, capsys):
    _edit_config(copy, lr_cycles=[0])
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "3"]) == 1
    assert "'lr_cycles' should be a list of positive epoch counts" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "key, value", [("lr", None), ("optimizer", "nosuch"), ("batch_size", "64"), ("seed", -1), ("epochs", 0)]
)
def test_resume_refuses_damaged_options_in_config_json(copy, key, value, capsys):
    config = json.loads((copy / "config.json").read_text())
    config["options"][key] = value
    (copy / "config.json").write_text(json.dumps(config))
    assert (
        main(["train", "--out", str(copy), "--resume", "--epochs", "3"]) == 1
    )  # was exit 70 for lr, optimizer
    line = _one_error_line(capsys.readouterr().err)
    assert f"config.json: options.{key} is {json.dumps(value)}" in line and "without --resume" in line


def test_eval_on_a_data_set_of_another_shape_says_so_before_any_download(run, monkeypatch, capsys):
    import shendu.data.cifar10 as cifar10

    def no_download(*args, **kwargs):
        raise AssertionError("eval downloaded a data set the model cannot take")

    monkeypatch.setattr(cifar10, "download", no_download)
    assert main(["eval", str(run), "--data", "cifar10"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "takes images of shape (1, 8, 8)" in line and "cifar10 has images of shape (3, 32, 32)" in line


def test_resume_with_the_checkpoint_of_another_run_or_network(copy, tmp_path, capsys):
    from shendu import serialization

    other = tmp_path / "other"
    assert (
        main(["train", "mlp", "--data", "digits", "--epochs", "1", "--no-progress", "--out", str(other)]) == 0
    )
    capsys.readouterr()
    tensors, meta = serialization.load_with_metadata(other / "checkpoint.safetensors")  # another run's
    serialization.save(tensors, copy / "checkpoint.safetensors", metadata=meta)
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "3"]) == 1
    assert "belongs to another run than" in _one_error_line(capsys.readouterr().err)
    dropped = min(k for k in tensors if k.startswith("model."))
    tensors = {k: v for k, v in tensors.items() if k != dropped}  # and untagged, with a tensor missing
    serialization.save(tensors, copy / "checkpoint.safetensors", metadata={**meta, "extra": "{}"})
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "3"]) == 1
    err = capsys.readouterr().err
    line = _one_error_line(err)
    assert err.count("\n") == 1 and "does not fit this run" in line and "missing" in line, err


def test_resume_with_a_checkpoint_of_another_optimiser(copy, capsys):
    from shendu import serialization

    tensors, meta = serialization.load_with_metadata(copy / "checkpoint.safetensors")
    optimizer = json.loads(meta["optimizer"])
    serialization.save(
        tensors,
        copy / "checkpoint.safetensors",
        metadata={**meta, "optimizer": json.dumps({**optimizer, "class": "SGD"})},
    )
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "3"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert (
        "checkpoint.safetensors does not fit this run" in line
        and "SGD" in line
        and "without --resume" in line
    )
