"""The two browsers the page is tested in, behind one small interface (:class:`Tab`).

- **Chromium**: Debian's ``chromium`` (``/usr/bin/chromium``) driven by Playwright over the DevTools
  protocol, with a desktop or phone-size context (touch, device scale 2).
- **Firefox**: Debian's ``firefox-esr`` driven by ``marionette_driver``, Mozilla's own client of
  Marionette, the remote protocol built into every Firefox (the one geckodriver itself talks to),
  so no driver binary and no browser download is needed.

A test written against :class:`Tab` runs in both. Pointer input is real input in both: Playwright's
mouse, or WebDriver actions sent through Marionette (mouse and touch pointers); only Chromium's
phone-size touch drawing is dispatched as ``PointerEvent``s from the page (Playwright has no touch
strokes), see :data:`TOUCH_STROKES`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
DESKTOP = (1280, 1000)
PHONE = (390, 844)
PAD = 280  # the drawing pad's own pixels: strokes are given in these

# a PointerEvent per point, dispatched on the pad (Chromium's phone-size test: touch strokes)
TOUCH_STROKES = """(strokes) => {
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
# [run, n] -> n round trips (ms) of the page's own request: the pad's drawing as a PNG data URL, answered
# with the probabilities and every feature map, one after another
ROUND_TRIPS = """async ([run, n]) => {
  const body = JSON.stringify({image: document.querySelector('#pad').toDataURL('image/png')});
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch('/api/predict?run=' + encodeURIComponent(run),
      {method: 'POST', body, headers: {'Content-Type': 'application/json'}});
    await r.json();
    out.push(performance.now() - t);
  }
  return out; }"""
# script errors after the page loaded (Firefox has no console hook in Marionette): recorded by the page
RECORD_ERRORS = """() => {
  if (window.__errors) return;
  window.__errors = [];
  window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));
}"""
BOX = "(sel) => { const r = document.querySelector(sel).getBoundingClientRect();" \
      " return [r.left, r.top, r.width, r.height]; }"


def missing(name: str) -> str | None:
    """Why ``name``'s tests cannot run here (the skip reason), or None when they can."""
    if name == "chromium":
        if not os.path.exists(CHROMIUM):
            return f"no {CHROMIUM}: install Debian's chromium package (apt-get install chromium)"
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            return "playwright (python) is not installed: pip install -e '.[test]'"
        return None
    if FIREFOX is None:
        return "no firefox-esr or firefox: install Debian's firefox-esr package (apt-get install firefox-esr)"
    try:
        import marionette_driver  # noqa: F401
    except ImportError:
        return "marionette_driver (python) is not installed: pip install -e '.[test]'"
    return None


class Tab:
    """One browser page of a given size; the methods the browser tests use."""

    browser = ""
    errors: list[str]

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def js(self, function: str, arg: Any = None) -> Any:
        """Call the JavaScript function expression ``function`` with ``arg`` in the page -> its result."""
        raise NotImplementedError

    def click(self, selector: str) -> None:
        raise NotImplementedError

    def hover(self, selector: str, nth: int = 0) -> None:
        raise NotImplementedError

    def draw(self, strokes: list[list[tuple[int, int]]], pointer: str = "mouse") -> None:
        """Draw ``strokes`` (points in the pad's 280×280 pixels) with a mouse or a finger."""
        raise NotImplementedError

    def upload(self, selector: str, path: Path) -> None:
        raise NotImplementedError

    def screenshot(self, path: Path, full_page: bool = True) -> None:
        """The whole page (or only the window, as seen) as a PNG."""
        raise NotImplementedError

    def wait(self, function: str, arg: Any = None, timeout: float = 20.0) -> Any:
        """Poll ``function(arg)`` in the page until it returns something truthy -> that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(function, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.browser}: still false after {timeout} s: {function}")
            time.sleep(0.05)

    def text(self, selector: str) -> str:
        return self.js("(s) => document.querySelector(s)?.textContent ?? null", selector)

    def count(self, selector: str) -> int:
        return self.js("(s) => document.querySelectorAll(s).length", selector)

    def box(self, selector: str) -> tuple[float, float, float, float]:
        """``(left, top, width, height)`` of the element in the window, CSS pixels."""
        return tuple(self.js(BOX, selector))  # type: ignore[return-value]

    def script_errors(self) -> list[str]:
        return self.errors + (self.js("() => window.__errors || []") or [])

    def pad_points(self, strokes: list[list[tuple[int, int]]]) -> list[list[tuple[float, float]]]:
        left, top, width, height = self.box("#pad")
        return [[(left + x / PAD * width, top + y / PAD * height) for x, y in s] for s in strokes]


class ChromiumTab(Tab):
    browser = "chromium"

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors = []
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def js(self, function: str, arg: Any = None) -> Any:
        return self.page.evaluate(function, arg)

    def click(self, selector: str) -> None:
        self.page.click(selector)

    def hover(self, selector: str, nth: int = 0) -> None:
        self.page.locator(selector).nth(nth).hover()

    def draw(self, strokes: list[list[tuple[int, int]]], pointer: str = "mouse") -> None:
        if pointer == "touch":  # Playwright's touchscreen only taps: the strokes are dispatched by the page
            self.js(TOUCH_STROKES, strokes)
            return
        mouse = self.page.mouse
        for stroke in self.pad_points(strokes):
            mouse.move(*stroke[0])
            mouse.down()
            for x, y in stroke[1:]:
                mouse.move(x, y, steps=6)
            mouse.up()

    def upload(self, selector: str, path: Path) -> None:
        self.page.set_input_files(selector, str(path))

    def screenshot(self, path: Path, full_page: bool = True) -> None:
        self.page.screenshot(path=path, full_page=full_page)


class FirefoxTab(Tab):
    browser = "firefox"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.errors = []

    def goto(self, url: str) -> None:
        self.client.navigate(url)
        self.js(RECORD_ERRORS)

    def js(self, function: str, arg: Any = None) -> Any:
        # one sandbox for all calls (not a new one each): what a call leaves on window, the next one sees
        return self.client.execute_script(
            f"return ({function})(arguments[0]);", script_args=[arg], new_sandbox=False
        )

    def _element(self, selector: str, nth: int = 0) -> Any:
        from marionette_driver.by import By

        return self.client.find_elements(By.CSS_SELECTOR, selector)[nth]

    def click(self, selector: str) -> None:
        self._element(selector).click()

    def hover(self, selector: str, nth: int = 0) -> None:
        into_view = "([s, n]) => document.querySelectorAll(s)[n].scrollIntoView({block: 'center'})"
        self.js(into_view, (selector, nth))
        target = self._element(selector, nth)
        self.client.actions.sequence("pointer", "hover", {"pointerType": "mouse"}).pointer_move(
            0, 0, origin=target
        ).perform()

    def draw(self, strokes: list[list[tuple[int, int]]], pointer: str = "mouse") -> None:
        self.js("() => document.querySelector('#pad').scrollIntoView({block: 'center'})")
        seq = self.client.actions.sequence("pointer", f"pen-{pointer}", {"pointerType": pointer})
        for stroke in self.pad_points(strokes):
            x, y = stroke[0]
            seq.pointer_move(round(x), round(y)).pointer_down()
            for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:], strict=True):
                for k in range(1, 7):  # six moves per segment, as a hand sends them
                    seq.pointer_move(round(x0 + (x1 - x0) * k / 6), round(y0 + (y1 - y0) * k / 6), duration=5)
            seq.pointer_up()
        seq.perform()
        self.client.actions.release()

    def upload(self, selector: str, path: Path) -> None:
        # WebDriver types a path only into a file input it can see: the page's is hidden behind its label
        self.js("(s) => { document.querySelector(s).hidden = false; }", selector)
        try:
            self._element(selector).send_keys(str(path))
        finally:
            self.js("(s) => { document.querySelector(s).hidden = true; }", selector)

    def screenshot(self, path: Path, full_page: bool = True) -> None:
        if full_page:  # from the top: Firefox draws the sticky header where the window had scrolled to
            self.js("() => window.scrollTo(0, 0)")
        Path(path).write_bytes(self.client.screenshot(format="binary", full=full_page))


@contextlib.contextmanager
def chromium() -> Iterator[Callable[..., Tab]]:
    """Headless Chromium -> ``new_tab(phone=False)``: a fresh context (own storage) per tab."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

        def new_tab(phone: bool = False) -> Tab:
            if phone:
                width, height = PHONE
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=2,
                    is_mobile=True,
                    has_touch=True,
                )
            else:
                context = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
            return ChromiumTab(context.new_page())

        try:
            yield new_tab
        finally:
            browser.close()


