"""A run directory: what ``shendu train`` (or ``Trainer(out_dir=...)``) writes, and what
``shendu eval`` / ``shendu predict`` read. This module alone knows the file names.

::

    runs/lenet-mnist-5k/
        config.json              how to rebuild the model and its input pipeline, the run's options, run_id
        model.safetensors        the trained weights alone (model.load_state_dict), tagged with run_id, epoch
        checkpoint.safetensors   weights + optimiser + scheduler + epoch + RNG + history: for --resume
        history.json             one row per epoch: losses, metrics, lr, seconds, images/s
        curves.png               loss and metrics per epoch, training beside validation
        .lock                    held (fcntl) by the process training into the folder

Rules that keep a folder from mixing two runs or losing one:

- **one owner**: a training run holds an OS lock on ``.lock`` for as long as it runs; a second run
  into the same folder stops at once, naming the owner's PID. A killed run's lock is released by
  the OS, so a stale ``.lock`` file never blocks anybody.
- **one commit order**: every file is written through :func:`shendu.serialization.atomic_write`
  (a temporary file, fsync, rename). After each epoch ``model.safetensors`` and ``history.json``
  are written first and ``checkpoint.safetensors`` last: the checkpoint is the commit point, and
  everything else can be rebuilt from it.
- **resume verifies and repairs**: on ``--resume`` the weights, history and curves are compared
  with the checkpoint and rewritten where a kill left them behind (or ahead of) it; temporary files
  left by a kill are removed.
- **one run id**: a fresh run draws a ``run_id`` that goes into config.json, the weights and the
  checkpoint; readers refuse weights whose id differs from the config's.
- **starting over** in a used folder first removes the earlier run's files (checkpoint first, then
  weights, history, curves and the ``confusion-*.png`` figures of ``shendu eval``).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CHECKPOINT = "checkpoint.safetensors"
HISTORY = "history.json"
CURVES = "curves.png"
LOCK = ".lock"
#: files another command (``shendu eval``) derives from a run: removed when the folder starts over
DERIVED_PATTERNS = ("confusion-*.png",)
#: the files of one run, in the order they are removed when the folder starts over
RUN_FILES = (CHECKPOINT, WEIGHTS, HISTORY, CURVES, CONFIG)


class RunError(ValueError):
    """A run directory or weights file that cannot be used, with the reason and what to do."""


class RunInUse(RunError):
    """Another process holds the run directory's lock."""


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class RunDir:
    """The files of one run directory, their commit order, and its lock.

    >>> import tempfile
    >>> run = RunDir(tempfile.mkdtemp())
    >>> with run.lock():
    ...     run.write_config({"model": "mlp", "run_id": "abc"})
    >>> run.read_config()["model"], run.weights.name
    ('mlp', 'model.safetensors')
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # ---- names ----------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def history(self) -> Path:
        return self.path / HISTORY

    @property
    def curves(self) -> Path:
        return self.path / CURVES

    # ---- ownership ------------------------------------------------------------------------
    def lock(self) -> RunDir:
        """Take the folder's lock (creating the folder); use as ``with run.lock(): ...``.

        Raises :class:`RunInUse` naming the PID of the process that holds it. The OS drops the lock
        of a process that dies, so a killed run never leaves the folder blocked.
        """
        if self._lock_fd is not None:
            return self
        make_dirs(self.path)
        path = self.path / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise RunError(
                f"cannot create the lock file {path}: {err.strerror}; "
                f"{'remove that folder' if path.is_dir() else 'choose another folder with --out'}"
            ) from None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, one run at a time by hand
            self._lock_fd = fd
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(fd, 200, 0).decode(errors="replace").split()
            os.close(fd)
            pid = owner[0] if owner else "unknown"
            raise RunInUse(
                f"{self.path} is in use by another training run (process {pid}); wait for it to finish, "
                f"stop it, or train into another folder with --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        return self

    @property
    def locked(self) -> bool:
        return self._lock_fd is not None

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def __enter__(self) -> RunDir:
        return self.lock()

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    def discard_if_empty(self) -> None:
        """Remove the folder if it holds nothing but the lock (a run that stopped before its first
        file); called by the owner while it still holds the lock."""
        try:
            if set(os.listdir(self.path)) <= {LOCK}:
                (self.path / LOCK).unlink(missing_ok=True)
                self.path.rmdir()
        except OSError:  # a file arrived meanwhile, or the folder is gone: leave it
            pass

    # ---- cleaning -------------------------------------------------------------------------
    def remove_temp_files(self) -> list[str]:
        """Delete the temporary files a killed write left (``.NAME.*.tmp``); returns their names."""
        removed = []
        for tmp in self.path.glob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(tmp.name)
        return removed

    def clear(self) -> list[str]:
        """Remove an earlier run's files (checkpoint first, so a kill midway leaves nothing to resume)."""
        removed = []
        paths = [self.path / n for n in RUN_FILES]
        paths += sorted(p for pattern in DERIVED_PATTERNS for p in self.path.glob(pattern))
        for p in paths:
            if p.is_file():
                p.unlink()
                removed.append(p.name)
        return removed

    # ---- config ---------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        """Write config.json (atomically; left untouched when it already holds exactly this)."""
        from shendu import serialization

        data = (json.dumps(config, indent=2) + "\n").encode()
        try:
            if self.config.read_bytes() == data:
                return
        except OSError:
            pass
        serialization.atomic_write(self.config, data)

    def read_config(self) -> dict[str, Any]:
        return read_config(self.path)

    # ---- per-epoch commit -----------------------------------------------------------------
    def commit_epoch(
        self, model, history: list[dict[str, Any]], write_checkpoint, tags: dict[str, str]
    ) -> None:
        """Write the epoch's files in the one safe order: weights, history, then the checkpoint.

        ``write_checkpoint(path)`` writes the checkpoint; ``tags`` (run id, epoch) go into the weights.
        """
        from shendu.training.checkpoint import save_weights
        from shendu.training.history import History

        save_weights(self.weights, model, metadata=tags)
        History(history).save(self.history)
        write_checkpoint(self.checkpoint)

    def repair(self, model, history: list[dict[str, Any]], tags: dict[str, str]) -> list[str]:
        """Make the weights and history match a just-loaded checkpoint; returns what was rewritten."""
        from shendu import serialization
        from shendu.training.checkpoint import save_weights, state_arrays
        from shendu.training.history import History

        fixed = []
        try:
            state, meta = serialization.load_with_metadata(self.weights)
            expected = state_arrays(model.state_dict())
            same = meta == tags and state.keys() == expected.keys()
            same = same and all(
                state[k].dtype == v.dtype and state[k].shape == v.shape and (state[k] == v).all()
                for k, v in expected.items()
            )
        except (OSError, ValueError):
            same = False
        if not same:
            save_weights(self.weights, model, metadata=tags)
            fixed.append(WEIGHTS)
        try:
            same = History.load(self.history).rows == history
        except (OSError, ValueError, KeyError, TypeError):
            same = False
        if not same:
            History(history).save(self.history)
            fixed.append(HISTORY)
        return fixed

    def curves_current(self, epochs: int) -> bool:
        """Whether ``curves.png`` is a complete PNG drawn from ``epochs`` epochs."""
        from shendu.training.plots import EPOCHS_KEY

        try:
            from PIL import Image

            with Image.open(self.curves) as img:
                text = dict(getattr(img, "text", {}))
                img.load()  # decodes every row: a truncated file fails here
        except Exception:  # noqa: BLE001 - missing, truncated or not a PNG: redraw it
            return False
        return text.get(EPOCHS_KEY) == str(epochs)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` with an error that says which folder and why (``--out /proc/x``, a file in the way)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RunError(
            f"cannot create the folder {path}: a file is in the way (at {_first_file(path)})"
        ) from None
    except OSError as err:
        raise RunError(
            f"cannot create the folder {path}: {err.strerror or err}; choose another folder with --out"
        ) from None


def _first_file(path: Path) -> Path:
    """The first existing non-folder on the way down to ``path``."""
    for parent in reversed([path, *path.parents]):
        if parent.exists() and not parent.is_dir():
            return parent
    return path


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's config.json as a dict; a clear :class:`RunError` for a missing or malformed one."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise RunError(f"{run_dir} has no {CONFIG}: is it a folder written by 'shendu train'?")
    try:
        config = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunError(f"{path} is not valid JSON ({err}); train again or restore the file") from None
    except OSError as err:
        raise RunError(f"cannot read {path}: {err.strerror or err}") from None
    if not isinstance(config, dict):
        raise RunError(
            f"{path} holds a JSON {type(config).__name__}, not the object 'shendu train' writes; "
            f"train again or restore the file"
        )
    _check_config(config, path)
    return config


_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "num_classes": (int,),
    "classes": (list,),
    "input_shape": (list,),
    "normalize": (dict,),
    "data": (str,),
    "options": (dict,),
    "model_options": (dict,),
    "run_id": (str,),
    "lr_cycles": (list,),
    "data_info": (dict,),
}


def _check_config(config: dict[str, Any], path: Path) -> None:
    for key, types in _CONFIG_TYPES.items():
        value = config.get(key)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            raise RunError(
                f"{path}: {key!r} should be a {types[0].__name__}, got {json.dumps(value)[:60]}; "
                f"train again or restore the file"
            )
    cycles = config.get("lr_cycles")
    if cycles is not None and not all(type(c) is int and c > 0 for c in cycles):  # bool is no count
        raise RunError(f"{path}: 'lr_cycles' should be a list of positive epoch counts, got {cycles}")
    classes, count = config.get("classes"), config.get("num_classes")
    if count is not None and count < 1:
        raise RunError(f"{path}: 'num_classes' should be at least 1, got {count}")
    if classes is not None and count is not None and len(classes) != count:
        raise RunError(
            f"{path}: 'classes' names {len(classes)} classes but 'num_classes' is {count}; "
            f"train again or restore the file"
        )
    shape = config.get("input_shape")
    if shape is not None and (len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape)):
        raise RunError(f"{path}: 'input_shape' should be [C, H, W] of positive integers, got {shape}")
    norm = config.get("normalize")
    if norm is not None:
        for key in ("mean", "std"):
            values = norm.get(key)
            if not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise RunError(f"{path}: 'normalize.{key}' should be a list of numbers, got {values!r}")
        if any(v <= 0 for v in norm["std"]):
            raise RunError(f"{path}: 'normalize.std' must be positive, got {norm['std']}")


def resolve_weights(target: str | os.PathLike, model: str | None = None) -> tuple[Path, dict[str, Any]]:
    """``target`` is a run directory or a ``.safetensors`` file -> (weights path, config).

    For a bare weights file the config is the one of its directory if there is one, else a minimal
    ``{"model": model}`` (``model`` must then be given).
    """
    target = Path(target)
    if target.is_dir():
        config = read_config(target)
        weights = target / WEIGHTS
        if not weights.is_file():
            raise RunError(f"{target} has no {WEIGHTS} (did the training run finish an epoch?)")
    elif target.is_file():
        if target.suffix != ".safetensors":
            raise RunError(
                f"{target} is not a .safetensors weights file (shendu never loads pickled weights)"
            )
        weights = target
        config = read_config(target.parent) if (target.parent / CONFIG).is_file() else {}
    else:
        raise RunError(f"no run directory or weights file at {target}")
    if model:
        if config.get("model") and config["model"] != model:
            raise RunError(f"--model {model} does not match the run's model {config['model']!r} ({target})")
        config = {**config, "model": model}
    if not config.get("model"):
        if config.get("model_class"):
            raise RunError(
                f"{target} holds a {config['model_class']} built in Python, not a zoo model: say which zoo "
                f"network it is with --model NAME, or load it with model.load_state_dict in Python"
            )
        raise RunError(f"{target} comes without a config.json: say which network it holds with --model NAME")
    return weights, config


def model_input(
    config: dict[str, Any], input_shape: tuple[int, int, int] | None = None, num_classes: int | None = None
) -> tuple[tuple[int, ...], int]:
    """(input shape (C, H, W), number of classes) of a run's model: its config's, else the given ones,
    else MNIST's (1, 28, 28) and 10."""
    shape = tuple(config.get("input_shape") or input_shape or (1, 28, 28))
    return shape, int(config.get("num_classes") or num_classes or 10)


def build_model(
    config: dict[str, Any], input_shape: tuple[int, int, int] | None = None, num_classes: int | None = None
):
    """The network named in ``config``, shaped for its data (or the given shape and classes)."""
    from shendu.models import get_model

    shape, classes = model_input(config, input_shape, num_classes)
    try:
        return get_model(
            config["model"],
            num_classes=int(classes),
            in_channels=int(shape[0]),
            input_size=int(shape[1]),
            **config.get("model_options", {}),
        )
    except (TypeError, ValueError) as err:
        raise RunError(f"cannot build model {config['model']!r} for input {shape}: {err}") from None


def state_misfit(expected: dict[str, Any], state: dict[str, Any]) -> str:
    """One line on how ``state`` differs from a model's ``state_dict()`` (names, shapes); "" if it fits."""
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} (the model's is {tuple(expected[k].shape)})"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]

    def some(names: list[str]) -> str:
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    parts = [f"{len(missing)} tensor(s) missing ({some(missing)})"] if missing else []
    parts += [f"{len(extra)} unexpected ({some(extra)})"] if extra else []
    parts += [f"{len(shapes)} of another shape ({some(shapes)})"] if shapes else []
    return "; ".join(parts)


def load_model(
    target: str | os.PathLike,
    model: str | None = None,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
):
    """Rebuild the network of a run (or weights file), load its weights and check them -> (model, config).

    Refuses weights tagged with another run's id than the config's (two runs mixed in one folder)
    and weights holding NaN or infinite values (naming the tensor).
    """
    import numpy as np

    from shendu import serialization
    from shendu.training.checkpoint import FORMAT, model_state

    weights, config = resolve_weights(target, model)
    net = build_model(config, input_shape, num_classes)
    try:
        state, meta = serialization.load_with_metadata(weights)
    except (OSError, ValueError) as err:
        reason = str(err).split(". Expected")[0]  # the format's description adds nothing here
        raise RunError(f"cannot read the weights: {reason}; train again or restore the file") from None
    if meta.get("format") == FORMAT:  # a training checkpoint: take its weights
        state = model_state(state)
    if config.get("run_id") and meta.get("run_id") and meta["run_id"] != config["run_id"]:
        raise RunError(
            f"{weights} belongs to another run than {weights.parent / CONFIG} (run ids {meta['run_id']} "
            f"and {config['run_id']}): the folder mixes two runs; train it again"
        )
    for name, value in state.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            bad = int((~np.isfinite(value)).sum())
            raise RunError(
                f"{weights}: tensor {name!r} holds {bad} NaN or infinite value(s): the training diverged; "
                f"train again with a lower learning rate"
            )
    misfit = state_misfit(net.state_dict(), state)
    try:
        if misfit:
            raise ValueError(misfit)
        net.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0]
        shape, classes = model_input(config, input_shape, num_classes)
        raise RunError(
            f"the weights in {weights} do not fit model {config['model']!r} (input {shape}, {classes} "
            f"classes): {reason}; are they another network's? give the right one with --model NAME"
        ) from None
    net.eval()
    return net, config
