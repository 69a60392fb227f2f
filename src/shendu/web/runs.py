"""The runs the page shows: the folders ``shendu train`` wrote under ``runs/``, read without changing them.

A run is named by its folder's name; only names found by a fresh listing are served, so a
request can never reach a path outside the runs (no ``..`` tricks). File names come from
:mod:`shendu.training.rundir`, the module that writes them.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from shendu.training import rundir

RECENT_S = 120.0  # a run whose history changed this recently (or within 3 epochs) counts as training


class UnknownRun(LookupError):
    """A run name that is not among the runs found; the message lists the known ones."""


def _is_run(path: Path) -> bool:
    return path.is_dir() and (path / rundir.CONFIG).is_file()


class RunIndex:
    """The runs under ``root`` (one level deep) plus any extra run folders given explicitly."""

    def __init__(self, root: str | Path = "runs", extra: list[Path] | None = None) -> None:
        self.root = Path(root)
        self.extra = [Path(p) for p in extra or []]

    def runs(self) -> dict[str, Path]:
        """Name -> folder, newest first (by the time the folder's history or config last changed)."""
        found: dict[str, Path] = {}
        if self.root.is_dir():
            for path in self.root.iterdir():
                if _is_run(path):
                    found[path.name] = path
        for path in self.extra:  # the run given on the command line, wherever it is
            if _is_run(path) and path.resolve() not in {p.resolve() for p in found.values()}:
                found[path.resolve().name] = path
        return dict(sorted(found.items(), key=lambda kv: -_changed(kv[1])))

    def path(self, name: str) -> Path:
        runs = self.runs()
        if name not in runs:
            known = ", ".join(runs) or f"none yet under {self.root}/ (train one: shendu train)"
            raise UnknownRun(f"no run named {name!r}; runs: {known}")
        return runs[name]

    def latest_trained(self) -> str | None:
        """The newest run with weights (what ``shendu serve`` shows when no run is named), or None."""
        trained = {n: p for n, p in self.runs().items() if (p / rundir.WEIGHTS).is_file()}
        return max(trained, key=lambda n: (trained[n] / rundir.WEIGHTS).stat().st_mtime, default=None)


def _changed(path: Path) -> float:
    times = [(path / f).stat().st_mtime for f in (rundir.HISTORY, rundir.CONFIG) if (path / f).is_file()]
    return max(times, default=0.0)


def _finite(value: Any) -> Any:
    """JSON has no NaN: a diverged epoch's NaN loss is sent as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def read_history(path: Path) -> list[dict[str, Any]]:
    """The epoch rows of ``history.json`` ([] while no epoch has finished or the file is unreadable)."""
    try:
        rows = json.loads((path / rundir.HISTORY).read_text())["epochs"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # not written yet; written atomically, so never half a file
    return [{k: _finite(v) for k, v in row.items()} for row in rows if isinstance(row, dict)]


def _config(path: Path) -> dict[str, Any]:
    try:
        config = rundir.read_config(path)
    except rundir.RunError:
        return {}
    return config if isinstance(config, dict) else {}


LOCK = getattr(rundir, "LOCK", ".lock")  # the training process's lock file, naming its PID


def _owner_alive(path: Path) -> bool | None:
    """Whether the process named in the run's lock file still runs; None without a lock file.

    The file is only read (taking the lock, even shared, could make a starting ``shendu train``
    believe the folder is in use).
    """
    try:
        words = (path / LOCK).read_text().split()
    except OSError:
        return None
    if not words or not words[0].isdigit():
        return None
    try:
        os.kill(int(words[0]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to another user
        return True
    return True


def status(path: Path, config: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """``finished`` (all planned epochs), ``training`` or ``stopped``.

    Training: the PID in the run's lock file is alive, or (a folder without a lock file) its
    history changed within three epochs' time or two minutes.
    """
    planned = (config.get("options") or {}).get("epochs")
    if planned is not None and len(rows) >= int(planned):
        return "finished"
    alive = _owner_alive(path)
    if alive is not None:
        return "training" if alive else "stopped"
    epoch_s = max((r.get("seconds") or 0.0 for r in rows), default=0.0)
    if time.time() - _changed(path) < max(RECENT_S, 3 * epoch_s):
        return "training"
    return "stopped"


def summary(name: str, path: Path) -> dict[str, Any]:
    """One line of the runs list: model, data, epochs done of planned, best validation accuracy."""
    config = _config(path)
    rows = read_history(path)
    accs = [r["val_acc"] for r in rows if r.get("val_acc") is not None]
    return {
        "name": name,
        "model": config.get("model"),
        "data": config.get("data"),
        "epochs": len(rows),
        "planned": (config.get("options") or {}).get("epochs"),
        "best_val_acc": max(accs, default=None),
        "trained": (path / rundir.WEIGHTS).is_file(),
        "status": status(path, config, rows),
    }


def details(name: str, path: Path) -> dict[str, Any]:
    """Everything the runs page shows about one run: config, epoch rows, evaluation results."""
    return {
        **summary(name, path),
        "path": str(path),
        "config": _config(path),
        "history": read_history(path),
        "evaluations": evaluations(path),
        "images": sorted(p.name for p in path.glob("*.png")),
    }


def evaluations(path: Path) -> list[dict[str, Any]]:
    """Results of ``shendu eval`` kept in the run folder: ``eval*.json`` files and confusion matrices."""
    found = []
    for file in sorted(path.glob("eval*.json")):
        try:
            found.append({"file": file.name, "result": json.loads(file.read_text())})
        except (OSError, ValueError):
            continue
    for png in sorted(path.glob("confusion-*.png")):
        found.append({"file": png.name, "image": png.name})
    return found


def history_stamp(path: Path) -> tuple[float, int] | None:
    """(mtime, size) of history.json, or None: what the live stream polls for a change."""
    try:
        st = (path / rundir.HISTORY).stat()
    except OSError:
        return None
    return (st.st_mtime, st.st_size)
