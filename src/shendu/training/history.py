"""The record of a training run: one row of measurements per epoch."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

from shendu import serialization

#: The columns every epoch row has (``val_*`` are ``None`` without a validation loader).
COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "images_per_s")


def _plain(value: Any) -> Any:
    """NumPy scalars in a row (a user metric's result) as Python numbers."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"history rows hold numbers, strings and None, not {type(value).__name__}")


class History:
    """Per-epoch measurements of :meth:`Trainer.fit <shendu.training.Trainer.fit>`.

    ``history.rows`` is a list of dicts (one per epoch, keys :data:`COLUMNS`); ``history["val_acc"]``
    is one column as a list. Epochs count from 1, losses are means over the epoch's samples,
    accuracies are fractions in [0, 1], ``seconds`` is the epoch's wall time (training and
    validation) and ``images_per_s`` the training throughput.

    >>> h = History()
    >>> h.append(epoch=1, train_loss=0.5, train_acc=0.8, val_loss=0.4, val_acc=0.85, lr=0.001)
    >>> h.append(epoch=2, train_loss=0.3, train_acc=0.9, val_loss=0.35, val_acc=0.9, lr=0.001)
    >>> len(h), h["val_acc"], h.best("val_acc")["epoch"]
    (2, [0.85, 0.9], 2)
    """

    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = [dict(r) for r in rows or []]

    def append(self, **row: Any) -> None:
        self.rows.append({c: row.get(c) for c in COLUMNS} | row)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, column: str) -> list[Any]:
        if self.rows and column not in self.rows[0]:
            raise KeyError(f"History has no column {column!r}; columns: {', '.join(self.rows[0])}")
        return [r.get(column) for r in self.rows]

    @property
    def has_validation(self) -> bool:
        return any(r.get("val_loss") is not None for r in self.rows)

    def best(self, column: str = "val_acc", mode: str | None = None) -> dict[str, Any] | None:
        """The row with the best value of ``column`` (highest for accuracies, lowest for losses)."""
        mode = mode or ("min" if "loss" in column else "max")
        rows = [r for r in self.rows if r.get(column) is not None and not math.isnan(r[column])]
        if not rows:
            return None
        pick = min if mode == "min" else max
        return pick(rows, key=lambda r: r[column])

    def to_list(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]

    def save(self, path: str | os.PathLike) -> None:
        """Write ``{"epochs": rows}`` as JSON (atomically: a temporary file, then a rename); NaN and
        infinite values are written as ``null``."""
        rows = [
            {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()}
            for r in self.rows
        ]
        text = json.dumps({"epochs": rows}, indent=2, default=_plain, allow_nan=False)  # valid JSON: null
        serialization.atomic_write(path, (text + "\n").encode())

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read ``history.json``; a ``ValueError`` naming the file when it is not one."""
        try:
            data = json.loads(Path(path).read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path} is not valid JSON ({err})") from None
        rows = data.get("epochs") if isinstance(data, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f'{path} is not a history file (expected {{"epochs": [rows]}})')
        return cls(rows)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs)"
