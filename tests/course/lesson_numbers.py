"""Each lesson's ``compute(quick=True)``, computed once per test process and shared by the tests of
``tests/course`` (the numbers) and ``tests/lessons`` (the figures drawn from them)."""

from __future__ import annotations

import copy
import functools

from shendu import lessons


@functools.cache
def _numbers(name: str) -> dict:
    return lessons.get(name).compute(quick=True)


def numbers(name: str) -> dict:
    """A deep copy, so that no test changes what another one sees."""
    return copy.deepcopy(_numbers(name))
