"""Fixtures of the web tests: one small trained LeNet run, a lesson cache, a live server.

The run (LeNet, one epoch on mnist-5k without augmentation, ~10 s) and the rendered lessons are
made once per test session and shared between xdist workers through a file lock, so the web
tests cost one training whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

try:  # the web extra (pip install 'shendu[web]'): without it these tests are not collected
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError:
    collect_ignore_glob = ["test_*.py"]

RUN_NAME = "lenet-web"
EVAL_FILE = "eval-mnist-5k-val.json"
# a "7" as a pen would draw it on the 280×280 pad: a top bar, then a stroke down to the left
SEVEN = [[(70, 62), (120, 60), (170, 58), (212, 60)], [(212, 60), (190, 110), (165, 160), (140, 225)]]


def _shared_root(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session sees (the parent of the workers' own temp dirs)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory) -> Path:
    """``runs/`` holding one trained LeNet run, :data:`RUN_NAME`, evaluated by ``shendu eval`` on the
    validation split: its JSON result kept as :data:`EVAL_FILE`, its confusion matrix as a PNG."""
    from shendu.cli.main import main

    root = _shared_root(tmp_path_factory) / "web-runs"
    run = root / RUN_NAME
    with _locked(_shared_root(tmp_path_factory) / "web-runs.lock"):
        if not (run / EVAL_FILE).is_file():
            args = ["train", "lenet", "--epochs", "1", "--no-augment", "--no-progress"]
            assert main([*args, "--out", str(run)]) == 0
            out = io.StringIO()
            with contextlib.redirect_stdout(out):  # what `shendu eval RUN --json > RUN/eval-….json` keeps
                assert main(["eval", str(run), "--data", "mnist-5k", "--split", "val", "--json"]) == 0
            (run / EVAL_FILE).write_text(out.getvalue())
    return root


@pytest.fixture(scope="session")
def lesson_cache(tmp_path_factory) -> Path:
    return _shared_root(tmp_path_factory) / "web-lesson-cache"


def draw_png(strokes=SEVEN, size: int = 280, width: int = 18) -> bytes:
    """The strokes drawn as the page draws them (black, round ends, on white) -> PNG bytes."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(img)
    for stroke in strokes:
        pen.line(stroke, fill=0, width=width, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png_of(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@contextlib.contextmanager
def live_server(app):
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread -> its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
