"""The web app behind ``shendu serve``: a Starlette application, its JSON API and its page.

Routes (every error is JSON ``{"error": message}`` with a fitting status; the server keeps serving):

====================================  ==========================================================
``GET  /``                            the page (draw, lessons, runs), plain HTML/CSS/JS, no CDN
``GET  /api/info``                    version, the run drawn with by default, a hint when none
``POST /api/predict?run=NAME``        an image -> what the model sees, probabilities, feature maps
``GET  /api/runs``                    runs under ``runs/``: model, data, epochs, best accuracy
``GET  /api/runs/NAME``               one run: config, epoch rows, evaluation results
``GET  /api/runs/NAME/model``         its classes, watched layers and first-layer kernels
``GET  /api/runs/NAME/events``        server-sent events: the history each time an epoch ends
``GET  /api/runs/NAME/files/F.png``   a figure of the run (confusion matrix, curves)
``GET  /api/lessons``                 the lessons in course order
``GET  /api/lessons/NAME?lang=zh``    a rendered lesson (202 while it renders: ask again)
``GET  /api/lessons/NAME/files/F``    one of its figures
====================================  ==========================================================

``POST /api/predict`` takes JSON ``{"image": "data:image/png;base64,..."}`` (what the drawing
canvas sends), a multipart form with a file field ``image`` (an upload), or the raw bytes of an
image file. Bodies above :data:`shendu.web.images.MAX_BYTES` get 413 before they are read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from pathlib import Path
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shendu.training import rundir
from shendu.web import inference, runs
from shendu.web.images import MAX_BYTES, ImageError
from shendu.web.lessons import LessonBook, LessonFailed, UnknownLesson

STATIC = Path(__file__).parent / "static"
# the page may load only what this server serves: no CDN, no inline script (it has none)
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
NO_RUN_HINT = (
    "No trained run found under {root}/. Train one first (LeNet on 5,000 MNIST digits, a minute or two):\n"
    "    shendu train\n"
    "then start the page again (shendu serve), or name a run folder: shendu serve runs/NAME"
)
MODELS_KEPT = 4  # loaded networks kept in memory (LeNet: 1.7 MB each)


class BodyLimit:
    """ASGI middleware: a request body above ``limit`` bytes gets 413, announced or not.

    A declared ``Content-Length`` over the limit is refused before anything is read; a chunked body
    is counted as it arrives and the endpoint's read fails with 413 once it passes the limit.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(self.limit, int(length))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, _too_large_text(self.limit, seen))
            return message

        await self.app(scope, counted, send)


def _too_large_text(limit: int, got: int) -> str:
    return (
        f"the request body has {got:,} bytes or more; "
        f"at most {limit:,} are accepted (images up to {limit // 2**20} MB)"
    )


def _too_large(limit: int, got: int) -> JSONResponse:
    return JSONResponse({"error": _too_large_text(limit, got)}, status_code=413)


class Server:
    """What the routes share: the run index, the lesson book, loaded models (read-only once loaded)."""

    def __init__(
        self, index: runs.RunIndex, default_run: str | None, book: LessonBook, poll_s: float
    ) -> None:
        self.index = index
        self.default_run = default_run
        self.book = book
        self.poll_s = poll_s
        self._models: dict[tuple[str, float], inference.Model] = {}
        self._loading = asyncio.Lock()

    async def model(self, name: str) -> inference.Model:
        """The run's network, loaded once per version of its weights (a run still training changes)."""
        path = self.run_path(name)
        weights = path / rundir.WEIGHTS
        if not weights.is_file():
            raise HTTPException(409, f"run {name!r} has no {rundir.WEIGHTS} yet: no epoch has finished")
        key = (name, weights.stat().st_mtime)
        async with self._loading:  # one load at a time; later requests find it loaded
            if key not in self._models:
                try:
                    loaded = await run_in_threadpool(inference.load, name, path)
                except (rundir.RunError, ValueError, KeyError, OSError) as err:
                    raise HTTPException(409, f"run {name!r} cannot be loaded: {err}") from None
                self._models = {k: m for k, m in self._models.items() if k[0] != name}
                while len(self._models) >= MODELS_KEPT:
                    self._models.pop(next(iter(self._models)))
                self._models[key] = loaded
            return self._models[key]

    def run_path(self, name: str) -> Path:
        try:
            return self.index.path(name)
        except runs.UnknownRun as err:
            raise HTTPException(404, str(err)) from None

    def run_name(self, request: Request) -> str:
        name = request.query_params.get("run") or self.default_run
        if not name:
            raise HTTPException(404, NO_RUN_HINT.format(root=self.index.root))
        return name


