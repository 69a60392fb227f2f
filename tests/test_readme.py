"""The README's two set-up lines are what CI and users run: keep them true."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    lines = ROOT.joinpath("README.md").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("python3 -m venv")]


def test_readme_has_two_setup_lines():
    cmds = _commands()
    assert len(cmds) == 2
    assert cmds[0].endswith("pip install . && shendu train")
    assert 'pip install -e ".[test]"' in cmds[1]


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = _commands()[1].split("&& ")[-1]
    ci = ROOT.joinpath(".ci", "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == test_cmd
