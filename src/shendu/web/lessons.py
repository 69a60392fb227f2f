"""The course's lessons for the page: listed in course order, rendered on demand, cached on disk.

A lesson is rendered by running ``shendu lesson NAME --out DIR`` in a child process, exactly what
a learner runs in a terminal: its printed text and its PNG figures. The child keeps matplotlib
(not thread-safe) and the lesson's printing out of the server, and a slow lesson never blocks
it. The language goes to the child as ``SHENDU_LANG`` (``zh`` or ``en``). Results are cached
under ``CACHE/<version>-<hash of the lessons' source>/<lang>/<name>/``: an edited lesson is
rendered afresh. One lesson renders at a time (the machine may have two cores).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LANGS = ("zh", "en")
TIMEOUT_S = 900.0  # the slowest lesson took about 200 s on a busy two-core machine
TEXT = "lesson.json"


class UnknownLesson(LookupError):
    """A lesson name that is not in the course; the message lists the lessons."""


class LessonFailed(RuntimeError):
    """The lesson's process failed; the message holds the end of its output."""


def catalogue() -> list[dict[str, Any]]:
    """The lessons in course order: ``[{"name", "title": {lang: text}, "summary": {lang: text}}]``."""
    from shendu import lessons

    names = lessons.available()
    registry = getattr(lessons, "LESSONS", None)
    if isinstance(registry, dict):  # titles and summaries in both languages
        return [
            {
                "name": name,
                "title": {lang: registry[name].title(lang) for lang in LANGS},
                "summary": {lang: registry[name].summary(lang) for lang in LANGS},
            }
            for name in names
        ]
    # a course without the bilingual registry: one summary line per lesson module
    return [
        {"name": n, "title": dict.fromkeys(LANGS, n), "summary": dict.fromkeys(LANGS, lessons.get(n).SUMMARY)}
        for n in names
    ]


def _source_hash() -> str:
    import shendu
    import shendu.lessons

    digest = hashlib.sha256(shendu.__version__.encode())
    for file in sorted(Path(shendu.lessons.__file__).parent.rglob("*.py")):
        digest.update(file.name.encode() + file.read_bytes())
    return f"{shendu.__version__}-{digest.hexdigest()[:12]}"


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "shendu" / "web-lessons"


class LessonBook:
    """Renders lessons on request (one at a time) and keeps the results on disk."""

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self.root = Path(cache_dir or default_cache()) / _source_hash()
        self._catalogue: dict[str, dict[str, Any]] | None = None
        self._jobs: dict[tuple[str, str], asyncio.Task] = {}
        self._started: dict[tuple[str, str], float] = {}
        self._gate: asyncio.Semaphore | None = None

    @property
    def _lessons(self) -> dict[str, dict[str, Any]]:
        if self._catalogue is None:  # importing every lesson takes seconds: only when first asked
            self._catalogue = {item["name"]: item for item in catalogue()}
        return self._catalogue

    def list(self) -> list[dict[str, Any]]:
        return list(self._lessons.values())

    def check(self, name: str, lang: str) -> None:
        if name not in self._lessons:
            raise UnknownLesson(f"no lesson named {name!r}; lessons: {', '.join(self._lessons)}")
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")

    def folder(self, name: str, lang: str) -> Path:
        self.check(name, lang)
        return self.root / lang / name

    def cached(self, name: str, lang: str) -> dict[str, Any] | None:
        """The rendered lesson ``{"name", "lang", "text", "figures", "seconds"}``, or None if not yet."""
        file = self.folder(name, lang) / TEXT
        if not file.is_file():
            return None
        return json.loads(file.read_text())

    def state(self, name: str, lang: str) -> dict[str, Any]:
        """Start rendering if needed; ``{"status": "ready", ...}`` or ``{"status": "rendering", "elapsed"}``.

        Raises :class:`LessonFailed` once for a render that failed (the next request tries again).
        """
        done = self.cached(name, lang)
        if done is not None:
            return {"status": "ready", **done}
        key = (name, lang)
        job = self._jobs.get(key)
        if job is not None and job.done():
            del self._jobs[key]
            error = job.exception()
            if error is not None:
                raise LessonFailed(str(error))
            return self.state(name, lang)
        if job is None:
            self._jobs[key] = asyncio.get_running_loop().create_task(self._render(name, lang))
            self._started[key] = time.monotonic()
        return {"status": "rendering", "elapsed": round(time.monotonic() - self._started[key], 1)}

    async def wait(self, name: str, lang: str) -> dict[str, Any]:
        """Render (or take from the cache) and return the finished lesson."""
        while True:
            st = self.state(name, lang)
            if st["status"] == "ready":
                return st
            await asyncio.wait([self._jobs[(name, lang)]])

    async def _render(self, name: str, lang: str) -> None:
        if self._gate is None:
            self._gate = asyncio.Semaphore(1)
        async with self._gate:
            await self._run_child(name, lang)

    async def _run_child(self, name: str, lang: str) -> None:
        import shendu

        target = self.folder(name, lang)
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        src = str(Path(shendu.__file__).resolve().parents[1])  # the shendu the server runs
        env = {
            **os.environ,
            "SHENDU_LANG": lang,
            "MPLBACKEND": "Agg",
            "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
            "PYTHONIOENCODING": "utf-8",
        }
        cmd = [sys.executable, "-m", "shendu.cli.main", "lesson", name, "--out", str(work)]
        started = time.monotonic()
        child = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
        )
        try:
            out, _ = await asyncio.wait_for(child.communicate(), TIMEOUT_S)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            child.kill()
            await child.wait()
            shutil.rmtree(work, ignore_errors=True)
            raise
        text = out.decode("utf-8", "replace")
        if child.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            tail = "\n".join(text.strip().splitlines()[-8:])
            raise LessonFailed(f"lesson {name!r} failed (exit code {child.returncode}):\n{tail}")
        figures = _figure_order(text, work)
        text = text.replace(str(work) + os.sep, "").replace(str(work), ".")  # paths -> file names
        record = {
            "name": name,
            "lang": lang,
            "text": text,
            "figures": figures,
            "seconds": round(time.monotonic() - started, 1),
        }
        (work / TEXT).write_text(json.dumps(record, ensure_ascii=False))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)  # the finished folder appears at once, complete


def _figure_order(text: str, folder: Path) -> list[str]:
    """PNG files of ``folder`` in the order the lesson's text names them (then any others)."""
    names = sorted(p.name for p in folder.glob("*.png"))
    return sorted(names, key=lambda n: (text.find(n) if n in text else len(text), n))