# ---- reading the picture of a request -------------------------------------------------------
def _decode_base64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise HTTPException(
            400, f'"image" must be a string (a data URL or base64), got {type(text).__name__}'
        )
    if text.startswith("data:"):
        header, sep, text = text.partition(",")
        if not sep or not header.endswith(";base64"):
            raise HTTPException(400, '"image" must be a base64 data URL: data:image/png;base64,...')
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise HTTPException(400, f'"image" is not valid base64: {err}') from None


async def _image_bytes(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            payload = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as err:
            raise HTTPException(400, f"malformed JSON: {err}") from None
        if not isinstance(payload, dict) or "image" not in payload:
            raise HTTPException(400, 'expected a JSON object {"image": "data:image/png;base64,..."}')
        return _decode_base64(payload["image"])
    if kind == "multipart/form-data":
        async with request.form(max_files=1, max_fields=8, max_part_size=MAX_BYTES) as form:
            upload = form.get("image")
            if upload is None or isinstance(upload, str):
                raise HTTPException(400, "expected a file in the form field 'image'")
            return await upload.read()
    if kind.startswith("image/") or kind == "application/octet-stream":
        return await request.body()
    raise HTTPException(
        415,
        f"send the image as JSON, multipart/form-data or image/* bytes, not {kind or 'no content type'}",
    )


# ---- routes ---------------------------------------------------------------------------------
def _server(request: Request) -> Server:
    return request.app.state.server


async def index_page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": CSP})


async def info(request: Request) -> Response:
    import shendu

    server = _server(request)
    hint = None if server.default_run else NO_RUN_HINT.format(root=server.index.root)
    return JSONResponse({"version": shendu.__version__, "run": server.default_run, "hint": hint})


async def predict(request: Request) -> Response:
    server = _server(request)
    model = await server.model(server.run_name(request))
    data = await _image_bytes(request)
    try:
        result = await run_in_threadpool(model.predict, data)
    except ImageError as err:
        raise HTTPException(422, f"cannot use this picture: {err}") from None
    return JSONResponse(result)


async def run_list(request: Request) -> Response:
    index = _server(request).index
    return JSONResponse([runs.summary(name, path) for name, path in index.runs().items()])


async def run_details(request: Request) -> Response:
    name = request.path_params["name"]
    return JSONResponse(runs.details(name, _server(request).run_path(name)))


async def run_model(request: Request) -> Response:
    model = await _server(request).model(request.path_params["name"])
    return JSONResponse(model.info())


async def run_file(request: Request) -> Response:
    name, file = request.path_params["name"], request.path_params["file"]
    path = _server(request).run_path(name)
    if file not in runs.details(name, path)["images"]:
        raise HTTPException(404, f"run {name!r} has no figure {file!r}")
    return FileResponse(path / file)


async def run_events(request: Request) -> Response:
    """Server-sent events: ``history`` (summary + epoch rows) whenever history.json changes, then
    ``done`` once the run is no longer training."""
    server = _server(request)
    name = request.path_params["name"]
    path = server.run_path(name)

    async def stream() -> AsyncIterator[str]:
        last: object = "nothing sent"
        quiet_since = time.monotonic()
        while True:
            stamp = runs.history_stamp(path)
            summary = runs.summary(name, path)
            if stamp != last:
                last = stamp
                rows = runs.read_history(path)
                yield f"event: history\ndata: {json.dumps({**summary, 'history': rows})}\n\n"
                quiet_since = time.monotonic()
            if summary["status"] != "training":
                yield f"event: done\ndata: {json.dumps({'status': summary['status']})}\n\n"
                return
            if time.monotonic() - quiet_since > 15:
                yield ": still training\n\n"  # a comment line keeps proxies and browsers from timing out
                quiet_since = time.monotonic()
            if await request.is_disconnected():
                return
            await asyncio.sleep(server.poll_s)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _lang(request: Request) -> str:
    return request.query_params.get("lang", "zh")


async def lesson_list(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_server(request).book.list))


