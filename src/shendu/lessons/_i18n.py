"""The lessons' language: Chinese (the course's) by default, English on request.

``lang()`` is the language of the lesson running now: the one given to ``language(...)``, else the
environment variable ``SHENDU_LANG`` (``zh`` or ``en``), else ``zh``. A lesson writes each sentence
twice, ``tr("中文", "English")``, and the reader gets one of them.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

LANGS = ("zh", "en")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("shendu_lesson_lang", default=None)


def check_lang(value: str) -> str:
    """``value`` if it is a known language; ValueError naming the choices otherwise."""
    if value not in LANGS:
        raise ValueError(f"unknown language {value!r}: expected one of {', '.join(LANGS)}")
    return value


def default_lang() -> str:
    """``SHENDU_LANG`` if set (checked), else Chinese."""
    env = os.environ.get("SHENDU_LANG", "").strip().lower()
    return check_lang(env) if env else "zh"


def lang() -> str:
    """The language lessons print and draw in right now."""
    return _current.get() or default_lang()


@contextlib.contextmanager
def language(value: str | None) -> Iterator[str]:
    """Within the block, lessons speak ``value`` (None: keep the current/default language)."""
    token = _current.set(check_lang(value) if value is not None else lang())
    try:
        yield lang()
    finally:
        _current.reset(token)


def tr(zh: str, en: str) -> str:
    """The sentence in the current language."""
    return zh if lang() == "zh" else en
