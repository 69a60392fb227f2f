"""Load test of ``shendu serve`` on 127.0.0.1 only: N clients draw at once for a fixed time.

Starts ``shendu serve RUN`` in a child process on a free loopback port, then runs ``--clients``
concurrent clients (asyncio + httpx), each sending the page's own request — a drawn "7" as a
PNG data URL to ``POST /api/predict``, answered with the probabilities and every feature map —
one after another for ``--seconds``. Prints the latency percentiles, throughput and errors.

    python benchmarks/bench_serve.py runs/lenet-mnist-5k --clients 20 --seconds 10

``--browser chromium`` (or ``firefox``) measures instead what a learner waits for: the page opened
in Debian's headless browser (driven as in ``tests/web/browsers.py``) draws a "7" with the mouse,
then sends its own request ``--requests`` times in a row; the round trips are timed in the page.

    python benchmarks/bench_serve.py runs/lenet-mnist-5k --browser chromium --requests 100

Not part of the tests: it measures, and needs an idle machine to mean much.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"  # never anything else: this is a load test of one's own machine


def drawn_seven() -> bytes:
    """A "7" drawn as the page draws it (black round strokes on a white 280×280 pad), as PNG."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(img)
    pen.line([(70, 62), (212, 60), (140, 225)], fill=0, width=18, joint="curve")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(run: str, port: int) -> subprocess.Popen:
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "shendu.cli.main", "serve", run, "--host", HOST, "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def wait_ready(client, server: subprocess.Popen, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if (await client.get("/api/info")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not answer within a minute")


async def ready(url: str, server: subprocess.Popen) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await wait_ready(client, server)


async def one_client(client, body: bytes, until: float, latencies: list[float], errors: list[str]) -> None:
    headers = {"content-type": "application/json"}
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            r = await client.post("/api/predict", content=body, headers=headers)
            r.json()
            if r.status_code != 200:
                errors.append(f"{r.status_code}: {r.text[:200]}")
                continue
        except Exception as err:  # noqa: BLE001 - every failure is counted and shown, none stops the test
            errors.append(f"{type(err).__name__}: {err}")
            continue
        latencies.append((time.perf_counter() - started) * 1000)


async def load(
    url: str, server: subprocess.Popen, clients: int, seconds: float
) -> tuple[list[float], list[str], float]:
    import httpx

    body = ('{"image": "data:image/png;base64,' + base64.b64encode(drawn_seven()).decode() + '"}').encode()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        await wait_ready(client, server)
        for _ in range(5):  # warm up: the model loads on the first request
            await client.post("/api/predict", content=body, headers={"content-type": "application/json"})
        latencies: list[float] = []
        errors: list[str] = []
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(*(one_client(client, body, until, latencies, errors) for _ in range(clients)))
        return latencies, errors, time.monotonic() - started


def browser_round_trips(url: str, browser: str, run: str, requests: int) -> list[float]:
    """Round trips (ms) of the page's own request in ``browser``, after ten to warm up."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))  # the browser drivers of the tests
    import tempfile

    from tests.web import browsers
    from tests.web.conftest import SEVEN

    reason = browsers.missing(browser)
    if reason:
        raise SystemExit(f"cannot measure in {browser}: {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        launched = browsers.chromium() if browser == "chromium" else browsers.firefox(Path(tmp))
        with launched as new_tab:
            tab = new_tab()
            browsers.open_page(tab, url)
            tab.wait("() => document.querySelectorAll('#kernels canvas').length > 0")
            tab.draw(SEVEN)
            tab.wait("() => document.querySelector('#pad').dataset.busy === 'false'")
            return tab.js(browsers.ROUND_TRIPS, [run, requests + 10])[10:]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", nargs="?", help="run folder (default: the newest under runs/)")
    parser.add_argument(
        "--clients", type=int, default=20, help="concurrent clients (default 20, at most 200)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long (default 10, at most 120)")
    parser.add_argument(
        "--browser", choices=["chromium", "firefox"], help="time the page's own requests in this browser"
    )
    parser.add_argument(
        "--requests", type=int, default=100, help="with --browser: requests in a row (default 100)"
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 200 and 0 < args.seconds <= 120 and 1 <= args.requests <= 10_000):
        parser.error("keep it bounded: 1–200 clients for at most 120 s, at most 10,000 requests")
    run = args.run
    if run is None:
        from shendu.web.runs import RunIndex

        name = RunIndex("runs").latest_trained()
        if name is None:
            parser.error("no trained run under runs/: train one (shendu train) or name a run folder")
        run = str(Path("runs") / name)
    port = free_port()
    server = start_server(run, port)
    url = f"http://{HOST}:{port}"
    try:
        if args.browser:
            asyncio.run(ready(url, server))
            ms = np.array(browser_round_trips(url, args.browser, Path(run).resolve().name, args.requests))
            p50, p90, p99 = np.percentile(ms, [50, 90, 99])
            print(f"shendu serve {run}: the page's request {len(ms)} times in {args.browser} on {HOST}")
            print(f"  round trip ms: p50 {p50:.1f}  p90 {p90:.1f}  p99 {p99:.1f}  max {ms.max():.1f}")
            print(f"  load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
            return 0
        latencies, errors, took = asyncio.run(load(url, server, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(10)
    ms = np.array(latencies)
    print(f"shendu serve {run}: {args.clients} clients for {took:.1f} s on {HOST} ({os.cpu_count()} CPUs)")
    print(f"  load average {os.getloadavg()[0]:.2f} at the end")
    print(f"  requests: {len(ms)} answered, {len(errors)} errors, {len(ms) / took:.1f} per second")
    if len(ms):
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        print(f"  latency ms: p50 {p50:.1f}  p90 {p90:.1f}  p99 {p99:.1f}  max {ms.max():.1f}")
    for e in sorted(set(errors))[:5]:
        print(f"  error: {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
