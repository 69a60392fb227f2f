"""Shared helpers for the lessons: figures (matplotlib, Agg backend), saving, printing tables.

Private to ``shendu.lessons``: lessons call these so every picture looks the same
(constrained layout, titles, labelled axes) and every printout is a readable table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # lessons write PNG files; never open a window (works without a display)
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt", "start", "figure", "save", "table", "matrix", "Printer"]

DPI = 110  # figure resolution; quick runs (tests) draw at a draft resolution: rendering dominates them
DRAFT_DPI = 50
_dpi = DPI


def start(name: str, out, quick: bool, verbose: bool):
    """Begin a lesson: its output folder (created), a printer, and the figure resolution for this run."""
    from shendu.lessons import out_dir

    global _dpi
    _dpi = DRAFT_DPI if quick else DPI
    return out_dir(name, out), Printer(verbose)


def figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] | None = None, **kw: Any):
    """A figure with constrained layout (no overlapping titles/labels) and its axes."""
    if size is None:
        size = (4.8 * ncols, 3.8 * nrows)
    return plt.subplots(nrows, ncols, figsize=size, layout="constrained", **kw)


def save(fig, folder: Path, name: str, dpi: int | None = None) -> str:
    """Write ``fig`` as ``folder/name`` (PNG), close it, and return the path as a string."""
    path = Path(folder) / name
    fig.savefig(path, dpi=dpi or _dpi)
    plt.close(fig)
    return str(path)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], floatfmt: str = ".4g", indent: str = "   "
) -> str:
    """A plain-text table with aligned columns (numbers formatted with ``floatfmt``)."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    cells = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    # first column (names) left-aligned, the numbers right-aligned
    line = lambda vals: (
        indent
        + "  ".join(  # noqa: E731
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(vals, widths, strict=True))
        )
    )
    out = [line([str(h) for h in headers]), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


class Printer:
    """``say(...)`` prints only when the lesson runs verbosely; collects the figure paths."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose

    def __call__(self, *lines: str) -> None:
        if self.verbose:
            for line in lines:
                print(line)

    def figures(self, paths: Sequence[str]) -> None:
        self("", "Figures written:", *(f"  {p}" for p in paths))


def matrix(ax, m, title: str, cmap: str = "Blues", fmt: str = "g", fontsize: int = 10) -> None:
    """Draw a small matrix as coloured cells with its numbers written in (white on dark cells)."""
    import numpy as np

    m = np.asarray(m)
    ax.imshow(m, cmap=cmap)
    lo, hi = float(m.min()), float(m.max())
    for (i, j), v in np.ndenumerate(m):
        dark = hi > lo and (v - lo) / (hi - lo) > 0.6
        ax.text(
            j,
            i,
            format(v, fmt),
            ha="center",
            va="center",
            fontsize=fontsize,
            color="white" if dark else "black",
        )
    ax.set(title=title, xticks=[], yticks=[])
