"""Where dataset files live: ``data_dir`` if given, else ``$SHENDU_DATA/<name>``, else
``~/.cache/shendu/<name>``.

An explicit ``data_dir`` is the folder holding the files themselves (``--data-dir
../shared/data/mnist``); ``$SHENDU_DATA`` is a root with one sub-folder per dataset. Either way, a
dataset's files are also found in the other layout (``data_dir/<name>/`` or ``$SHENDU_DATA/``
itself), so both habits work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

ENV_VAR = "SHENDU_DATA"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing and could not be downloaded; says which and where to put them."""


def candidate_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders to search for ``name``'s files, the first being where downloads go."""
    if data_dir is not None:
        base = _folder(Path(data_dir).expanduser(), "data_dir (--data-dir)")
        return [base, base / name]
    env = os.environ.get(ENV_VAR)
    if env:
        root = _folder(Path(env).expanduser(), f"${ENV_VAR}")
        return [root / name, root]
    return [Path.home() / ".cache" / "shendu" / name]


def _folder(path: Path, what: str) -> Path:
    """``path`` itself, unless something other than a folder is there (a folder may be missing)."""
    if path.exists() and not path.is_dir():
        raise DatasetNotFoundError(
            f"{what} {path} is a file, not a folder: point it at the folder that holds the data set's files"
        )
    return path


def find_file(dirs: Sequence[Path], names: Sequence[str]) -> Path | None:
    """The first existing file among ``dirs × names`` (folders searched in order)."""
    for d in dirs:
        for n in names:
            p = d / n
            if p.is_file():
                return p
    return None
