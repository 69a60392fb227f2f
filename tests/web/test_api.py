"""The JSON API of ``shendu serve`` through Starlette's test client (and a live server for concurrency)."""

from __future__ import annotations

import base64
import functools
import io
import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from shendu.lessons import available
from shendu.training.images import load_image
from tests.web.conftest import EVAL_FILE, RUN_NAME, draw_png, live_server, png_of

starlette_testclient = pytest.importorskip("starlette.testclient")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient's httpx notice


@pytest.fixture(scope="module")
def app(runs_root, lesson_cache):
    from shendu.web.app import create_app

    return create_app(runs_dir=runs_root, cache_dir=lesson_cache, poll_s=0.05)


@pytest.fixture(scope="module")
def client(app):
    with starlette_testclient.TestClient(app) as c:
        yield c


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def decode(item: dict, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(item["data"]), dtype).reshape(item["shape"])


# ---- predictions ------------------------------------------------------------------------------
def test_info_names_the_newest_trained_run(client):
    info = client.get("/api/info").json()
    assert info["run"] == RUN_NAME and info["hint"] is None


def test_a_drawn_seven_is_a_seven_with_every_conv_and_pool_map(client, runs_root):
    r = client.post("/api/predict", json={"image": data_url(draw_png())})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["label"] == "7" and out["classes"] == [str(i) for i in range(10)]
    assert sum(out["probs"]) == pytest.approx(1.0, abs=1e-4) and out["probs"][7] > 0.5
    assert [(layer["name"], layer["kind"], layer["shape"]) for layer in out["layers"]] == [
        ("features.0", "Conv2d", [20, 24, 24]),
        ("features.1", "MaxPool2d", [20, 12, 12]),
        ("features.2", "Conv2d", [50, 8, 8]),
        ("features.3", "MaxPool2d", [50, 4, 4]),
    ]


def test_the_page_sees_what_predict_sees_and_the_maps_are_the_layers_outputs(client, runs_root, tmp_path):
    """The image, probabilities and maps equal an independent run of predict's reader and the layers."""
    import shendu
    import shendu.nn.functional as F
    from shendu.training.rundir import load_model

    png = draw_png([[(60, 200), (140, 60), (220, 200)], [(95, 140), (185, 140)]])  # an "A"-like shape
    (tmp_path / "x.png").write_bytes(png)
    model, config = load_model(runs_root / RUN_NAME)
    seen = load_image(tmp_path / "x.png", (1, 28, 28), digit_style=True)
    out = client.post("/api/predict", content=png, headers={"content-type": "image/png"}).json()
    np.testing.assert_array_equal(decode(out["input"], np.uint8), np.rint(seen * 255).astype(np.uint8))

    x = shendu.from_numpy(((seen - config["normalize"]["mean"][0]) / config["normalize"]["std"][0])[None])
    with shendu.no_grad():
        maps = []
        h = x
        for layer in model.features:
            h = layer(h)
            maps.append(h.numpy()[0])
        probs = F.softmax(model(x).double(), dim=1).numpy()[0]
    np.testing.assert_allclose(out["probs"], probs, atol=2e-6)
    for layer, expected in zip(out["layers"], maps, strict=True):
        got = decode(layer, np.int8) * layer["scale"] / 127
        # int8 quantisation: within half a step of the layer's largest magnitude
        np.testing.assert_allclose(got, expected, atol=layer["scale"] / 127 * 0.51 + 1e-6)
        assert layer["scale"] == pytest.approx(np.abs(expected).max(), rel=1e-6)


def test_upload_form_and_raw_bytes_give_the_same_answer(client):
    png = draw_png()
    by_json = client.post("/api/predict", json={"image": data_url(png)}).json()
    by_form = client.post("/api/predict", files={"image": ("seven.png", png, "image/png")}).json()
    by_bytes = client.post("/api/predict", content=png, headers={"content-type": "image/png"}).json()
    assert by_json["probs"] == by_form["probs"] == by_bytes["probs"]


