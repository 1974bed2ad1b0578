"""Abuse: bodies and uploads are refused when too large before they are read whole; odd input is a 4xx.

Raw sockets against a live uvicorn on 127.0.0.1, so nothing in between fixes
the request up: a huge declared Content-Length is answered 413 at once, with
not one byte of the body sent; a chunked body without Content-Length is cut
off with 413 soon after it passes the limit, long before its end. Through all
of it the server keeps training and answering. (schemathesis, in
test_openapi.py, throws everything else at the API.)
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from ..conftest import LiveServer, make_settings, start_live_server

LIMITS = {"max_body_bytes": 2_000, "max_names_bytes": 4_000, "max_checkpoint_bytes": 20_000}
MULTIPART_SLACK = 16_384  # app/http/limits.py allows this much around an uploaded file
BOUNDARY = "abuse-boundary"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live_server(make_settings(tmp_path_factory.mktemp("runs"), autostart=True, **LIMITS))
    yield live
    live.stop()


def connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16_384)  # keep the kernel's buffer small
    return sock


def read_response(sock: socket.socket, timeout: float = 30.0) -> tuple[int, dict]:
    """Status and JSON body of the response on `sock`."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65_536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(v for k, v in _headers(head) if k == "content-length"))
    while len(body) < length:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        body += chunk
    return int(head.split()[1]), json.loads(body[:length])


def _headers(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_still_serving(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        first = client.get("/api/status").json()
        assert first["state"] == "running", first
        deadline = time.monotonic() + 30
        while client.get("/api/status").json()["step"] <= first["step"]:
            assert time.monotonic() < deadline, "training stopped"
            time.sleep(0.05)
        assert client.post("/api/generate", json={"count": 2}).status_code == 200


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/generate", "application/json"),
        ("/api/train/start", "application/json"),
        ("/api/dataset", f"multipart/form-data; boundary={BOUNDARY}"),
        ("/api/checkpoint", f"multipart/form-data; boundary={BOUNDARY}"),
        ("/fragments/generate", "application/x-www-form-urlencoded"),
    ],
)
def test_a_huge_declared_length_is_refused_before_any_byte_is_read(
    server: LiveServer, path: str, kind: str
) -> None:
    with connect(server) as sock:
        headers = {"Content-Type": kind, "Content-Length": str(10**12)}  # a terabyte, never sent
        started = time.monotonic()
        sock.sendall(request_head("POST", path, headers))
        status, body = read_response(sock)
    assert status == 413 and "too large" in body["detail"], body
    assert time.monotonic() - started < 20  # answered at once, not after waiting for a body


def stream_until_answered(sock: socket.socket, head: bytes, chunk: bytes, most: int) -> int:
    """Send `head`, then `chunk` as chunked pieces until the server answers; bytes of body sent."""
    sock.sendall(head)
    sent = 0
    while sent < most:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            return sent
        try:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return sent  # the server has answered and closed
        sent += len(chunk)
    return sent


@pytest.mark.parametrize(
    ("path", "kind", "limit"),
    [
        ("/api/generate", "application/json", LIMITS["max_body_bytes"]),
        ("/api/dataset", f"multipart/form-data; boundary={BOUNDARY}", LIMITS["max_names_bytes"]),
        ("/api/checkpoint", f"multipart/form-data; boundary={BOUNDARY}", LIMITS["max_checkpoint_bytes"]),
        ("/fragments/dataset", f"multipart/form-data; boundary={BOUNDARY}", LIMITS["max_names_bytes"]),
    ],
)
def test_a_chunked_body_without_length_is_cut_off_at_the_limit(
    server: LiveServer, path: str, kind: str, limit: int
) -> None:
    huge = 64 * 1024 * 1024  # what the client would send if let
    head = request_head("POST", path, {"Content-Type": kind, "Transfer-Encoding": "chunked"})
    with connect(server) as sock:
        if kind.startswith("multipart"):
            part = (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            sock.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
            head = b""
        sent = stream_until_answered(sock, head, b"a" * 1024, huge)
        status, body = read_response(sock)
    assert status == 413 and "too large" in body["detail"], body
    assert sent < limit + MULTIPART_SLACK + 1024 * 1024, sent  # cut off near the limit (socket buffers)
    assert_still_serving(server)


def test_odd_bodies_and_headers_get_a_4xx_and_nothing_breaks(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        json_kind = {"content-type": "application/json"}
        nested = client.post("/api/generate", content=b"[" * 1_900, headers=json_kind)
        assert nested.status_code in (400, 422), nested.text
        not_utf8 = client.post("/api/train/start", content=b"\xff\xfe{}", headers=json_kind)
        assert not_utf8.status_code in (400, 422) and not_utf8.json()["detail"], not_utf8.text
        no_file = client.post("/api/dataset", files={"other": ("x.txt", b"ab\ncd\n")})
        assert no_file.status_code == 422
        broken = client.post(
            "/api/dataset",
            content=b"--x\r\nnot a part",
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert 400 <= broken.status_code < 500, broken.text
        header = client.get("/api/status", headers={"x-padding": "p" * 200_000})
        assert 400 <= header.status_code < 500
        params = client.get("/api/inspect", params={"name": "a" * 5_000})
        assert params.status_code == 422
    assert_still_serving(server)
