import hashlib
import os
import socket

import pytest

from shendu.data import DownloadError, download, file_digest
from tests.data.conftest import Route

BODY = bytes(range(256)) * 40  # 10 KiB
MD5 = hashlib.md5(BODY).hexdigest()
SHA256 = hashlib.sha256(BODY).hexdigest()


def _no_temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")] == []


def test_success_md5_and_sha256(http_server, tmp_path):
    http_server.routes["/f.bin"] = Route(BODY)
    out = download(f"{http_server.url}/f.bin", tmp_path / "sub" / "f.bin", md5=MD5, progress=True)
    assert out.read_bytes() == BODY
    assert file_digest(out, "sha256") == SHA256
    out2 = download([f"{http_server.url}/f.bin"], tmp_path / "g.bin", sha256=SHA256)
    assert out2.read_bytes() == BODY
    assert _no_temp_files(tmp_path)


def test_checksum_mismatch_leaves_no_file(http_server, tmp_path):
    http_server.routes["/f.bin"] = Route(BODY[:-1] + b"X")
    target = tmp_path / "f.bin"
    with pytest.raises(DownloadError) as e:
        download(f"{http_server.url}/f.bin", target, md5=MD5)
    msg = str(e.value)
    assert "checksum mismatch" in msg and MD5 in msg and "f.bin" in msg and str(target) in msg
    assert not target.exists() and _no_temp_files(tmp_path)


def test_truncated_transfer_content_length_larger_than_body(http_server, tmp_path):
    http_server.routes["/f.bin"] = Route(BODY[:5000], content_length=len(BODY))
    target = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="truncated transfer") as e:
        download(f"{http_server.url}/f.bin", target, md5=MD5)
    assert f"{http_server.url}/f.bin" in str(e.value)
    assert not target.exists() and _no_temp_files(tmp_path)


def test_shortened_file_fails_checksum(http_server, tmp_path):
    http_server.routes["/f.bin"] = Route(BODY[:5000])  # honest Content-Length, wrong content
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{http_server.url}/f.bin", tmp_path / "f.bin", md5=MD5)


@pytest.mark.parametrize("status", [404, 500])
def test_server_error(http_server, tmp_path, status):
    http_server.routes["/f.bin"] = Route(status=status)
    with pytest.raises(DownloadError, match=f"HTTP error {status}"):
        download(f"{http_server.url}/f.bin", tmp_path / "f.bin", md5=MD5)
    assert not (tmp_path / "f.bin").exists()


def test_falls_back_to_second_mirror(http_server, tmp_path):
    http_server.routes["/a/f.bin"] = Route(status=500)
    http_server.routes["/b/f.bin"] = Route(BODY)
    out = download([f"{http_server.url}/a/f.bin", f"{http_server.url}/b/f.bin"], tmp_path / "f.bin", md5=MD5)
    assert out.read_bytes() == BODY
    assert http_server.hits == ["/a/f.bin", "/b/f.bin"]


def test_all_mirrors_fail_lists_each_and_says_where_to_put_file(http_server, tmp_path):
    http_server.routes["/a/f.bin"] = Route(status=503)
    http_server.routes["/b/f.bin"] = Route(b"wrong")
    target = tmp_path / "f.bin"
    with pytest.raises(DownloadError) as e:
        download([f"{http_server.url}/a/f.bin", f"{http_server.url}/b/f.bin"], target, md5=MD5)
    msg = str(e.value)
    assert "/a/f.bin: HTTP error 503" in msg and "/b/f.bin: md5 checksum mismatch" in msg
    assert f"put it at {target}" in msg


def test_timeout(http_server, tmp_path):
    http_server.routes["/slow"] = Route(BODY, delay=1.5)
    with pytest.raises(DownloadError, match="timed out"):
        download(f"{http_server.url}/slow", tmp_path / "f.bin", md5=MD5, timeout=0.3)
    assert _no_temp_files(tmp_path)


def test_offline_connection_refused(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot connect") as e:
        download(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", md5=MD5)
    assert str(tmp_path / "f.bin") in str(e.value)


def test_existing_file_replaced_only_when_intact(http_server, tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    http_server.routes["/f.bin"] = Route(b"garbage")
    with pytest.raises(DownloadError):
        download(f"{http_server.url}/f.bin", target, md5=MD5)
    assert target.read_bytes() == b"old"


def test_checksum_required(tmp_path):
    with pytest.raises(ValueError, match="checksum"):
        download("http://127.0.0.1:1/f", tmp_path / "f")
    assert os.listdir(tmp_path) == []
