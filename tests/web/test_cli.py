"""``shendu serve`` on the command line: arguments, the run it picks, the warning for 0.0.0.0.

uvicorn's ``Server.run`` is replaced by a recorder: these tests check what would be served, not serve.
"""

from __future__ import annotations

import pytest

from shendu.cli.main import main
from tests.web.conftest import RUN_NAME


@pytest.fixture
def served(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: calls.append(self.config))
    return calls


def test_serve_picks_the_newest_run_and_prints_the_address(
    served, runs_root, lesson_cache, monkeypatch, capsys
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(lesson_cache))
    assert main(["serve", "--runs-dir", str(runs_root), "--port", "8123"]) == 0
    out, err = capsys.readouterr()
    assert f"drawing with run '{RUN_NAME}'" in out and "http://127.0.0.1:8123/" in out
    assert "warning" not in err
    (config,) = served
    assert config.host == "127.0.0.1" and config.port == 8123


def test_serve_draws_with_the_newest_of_several_trained_runs(served, runs_root, tmp_path, capsys):
    import os
    import shutil

    for age, name in [(3600, "older"), (0, "newer"), (7200, "oldest")]:
        shutil.copytree(runs_root / RUN_NAME, tmp_path / name)
        stamp = os.path.getmtime(runs_root / RUN_NAME / "model.safetensors") - age
        os.utime(tmp_path / name / "model.safetensors", (stamp, stamp))
    (tmp_path / "untrained").mkdir()  # a run that has no weights yet is not drawn with
    shutil.copy(runs_root / RUN_NAME / "config.json", tmp_path / "untrained")
    assert main(["serve", "--runs-dir", str(tmp_path)]) == 0
    assert "drawing with run 'newer'" in capsys.readouterr().out


def test_serve_warns_when_reachable_from_the_network(served, runs_root, lesson_cache, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(lesson_cache))
    assert main(["serve", str(runs_root / RUN_NAME), "--host", "0.0.0.0"]) == 0
    out, err = capsys.readouterr()
    assert "warning: --host 0.0.0.0 makes the page reachable from other computers" in err
    assert "http://127.0.0.1:8000/" in out and served[0].host == "0.0.0.0"


def test_serve_without_a_run_says_how_to_train_one(served, tmp_path, lesson_cache, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(lesson_cache))
    assert main(["serve", "--runs-dir", str(tmp_path / "runs")]) == 0
    err = capsys.readouterr().err
    assert "No trained run found" in err and "shendu train" in err


def test_serve_refuses_a_folder_that_is_not_a_run(served, tmp_path, capsys):
    assert main(["serve", str(tmp_path)]) == 1
    assert "is not a run folder of 'shendu train'" in capsys.readouterr().err
    assert served == []


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_checks_the_port(port, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--port", port])
    assert stop.value.code == 2 and "--port" in capsys.readouterr().err
