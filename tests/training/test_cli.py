"""``shendu train / eval / predict`` end to end on a tiny run (the course MLP, mnist-5k)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from shendu import serialization
from shendu.cli.main import main
from shendu.data import load_dataset
from shendu.training import trainer as trainer_module

SHARED_MNIST = os.environ.get(  # a worktree elsewhere can point at the shared folder
    "SHENDU_TEST_MNIST", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")
)
TRAIN = [
    "train",
    "mlp",
    "--data",
    "mnist-5k",
    "--epochs",
    "2",
    "--batch-size",
    "100",
    "--lr",
    "0.002",
    "--no-progress",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mlp"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return out


def test_train_writes_the_run_directory(run_dir, capsys):
    for name in ("model.safetensors", "checkpoint.safetensors", "history.json", "config.json", "curves.png"):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "mlp" and config["data"] == "mnist-5k"
    assert config["input_shape"] == [1, 28, 28] and config["num_classes"] == 10
    assert config["classes"] == [str(i) for i in range(10)]
    assert config["options"]["epochs"] == 2 and config["options"]["augment"] is True
    mean, std = config["normalize"]["mean"][0], config["normalize"]["std"][0]
    images = load_dataset("mnist-5k", "train").images
    assert mean == pytest.approx(images.mean(), abs=1e-5) and std == pytest.approx(images.std(), abs=1e-5)
    history = json.loads((run_dir / "history.json").read_text())["epochs"]
    assert [r["epoch"] for r in history] == [1, 2]
    assert history[-1]["val_acc"] > 0.8


def test_eval_json_is_one_object_and_matches_validation(run_dir, capsys):
    capsys.readouterr()
    assert main(["eval", str(run_dir), "--data", "mnist-5k", "--split", "val", "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)  # exactly one JSON document, nothing else
    history = json.loads((run_dir / "history.json").read_text())["epochs"]
    assert result["n"] == 500
    assert result["accuracy"] == pytest.approx(history[-1]["val_acc"])
    assert result["loss"] == pytest.approx(history[-1]["val_loss"], rel=1e-4)
    assert 0.5 < result["macro_f1"] <= 1 and set(result["per_class"]) == {str(i) for i in range(10)}
    assert sum(c["support"] for c in result["per_class"].values()) == 500
    cm = np.array(result["confusion_matrix"])
    assert cm.sum() == 500 and np.trace(cm) == round(result["accuracy"] * 500)
    assert (run_dir / "confusion-mnist-5k-val.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_table(run_dir, capsys):
    capsys.readouterr()
    assert main(["eval", str(run_dir), "--split", "val"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "macro" in out and "precision" in out


@pytest.mark.skipif(not os.path.isdir(SHARED_MNIST), reason="official MNIST test files not here")
def test_eval_on_official_mnist_test_set(run_dir, capsys):
    capsys.readouterr()
    assert (
        main(
            ["eval", str(run_dir), "--data", "mnist", "--split", "test", "--data-dir", SHARED_MNIST, "--json"]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 10000 and result["accuracy"] > 0.85


def test_eval_weights_file_needs_model_and_checks_shapes(run_dir, capsys, tmp_path):
    lone = tmp_path / "weights.safetensors"
    lone.write_bytes((run_dir / "model.safetensors").read_bytes())
    assert main(["eval", str(lone), "--data", "mnist-5k", "--split", "val"]) == 1
    assert "--model" in capsys.readouterr().err
    assert main(["eval", str(lone), "--model", "mlp", "--data", "mnist-5k", "--split", "val", "--json"]) == 0
    from_weights = json.loads(capsys.readouterr().out)
    assert from_weights["n"] == 500
    # a training checkpoint holds the final weights (and has the run's config.json beside it)
    assert main(["eval", str(run_dir / "checkpoint.safetensors"), "--split", "val", "--json"]) == 0
    history = json.loads((run_dir / "history.json").read_text())["epochs"]
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(history[-1]["val_acc"])
    # the digits data set has 8×8 images: the error names both shapes
    assert main(["eval", str(run_dir), "--data", "digits", "--split", "test"]) == 1
    err = capsys.readouterr().err
    assert "(1, 28, 28)" in err and "(1, 8, 8)" in err
    assert main(["eval", str(tmp_path / "nowhere"), "--data", "mnist-5k"]) == 1
    assert "nowhere" in capsys.readouterr().err


def _write_pngs(folder, n=8):
    """Val digits drawn dark on light paper, 3× larger and off-centre: predict must undo that."""
    from PIL import Image

    val = load_dataset("mnist-5k", "val")  # sorted by class: take digits spread over all classes
    paths, labels = [], []
    for i in np.linspace(0, len(val) - 1, n).astype(int):
        img = np.ones((100, 90), np.float32)
        img[12:96, 2:86] = 1.0 - np.kron(val.images[i, 0], np.ones((3, 3)))  # 84×84, off-centre
        path = folder / f"digit{len(paths)}.png"
        Image.fromarray((img * 255).astype(np.uint8)).save(path)
        paths.append(path)
        labels.append(str(val.labels[i]))
    return paths, labels


def test_predict_images_and_a_bad_file(run_dir, capsys, tmp_path):
    paths, labels = _write_pngs(tmp_path)
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    capsys.readouterr()
    code = main(["predict", str(run_dir), str(paths[0]), str(bad), *map(str, paths[1:])])
    captured = capsys.readouterr()
    assert code == 1
    assert "notes.txt: error:" in captured.err
    lines = captured.out.strip().splitlines()
    assert len(lines) == len(paths)
    correct = 0
    for line, path, label in zip(lines, paths, labels, strict=True):
        name, _, rest = line.partition(": ")
        assert name == str(path)
        parts = rest.split()
        assert len(parts) == 6  # three (class, probability) pairs
        probs = [float(p.rstrip("%")) for p in parts[1::2]]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 100.05
        correct += parts[0] == label
    assert correct >= 6, captured.out


def test_ctrl_c_then_resume_matches_the_uninterrupted_run(run_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "interrupted"
    real = trainer_module.Trainer._train_epoch

    def interrupt_in_epoch_2(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return real(self, epoch)

    monkeypatch.setattr(trainer_module.Trainer, "_train_epoch", interrupt_in_epoch_2)
    assert main([*TRAIN, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"shendu train --out {out} --resume" in err and "1 epoch(s) completed" in err
    monkeypatch.undo()
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    a = serialization.load(out / "model.safetensors")
    b = serialization.load(run_dir / "model.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_resume_refuses_other_options(run_dir, capsys):
    assert main(["train", "--out", str(run_dir), "--resume", "--lr", "0.5"]) == 2
    assert "--lr 0.5" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "eval", "predict"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"shendu {command}" in out


def test_data_set_without_val_split_holds_out_part_of_train(tmp_path, capsys):
    out = tmp_path / "digits"
    assert (
        main(["train", "mlp", "--data", "digits", "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    )
    config = json.loads((out / "config.json").read_text())
    n_train = len(load_dataset("digits", "train"))
    info = config["data_info"]
    assert info["train"] + info["val"] == n_train and abs(info["val"] - 0.1 * n_train) <= 10
    assert "held out" in info["val_source"] and config["input_shape"] == [1, 8, 8]
    assert config["options"]["augment"] is False
    assert "shendu eval" in capsys.readouterr().out


@pytest.mark.parametrize(
    "option",
    [
        ["--epochs", "0"],
        ["--batch-size", "0"],
        ["--lr", "-1"],
        ["--lr", "inf"],
        ["--seed", "-1"],
        ["--threads", "0"],
    ],
)
def test_bad_numbers_are_usage_errors(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "mlp", *option])
    assert exit_.value.code == 2
    assert f"argument {option[0]}:" in capsys.readouterr().err


def test_out_below_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    assert main([*TRAIN, "--out", str(tmp_path / "a_file" / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot create the folder") and "a file is in the way" in err
    assert str(tmp_path / "a_file") in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_in_the_first_epoch_of_a_fresh_start(run_dir, tmp_path, monkeypatch, capsys):
    """Starting over in an old run's folder: its checkpoint no longer fits the new config, so it goes;
    interrupted before any epoch finished, the message says how to start again, not to --resume."""
    import shutil
    import shlex

    out = tmp_path / "again"
    shutil.copytree(run_dir, out)

    def interrupt(self, epoch):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module.Trainer, "_train_epoch", interrupt)
    assert main([*TRAIN, "--lr", "0.001", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert not (out / "checkpoint.safetensors").exists() and not (out / "model.safetensors").exists()
    assert "--resume" not in err.split("earlier run")[-1]
    command = shlex.split(err.split("to start again: ")[1].splitlines()[0])
    assert command[:3] == ["shendu", "train", "mlp"] and command[command.index("--lr") + 1] == "0.001"
    assert command[command.index("--out") + 1] == str(out)


def test_resuming_a_finished_run_changes_nothing(run_dir, capsys):
    def stamps():
        return {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.name != ".lock"}

    before = stamps()
    assert main(["train", "--out", str(run_dir), "--resume", "--no-progress"]) == 0
    assert "nothing to resume" in capsys.readouterr().err
    assert stamps() == before


def test_unknown_model_is_refused_before_the_data_loads(tmp_path, capsys, monkeypatch):
    import shendu.data

    monkeypatch.setattr(shendu.data, "load_dataset", lambda *a, **k: pytest.fail("loaded the data"))
    assert main(["train", "lenett", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'lenett'" in err and "lenet5" in err and "takes any size" not in err


def test_lenet_on_8x8_digits_names_the_image_size(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "lenet",
                "--data",
                "digits",
                "--epochs",
                "1",
                "--no-progress",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "(1, 8, 8)" in err and "mlp" in err and "Traceback" not in err


def test_divergence_is_reported_once_without_numpy_warnings(tmp_path, capsys):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(
            [
                "train",
                "mlp",
                "--data",
                "digits",
                "--optimizer",
                "sgd",
                "--lr",
                "1e6",
                "--epochs",
                "1",
                "--no-progress",
                "--out",
                str(tmp_path / "nan"),
            ]
        )
    assert code == 3
    assert "became nan" in capsys.readouterr().err
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
