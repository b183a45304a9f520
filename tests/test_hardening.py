"""The hardening review's defects (issue 10, D1-D10 and the code review), one test each. Each
failed before its fix."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
import yaml
from fastapi.testclient import TestClient

from app.engine.loading import AlgorithmError, load_data, load_file
from app.factory import create_app
from app.serve import BoundedH11Protocol, options
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def app_client() -> TestClient:
    return TestClient(create_app(Settings(algorithms_dir=FIXTURES)), follow_redirects=False)


# --------------------------------------------------------------------------- D1 trailing slash


def test_d1_a_trailing_slash_redirects_relative_and_never_to_the_host_sent(
    app_client: TestClient,
) -> None:
    r = app_client.get("/algorithms/tiny/?seizures=yes", headers={"Host": "evil.example"})
    assert r.status_code == 308
    assert r.headers["location"] == "/algorithms/tiny?seizures=yes"
    assert "evil" not in r.headers["location"]
    assert r.headers["cache-control"] == "no-store"


# --------------------------------------------------------------------------- D2 chunked body


def test_d2_a_chunked_body_over_the_limit_gets_413(app_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(80):
            yield b" " * 1024

    r = app_client.post(
        "/api/algorithms/tiny/walk", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    small = app_client.post("/api/algorithms/tiny/walk", json={"findings": {}})
    assert small.status_code == 200  # a body within the limit still reaches the API


# --------------------------------------------------------------------------- D3, D4 methods


def test_d3_an_html_405_names_the_allowed_methods(app_client: TestClient) -> None:
    r = app_client.post("/algorithms/tiny")
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]


@pytest.mark.parametrize("path", ["/api/algorithms", "/api/algorithms/tiny", "/favicon.ico"])
def test_d4_head_is_answered(app_client: TestClient, path: str) -> None:
    r = app_client.head(path)
    assert r.status_code in (200, 204), path
    assert r.content == b""


# --------------------------------------------------------------------------- D5 access log


def test_d5_a_request_the_client_abandoned_is_not_logged_as_500(caplog) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(algorithms_dir=FIXTURES))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/algorithms/tiny/walk",
        "raw_path": b"/api/algorithms/tiny/walk",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    logger = logging.getLogger("workup.access")
    with caplog.at_level(logging.INFO, logger="workup.access"):
        logger.propagate = True
        try:
            # In its own thread: a browser test may leave an event loop running in this one.
            def call() -> None:
                try:
                    asyncio.run(app(scope, receive, send))
                except Exception:  # the framework may give up on the vanished client
                    pass

            worker = threading.Thread(target=call)
            worker.start()
            worker.join(timeout=10)
        finally:
            logger.propagate = False
    lines = [r.getMessage() for r in caplog.records if r.name == "workup.access"]
    assert lines, "no access line"
    assert " 500 " not in lines[-1]
    if not any(m.get("type") == "http.response.start" for m in sent):
        assert " 499 " in lines[-1]


# --------------------------------------------------------------------------- D6 encoding


def test_d6_a_non_utf8_algorithm_file_is_refused_with_its_line(tmp_path: Path) -> None:
    text = (FIXTURES / "tiny.yaml").read_bytes()
    broken = tmp_path / "tiny.yaml"
    broken.write_bytes(text.replace(b"title: Tiny fixture", b"title: Tiny \x96 fixture", 1))
    with pytest.raises(AlgorithmError) as info:
        load_file(broken)
    message = str(info.value)
    assert "not UTF-8" in message and "line " in message and "0x96" in message


# --------------------------------------------------------------------------- D7 slow headers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_d7_a_client_sending_its_headers_slowly_is_cut_off() -> None:
    settings = options(port=_free_port(), header_timeout=0.5)
    settings.pop("workers")
    app = create_app(Settings(algorithms_dir=FIXTURES))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = settings["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes
            started = time.monotonic()
            slow.settimeout(5)
            assert slow.recv(1024) == b"", "the half-sent request was answered"
            assert time.monotonic() - started < 3, "the slow client was held too long"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as fine:
            fine.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert fine.recv(1024).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert BoundedH11Protocol.header_timeout == 0.5


# --------------------------------------------------------------------------- D8 Dockerfile


def test_d8_the_image_is_pinned_health_checked_and_trusts_only_named_proxies() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    base = next(line for line in lines if line.startswith("FROM "))
    assert "@sha256:" in base and len(base.split("@sha256:")[1]) == 64
    text = "\n".join(lines)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "FORWARDED_ALLOW_IPS=" in text
    assert '"app.serve"' in text  # the header timeout and no access log, as `make run`


# --------------------------------------------------------------------------- D9, D10 the URL


def test_d9_an_empty_parameter_redirects_to_the_canonical_url(app_client: TestClient) -> None:
    r = app_client.get("/algorithms/tiny?&seizures=yes")
    assert r.status_code == 303
    assert r.headers["location"] == "/algorithms/tiny?seizures=yes"


def test_d10_a_repeated_unit_is_refused(app_client: TestClient) -> None:
    r = app_client.get(
        "/algorithms/tiny?seizures=no&feeding=breast&from=labs&age=2&unit.age=months"
        "&magnesium=0.8&unit.magnesium=mmol/L&unit.magnesium=mg/dL"
    )
    assert r.status_code == 400
    assert "more than once" in r.text


# --------------------------------------------------------------------------- code review


def test_an_option_id_unknown_is_refused_at_load() -> None:
    data = yaml.safe_load((FIXTURES / "tiny.yaml").read_text())
    data["findings"]["feeding"]["options"]["unknown"] = "Not sure"
    with pytest.raises(AlgorithmError, match="cannot be an option id"):
        load_data(data, "tiny.yaml")


def test_embed_mode_survives_an_error_page(app_client: TestClient) -> None:
    r = app_client.get("/algorithms/tiny?view=embed&magnesium=banana")
    assert r.status_code == 400
    assert 'class="page page-error embed"' in r.text
    assert 'class="site-header"' not in r.text
    assert "/algorithms/tiny?view=embed" in r.text  # the restart link keeps it


def test_static_text_assets_are_served_compressed_and_cached_for_a_year(
    app_client: TestClient,
) -> None:
    plain = app_client.get("/static/app.css", headers={"Accept-Encoding": "identity"})
    packed = app_client.get("/static/app.css", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # the same file once decompressed
    for r in (plain, packed):
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["content-type"].startswith("text/css")
    assert (
        app_client.get("/static/none.css", headers={"Accept-Encoding": "gzip"}).status_code == 404
    )
