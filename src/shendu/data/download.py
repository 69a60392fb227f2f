"""Download a file from a list of mirrors, verify its checksum, write it atomically.

The bytes stream into a temporary file beside the target (same directory, so the final
``os.replace`` is an atomic rename on the same file system); only a transfer whose length
matches ``Content-Length`` and whose md5/sha256 matches the published value is renamed into
place. Any failure leaves no partial file behind and moves on to the next mirror; when every mirror
fails, the folders the download created are removed again (an offline first run leaves nothing).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence

CHUNK = 1 << 16
PROGRESS_MIN_BYTES = 1 << 20  # show a progress bar for files of 1 MiB and more


class DownloadError(OSError):
    """No mirror delivered the file intact; the message lists every mirror's failure."""


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected_digest(md5: str | None, sha256: str | None) -> tuple[str, str]:
    if sha256:
        return "sha256", sha256.lower()
    if md5:
        return "md5", md5.lower()
    raise ValueError("download: give the file's published checksum (md5=... or sha256=...)")


def _progress_bar(total: int | None, name: str, progress: bool | None):
    show = progress if progress is not None else (total is None or total >= PROGRESS_MIN_BYTES)
    from tqdm.auto import tqdm  # imported here: only downloads need it

    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=not show, leave=False
    )


def _fetch(
    url: str, target: Path, algorithm: str, expected: str, timeout: float, progress: bool | None
) -> None:
    """Stream ``url`` into a temp file beside ``target``, check length and digest, then rename."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.new(algorithm)
        received = 0
        request = urllib.request.Request(url, headers={"User-Agent": "shendu"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None and length.isdigit() else None
            with _progress_bar(total, target.name, progress) as bar:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except http.client.IncompleteRead as e:
                        received += len(e.partial)
                        raise DownloadError(
                            f"truncated transfer: got {received} bytes, Content-Length says {total}"
                        ) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            raise DownloadError(f"truncated transfer: got {received} bytes, Content-Length says {total}")
        actual = h.hexdigest()
        if actual != expected:
            raise DownloadError(
                f"{algorithm} checksum mismatch: expected {expected}, got {actual} ({received} bytes)"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _describe(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP error {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        reason = e.reason
        if isinstance(reason, TimeoutError):
            return f"timed out ({reason})"
        return f"cannot connect ({reason}); offline?"
    if isinstance(e, TimeoutError):
        return f"timed out ({e})"
    return str(e) or type(e).__name__


def download(
    urls: str | Sequence[str],
    path: str | os.PathLike,
    md5: str | None = None,
    sha256: str | None = None,
    timeout: float = 30.0,
    progress: bool | None = None,
) -> Path:
    """Fetch ``path`` from the first of ``urls`` that delivers it intact; returns ``path``.

    Args:
        urls: one URL or mirrors to try in order (each is the full URL of the file).
        path: where the file goes; its directory is created if needed.
        md5, sha256: the published checksum (one is required; sha256 wins if both are given).
        timeout: seconds without data before a mirror is given up.
        progress: show a tqdm bar (default: for files of 1 MiB and more).

    Raises :class:`DownloadError` (an ``OSError``) naming the file, each URL and why it failed
    (HTTP error, timeout, no connection, truncated transfer, checksum mismatch), and where to put
    the file by hand.
    """
    algorithm, expected = _expected_digest(md5, sha256)
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise ValueError("download: no URL given")
    target = Path(path)
    created = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _fetch(url, target, algorithm, expected, timeout, progress)
            return target
        except (OSError, http.client.HTTPException, ValueError) as e:
            failures.append(f"  {url}: {_describe(e)}")
    for folder in created:  # deepest first: leave no empty folder behind a failed download
        try:
            folder.rmdir()
        except OSError:  # not empty (another file arrived meanwhile): keep it
            break
    raise DownloadError(
        f"could not download {target.name} from any mirror:\n"
        + "\n".join(failures)
        + f"\nDownload it by hand (one of the URLs above, {algorithm} {expected}) and put it at {target}"
    )