def test_model_info_has_the_first_layer_kernels(client, runs_root):
    from shendu import serialization

    info = client.get(f"/api/runs/{RUN_NAME}/model").json()
    assert info["kernels"]["shape"] == [20, 1, 5, 5] and info["kernels"]["total"] == 20
    weight = serialization.load(runs_root / RUN_NAME / "model.safetensors")["features.0.weight"]
    got = decode(info["kernels"], np.int8) * info["kernels"]["scale"] / 127
    np.testing.assert_allclose(got, weight, atol=info["kernels"]["scale"] / 127 * 0.51)
    assert [layer["name"] for layer in info["layers"]] == [
        "features.0",
        "features.1",
        "features.2",
        "features.3",
    ]


# ---- bad input: a clear error each, and the server keeps serving -----------------------------------
@functools.cache
def _huge_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (8000, 7000)).save(buf, format="PNG")  # 56 megapixels in a few kB
    return buf.getvalue()


PNG = {"content-type": "image/png"}
BAD_REQUESTS = {  # name -> (request arguments, status, words the error must contain)
    "malformed JSON": (
        lambda: {"content": b'{"image": ', "headers": {"content-type": "application/json"}},
        400,
        "malformed JSON",
    ),
    "JSON list": (lambda: {"json": [1, 2]}, 400, "expected a JSON object"),
    "no image key": (lambda: {"json": {"picture": "x"}}, 400, "expected a JSON object"),
    "image not a string": (lambda: {"json": {"image": 5}}, 400, "must be a string"),
    "bad base64": (lambda: {"json": {"image": "data:image/png;base64,@@@"}}, 400, "not valid base64"),
    "not a data URL": (lambda: {"json": {"image": "data:image/png,abc"}}, 400, "base64 data URL"),
    "text as image": (
        lambda: {"files": {"image": ("notes.txt", b"hello, not a picture")}},
        422,
        "not a readable image",
    ),
    "empty file": (lambda: {"files": {"image": ("empty.png", b"")}}, 422, "empty"),
    "form without image": (lambda: {"files": {"other": ("a.png", b"x")}}, 400, "form field 'image'"),
    "blank picture": (
        lambda: {"content": png_of(np.full((40, 40), 255, np.uint8)), "headers": PNG},
        422,
        "blank",
    ),
    "56 megapixels": (lambda: {"content": _huge_png(), "headers": PNG}, 422, "megapixels"),
    "plain text body": (
        lambda: {"content": b"hi", "headers": {"content-type": "text/plain"}},
        415,
        "send the image",
    ),
    "announced 11 MB": (lambda: {"content": b"\0" * (11 << 20), "headers": PNG}, 413, "at most"),
    "chunked 12 MB": (lambda: {"content": iter([b"\0" * (1 << 20)] * 12), "headers": PNG}, 413, "at most"),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_input_is_a_clear_error_and_the_server_keeps_serving(client, name):
    kwargs, status, words = BAD_REQUESTS[name]
    r = client.post("/api/predict", **kwargs())
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert "/tmp" not in r.json()["error"]  # the upload's temporary file is no business of the user
    assert client.post("/api/predict", json={"image": data_url(draw_png())}).json()["label"] == "7"


@pytest.mark.parametrize(
    "url, words",
    [
        ("/api/runs/no-such-run", "no run named 'no-such-run'; runs: "),
        ("/api/runs/no-such-run/model", "no run named"),
        ("/api/runs/no-such-run/events", "no run named"),
        (f"/api/runs/{RUN_NAME}/files/config.json", "has no figure"),
        (f"/api/runs/{RUN_NAME}/files/..%2F..%2Fetc%2Fpasswd", "nothing at"),
        ("/api/nothing", "nothing at /api/nothing"),
        (
            "/api/lessons/no-such-lesson",
            "no lesson named 'no-such-lesson'; lessons: " + ", ".join(available()),
        ),
        ("/api/lessons/gates/files/nothing.png?lang=en", "has no figure"),
    ],
)
def test_unknown_runs_lessons_and_files_are_404_with_a_message(client, url, words):
    r = client.get(url)
    assert r.status_code == 404 and words in r.json()["error"]
    if words.endswith("runs: "):  # the runs there: ours, and any other xdist worker's test has open
        assert RUN_NAME in r.json()["error"].split("runs: ")[1].split(", ")


def test_predict_with_an_unknown_run_is_404(client):
    r = client.post("/api/predict?run=nope", json={"image": data_url(draw_png())})
    assert r.status_code == 404 and "no run named 'nope'" in r.json()["error"]


def test_no_trained_run_says_how_to_make_one(tmp_path, lesson_cache):
    from shendu.web.app import create_app

    with starlette_testclient.TestClient(create_app(runs_dir=tmp_path, cache_dir=lesson_cache)) as c:
        assert "shendu train" in c.get("/api/info").json()["hint"]
        r = c.post("/api/predict", json={"image": data_url(draw_png())})
        assert r.status_code == 404 and "shendu train" in r.json()["error"]
        assert c.get("/api/runs").json() == []


def test_a_run_without_weights_yet_is_409(client, runs_root):
    started = runs_root / "starting"
    started.mkdir(exist_ok=True)
    shutil.copy(runs_root / RUN_NAME / "config.json", started / "config.json")
    try:
        r = client.post("/api/predict?run=starting", json={"image": data_url(draw_png())})
        assert r.status_code == 409 and "no epoch has finished" in r.json()["error"]
    finally:
        shutil.rmtree(started)


def test_foreign_host_headers_are_refused(runs_root, lesson_cache):
    from shendu.web.app import create_app

    app = create_app(runs_dir=runs_root, cache_dir=lesson_cache, allowed_hosts=["127.0.0.1", "localhost"])
    with starlette_testclient.TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/info").status_code == 200
        assert c.get("/api/info", headers={"host": "attacker.example"}).status_code == 400


# ---- concurrency: no shared mutable state between requests ----------------------------------------
def test_concurrent_requests_each_get_their_own_maps(app):
    """Sixteen clients at once, four different drawings: each answer equals the one given alone."""
    import httpx

    drawings = [
        draw_png(),
        draw_png([[(140, 40), (140, 240)]]),  # a "1"
        draw_png([[(80, 80), (140, 50), (200, 90), (90, 230), (210, 230)]]),  # a "2"
        draw_png([[(140, 40), (70, 140), (140, 240), (210, 140), (140, 40)]]),  # an "0"
    ]
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        alone = [
            http.post("/api/predict", content=d, headers={"content-type": "image/png"}).json()
            for d in drawings
        ]
        start = threading.Barrier(16)

        def ask(i: int) -> tuple[int, dict]:
            start.wait()
            with httpx.Client(base_url=url, timeout=60) as own:
                r = own.post("/api/predict", content=drawings[i % 4], headers={"content-type": "image/png"})
                return i % 4, r.json()

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(ask, range(16)))
    for k, answer in answers:
        assert answer["probs"] == alone[k]["probs"]
        assert [layer["data"] for layer in answer["layers"]] == [
            layer["data"] for layer in alone[k]["layers"]
        ]
    assert len({a["label"] for a in alone}) >= 3  # the drawings really differ
    import shendu

    assert shendu.is_grad_enabled()  # the server's threads left the process-wide grad mode alone


