"""Trainer: history, resume gives bit-identical weights, NaN stop, Ctrl-C, atomic checkpoints."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import shendu
from shendu import nn, optim, serialization
from shendu.data import ArrayDataset, DataLoader
from shendu.data import transforms as T
from shendu.nn import functional as F
from shendu.training import (
    Callback,
    EarlyStopping,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    load_checkpoint,
)

N_TRAIN, N_VAL = 96, 32


def _data():
    """Two blobs of 8×8 'images', separable, with labels 0/1/2."""
    rng = np.random.default_rng(123)
    labels = rng.integers(0, 3, N_TRAIN + N_VAL)
    images = rng.normal(size=(N_TRAIN + N_VAL, 1, 8, 8)).astype(np.float32) * 0.5
    images[:, 0, 2, 2] += labels * 1.5
    images[:, 0, 5, 5] -= labels * 1.0
    train = ArrayDataset(images[:N_TRAIN], labels[:N_TRAIN], ["a", "b", "c"])
    val = ArrayDataset(images[N_TRAIN:], labels[N_TRAIN:], ["a", "b", "c"])
    return train, val


def make_trainer(out_dir=None, epochs=3, loss_fn=None, callbacks=()):
    """A fresh model/optimiser/scheduler/loaders, as a new process would build them.

    Randomness from three sources must all be restored on resume: the loader's (seed, epoch)
    generator (shuffle + RandomAffine), and shendu's global generator (Dropout).
    """
    shendu.manual_seed(7)
    train, val = _data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    train_loader = DataLoader(
        train, batch_size=16, shuffle=True, seed=3, transform=T.RandomAffine(10, (0.1, 0.1))
    )
    val_loader = DataLoader(val, batch_size=32)
    return Trainer(
        model,
        opt,
        train_loader,
        val_loader=val_loader,
        epochs=epochs,
        scheduler=sched,
        out_dir=out_dir,
        progress=False,
        loss_fn=loss_fn,
        callbacks=callbacks,
    )


def weights(trainer):
    return {
        k: np.array(v.numpy() if isinstance(v, shendu.Tensor) else v)
        for k, v in trainer.model.state_dict().items()
    }


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype == np.float32, k
        assert np.array_equal(a[k], b[k]), f"{k} differs by {np.abs(a[k] - b[k]).max()}"


class StopAt:
    """A loss function that raises ``exc`` (or returns NaN) on its ``call``-th use."""

    def __init__(self, call, nan=False):
        self.call, self.nan, self.calls = call, nan, 0

    def __call__(self, logits, y):
        self.calls += 1
        loss = F.cross_entropy(logits, y)
        if self.calls == self.call:
            if self.nan:
                return loss * float("nan")
            raise KeyboardInterrupt
        return loss


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted 3-epoch run."""
    t = make_trainer(tmp_path_factory.mktemp("straight"))
    history = t.fit()
    return t, history


def test_history_and_files(straight):
    t, history = straight
    assert len(history) == 3 and history["epoch"] == [1, 2, 3]
    for row in history:
        assert 0 <= row["train_acc"] <= 1 and 0 <= row["val_acc"] <= 1
        assert np.isfinite(row["train_loss"]) and row["images_per_s"] > 0 and row["seconds"] > 0
    assert history["train_loss"][-1] < history["train_loss"][0]
    # cosine schedule: the lr recorded is the one used during the epoch
    assert history["lr"] == pytest.approx(
        [0.01, 0.01 * (1 + np.cos(np.pi / 3)) / 2, 0.01 * (1 + np.cos(2 * np.pi / 3)) / 2]
    )
    out = t.out_dir
    assert json.loads((out / "history.json").read_text())["epochs"] == history.to_list()
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # model.safetensors holds the final weights and loads into the same network
    fresh = make_trainer()
    fresh.model.load_state_dict(serialization.load(out / "model.safetensors"))
    assert_same_weights(weights(fresh), weights(t))
    ckpt = load_checkpoint(out / "checkpoint.safetensors")
    assert ckpt.epoch == 3 and len(ckpt.history) == 3 and ckpt.loaders["train"] == {"epoch": 3, "seed": 3}


def test_resume_is_bit_identical(straight, tmp_path):
    first = make_trainer(tmp_path, epochs=3)
    first.epochs = 1  # stop after one epoch, as an interrupted run would
    first.fit()
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").epoch == 1
    second = make_trainer(tmp_path, epochs=3)  # everything rebuilt from scratch
    history = second.fit(resume=True)
    assert_same_weights(weights(second), weights(straight[0]))
    assert history["epoch"] == [1, 2, 3]
    assert history["train_loss"] == straight[1]["train_loss"]
    assert history["val_acc"] == straight[1]["val_acc"]
    # the optimiser's state too: Adam's moments and step counts
    a, b = second.optimizer.state_dict(), straight[0].optimizer.state_dict()
    for i in a["state"]:
        for k, v in a["state"][i].items():
            assert np.array_equal(v, b["state"][i][k]), (i, k)


