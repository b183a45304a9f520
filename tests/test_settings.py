"""Settings: documented in the README, unsafe values refused, headers follow them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.factory import create_app
from app.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(name: str) -> None:
    assert f"| `WORKUP_{name.upper()}` |" in README


def test_frame_ancestors_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "WORKUP_FRAME_ANCESTORS", "https://intranet.example.org, http://wards.local:8080"
    )
    assert Settings().frame_ancestors == ["https://intranet.example.org", "http://wards.local:8080"]


@pytest.mark.parametrize(
    "value", ["*", "https://*.example.org", "intranet.example.org", "https://a.org/path"]
)
def test_unsafe_frame_ancestors_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(frame_ancestors=[value])


def test_root_path_is_normalised_and_checked() -> None:
    assert Settings(root_path="/tools/workup/").root_path == "/tools/workup"
    with pytest.raises(ValidationError):
        Settings(root_path="tools workup")


def test_csp_follows_the_frame_ancestors_setting() -> None:
    closed = TestClient(create_app(Settings(algorithms_dir=FIXTURES))).get("/")
    assert "frame-ancestors 'self'" in closed.headers["content-security-policy"]
    assert closed.headers["x-frame-options"] == "SAMEORIGIN"
    open_ = TestClient(
        create_app(
            Settings(algorithms_dir=FIXTURES, frame_ancestors=["https://intranet.example.org"])
        )
    ).get("/")
    assert (
        "frame-ancestors 'self' https://intranet.example.org"
        in open_.headers["content-security-policy"]
    )
    assert "x-frame-options" not in open_.headers
    csp = open_.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'none'" in csp and "base-uri 'none'" in csp and "form-action 'self'" in csp


def test_root_path_prefixes_every_link_and_asset() -> None:
    client = TestClient(create_app(Settings(algorithms_dir=FIXTURES, root_path="/tools/workup")))
    page = client.get("/tools/workup/algorithms/tiny?seizures=no")
    assert page.status_code == 200
    assert 'action="/tools/workup/algorithms/tiny"' in page.text
    assert 'src="/tools/workup/static/vendor/htmx-4.0.1.min.js' in page.text
    assert 'href="/tools/workup/algorithms/tiny?seizures=no&amp;edit=symptoms"' in page.text
    redirect = client.get(
        "/tools/workup/algorithms/tiny?from=symptoms&seizures=yes", follow_redirects=False
    )
    assert redirect.headers["location"] == "/tools/workup/algorithms/tiny?seizures=yes"
    asset = client.get("/tools/workup/static/app.css")
    assert asset.status_code == 200


def test_root_path_works_when_the_proxy_strips_the_prefix() -> None:
    client = TestClient(create_app(Settings(algorithms_dir=FIXTURES, root_path="/tools/workup")))
    page = client.get("/algorithms/tiny?seizures=no")
    assert page.status_code == 200
    assert 'action="/tools/workup/algorithms/tiny"' in page.text
