"""The lessons speak Chinese by default and English on request, draw Chinese with the shipped font,
and leave the user's matplotlib settings alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager

from shendu import lessons
from shendu.cli.main import main
from shendu.lessons import _fontbuild
from shendu.lessons._plot import FONT

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_font_has_every_character_the_lessons_write_and_stays_small():
    latin = set(TTFont(font_manager.findfont("DejaVu Sans")).getBestCmap())
    cjk = set(TTFont(FONT).getBestCmap())
    missing = [chr(c) for c in _fontbuild.needed_chars(latin) if c not in cjk]
    assert not missing, f"rerun python -m shendu.lessons._fontbuild: {''.join(missing)}"
    assert "反" in {chr(c) for c in cjk}
    assert FONT.stat().st_size < 400_000
    assert (FONT.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE") == 1


def test_font_and_licence_are_package_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "lessons/fonts/*.otf" in text and "lessons/fonts/OFL.txt" in text


def test_importing_and_running_a_lesson_changes_no_matplotlib_setting(tmp_path):
    code = (
        "import matplotlib, copy\n"
        "before = copy.deepcopy(dict(matplotlib.rcParams))\n"
        "from shendu.lessons import run_lesson\n"
        f"run_lesson('loss', out_dir={str(tmp_path)!r}, quick=True)\n"
        "after = dict(matplotlib.rcParams)\n"
        "changed = sorted(k for k in before if before[k] != after[k])\n"
        "print('CHANGED', changed)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "CHANGED []" in out.stdout, out.stdout + out.stderr
    assert matplotlib.rcParams["font.family"] == matplotlib.rcParamsDefault["font.family"]


def test_chinese_by_default_english_by_option_or_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SHENDU_LANG", raising=False)
    zh, _ = lessons.run_lesson("loss", out_dir=tmp_path / "zh", quick=True)
    en, _ = lessons.run_lesson("loss", lang="en", out_dir=tmp_path / "en", quick=True)
    assert "交叉熵" in zh and "均方误差" in zh
    assert "cross-entropy" in en and "交叉熵" not in en
    monkeypatch.setenv("SHENDU_LANG", "en")
    env_text, _ = lessons.run_lesson("loss", out_dir=tmp_path / "en", quick=True)
    assert env_text == en
    monkeypatch.setenv("SHENDU_LANG", "fr")
    with pytest.raises(ValueError, match="expected one of zh, en"):
        lessons.run_lesson("loss", out_dir=tmp_path / "fr", quick=True)


def test_lesson_command_language(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SHENDU_LANG", raising=False)
    assert main(["lesson"]) == 0
    zh = capsys.readouterr().out
    assert "感知机" in zh and "反向传播" in zh
    assert main(["lesson", "--lang", "en"]) == 0
    en = capsys.readouterr().out
    assert "The perceptron" in en and "感知机" not in en
    monkeypatch.setenv("SHENDU_LANG", "xx")
    assert main(["lesson"]) == 2
    assert "SHENDU_LANG" in capsys.readouterr().err
    monkeypatch.delenv("SHENDU_LANG")
    assert main(["lesson", "loss", "--full"]) == 2
    assert "no --full version" in capsys.readouterr().err


def test_titles_in_both_languages():
    for name, info in lessons.LESSONS.items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in info.title("zh") + info.summary("zh")), name
        assert info.title("en").isascii() or "⊃" in info.summary("en"), name
        assert info.title("en") != info.title("zh")
