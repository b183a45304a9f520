"""Headers, cookies, logs and size: what a hospital's security review would check."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

URLS = [
    "/",
    "/algorithms/tiny",
    "/algorithms/tiny?seizures=maybe",
    "/api/algorithms",
    "/openapi.json",
    "/static/app.css",
    "/algorithms/nothing",
    "/healthz",
]


@pytest.mark.parametrize("url", URLS)
def test_every_response_carries_the_security_headers_and_no_cookie(
    tiny_client: TestClient, url: str
) -> None:
    r = tiny_client.get(url)
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert "geolocation=()" in h["permissions-policy"]
    assert h["cross-origin-resource-policy"] == "same-origin"
    assert "script-src 'self'" in h["content-security-policy"]
    assert "set-cookie" not in h


def test_walkthrough_pages_are_not_stored_by_caches(tiny_client: TestClient) -> None:
    assert tiny_client.get("/algorithms/tiny?seizures=no").headers["cache-control"] == "no-store"
    assert tiny_client.get("/algorithms/tiny/map").headers["cache-control"] == "no-store"


def test_pages_need_no_inline_script_or_style(tiny_client: TestClient) -> None:
    page = tiny_client.get("/algorithms/tiny?seizures=yes").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"<[^>]+\son[a-z]+=", page)  # no inline event handlers
    assert "hx-on" not in page


def test_nothing_loads_from_another_host(tiny_client: TestClient) -> None:
    page = tiny_client.get("/algorithms/tiny").text
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)


@pytest.fixture
def access_log(
    tiny_client: TestClient, caplog: pytest.LogCaptureFixture
) -> Callable[[str], list[str]]:
    """Requests a path and returns the access-log lines it wrote."""

    def lines_for(url: str) -> list[str]:
        logger = logging.getLogger("workup.access")
        logger.propagate = True
        try:
            with caplog.at_level(logging.INFO, logger="workup.access"):
                tiny_client.get(url)
        finally:
            logger.propagate = False
        return [r.getMessage() for r in caplog.records if r.name == "workup.access"]

    return lines_for


def test_access_log_never_records_the_query_string(access_log: Callable[[str], list[str]]) -> None:
    lines = access_log("/algorithms/tiny?seizures=no&magnesium=0.31mmol/L")
    assert lines and lines[-1].startswith("GET /algorithms/tiny 200")
    assert "0.31" not in " ".join(lines) and "seizures" not in " ".join(lines)


def test_first_visit_is_small_over_the_wire(tiny_client: TestClient) -> None:
    page = tiny_client.get("/algorithms/tiny", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip"
    total = int(page.headers.get("content-length") or len(page.content))
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        r = tiny_client.get(asset.replace("&amp;", "&"), headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        total += int(r.headers["content-length"])
    assert total <= 60 * 1024, f"{total} bytes"


def test_oversized_api_body_is_refused_before_parsing(tiny_client: TestClient) -> None:
    r = tiny_client.post(
        "/api/algorithms/tiny/walk",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert "larger than" in r.json()["detail"]


def test_access_log_cannot_be_forged_with_a_newline(
    access_log: Callable[[str], list[str]],
) -> None:
    lines = access_log("/algorithms/x%0a2026-01-01%20workup.access%20GET%20/admin%20200")
    assert lines and all("\n" not in line for line in lines)
    assert "%0a" in lines[-1].lower()