def test_ctrl_c_keeps_last_completed_epoch_and_resumes_exactly(straight, tmp_path):
    per_epoch = N_TRAIN // 16 + 1  # the loss function also scores the one validation batch
    t = make_trainer(tmp_path, loss_fn=StopAt(per_epoch + 3))  # Ctrl-C in batch 3 of epoch 2
    with pytest.raises(TrainingInterrupted) as info:
        t.fit()
    assert info.value.completed_epochs == 1
    assert info.value.checkpoint == tmp_path / "checkpoint.safetensors"
    assert "1 epoch(s) completed" in str(info.value)
    assert isinstance(info.value, KeyboardInterrupt)
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").epoch == 1
    resumed = make_trainer(tmp_path)
    resumed.fit(resume=True)
    assert_same_weights(weights(resumed), weights(straight[0]))


def test_ctrl_c_from_a_callback(tmp_path):
    class Interrupt(Callback):
        def on_epoch_end(self, trainer, row):
            if row["epoch"] == 2:
                raise KeyboardInterrupt

    t = make_trainer(tmp_path, callbacks=[Interrupt()])
    with pytest.raises(TrainingInterrupted) as info:
        t.fit()
    # the checkpoint callback runs after the others: epoch 2 was never saved
    assert info.value.completed_epochs == 1
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").epoch == 1


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    per_epoch = N_TRAIN // 16 + 1  # the loss function also scores the one validation batch
    saved = {}

    class Snapshot(Callback):
        def on_epoch_end(self, trainer, row):
            saved[row["epoch"]] = weights(trainer)

    t = make_trainer(tmp_path, loss_fn=StopAt(per_epoch + 2, nan=True), callbacks=[Snapshot()])
    with pytest.raises(TrainingDiverged) as info:
        t.fit()
    err = info.value
    assert (err.epoch, err.batch) == (2, 2) and np.isnan(err.loss)
    assert "batch 2 of epoch 2" in str(err) and "checkpoint.safetensors" in str(err)
    ckpt = load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert ckpt.epoch == 1
    for k, v in saved[1].items():
        assert np.array_equal(ckpt.model[k], v)
        assert np.isfinite(ckpt.model[k]).all()
    assert len(json.loads((tmp_path / "history.json").read_text())["epochs"]) == 1


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    t = make_trainer(tmp_path, epochs=1)
    t.fit()
    path = tmp_path / "checkpoint.safetensors"
    before = path.read_bytes()
    t.model.state_dict()  # change the weights so a new checkpoint would differ
    for p in t.model.parameters():
        p.data[...] = 0.0

    real_fdopen = os.fdopen

    class HalfWriter:
        """Writes half of the bytes, then the 'machine crashes'."""

        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError("simulated crash while writing")

    monkeypatch.setattr(
        os, "fdopen", lambda fd, mode="r", *a, **k: HalfWriter(real_fdopen(fd, mode, *a, **k))
    )
    with pytest.raises(OSError, match="simulated crash"):
        t.save_checkpoint(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_early_stopping_ends_the_run():
    t = make_trainer(epochs=3, callbacks=[EarlyStopping(monitor="val_acc", patience=0, min_delta=2.0)])
    history = t.fit()  # nothing improves by 2.0: stops after epoch 2
    assert len(history) == 2
    assert t.callbacks[0].stopped_epoch == 2


def test_evaluate_matches_the_history(straight):
    t, history = straight
    result = t.evaluate(t.val_loader)
    assert result["n"] == N_VAL
    assert result["accuracy"] == pytest.approx(history["val_acc"][-1])
    assert result["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)


def test_resume_rejects_another_seed(tmp_path):
    t = make_trainer(tmp_path, epochs=1)
    t.fit()
    other = make_trainer(tmp_path)
    other.train_loader.seed = 4
    with pytest.raises(ValueError, match="seed"):
        other.fit(resume=True)


def test_a_file_starting_with_byte_0x80_is_not_taken_for_a_pickle(tmp_path):
    # a safetensors header length of 128 mod 256 makes the file's first byte 0x80, as a pickle's;
    # such checkpoints (1 in 256, depending on the metadata's length) must still load
    path = tmp_path / "w.safetensors"
    for pad in range(256):
        serialization.save({"w": np.ones(3, np.float32)}, path, metadata={"x": "y" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    assert np.array_equal(serialization.load(path)["w"], np.ones(3, np.float32))


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_bar_shows_on_a_terminal_of_unknown_size(monkeypatch):
    """A fresh pseudo-terminal reports 0 columns and 0 rows (``script``, CI runners); tqdm then
    drew nothing at all."""
    import sys

    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", encoding="utf-8", closefd=False) as tty:
            monkeypatch.setattr(sys, "stderr", tty)
            t = make_trainer(epochs=1)
            t.progress = True
            t.train_loader.batch_size = 48  # two batches: the output stays far below the tty's buffer
            t.fit()
        shown = os.read(master, 1 << 16).decode("utf-8", "replace")
    finally:
        os.close(slave)
        os.close(master)
    assert "epoch 1/1:   0%|" in shown and "| 0/2 [" in shown


# ---- issue 12: a Trainer that does not assume classification ---------------------------------
def _regression_loader(with_weights: bool = False):
    from shendu.data import TensorDataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    arrays = (x, y, rng.uniform(0.5, 1.5, size=(64, 1)).astype(np.float32)) if with_weights else (x, y)
    return DataLoader(TensorDataset(*arrays), batch_size=16, shuffle=True, seed=0)


def test_mse_regression_reports_no_accuracy(tmp_path):
    model = nn.Linear(3, 1)
    t = Trainer(
        model,
        optim.SGD(model.parameters(), lr=0.1),
        _regression_loader(),
        val_loader=_regression_loader(),
        loss_fn=F.mse_loss,
        epochs=3,
        progress=False,
        out_dir=tmp_path,
    )
    history = t.fit()
    assert history["train_acc"] == [None] * 3 and history["val_acc"] == [None] * 3
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert "acc" not in t._epoch_line(history.rows[-1])
    assert (tmp_path / "curves.png").is_file()


def test_metrics_argument_and_weighted_batches_through_step_fn():
    model = nn.Linear(3, 1)

    def weighted_step(model, batch):
        x, y, w = batch
        out = model(x)
        return ((out - y) ** 2 * w).mean(), out, y

    def mae(outputs, targets):
        return float(np.abs(outputs - targets).mean())

    t = Trainer(
        model,
        optim.SGD(model.parameters(), lr=0.1),
        _regression_loader(with_weights=True),
        val_loader=_regression_loader(with_weights=True),
        step_fn=weighted_step,
        metrics={"mae": mae},
        epochs=2,
        progress=False,
    )
    history = t.fit()
    assert len(history["train_mae"]) == 2
    assert history["val_mae"][-1] == pytest.approx(t.evaluate(t.val_loader)["mae"])
    with pytest.raises(TypeError, match="step_fn"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1), _regression_loader(True), progress=False).fit()


def test_callback_state_may_hold_arrays_and_tensors(tmp_path):
    class Keeper(Callback):
        def __init__(self):
            self.seen = []
            self.best = None

        def on_epoch_end(self, trainer, row):
            self.seen.append(row["epoch"])
            self.best = shendu.tensor(np.full(3, row["epoch"], np.float32))

        def state_dict(self):
            return {"seen": tuple(self.seen), "best": self.best, "table": {1: np.eye(2)}}

        def load_state_dict(self, state):
            self.seen, self.best, self.table = list(state["seen"]), state["best"], state["table"]

    make_trainer(tmp_path, epochs=1, callbacks=[Keeper()]).fit()
    again = Keeper()
    t = make_trainer(tmp_path, epochs=2, callbacks=[again])
    t.fit(resume=True)
    assert again.seen == [1, 2] and np.array_equal(again.table[1], np.eye(2))
    assert isinstance(again.best, shendu.Tensor)


def test_a_run_made_from_python_can_be_evaluated_by_the_command(tmp_path, capsys):
    from shendu.cli.main import main
    from shendu.data import load_dataset
    from shendu.models import get_model

    train = load_dataset("digits", "train")
    shendu.manual_seed(0)
    model = get_model("mlp", num_classes=10, in_channels=1, input_size=8)
    t = Trainer(
        model,
        optim.Adam(model.parameters(), lr=0.01),
        DataLoader(train, batch_size=128, shuffle=True, seed=0),
        epochs=1,
        progress=False,
        out_dir=tmp_path / "py",
    )
    t.fit()
    config = json.loads((tmp_path / "py" / "config.json").read_text())
    assert config["model"] == "mlp" and config["input_shape"] == [1, 8, 8] and config["num_classes"] == 10
    assert main(["eval", str(tmp_path / "py"), "--data", "digits", "--split", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.3
