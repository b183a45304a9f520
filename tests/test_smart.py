"""SMART App Launch (EHR launch) against a tiny EHR started on 127.0.0.1: a real authorization
code flow with PKCE S256, nothing monkeypatched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import ValidationError
from smart_support import TinyEhr

from app.factory import create_app
from app.settings import Settings

PUBLIC = "https://workup.example.org"
CLIENT_ID = "workup-test"


@pytest.fixture
def ehr() -> Iterator[TinyEhr]:
    tiny = TinyEhr(CLIENT_ID)
    yield tiny
    tiny.close()


def app_for(ehr: TinyEhr) -> TestClient:
    settings = Settings(public_url=PUBLIC, smart_issuers=[ehr.fhir], smart_client_id=CLIENT_ID)
    return TestClient(create_app(settings), follow_redirects=False)


def nonce_of(response: requests.Response | object) -> tuple[str, str]:
    header = response.headers["set-cookie"]  # type: ignore[attr-defined]
    name, value = header.split(";")[0].split("=", 1)
    return name, value


def launch(client: TestClient, ehr: TinyEhr) -> tuple[str, dict[str, str], str]:
    """The app's redirect to the EHR's authorize endpoint, its query, and the cookie sent."""
    r = client.get("/smart/launch", params={"iss": ehr.fhir, "launch": "launch-123"})
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    name, nonce = nonce_of(r)
    return location, query, f"{name}={nonce}"


def test_an_ehr_launch_reads_the_chart_and_shows_the_confirmation(ehr: TinyEhr) -> None:
    client = app_for(ehr)
    location, query, cookie = launch(client, ehr)
    assert location.startswith(f"{ehr.base}/auth/authorize?")
    assert query["aud"] == ehr.fhir and query["launch"] == "launch-123"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{PUBLIC}/smart/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["scope"] == "launch patient/Patient.rs patient/Observation.rs"
    # the browser goes to the EHR, which approves and sends it back with a code
    back = requests.get(location, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}" == PUBLIC
    page = client.get(f"{callback.path}?{callback.query}", headers={"cookie": cookie})
    assert page.status_code == 200, page.text
    assert "Results read from the FHIR import" in page.text
    assert "Patient/baby" in page.text and "0.78 mmol/L" in page.text
    assert "20 Nov 2026 08:00 UTC" in page.text  # sample time, not the release time (11:00)
    assert "Observation/pth-after" in page.text and "may follow treatment" in page.text
    assert page.headers["cache-control"] == "no-store"
    token = next(iter(ehr.tokens))
    assert token not in page.text and token not in str(page.headers)
    assert "Max-Age=0" in page.headers["set-cookie"]  # the nonce is dropped
    # the token request proved the PKCE verifier, as a public client, for the same redirect URI
    assert ehr.token_form["code_verifier"] and "client_secret" not in ehr.token_form
    walk = re.search(r'href="([^"]+)">Continue with these results', page.text)
    assert walk is not None and "ionized_calcium=0.78mmol/L" in walk[1]
    assert "pth=250" in walk[1]


def test_the_launch_cookie_is_short_lived_partitioned_and_holds_only_a_nonce(
    ehr: TinyEhr,
) -> None:
    r = app_for(ehr).get("/smart/launch", params={"iss": ehr.fhir, "launch": "launch-123"})
    cookie = r.headers["set-cookie"]
    for part in ("HttpOnly", "Secure", "SameSite=None", "Partitioned", "Max-Age=600"):
        assert part in cookie
    assert "Path=/smart/callback" in cookie
    assert "baby" not in cookie and ehr.fhir not in cookie


def test_an_issuer_not_on_the_list_gets_a_400_and_no_request_leaves(ehr: TinyEhr) -> None:
    client = app_for(ehr)
    r = client.get(
        "/smart/launch", params={"iss": "http://127.0.0.1:9/fhir", "launch": "launch-123"}
    )
    assert r.status_code == 400 and "WORKUP_SMART_ISSUERS" in r.text
    assert "set-cookie" not in r.headers
    assert ehr.requests == []


def test_a_state_not_issued_to_this_browser_is_refused(ehr: TinyEhr) -> None:
    client = app_for(ehr)
    location, _, cookie = launch(client, ehr)
    back = urlsplit(requests.get(location, allow_redirects=False, timeout=5).headers["location"])
    callback = f"{back.path}?{back.query}"
    before = len(ehr.requests)
    # another browser (no nonce cookie), a forged state, a nonce of another launch
    assert client.get(callback).status_code == 400
    forged = re.sub(r"state=[^&]+", "state=eyJpc3MiOiJ4In0.AAAA", callback)
    assert client.get(forged, headers={"cookie": cookie}).status_code == 400
    _, _, other = launch(client, ehr)
    r = client.get(callback, headers={"cookie": other})
    assert r.status_code == 400 and "not started from this browser" in r.text
    assert [m for m, p in ehr.requests[before:] if p.startswith("/auth/token")] == []


def test_a_v1_server_gets_v1_scopes(ehr: TinyEhr) -> None:
    ehr.v2 = False
    _, query, _ = launch(app_for(ehr), ehr)
    assert query["scope"] == "launch patient/Patient.read patient/Observation.read"


def test_smart_needs_its_settings_and_is_off_without_them() -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(smart_issuers=["https://ehr.example.org/fhir"], smart_client_id="x")
    with pytest.raises(ValidationError, match="not a FHIR base URL"):
        Settings(smart_issuers=["ehr.example.org"], public_url=PUBLIC, smart_client_id="x")
    off = TestClient(create_app(Settings()), follow_redirects=False)
    r = off.get("/smart/launch", params={"iss": "https://ehr.example.org/fhir", "launch": "x"})
    assert r.status_code == 404


def test_a_standalone_launch_asks_the_server_to_pick_the_patient(ehr: TinyEhr) -> None:
    client = app_for(ehr)
    r = client.get("/smart/launch", params={"iss": ehr.fhir})
    assert r.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert "launch" not in query
    assert query["scope"] == "launch/patient patient/Patient.rs patient/Observation.rs"
    back = urlsplit(
        requests.get(r.headers["location"], allow_redirects=False, timeout=5).headers["location"]
    )
    name, nonce = nonce_of(r)
    page = client.get(f"{back.path}?{back.query}", headers={"cookie": f"{name}={nonce}"})
    assert page.status_code == 200 and "Patient/baby" in page.text


def test_a_cds_card_offers_the_smart_launch_when_it_is_set_up(ehr: TinyEhr) -> None:
    from fhir_support import recent
    from smart_support import OBSERVATIONS, PATIENT

    moved = recent(
        {
            "resourceType": "Bundle",
            "entry": [{"resource": PATIENT}, *[{"resource": o} for o in OBSERVATIONS]],
        }
    )
    resources = [e["resource"] for e in moved["entry"]]
    request = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/1", "patientId": "baby"},
        "prefetch": {
            "patient": resources[0],
            "labs": {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources[1:]]},
        },
    }
    links = (
        app_for(ehr)
        .post("/cds-services/hypocalcemia-workup", json=request)
        .json()["cards"][0]["links"]
    )
    assert {
        "label": "Open the workup from the chart (SMART)",
        "url": f"{PUBLIC}/smart/launch",
        "type": "smart",
    } in links
    plain = TestClient(create_app(Settings(public_url=PUBLIC)))
    links = plain.post("/cds-services/hypocalcemia-workup", json=request).json()["cards"][0][
        "links"
    ]
    assert [link["type"] for link in links] == ["absolute"]
