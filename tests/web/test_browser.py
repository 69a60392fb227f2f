"""The page in headless Chromium (Debian's ``chromium``, driven by Playwright; no browser download).

Draws a "7" with pointer events (mouse on a desktop-size window, touch on a phone-size one) and
checks the answer and the feature maps, opens a lesson and switches the language, follows a run
that is still training, and saves a screenshot of every page to ``$SHENDU_SCREENSHOTS`` (default:
the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path

import pytest

from tests.web.conftest import RUN_NAME, SEVEN, live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"no {CHROMIUM}: install Debian's chromium package (apt-get install chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SHENDU_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def url(runs_root, lesson_cache):
    from shendu.web.app import create_app

    with live_server(create_app(runs_dir=runs_root, cache_dir=lesson_cache, poll_s=0.2)) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _page(browser, **context):
    """A fresh page (its own storage: the language starts as Chinese) that records script errors."""
    page = browser.new_context(**context).new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    return page


def _draw_with_mouse(page, strokes) -> None:
    box = page.locator("#pad").bounding_box()
    at = lambda x, y: (box["x"] + x / 280 * box["width"], box["y"] + y / 280 * box["height"])  # noqa: E731
    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(*point), steps=6)
        page.mouse.up()


TOUCH = """(strokes) => {
  const pad = document.querySelector('#pad'), r = pad.getBoundingClientRect();
  const fire = (type, [x, y]) => pad.dispatchEvent(new PointerEvent(type, {
    pointerId: 7, pointerType: 'touch', isPrimary: true, bubbles: true, cancelable: true,
    clientX: r.left + x / 280 * r.width, clientY: r.top + y / 280 * r.height}));
  for (const s of strokes) {
    fire('pointerdown', s[0]);
    for (let i = 1; i < s.length; i++)
      for (let k = 1; k <= 6; k++)
        fire('pointermove', [s[i-1][0] + (s[i][0] - s[i-1][0]) * k / 6,
                             s[i-1][1] + (s[i][1] - s[i-1][1]) * k / 6]);
    fire('pointerup', s[s.length - 1]);
  }
}"""


def _wait_answer(page, label: str) -> None:
    page.wait_for_function(
        "(label) => document.querySelector('#answer').textContent === label"
        " && document.querySelector('#pad').dataset.busy === 'false'",
        arg=label,
        timeout=20_000,
    )


def _painted(page, selector: str) -> bool:
    """Whether the canvas holds anything but white (a map of all zeros would be all white)."""
    return page.eval_on_selector(
        selector,
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  for (let i = 0; i < d.length; i += 4)
                    if (d[i] < 250 || d[i+1] < 250 || d[i+2] < 250) return true;
                  return false; }""",
    )


