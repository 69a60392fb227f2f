"""Shared helpers for the lessons: figures, the Chinese font, saving, printed tables, the run wrapper.

Private to ``shendu.lessons``. Figures are ``matplotlib.figure.Figure`` objects drawn by the Agg
renderer straight to PNG: no pyplot, no backend switch, no window. Text is set in DejaVu Sans
(matplotlib's own) with the shipped ``Shendu CJK`` subset as the fallback for Chinese characters;
both are chosen inside ``style()`` only, so the user's matplotlib settings never change.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from shendu.lessons._i18n import language, tr

__all__ = ["style", "figure", "save", "table", "matrix", "Printer", "start", "lesson", "source", "FONT"]

FONT = Path(__file__).resolve().parent / "fonts" / "ShenduCJK-Regular.otf"
FAMILY = "Shendu CJK"
DPI = 110  # figure resolution; quick runs (tests) draw at a draft resolution: rendering dominates them
DRAFT_DPI = 50
_dpi = contextvars.ContextVar("shendu_lesson_dpi", default=DPI)
_lines: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("shendu_lesson_text", default=None)


@functools.cache
def _register_font() -> None:
    # Adds the font to matplotlib's list of known fonts (it changes no setting).
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT))


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Within the block, figures draw Chinese with the shipped font; settings are restored after."""
    import matplotlib

    _register_font()
    with matplotlib.rc_context({"font.family": ["DejaVu Sans", FAMILY], "axes.unicode_minus": True}):
        yield


def figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] | None = None, **kw: Any):
    """A figure with constrained layout (no overlapping titles/labels) and its axes."""
    from matplotlib.figure import Figure

    if size is None:
        size = (4.8 * ncols, 3.8 * nrows)
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kw)


def save(fig, folder: Path, name: str, dpi: int | None = None) -> str:
    """Write ``fig`` as ``folder/name`` (PNG) and return the path as a string."""
    path = Path(folder) / name
    with style():
        fig.savefig(path, dpi=dpi or _dpi.get())
    return str(path)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], floatfmt: str = ".4g", indent: str = "   "
) -> str:
    """A plain-text table with aligned columns (numbers formatted with ``floatfmt``).

    Widths count a Chinese character as two columns, as a terminal shows it.
    """

    def fmt(v: Any) -> str:
        return format(v, floatfmt) if isinstance(v, float) else str(v)

    def width(s: str) -> int:
        return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in s)

    def pad(s: str, w: int, left: bool) -> str:
        fill = " " * (w - width(s))
        return s + fill if left else fill + s

    cells = [[fmt(v) for v in r] for r in rows]
    heads = [str(h) for h in headers]
    widths = [max(width(h), *(width(r[i]) for r in cells)) for i, h in enumerate(heads)]

    def line(vals: Sequence[str]) -> str:  # first column (names) left-aligned, the numbers right-aligned
        return indent + "  ".join(
            pad(v, w, i == 0) for i, (v, w) in enumerate(zip(vals, widths, strict=True))
        )

    return "\n".join([line(heads), line(["-" * w for w in widths]), *(line(r) for r in cells)])


class Printer:
    """``say(...)`` records the lesson's text (``run_lesson`` returns it) and prints it when verbose."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose

    def __call__(self, *lines: str) -> None:
        record = _lines.get()
        for line in lines:
            if record is not None:
                record.append(line)
            if self.verbose:
                print(line)

    def figures(self, paths: Sequence[str]) -> None:
        self("", tr("生成的图：", "Figures written:"), *(f"  {p}" for p in paths))


def start(name: str, out, quick: bool, verbose: bool):
    """Begin a lesson: its output folder (created), a printer, and the figure resolution for this run."""
    from shendu.lessons import out_dir

    _dpi.set(DRAFT_DPI if quick else DPI)
    return out_dir(name, out), Printer(verbose)


def lesson(run: Callable[..., dict]) -> Callable[..., dict]:
    """Wrap a lesson's ``run``: adds ``lang=`` (None: ``SHENDU_LANG`` or Chinese), the font, text capture.

    ``run(out=None, quick=False, verbose=True, lang=None, **options) -> dict``; the dict has
    ``pngs`` (figure paths) and, under ``text``, everything the lesson printed.
    """

    @functools.wraps(run)
    def wrapper(*args: Any, lang: str | None = None, **kw: Any) -> dict:
        lines: list[str] = []
        token = _lines.set(lines)
        try:
            with language(lang), style():
                ctx = contextvars.copy_context()  # keeps the dpi set by start() local to this run
                result = ctx.run(run, *args, **kw)
        finally:
            _lines.reset(token)
        result["text"] = "\n".join(lines)
        return result

    return wrapper


def source(obj: Any, max_lines: int = 40) -> str:
    """The source code of ``obj`` (a function, method or class) with its file and first line number.

    Lessons print it beside the numbers it produced, so the code and the chapter read together.
    """
    lines, first = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj) or "?")
    parts = path.parts
    shown = "/".join(parts[parts.index("shendu") :]) if "shendu" in parts else path.name
    body = "".join(lines[:max_lines]).rstrip("\n")
    more = f"\n    … ({len(lines) - max_lines} {tr('行略', 'more lines')})" if len(lines) > max_lines else ""
    return f"  # {shown}:{first}\n" + "\n".join("    " + ln for ln in body.splitlines()) + more


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


def make_run(
    name: str,
    compute: Callable[..., dict],
    report: Callable[[dict], Sequence[str]],
    draw: Callable[[dict, Path], list[str]],
    has_full: bool = False,
) -> Callable[..., dict]:
    """A lesson's ``run`` from its three parts: ``compute`` the numbers, ``report`` them, ``draw`` them.

    ``compute(quick=False[, full=False]) -> dict``; ``report(numbers) -> lines``;
    ``draw(numbers, folder) -> [png paths]``. The returned dict is the numbers plus ``pngs``.
    """

    def _run(out: str | Path | None = None, quick: bool = False, verbose: bool = True, **kw: Any) -> dict:
        folder, say = start(name, out, quick, verbose)
        numbers = compute(quick=quick, **kw)
        say(*report(numbers))
        pngs = draw(numbers, folder)
        say.figures(pngs)
        return {**numbers, "pngs": pngs}

    if has_full:

        def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True, full: bool = False):
            return _run(out, quick, verbose, full=full)

    else:

        def run(out: str | Path | None = None, quick: bool = False, verbose: bool = True):  # type: ignore[misc]
            return _run(out, quick, verbose)

    run.__doc__ = f"Run the lesson {name!r}: print its numbers, write its figures, return both."
    return lesson(run)


def grad_of(t: Any) -> Any:
    """``t.grad`` as a NumPy array (a copy), after ``backward()``; clear error if backward did not reach t."""
    if t.grad is None:
        raise RuntimeError("no gradient: backward() did not reach this tensor")
    if t.grad.ndim == 0:  # a 0-d gradient can hold a NumPy scalar, which .numpy() refuses today
        import numpy as np

        return np.array(t.grad.item())
    return t.grad.numpy().copy()


def sizes(v: Any) -> tuple[int, ...]:
    """An int or a tuple of ints (what ``F.conv_output_size`` returns) as a tuple of ints."""
    import numpy as np

    return tuple(int(a) for a in np.atleast_1d(v))


def arr(t: Any) -> Any:
    """A tensor's values as a NumPy array (for results typed as tensor-or-tuple, such as pooling's)."""
    return t.numpy()
