"""Labs from a hospital system: the FHIR import and the CDS Hooks service, on fixtures shaped like
what hospitals send (tests/fixtures/fhir)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient
from fhir_support import recent
from scenario_support import ALGORITHM

from app.engine.values import Quantity, findings_from_json
from app.engine.walk import walk
from app.factory import create_app
from app.fhir import FhirError, import_fhir
from app.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fhir"
CASES = Path(__file__).resolve().parent / "cases"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = Settings(public_url="https://workup.example.org")
    return TestClient(create_app(settings), follow_redirects=False)


def post_fhir(client: TestClient, body: object, kind: str = "application/fhir+json"):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        "/api/algorithms/hypocalcemia/fhir", content=data, headers={"content-type": kind}
    )


def said(response: Any) -> str:
    """What an error answer says: the diagnostics of its OperationOutcome."""
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return " ".join(i["diagnostics"] for i in body["issue"])


# --------------------------------------------------------------------------- the mapping


def test_a_blood_gas_bundle_gives_ionised_calcium_ph_potassium_and_age() -> None:
    imported = import_fhir(ALGORITHM, fixture("blood-gas-analyser.json"))
    f = findings_from_json(ALGORITHM, imported.findings)
    assert f["ionized_calcium"] == Quantity(0.78, "mmol/L")
    assert f["blood_ph"] == Quantity(7.48, "")
    assert f["potassium"] == Quantity(3.9, "mmol/L")
    assert f["age"] == Quantity(9.0, "months")  # born 2026-02-20, sampled 2026-11-20
    assert imported.age == "8 m 29 d"
    assert {u.code for u in imported.used} == {"1994-3", "2744-1", "6298-4"}


def test_a_chemistry_panel_in_mg_dl_keeps_its_units_and_refuses_total_co2() -> None:
    imported = import_fhir(ALGORITHM, fixture("chemistry-panel-mg-dl.json"))
    f = findings_from_json(ALGORITHM, imported.findings)
    assert f["total_calcium"] == Quantity(6.5, "mg/dL")
    assert f["magnesium"] == Quantity(1.9, "mg/dL")
    assert f["albumin"] == Quantity(3.9, "g/dL")
    assert "bicarbonate" not in f
    reasons = {i.resource: i.reason for i in imported.ignored}
    assert "total CO2 is not bicarbonate" in reasons["Observation/chem-co2"]


def test_superseded_preliminary_erroneous_and_unpaired_results_are_reported_not_used() -> None:
    imported = import_fhir(ALGORITHM, fixture("superseded-and-preliminary.json"))
    f = findings_from_json(ALGORITHM, imported.findings)
    assert f["magnesium"] == Quantity(0.75, "mmol/L")  # the one nearer the calcium
    assert "pth" not in f
    reasons = {i.resource: i.reason for i in imported.ignored}
    assert "farther from the index calcium than Observation/mg-new" in reasons["Observation/mg-old"]
    assert "preliminary" in reasons["Observation/pth-prelim"]
    assert "3 d after the index calcium" in reasons["Observation/pth-late"]
    assert "entered-in-error" in reasons["Observation/ca-error"]


def test_a_newborn_s_age_comes_from_the_birth_time_in_hours() -> None:
    imported = import_fhir(ALGORITHM, fixture("neonate-birth-time.json"))
    assert imported.findings["age"] == {"value": 30.0, "unit": "hours"}


def test_albumin_corrected_calcium_is_refused_by_name() -> None:
    imported = import_fhir(ALGORITHM, fixture("corrected-calcium-refused.json"))
    assert imported.findings["total_calcium"] == {"value": 1.85, "unit": "mmol/L"}
    reasons = {i.resource: i.reason for i in imported.ignored}
    assert "29265-6" in reasons["Observation/cc"] and "corrected" in reasons["Observation/cc"]


@pytest.mark.parametrize(
    "case_id",
    ["b-vdd-infant-12m-tetany", "b-vddr1a-14m-seizure", "a-hdr-gata3-deletion-girl-14y"],
)
def test_importing_a_published_case_lands_where_typing_it_does(case_id: str) -> None:
    typed = yaml.safe_load((CASES / f"{case_id}.yaml").read_text())["findings"]
    imported = import_fhir(ALGORITHM, fixture(f"case-{case_id}.json")).findings
    rest = {k: v for k, v in typed.items() if k not in imported}  # yes/no findings stay typed
    by_hand = walk(ALGORITHM, findings_from_json(ALGORITHM, typed), missing="unknown")
    by_fhir = walk(ALGORITHM, findings_from_json(ALGORITHM, imported | rest), missing="unknown")
    assert by_fhir.node.id == by_hand.node.id
    assert [d.id for d in by_fhir.differential][:3] == [d.id for d in by_hand.differential][:3]


# --------------------------------------------------------------------------- the API


def test_the_import_answers_findings_url_used_and_ignored(client: TestClient) -> None:
    r = post_fhir(client, fixture("chemistry-panel-mg-dl.json"))
    assert r.status_code == 200
    body = r.json()
    assert body["findings"]["total_calcium"] == {"value": 6.5, "unit": "mg/dL"}
    query = dict(parse_qsl(urlsplit(body["url"]).query))
    assert query["total_calcium"] == "6.5mg/dL"
    used = {u["finding"]: u for u in body["used"]}
    assert used["magnesium"]["code"] == "19123-9" and used["magnesium"]["value"] == "1.9 mg/dL"
    assert any(i["resource"] == "Observation/chem-co2" for i in body["ignored"])
    single = post_fhir(client, fixture("blood-gas-analyser.json")["entry"][1]["resource"])
    assert single.status_code == 200 and "blood_ph" in single.json()["findings"]


@pytest.mark.parametrize(
    ("body", "kind", "status", "words"),
    [
        (b"not json", "application/fhir+json", 400, "not valid JSON"),
        ({"x": 1}, "application/json", 422, "no resourceType"),
        ({"resourceType": "Patient"}, "application/json", 422, "send a Bundle, an Observation"),
        ({"resourceType": "Observation", "status": "final"}, "application/json", 422, "code"),
        ({"resourceType": "Bundle"}, "text/plain", 415, "application/fhir+json"),
    ],
)
def test_bad_fhir_gets_a_4xx_naming_the_problem(
    client: TestClient, body, kind, status, words
) -> None:  # type: ignore[no-untyped-def]
    r = post_fhir(client, body, kind)
    assert r.status_code == status, r.text
    assert words in said(r)


def test_an_impossible_or_unconvertible_value_is_ignored_with_its_reason() -> None:
    bundle = fixture("blood-gas-analyser.json")
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = 9  # iCa 9 mmol/L
    bundle["entry"][3]["resource"]["valueQuantity"].update(code="mg", unit="mg")
    imported = import_fhir(ALGORITHM, bundle)
    reasons = {i.resource: i.reason for i in imported.ignored}
    assert "outside the possible range" in reasons["Observation/gas-ica"]
    assert "not in the UCUM table" in reasons["Observation/gas-k"]
    with pytest.raises(FhirError):
        import_fhir(ALGORITHM, ["not", "a", "resource"])


def test_the_page_form_confirms_with_sample_dates_then_lands_on_the_step(
    client: TestClient,
) -> None:
    state = "seizures=no&laryngospasm=no&tetany=no&apnea=no&arrhythmia_or_long_qt=no"
    bundle = fixture("blood-gas-analyser.json")
    bundle["entry"].append(
        {
            "resource": {
                **bundle["entry"][3]["resource"],
                "id": "gas-k-late",
                "effectiveDateTime": "2026-11-21T09:00:00Z",
            }
        }
    )
    r = client.post(
        "/algorithms/hypocalcemia/fhir", data={"state": state, "bundle": json.dumps(bundle)}
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "Results read from the FHIR import" in r.text
    assert "20 Nov 2026 08:00 UTC" in r.text  # the sample time, not the release time
    assert "Observation/gas-k-late (sampled 21 Nov 2026 09:00 UTC): drawn 25 h after" in r.text
    target = html.unescape(re.search(r'href="([^"]+)">Continue with these results', r.text)[1])
    assert "ionized_calcium=0.78mmol/L" in target and "seizures=no" in target
    assert target.endswith("recorded=fhir")
    page = client.get(target)
    assert "4 values recorded" in page.text  # age, pH, ionised calcium, potassium
    bad = client.post("/algorithms/hypocalcemia/fhir", data={"state": "", "bundle": "{"})
    assert bad.status_code == 422 and "not valid JSON" in bad.text


def test_recorded_fhir_in_a_link_claims_no_source(client: TestClient) -> None:
    """Anyone can add recorded=fhir to a link: the page must not say the hospital sent it."""
    page = client.get("/algorithms/hypocalcemia?ionized_calcium=1.5mmol/L&recorded=fhir")
    assert page.status_code == 200 and "1 value recorded" in page.text
    assert "hospital system" not in page.text and "FHIR" not in page.text


# --------------------------------------------------------------------------- CDS Hooks


def hook(prefetch: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def labs_and_patient(name: str) -> dict[str, Any]:
    bundle = recent(fixture(name))
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    labs = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"],
    }
    return {"patient": patient, "labs": labs}


def test_discovery_names_the_service_and_its_prefetch(client: TestClient) -> None:
    services = client.get("/cds-services").json()["services"]
    assert services[0]["hook"] == "patient-view" and services[0]["id"] == "hypocalcemia-workup"
    assert {"patient", "labs"} <= set(services[0]["prefetch"])
    assert services[0]["description"]


def test_a_low_calcium_for_age_gives_one_card_with_the_prefilled_walkthrough(
    client: TestClient,
) -> None:
    r = client.post(
        "/cds-services/hypocalcemia-workup", json=hook(labs_and_patient("blood-gas-analyser.json"))
    )
    cards = r.json()["cards"]
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] == "critical"  # 0.78 is below the protocol's 0.95 mmol/L
    assert len(card["summary"]) < 140 and card["source"]["label"]
    link = card["links"][0]
    assert link["type"] == "absolute"
    assert link["url"].startswith("https://workup.example.org/algorithms/hypocalcemia?")
    assert "ionized_calcium=0.78mmol/L" in link["url"]


def test_no_card_when_calcium_is_normal_or_the_prefetch_is_missing(client: TestClient) -> None:
    normal = labs_and_patient("blood-gas-analyser.json")
    normal["labs"]["entry"][1]["resource"]["valueQuantity"]["value"] = 1.25
    assert client.post("/cds-services/hypocalcemia-workup", json=hook(normal)).json() == {
        "cards": []
    }
    assert client.post("/cds-services/hypocalcemia-workup", json=hook(None)).status_code == 412
    assert client.post("/cds-services/hypocalcemia-workup", content=b"{").status_code == 400


def test_with_a_key_configured_only_a_signed_jwt_for_this_service_is_heard() -> None:
    import time
    import uuid

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP384R1())
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = Settings(
        public_url="https://workup.example.org",
        cds_jwt_issuers={"https://ehr.example.org": ""},  # this issuer's key is the PEM below
        cds_jwt_public_key=public,
    )
    guarded = TestClient(create_app(settings))
    url = "/cds-services/hypocalcemia-workup"
    body = hook(labs_and_patient("blood-gas-analyser.json"))

    def token(audience: str, key: object = private) -> str:
        claims = {
            "iss": "https://ehr.example.org",
            "aud": audience,
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, key, algorithm="ES384")  # type: ignore[arg-type]

    assert guarded.post(url, json=body).status_code == 401
    good = token("https://workup.example.org" + url)
    ok = guarded.post(url, json=body, headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200 and len(ok.json()["cards"]) == 1
    elsewhere = token("https://other.example.org" + url)
    r = guarded.post(url, json=body, headers={"Authorization": f"Bearer {elsewhere}"})
    assert r.status_code == 401
    forged = token("https://workup.example.org" + url, ec.generate_private_key(ec.SECP384R1()))
    assert (
        guarded.post(url, json=body, headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )


def test_the_loinc_notice_is_on_the_about_page(client: TestClient) -> None:
    page = client.get("/about")
    assert page.status_code == 200
    assert "contains content from LOINC" in page.text and "http://loinc.org/license" in page.text
    assert 'href="/about"' in client.get("/").text  # linked from every page's footer