# ---- runs --------------------------------------------------------------------------------------
def test_runs_list_and_details(client):
    runs = client.get("/api/runs").json()
    assert runs[0]["name"] == RUN_NAME and runs[0]["status"] == "finished" and runs[0]["trained"]
    details = client.get(f"/api/runs/{RUN_NAME}").json()
    assert details["config"]["model"] == "lenet" and [r["epoch"] for r in details["history"]] == [1]
    assert "curves.png" in details["images"]
    png = client.get(f"/api/runs/{RUN_NAME}/files/curves.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_a_run_shows_its_evaluation_results(client, runs_root):
    """What ``shendu eval`` left in the run folder: its JSON result and its confusion matrix."""
    saved = json.loads((runs_root / RUN_NAME / EVAL_FILE).read_text())
    evaluations = client.get(f"/api/runs/{RUN_NAME}").json()["evaluations"]
    by_file = {e["file"]: e for e in evaluations}
    assert by_file[EVAL_FILE]["result"]["accuracy"] == saved["accuracy"]
    assert saved["n"] == 500 and 0.5 < saved["accuracy"] <= 1  # LeNet after one epoch: far above chance
    assert by_file["confusion-mnist-5k-val.png"]["image"] == "confusion-mnist-5k-val.png"
    png = client.get(f"/api/runs/{RUN_NAME}/files/confusion-mnist-5k-val.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def _fake_training_run(runs_root: Path, name: str, planned: int) -> Path:
    run = runs_root / name
    run.mkdir()
    config = json.loads((runs_root / RUN_NAME / "config.json").read_text())
    config["options"]["epochs"] = planned
    (run / "config.json").write_text(json.dumps(config))
    return run


def _write_epochs(run: Path, n: int) -> None:
    rows = [
        {"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5, "val_loss": float("nan"), "val_acc": 0.5}
        for e in range(1, n + 1)
    ]
    (run / "history.json.tmp").write_text(json.dumps({"epochs": rows}))
    (run / "history.json.tmp").replace(run / "history.json")  # atomically, as the trainer does


def test_a_training_run_streams_each_epoch_then_done(client, runs_root):
    run = _fake_training_run(runs_root, "live", planned=3)
    try:
        _write_epochs(run, 1)

        def train_on() -> None:
            for n in (2, 3):
                time.sleep(0.3)
                _write_epochs(run, n)

        threading.Thread(target=train_on, daemon=True).start()
        assert client.get("/api/runs/live").json()["status"] == "training"
        text = client.get("/api/runs/live/events").text
    finally:
        shutil.rmtree(run)
    events = [block for block in text.split("\n\n") if block.startswith("event:")]
    kinds = [block.splitlines()[0] for block in events]
    assert kinds[-1] == "event: done" and kinds.count("event: history") >= 2
    epochs = [len(json.loads(b.splitlines()[1][len("data: ") :])["history"]) for b in events[:-1]]
    assert epochs[0] == 1 and epochs[-1] == 3 and epochs == sorted(epochs)
    last = json.loads(events[-2].splitlines()[1][len("data: ") :])
    assert last["status"] == "finished" and last["history"][0]["val_loss"] is None  # NaN -> null


def test_a_stopped_run_is_not_training(client, runs_root):
    import os

    run = _fake_training_run(runs_root, "stopped", planned=5)
    try:
        _write_epochs(run, 1)
        old = time.time() - 3600
        for f in run.iterdir():
            os.utime(f, (old, old))
        assert client.get("/api/runs/stopped").json()["status"] == "stopped"
        assert client.get("/api/runs/stopped/events").text.rstrip().endswith('data: {"status": "stopped"}')
    finally:
        shutil.rmtree(run)


def test_the_lock_files_pid_tells_training_from_stopped(client, runs_root):
    import os
    import subprocess
    import sys

    run = _fake_training_run(runs_root, "locked", planned=5)
    try:
        _write_epochs(run, 1)
        old = time.time() - 3600  # an hour without a new epoch: only the lock says it still runs
        os.utime(run / "history.json", (old, old))
        os.utime(run / "config.json", (old, old))
        (run / ".lock").write_text(f"{os.getpid()}\n")
        assert client.get("/api/runs/locked").json()["status"] == "training"
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        (run / ".lock").write_text(gone.stdout.decode())  # a process that has ended
        assert client.get("/api/runs/locked").json()["status"] == "stopped"
    finally:
        shutil.rmtree(run)


# ---- lessons -----------------------------------------------------------------------------------
def test_lessons_are_listed_in_course_order(client):
    from shendu import lessons

    listed = client.get("/api/lessons").json()
    assert [item["name"] for item in listed] == lessons.available()
    assert all(item["summary"]["zh"] and item["summary"]["en"] and item["title"]["en"] for item in listed)


def test_a_lesson_renders_on_demand_then_comes_from_the_cache(client):
    first = client.get("/api/lessons/gates?lang=en")
    deadline = time.monotonic() + 120
    r = first
    while r.status_code == 202 and time.monotonic() < deadline:
        assert r.json()["status"] == "rendering"
        time.sleep(0.3)
        r = client.get("/api/lessons/gates?lang=en")
    assert r.status_code == 200, r.text
    lesson = r.json()
    assert lesson["status"] == "ready" and "AND" in lesson["text"] and lesson["figures"]
    assert "/tmp" not in lesson["text"]  # the render folder's paths are cut down to file names
    figure = client.get(f"/api/lessons/gates/files/{lesson['figures'][0]}?lang=en")
    assert figure.status_code == 200 and figure.content.startswith(b"\x89PNG")
    again = client.get("/api/lessons/gates?lang=en")
    assert again.status_code == 200 and again.json()["text"] == lesson["text"]


def test_a_lesson_renders_once_chinese_first_then_comes_from_disk(runs_root, tmp_path, monkeypatch):
    """The rendering (a child process, proven by the test above) is replaced by a counter here."""
    from shendu.web import lessons as web_lessons
    from shendu.web.app import create_app

    rendered = []

    async def render(book, name: str, lang: str) -> None:
        rendered.append((name, lang))
        folder = book.folder(name, lang)
        folder.mkdir(parents=True)
        record = {"name": name, "lang": lang, "text": f"{name} in {lang}", "figures": [], "seconds": 0.0}
        (folder / web_lessons.TEXT).write_text(json.dumps(record))

    monkeypatch.setattr(web_lessons.LessonBook, "_run_child", render)

    def ask(client) -> list[int]:
        codes = [client.get("/api/lessons/gates").status_code]  # no lang: Chinese
        while codes[-1] == 202 and len(codes) < 200:
            time.sleep(0.02)
            codes.append(client.get("/api/lessons/gates").status_code)
        assert client.get("/api/lessons/gates").json()["text"] == "gates in zh"
        return codes

    with starlette_testclient.TestClient(create_app(runs_dir=runs_root, cache_dir=tmp_path)) as c:
        codes = ask(c)
        assert codes[0] == 202 and codes[-1] == 200  # on demand: rendering, then ready
    with starlette_testclient.TestClient(create_app(runs_dir=runs_root, cache_dir=tmp_path)) as c:
        assert ask(c) == [200]  # a new server finds it on disk
    assert rendered == [("gates", "zh")]
    monkeypatch.setattr(web_lessons, "_source_hash", lambda: "0.1.0-edited")  # a lesson was edited
    with starlette_testclient.TestClient(create_app(runs_dir=runs_root, cache_dir=tmp_path)) as c:
        assert ask(c)[0] == 202
    assert rendered == [("gates", "zh")] * 2


def test_a_lesson_in_an_unknown_language_is_400(client):
    r = client.get("/api/lessons/gates?lang=fr")
    assert r.status_code == 400 and "lang must be one of zh, en" in r.json()["error"]


# ---- the page ----------------------------------------------------------------------------------
def test_the_page_is_self_contained(client):
    from shendu.web.app import STATIC

    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for file in STATIC.iterdir():
        text = file.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, (
            file
        )
        assert client.get(f"/static/{file.name}").status_code == 200
    for ref in ("/static/style.css", "/static/main.js"):
        assert ref in page.text
