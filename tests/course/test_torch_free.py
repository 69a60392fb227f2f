"""``pytest tests/course`` needs no PyTorch: no module here (nor the conftest above) imports it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_course_tests_and_reference_import_without_torch():
    code = (
        "import sys, importlib, pkgutil\n"
        "sys.modules['torch'] = None  # any 'import torch' now raises ImportError\n"
        "import tests.conftest, shendu.reference\n"
        "import tests.course as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('tests.course.' + m.name)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_library_never_imports_the_reference():
    src = ROOT / "src" / "shendu"
    users = [
        p.relative_to(src)
        for p in src.rglob("*.py")
        if "import shendu.reference" in p.read_text(encoding="utf-8")
        or "from shendu.reference" in p.read_text(encoding="utf-8")
    ]
    assert all(p.parts[0] in ("reference", "lessons") for p in users), users