@contextlib.contextmanager
def firefox(folder: Path) -> Iterator[Callable[..., Tab]]:
    """Headless Firefox (a fresh profile) -> ``new_tab(phone=False)``: the one window, resized.

    Tabs share the profile's storage: a test that needs a language sets it (:func:`open_page`).
    Firefox's own log goes to ``folder/gecko.log``.
    """
    from marionette_driver.marionette import Marionette

    client = Marionette(
        bin=FIREFOX, headless=True, port=0, gecko_log=str(folder / "gecko.log"), startup_timeout=120
    )
    try:
        client.start_session()

        def new_tab(phone: bool = False) -> Tab:
            width, height = PHONE if phone else DESKTOP
            set_viewport(client, width, height)
            return FirefoxTab(client)

        yield new_tab
    finally:
        with contextlib.suppress(Exception):
            client.delete_session()
        _cleanup(client)


def _cleanup(client: Any) -> None:
    """Stop Firefox and delete its profile now, not in ``__del__`` at interpreter exit, where it fails.

    (marionette_driver's cleanup deletes the profile but leaves it marked for deletion, and then
    sets a new blank one, made on the spot.)
    """
    profiles = [client.instance.profile] if client.instance is not None else []
    client.cleanup()
    if client.instance is not None and client.instance.profile is not None:
        profiles.append(client.instance.profile)
    for profile in profiles:
        profile.cleanup()
        profile.restore = False


