"""Fixtures for shendu.data tests: IDX file writers and a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode ``arr`` as an IDX file (big-endian), written independently of shendu's reader."""
    big = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    code = IDX_CODES[big.dtype]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + big.tobytes()


def write_idx(path, arr: np.ndarray, compress: bool = False) -> None:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if compress else data)


class Route:
    """What the server answers for one path: status, body, and optionally a lying Content-Length."""

    def __init__(
        self, body: bytes = b"", status: int = 200, content_length: int | None = None, delay: float = 0.0
    ) -> None:
        self.body, self.status, self.content_length, self.delay = body, status, content_length, delay


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the connection closes after each response

            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.status != 200:
                    self.send_error(route.status)
                    return
                self.send_response(200)
                length = route.content_length if route.content_length is not None else len(route.body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_server():
    server = LocalServer()
    yield server
    server.close()