async def lesson(request: Request) -> Response:
    book = _server(request).book
    name, lang = request.path_params["name"], _lang(request)
    await run_in_threadpool(book.list)  # the first call imports every lesson: not on the event loop
    try:
        state = book.state(name, lang)
    except UnknownLesson as err:
        raise HTTPException(404, str(err)) from None
    except ValueError as err:
        raise HTTPException(400, str(err)) from None
    except LessonFailed as err:
        raise HTTPException(500, str(err)) from None
    return JSONResponse(state, status_code=200 if state["status"] == "ready" else 202)


async def lesson_file(request: Request) -> Response:
    book = _server(request).book
    name, file, lang = request.path_params["name"], request.path_params["file"], _lang(request)
    try:
        done = book.cached(name, lang)
    except UnknownLesson as err:
        raise HTTPException(404, str(err)) from None
    except ValueError as err:
        raise HTTPException(400, str(err)) from None
    if done is None or file not in done["figures"]:
        raise HTTPException(404, f"lesson {name!r} ({lang}) has no figure {file!r} (rendered yet?)")
    return FileResponse(book.folder(name, lang) / file)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":  # no route matched: say what was asked for
        detail = f"nothing at {request.url.path}: the page is at /, the API under /api/"
    return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)


def create_app(
    run: str | Path | None = None,
    runs_dir: str | Path = "runs",
    cache_dir: str | Path | None = None,
    allowed_hosts: list[str] | None = None,
    poll_s: float = 1.0,
) -> Starlette:
    """The app for ``run`` (a run folder; default: the newest trained run under ``runs_dir``).

    ``cache_dir``: where rendered lessons are kept (default ``~/.cache/shendu/web-lessons``);
    ``allowed_hosts``: Host headers accepted (the CLI passes the loopback names, which keeps other
    web sites from reaching the server through DNS rebinding); ``poll_s``: how often the live
    stream looks at a training run's history.
    """
    extra = []
    if run is not None:
        path = Path(run)
        if not (path / rundir.CONFIG).is_file():
            raise rundir.RunError(f"{path} is not a run folder of 'shendu train' (it has no {rundir.CONFIG})")
        extra.append(path)
    index = runs.RunIndex(runs_dir, extra)
    default = index.latest_trained() if run is None else _name_of(index, Path(run))
    routes = [
        Route("/", index_page),
        Route("/api/info", info),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/runs", run_list),
        Route("/api/runs/{name}", run_details),
        Route("/api/runs/{name}/model", run_model),
        Route("/api/runs/{name}/events", run_events),
        Route("/api/runs/{name}/files/{file}", run_file),
        Route("/api/lessons", lesson_list),
        Route("/api/lessons/{name}", lesson),
        Route("/api/lessons/{name}/files/{file}", lesson_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(BodyLimit, limit=MAX_BYTES)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.server = Server(index, default, LessonBook(cache_dir), poll_s)
    return app


def _name_of(index: runs.RunIndex, path: Path) -> str:
    target = path.resolve()
    return next(name for name, p in index.runs().items() if p.resolve() == target)