def set_viewport(client: Any, width: int, height: int) -> None:
    """Make Firefox's page area exactly ``width``×``height`` CSS pixels.

    A Firefox window is at least 500 pixels wide and its toolbars take part of its height, even
    headless, so the window is made large enough and the page's ``<browser>`` element is pinned to
    the size in the browser's own (chrome) context, as Firefox's responsive design mode does.
    """
    pin = """const [w, h] = arguments; const s = gBrowser.selectedBrowser.style;
             s.minWidth = s.maxWidth = w; s.minHeight = s.maxHeight = h;"""
    with client.using_context("chrome"):
        client.execute_script(pin, script_args=["", ""])  # unpinned while the window changes
    client.set_window_rect(width=max(width, 500) + 40, height=height + 200)
    with client.using_context("chrome"):
        client.execute_script(pin, script_args=[f"{width}px", f"{height}px"])
    deadline = time.monotonic() + 10
    inner = "return [window.innerWidth, window.innerHeight];"
    while (got := client.execute_script(inner)) != [width, height]:
        assert time.monotonic() < deadline, f"firefox: the page area is {got}, not {[width, height]}"
        time.sleep(0.05)


def open_page(tab: Tab, base: str, hash_: str = "", lang: str = "zh") -> None:
    """Load the page at ``#hash_`` in ``lang`` (the page keeps its language in localStorage)."""
    tab.goto(base + "/")  # (Firefox shows JSON in a viewer of its own: the page itself sets storage)
    tab.js("(lang) => localStorage.setItem('shendu-lang', lang)", lang)
    tab.goto("about:blank")  # a new document: the page reads its language once, when it loads
    tab.goto(base + "/" + (f"#{hash_}" if hash_ else ""))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, from its header."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


__all__ = ["Tab", "chromium", "firefox", "missing", "open_page", "png_size"]
