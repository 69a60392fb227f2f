"""Issue 14, one test (or more) per numbered item: run directories that cannot be mixed, lost or
reported falsely, and commands that answer every bad input with one line and an exit code."""

from __future__ import annotations

import errno
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from shendu import serialization
from shendu.cli.main import main
from shendu.training import rundir
from tests.training.conftest import TRAIN
from tests.training.conftest import one_error_line as _one_error_line

SRC = str(Path(__file__).resolve().parents[2] / "src")


# ---- 1. two runs into one --out ----------------------------------------------------------------
def test_1_a_second_run_into_a_locked_folder_stops_naming_the_owner(tmp_path, capsys):
    out = tmp_path / "busy"
    with rundir.RunDir(out).lock():  # this process plays the first run
        assert main([*TRAIN, "--epochs", "1", "--out", str(out)]) == 4
    line = _one_error_line(capsys.readouterr().err)
    assert f"process {os.getpid()}" in line and "--out" in line
    assert not (out / "config.json").exists()


def test_1_a_killed_runs_lock_file_blocks_nobody(tmp_path):
    out = tmp_path / "stale"
    out.mkdir()
    (out / ".lock").write_text("999999\n")  # left by a killed run: no process holds the lock
    assert main([*TRAIN, "--epochs", "1", "--out", str(out)]) == 0
    assert (out / ".lock").read_text().split()[0] == str(os.getpid())


def test_1_weights_of_another_run_are_refused(copy, tmp_path, capsys):
    config = json.loads((copy / "config.json").read_text())
    config["run_id"] = "another-run"
    (copy / "config.json").write_text(json.dumps(config))
    assert main(["predict", str(copy), __file__]) == 1
    assert "mixes two runs" in _one_error_line(capsys.readouterr().err)


