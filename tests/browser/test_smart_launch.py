"""A SMART launch walked in Chromium: from the EHR's launch URL, through the (tiny, loopback)
authorization server and back, to the labs confirmation and on into the walkthrough."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, expect
from smart_support import TinyEhr

from app.factory import create_app
from app.settings import Settings

from .conftest import TIMEOUT_MS, _free_port

HEADING = "#step-title"


@pytest.fixture(scope="module")
def launched() -> Iterator[tuple[str, TinyEhr]]:
    """The app, set up for SMART launch from a tiny EHR, served on 127.0.0.1."""
    ehr = TinyEhr("workup-browser")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(public_url=base, smart_issuers=[ehr.fhir], smart_client_id="workup-browser")
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-smart", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start for the SMART launch test")
        time.sleep(0.02)
    yield base, ehr
    server.should_exit = True
    thread.join(timeout=10)
    ehr.close()


def test_a_smart_launch_from_the_chart_lands_on_the_labs_confirmation(
    browser: Browser, launched: tuple[str, TinyEhr]
) -> None:
    base, ehr = launched
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{base}/smart/launch?iss={ehr.fhir}&launch=launch-123")
        expect(page.locator(HEADING)).to_have_text("Results read from the FHIR import")
        assert page.url.startswith(f"{base}/smart/callback?")
        used = page.locator(".fhir-used")
        expect(used).to_contain_text("0.78 mmol/L")
        expect(used).to_contain_text("20 Nov 2026 08:00 UTC")
        expect(page.locator(".fhir-left-out")).to_contain_text("Observation/pth-after")
        token = next(iter(ehr.tokens))
        assert token not in page.content()
        page.get_by_role("link", name="Continue with these results").click()
        expect(page.locator(".recorded")).to_contain_text("0.78 mmol/L")
        expect(page.locator(HEADING)).to_have_text("Red flags")
        assert "pth=250pg" in page.url
    finally:
        context.close()