def test_draw_a_seven_see_maps_kernels_and_the_lens(browser, url, shots):
    page = _page(browser, viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#kernels canvas")
    assert page.locator("#kernels canvas").count() == 20
    _draw_with_mouse(page, SEVEN)
    _wait_answer(page, "7")
    assert page.locator("#probs .best").first.text_content() == "7"
    counts = [page.locator(f"#layer-features_{i} canvas.map").count() for i in range(4)]
    assert counts == [20, 20, 50, 50]
    assert _painted(page, "#layer-features_0 canvas.map") and _painted(page, "#seen")
    page.locator("#layer-features_2 canvas.map").nth(3).hover()
    assert page.locator("#lens").is_visible() and "features.2" in page.locator(".lens-label").text_content()
    page.screenshot(path=shots / "draw.png", full_page=True)

    # round trips of the page's own request (a drawn 7 as a PNG data URL), measured in the browser
    times = page.evaluate(
        """async (run) => {
        const body = JSON.stringify({image: document.querySelector('#pad').toDataURL('image/png')});
        const out = [];
        for (let i = 0; i < 30; i++) {
          const t = performance.now();
          const r = await fetch('/api/predict?run=' + run,
            {method: 'POST', body, headers: {'Content-Type': 'application/json'}});
          await r.json();
          out.push(performance.now() - t);
        }
        return out; }""",
        RUN_NAME,
    )
    report = {"median_ms": statistics.median(times), "p90_ms": sorted(times)[26], "max_ms": max(times)}
    (shots / "round-trip.json").write_text(json.dumps(report, indent=2))
    print(f"\nround trip with all feature maps (Chromium, LeNet): {report}")
    assert report["median_ms"] < 1000  # the 100 ms goal is measured on a quiet machine (docs/web.md)

    page.mouse.move(5, 5)
    page.click("#undo")  # the stroke down is gone: a bar is no 7
    page.wait_for_function("() => document.querySelector('#pad').dataset.busy === 'false'")
    page.click("#clear")
    assert page.locator("#answer").text_content() == "?" and page.locator("#probs > *").count() == 0
    assert page.errors == []


def test_upload_a_picture(browser, url, tmp_path):
    from tests.web.conftest import draw_png

    (tmp_path / "seven.png").write_bytes(draw_png())
    page = _page(browser, viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_selector("#kernels canvas")
    page.set_input_files("#upload", str(tmp_path / "seven.png"))
    _wait_answer(page, "7")
    assert "seven.png" in page.locator("#draw-status").text_content()
    (tmp_path / "notes.png").write_bytes(b"not a picture")
    page.set_input_files("#upload", str(tmp_path / "notes.png"))
    page.wait_for_selector("#draw-status.error")
    assert "not a readable image" in page.locator("#draw-status").text_content()


def test_a_lesson_in_chinese_then_english(browser, url, shots):
    page = _page(browser, viewport={"width": 1280, "height": 1000})
    page.goto(url + "/#lessons")
    assert page.locator(".top nav a.active").text_content() == "课程"
    page.click("#lesson-list a[data-lesson=gates]")
    page.wait_for_selector("pre.lesson-text", timeout=120_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.figures img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".figures img").count() >= 1
    page.screenshot(path=shots / "lessons-zh.png", full_page=True)
    page.click("#lang")
    assert page.locator(".top nav a.active").text_content() == "Lessons"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.wait_for_selector("pre.lesson-text", timeout=120_000)
    assert "AND" in page.locator("pre.lesson-text").text_content()
    page.screenshot(path=shots / "lessons-en.png", full_page=True)
    page.click("#lang")
    assert page.locator("#lang").text_content() == "English"
    assert page.errors == []


def test_runs_page_follows_a_run_while_it_trains(browser, url, runs_root, shots):
    live = runs_root / "live-browser"
    live.mkdir()
    config = json.loads((runs_root / RUN_NAME / "config.json").read_text())
    config["options"]["epochs"] = 3
    (live / "config.json").write_text(json.dumps(config))
    row = json.loads((runs_root / RUN_NAME / "history.json").read_text())["epochs"][0]

    def epochs(n: int) -> None:
        rows = [{**row, "epoch": e, "val_acc": row["val_acc"] - 0.1 / e} for e in range(1, n + 1)]
        (live / "h.tmp").write_text(json.dumps({"epochs": rows}))
        (live / "h.tmp").replace(live / "history.json")

    try:
        epochs(1)
        page = _page(browser, viewport={"width": 1280, "height": 1000})
        page.goto(url + "/#runs/live-browser")
        page.wait_for_selector("#epochs[data-epochs='1']")
        assert page.locator(".badge.training").first.is_visible()
        epochs(2)
        page.wait_for_selector("#epochs[data-epochs='2']", timeout=10_000)  # pushed by the server
        assert page.locator("#charts polyline").count() == 4  # loss and accuracy, training and validation
        page.screenshot(path=shots / "runs-live.png", full_page=True)
        page.goto(url + f"/#runs/{RUN_NAME}")
        page.wait_for_selector("#charts svg")
        page.wait_for_function("() => document.querySelector('#run h2').textContent.startsWith('lenet-web')")
        page.screenshot(path=shots / "runs.png", full_page=True)
        assert page.errors == []
    finally:
        shutil.rmtree(live)


def test_phone_size_draw_with_a_finger_and_every_page(browser, url, shots):
    page = _page(
        browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page.goto(url)
    page.wait_for_selector("#kernels canvas")
    pad = page.locator("#pad").bounding_box()
    assert (
        pad["width"] <= 390 and page.evaluate("document.documentElement.scrollWidth") <= 390
    )  # no sideways scrolling
    page.evaluate(TOUCH, SEVEN)
    _wait_answer(page, "7")
    page.screenshot(path=shots / "draw-phone.png", full_page=True)
    page.goto(url + "/#lessons/gates")
    page.wait_for_selector("pre.lesson-text", timeout=120_000)
    time.sleep(0.3)  # figures decode
    page.screenshot(path=shots / "lessons-phone.png", full_page=True)
    page.goto(url + f"/#runs/{RUN_NAME}")
    page.wait_for_selector("#charts svg")
    page.screenshot(path=shots / "runs-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.errors == []