# ---- 2. stale weights beside a newer checkpoint --------------------------------------------------
def test_2_resume_repairs_weights_and_history_behind_the_checkpoint(run, copy, capsys):
    from shendu.training import load_checkpoint

    state = load_checkpoint(copy / "checkpoint.safetensors")
    old = {k: v + 1.0 for k, v in state.model.items()}  # as if the last weights rename never happened
    serialization.save(old, copy / "model.safetensors", metadata={"run_id": "x", "epoch": "1"})
    rows = json.loads((copy / "history.json").read_text())["epochs"][:1]
    (copy / "history.json").write_text(json.dumps({"epochs": rows}))
    assert main(["train", "--out", str(copy), "--resume", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "model.safetensors" in err and "history.json" in err
    for k, v in serialization.load(copy / "model.safetensors").items():
        assert np.array_equal(v, state.model[k])
    assert (copy / "history.json").read_bytes() == (run / "history.json").read_bytes()


# ---- 3. curves and temporary files -------------------------------------------------------------
def test_3_resume_redraws_a_truncated_curves_png_and_removes_temp_files(copy):
    from PIL import Image

    from shendu.training.plots import EPOCHS_KEY

    png = (copy / "curves.png").read_bytes()
    (copy / "curves.png").write_bytes(png[: len(png) // 2])
    (copy / ".checkpoint.safetensors.abc.tmp").write_bytes(b"half")
    assert main(["train", "--out", str(copy), "--resume", "--no-progress"]) == 0
    with Image.open(copy / "curves.png") as img:
        img.load()
        assert img.text[EPOCHS_KEY] == "2"
    assert not list(copy.glob(".*.tmp"))


# ---- 4. NaN weights are errors, JSON stays JSON ------------------------------------------------
def _poison(copy) -> None:
    state, meta = serialization.load_with_metadata(copy / "model.safetensors")
    name = sorted(state)[0]
    state[name] = state[name].copy()
    state[name].flat[0] = np.nan
    serialization.save(state, copy / "model.safetensors", metadata=meta)


def test_4_nan_weights_fail_predict_and_eval_naming_the_tensor(copy, tmp_path, capsys):
    from PIL import Image

    _poison(copy)
    Image.new("L", (8, 8), 255).save(tmp_path / "x.png")
    assert main(["predict", str(copy), str(tmp_path / "x.png")]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "NaN" in line and "tensor" in line and "%" not in line
    assert main(["eval", str(copy), "--split", "test", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "NaN" in _one_error_line(captured.err)


def test_4_json_output_has_null_for_undefined_values():
    from shendu.cli.eval import finite_or_none

    doc = json.dumps(finite_or_none({"loss": float("nan"), "f": [1.0, float("inf")]}), allow_nan=False)
    assert json.loads(doc) == {"loss": None, "f": [1.0, None]}


def test_4_overflowing_weights_fail_in_one_line_without_numpy_warnings(copy, tmp_path):
    """Finite weights whose outputs overflow: eval and predict stop with one line, and NumPy's
    RuntimeWarnings (raised on shendu's worker threads too) never reach the user."""
    import subprocess
    import sys

    from PIL import Image

    state, meta = serialization.load_with_metadata(copy / "model.safetensors")
    serialization.save({k: v * 1e30 for k, v in state.items()}, copy / "model.safetensors", metadata=meta)
    digit = np.zeros((16, 16), np.uint8)
    digit[3:13, 7:9] = 255
    Image.fromarray(digit).save(tmp_path / "x.png")
    env = {**os.environ, "PYTHONPATH": SRC}
    for argv, words in (
        (["predict", str(copy), str(tmp_path / "x.png")], "NaN or infinite"),
        (["eval", str(copy), "--split", "test", "--json"], "NaN or infinite outputs"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "shendu.cli.main", *argv], env=env, capture_output=True, text=True
        )
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert "Warning" not in done.stderr and "np." not in done.stderr, done.stderr
        assert words in done.stderr and len(done.stderr.strip().splitlines()) <= 2, done.stderr


# ---- 5. predict: one reader for every file ------------------------------------------------------
def _png_claiming(path, width: int, height: int, mode: int = 0) -> None:
    """A tiny PNG whose header claims width × height pixels (colour type ``mode``: 0 grey, 6 RGBA)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def test_5_every_bad_image_gets_its_own_line_and_the_good_ones_are_predicted(run, tmp_path, capsys):
    from PIL import Image

    good = tmp_path / "good.png"
    img = np.zeros((32, 32), np.uint8)
    img[8:24, 14:18] = 255
    Image.fromarray(img).save(good)
    nan_tiff = tmp_path / "nan.tiff"
    f = np.zeros((16, 16), np.float32)
    f[4:12, 7:9] = 1.0
    f[0, 0] = np.nan
    Image.fromarray(f, mode="F").save(nan_tiff)
    _png_claiming(tmp_path / "bomb.png", 20000, 20000)
    _png_claiming(tmp_path / "rgba.png", 12000, 12000, mode=6)
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "empty.png").write_bytes(b"")
    files = ["good.png", "bomb.png", "rgba.png", "fifo.png", "empty.png", "nan.tiff", "missing.png"]
    assert main(["predict", str(run), *(str(tmp_path / n) for n in files)]) == 1
    captured = capsys.readouterr()
    predicted = [line.split(":")[0] for line in captured.out.splitlines()]
    assert predicted == [str(tmp_path / "good.png"), str(tmp_path / "nan.tiff")]
    err = captured.err
    assert "Traceback" not in err and "5 of 7 file(s)" in err
    assert "megapixels, above the limit of 50" in err and "pipe" in err and "empty" in err


def test_5_sixteen_bit_grey_is_read_at_its_scale_for_one_and_three_channels(tmp_path):
    from PIL import Image

    from shendu.training.images import read_image

    grey = np.full((10, 10), 32768, np.uint16)  # half brightness in 16 bits
    Image.fromarray(grey).save(tmp_path / "g16.png")
    one = read_image(tmp_path / "g16.png", 1, 10)
    three = read_image(tmp_path / "g16.png", 3, 10)
    assert one.shape == (1, 10, 10) and three.shape == (3, 10, 10)
    assert np.allclose(one, 0.5, atol=1e-3) and np.allclose(three, 0.5, atol=1e-3)  # not clipped to white


def test_5_max_pixels_is_configurable_and_top_is_checked(run, tmp_path, capsys):
    from PIL import Image

    Image.new("L", (100, 100), 0).save(tmp_path / "x.png")
    assert main(["predict", str(run), str(tmp_path / "x.png"), "--max-pixels", "0.001"]) == 1
    assert "above the limit of 0.001" in capsys.readouterr().err
    for top in ("0", "-5"):
        with pytest.raises(SystemExit) as stop:
            main(["predict", str(run), str(tmp_path / "x.png"), "--top", top])
        assert stop.value.code == 2


def test_5_max_pixels_must_be_a_positive_finite_number(run, capsys):
    for value in ("0", "-1", "nan", "inf", "x"):
        with pytest.raises(SystemExit) as stop:
            main(["predict", str(run), "x.png", "--max-pixels", value])
        assert stop.value.code == 2
        assert "--max-pixels" in capsys.readouterr().err


def test_5_above_pillows_own_limit_and_not_an_image_say_what_to_do(run, tmp_path, capsys):
    _png_claiming(tmp_path / "huge.png", 20000, 20000)  # 400 MP: Pillow refuses it whatever --max-pixels
    (tmp_path / "notes.png").write_text("hello")
    paths = [str(tmp_path / "huge.png"), str(tmp_path / "notes.png")]
    assert main(["predict", str(run), *paths, "--max-pixels", "500"]) == 1
    err = capsys.readouterr().err
    assert "400.0 megapixels" in err and "shrink it first" in err
    assert "not a format Pillow reads" in err and "BufferedReader" not in err


# ---- 6. convert-torch -------------------------------------------------------------------------
def test_6_convert_torch_answers_every_bad_file_in_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    import argparse

    (tmp_path / "empty.pth").write_bytes(b"")
    (tmp_path / "random.pth").write_bytes(np.random.default_rng(0).bytes(1000))
    torch.save({"w": argparse.Namespace(x=1)}, tmp_path / "objects.pth")
    torch.save({"w": torch.zeros(2, dtype=torch.complex64)}, tmp_path / "complex.pth")
    torch.save({"w": torch.zeros(2)}, tmp_path / "good.pth")
    (tmp_path / "folder.safetensors").mkdir()
    (tmp_path / "a_file").write_text("x")
    cases = [
        ("empty.pth", "out.safetensors", "empty"),
        ("random.pth", "out.safetensors", "not a readable PyTorch file"),
        ("objects.pth", "out.safetensors", "could run code"),
        ("complex.pth", "out.safetensors", "complex64"),
        ("good.pth", "folder.safetensors", "is a folder"),
        ("good.pth", "a_file/out.safetensors", "a_file"),
    ]
    for src, dst, words in cases:
        code = main(["convert-torch", str(tmp_path / src), str(tmp_path / dst)])
        err = capsys.readouterr().err
        assert code != 0 and words in _one_error_line(err), (src, dst, err)
        assert "weights_only=False" not in err
    assert main(["convert-torch", str(tmp_path / "good.pth"), str(tmp_path / "ok.safetensors")]) == 0


def test_6_convert_torch_paths_that_cannot_work_are_refused_before_writing(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    import pickle

    torch.save({"w": torch.zeros(2)}, tmp_path / "good.pth")
    (tmp_path / "plain.pth").write_bytes(pickle.dumps({"w": [1, 2]}, protocol=4))  # torch warns on it
    (tmp_path / "folder.pth").mkdir()
    (tmp_path / "a_file").write_text("x")
    good = str(tmp_path / "good.pth")
    cases = [
        (good, good, "should end in .safetensors"),
        (good, str(tmp_path / "out.pth"), "should end in .safetensors"),
        (str(tmp_path / "folder.pth"), str(tmp_path / "o.safetensors"), "is a folder; give the .pth file"),
        (good, str(tmp_path / "a_file" / "o.safetensors"), "a_file is a file, not a folder"),
        (good, str(tmp_path / "none" / "o.safetensors"), "does not exist"),
        (str(tmp_path / "plain.pth"), str(tmp_path / "o.safetensors"), "not a readable PyTorch file"),
    ]
    if os.path.isdir("/proc/self"):
        cases.append((good, "/proc/o.safetensors", "does not take new files"))
    for src, dst, words in cases:
        assert main(["convert-torch", src, dst]) == 1, (src, dst)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in _one_error_line(err) and "[Errno" not in err, (src, dst, err)
    assert (tmp_path / "good.pth").read_bytes()[:2] == b"PK"  # the input was never overwritten
    serialization.save({"w": np.zeros(2)}, tmp_path / "same.safetensors")
    assert (
        main(["convert-torch", str(tmp_path / "same.safetensors"), str(tmp_path / "same.safetensors")]) == 1
    )
    assert "is the input file" in _one_error_line(capsys.readouterr().err)


# ---- 7. other tracebacks ------------------------------------------------------------------------
def test_7_lesson_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["lesson", "gates", "--out", str(tmp_path / "f")]) == 2
    assert "a file is in the way" in _one_error_line(capsys.readouterr().err)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_7_lesson_out_where_no_folder_can_be_made(capsys):  # as a read-only --out (root writes anywhere)
    assert main(["lesson", "gates", "--out", "/proc/shendu-lesson"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "/proc/shendu-lesson" in line and "choose another folder with --out" in line


def test_7_config_json_that_is_a_list(copy, capsys):
    (copy / "config.json").write_text("[1, 2]")
    for argv in (
        ["eval", str(copy)],
        ["predict", str(copy), "x.png"],
        ["train", "--out", str(copy), "--resume"],
    ):
        assert main(argv) != 0
        assert "JSON list" in _one_error_line(capsys.readouterr().err)


def test_7_checkpoint_missing_optimiser_tensors(copy, capsys):
    tensors, meta = serialization.load_with_metadata(copy / "checkpoint.safetensors")
    kept = {k: v for k, v in tensors.items() if "exp_avg" not in k}
    serialization.save(kept, copy / "checkpoint.safetensors", metadata=meta)
    assert main(["train", "--out", str(copy), "--resume", "--no-progress"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "checkpoint.safetensors" in line and "exp_avg" in line and "missing" in line


def test_7_summary_refuses_an_input_it_cannot_hold(capsys):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["summary", "lenet", "--input", "1x20000x20000"]) == 2
    err = capsys.readouterr().err
    assert "GB" in err and "smaller input" in err and "Traceback" not in err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1024 * 1024  # under 1 GB (KiB)


def test_7_gzip_bomb_idx_is_refused_without_inflating(tmp_path):
    from shendu.data import read_idx

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = c.compress(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(10))
    body += b"".join(c.compress(bytes(1 << 20)) for _ in range(512)) + c.flush()  # 512 MB inflated
    (tmp_path / "bomb").write_bytes(body)
    with pytest.raises(ValueError, match="inflates to more than 18 bytes"):
        read_idx(tmp_path / "bomb")


# ---- 8. retraining, --out in /proc ----------------------------------------------------------------
def test_8_retraining_removes_the_earlier_runs_derived_files(copy, capsys):
    assert main(["eval", str(copy), "--split", "test"]) == 0
    assert (copy / "confusion-digits-test.png").is_file()
    assert main([*TRAIN, "--epochs", "1", "--out", str(copy)]) == 0
    assert not (copy / "confusion-digits-test.png").exists()
    assert json.loads((copy / "history.json").read_text())["epochs"][-1]["epoch"] == 1


def test_8_out_in_proc_is_one_clear_line(capsys):
    assert main([*TRAIN, "--out", "/proc/shendu-run"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "/proc/shendu-run" in line and "--out" in line and "[Errno" not in line


# ---- 9. extending a finished run; offline download ----------------------------------------------
def test_9_resume_with_more_epochs_extends_with_a_warm_restart(copy, capsys):
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "3", "--no-progress"]) == 0
    rows = json.loads((copy / "history.json").read_text())["epochs"]
    config = json.loads((copy / "config.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2, 3] and config["lr_cycles"] == [2, 1]
    assert config["options"]["epochs"] == 3
    assert rows[2]["lr"] == pytest.approx(rows[0]["lr"])  # the added cycle starts at the initial rate
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "2"]) == 2
    assert "can only extend" in _one_error_line(capsys.readouterr().err)


def test_9_a_failed_download_leaves_no_empty_folder(tmp_path):
    from shendu.data.download import DownloadError, download

    target = tmp_path / "a" / "b" / "file.gz"
    with pytest.raises(DownloadError):
        download(["http://127.0.0.1:9/file.gz"], target, md5="0" * 32, timeout=2)
    assert list(tmp_path.iterdir()) == []


# ---- 10. messages ----------------------------------------------------------------------------------
def _disk_full_at_checkpoint(monkeypatch) -> None:
    """Every write of checkpoint.safetensors fails as on a full disk (the other files are written)."""
    real = serialization.atomic_write

    def full(path, data):
        if str(path).endswith("checkpoint.safetensors"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(serialization, "atomic_write", full)


def test_10_a_full_disk_names_the_file_and_says_resume_continues(copy, monkeypatch, capsys):
    _disk_full_at_checkpoint(monkeypatch)
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "3", "--no-progress"]) == 5
    line = _one_error_line(capsys.readouterr().err)
    assert "no space left" in line and "checkpoint.safetensors" in line and "--resume" in line


def test_10_corrupt_checkpoint_metadata_names_the_file(copy, capsys):
    tensors, meta = serialization.load_with_metadata(copy / "checkpoint.safetensors")
    serialization.save(tensors, copy / "checkpoint.safetensors", metadata={**meta, "history": "{oops"})
    assert main(["train", "--out", str(copy), "--resume", "--epochs", "3", "--no-progress"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(copy / "checkpoint.safetensors") in line and "history" in line


def test_10_fashion_mnist_pointed_at_mnist_says_wrong_data_set(tmp_path):
    from tests.conftest import SHARED_MNIST

    from shendu.data import load_dataset

    folder = os.environ.get("SHENDU_TEST_MNIST", SHARED_MNIST)  # a worktree elsewhere can point at it
    if not os.path.isdir(folder):
        pytest.skip("the MNIST test files are not here")
    with pytest.raises(ValueError) as err:
        load_dataset("fashion-mnist", "test", data_dir=folder)
    message = str(err.value)
    assert "MNIST's t10k-images-idx3-ubyte, not Fashion-MNIST's" in message and "Delete" not in message


def test_10_a_full_disk_before_the_first_checkpoint_says_start_again(tmp_path, monkeypatch, capsys):
    out = tmp_path / "full"
    _disk_full_at_checkpoint(monkeypatch)
    assert main([*TRAIN, "--epochs", "1", "--out", str(out)]) == 5
    line = _one_error_line(capsys.readouterr().err)
    assert "no space left" in line and "no epoch was saved" in line and "--resume" not in line
    assert "start again: shendu train mlp --data digits" in line
    monkeypatch.undo()
    assert main(["train", "--out", str(out), "--resume"]) == 2  # the advice --resume would have been wrong
    line = _one_error_line(capsys.readouterr().err)
    assert "no epoch of its run finished" in line and "start again: shendu train mlp" in line


def test_10_a_truncated_checkpoint_says_what_to_do(copy, capsys):
    data = (copy / "checkpoint.safetensors").read_bytes()
    (copy / "checkpoint.safetensors").write_bytes(data[: len(data) // 2])
    assert main(["train", "--out", str(copy), "--resume", "--no-progress"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert (
        "checkpoint.safetensors" in line and "without --resume" in line and "Expected an 8-byte" not in line
    )


def test_10_a_gzip_bomb_in_a_data_folder_says_delete_it(tmp_path):
    from shendu.data import load_dataset

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = c.compress(bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    body += b"".join(c.compress(bytes(1 << 20)) for _ in range(64)) + c.flush()  # 64 MB inflated
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(body)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="inflates to more than .*delete it to download it again"):
        load_dataset("mnist", "test", data_dir=tmp_path)
