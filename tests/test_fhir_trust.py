"""Hospital data you can trust (issue 16): the FHIR import and the CDS Hooks service never mix
patients, times or versions, and never answer hostile input with a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir_support import recent
from scenario_support import ALGORITHM

from app.engine.values import Quantity, findings_from_json
from app.factory import create_app
from app.fhir import FhirError, import_fhir
from app.settings import Settings

CDS = "/cds-services/hypocalcemia-workup"
API = "/api/algorithms/hypocalcemia/fhir"
T0 = "2026-11-20T08:00:00Z"
CODES = {
    "ica": "1994-3",
    "tca_mass": "17861-6",
    "tca_mol": "2000-8",
    "mg": "2601-3",
    "pth": "2731-8",
    "phos": "14879-1",
    "alp": "6768-6",
    "vitd": "62292-8",
    "ph": "2744-1",
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = Settings(public_url="https://workup.example.org")
    return TestClient(create_app(settings), follow_redirects=False, raise_server_exceptions=False)


def obs(
    oid: str,
    test: str,
    value: float | None,
    unit: str | None = "mmol/L",
    when: str | None = T0,
    subject: str | None = "Patient/baby",
    status: str = "final",
    **extra: Any,
) -> dict[str, Any]:
    o: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": CODES[test]}]},
    }
    if subject is not None:
        o["subject"] = {"reference": subject}
    if when is not None:
        o["effectiveDateTime"] = when
    if value is not None:
        q: dict[str, Any] = {"value": value}
        if unit is not None:
            q.update(unit=unit, system="http://unitsofmeasure.org", code=unit)
        o["valueQuantity"] = q
    o.update(extra)
    return o


def patient(pid: str = "baby", birth: str = "2026-02-20", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, **extra}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def at(hours: float) -> str:
    moment = datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(hours=hours)
    return moment.isoformat().replace("+00:00", "Z")


def reasons(imported: Any) -> dict[str, str]:
    return {i.resource: i.reason for i in imported.ignored}


def said(response: Any) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return " ".join(i["diagnostics"] for i in body["issue"])


def cds_request(
    pat: dict[str, Any], labs: list[dict[str, Any]], patient_id: str | None = None
) -> dict[str, Any]:
    return {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/1", "patientId": patient_id or pat["id"]},
        "prefetch": {
            "patient": pat,
            "labs": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in labs],
            },
        },
    }


def fresh_cds(pat: dict[str, Any], *labs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    moved = recent(bundle(pat, *labs))
    resources = [e["resource"] for e in moved["entry"]]
    return cds_request(resources[0], resources[1:], **kw)


# --------------------------------------------------------------------------- 1. never a 500


ADULT = bundle(patient("adult", "1990-05-01"), obs("ca", "ica", 0.9, subject="Patient/adult"))


def test_an_adult_gets_a_clear_422_on_the_api_and_the_page_form(client: TestClient) -> None:
    r = client.post(API, json=ADULT)
    assert r.status_code == 422
    assert "this workup is for infants and children" in said(r)
    assert "36 y" in said(r)
    page = client.post(
        "/algorithms/hypocalcemia/fhir", data={"state": "", "bundle": json.dumps(ADULT)}
    )
    assert page.status_code == 422 and "infants and children" in page.text


def test_an_adult_gets_no_card(client: TestClient) -> None:
    pat = patient("adult", "1990-05-01")
    r = client.post(CDS, json=fresh_cds(pat, obs("ca", "ica", 0.7, subject="Patient/adult")))
    assert r.status_code == 200 and r.json() == {"cards": []}


def test_a_birth_month_that_settles_the_age_band_gives_the_age() -> None:
    # born in February 2025, sampled 20 Nov 2026: 629 to 657 days, inside one age band
    imported = import_fhir(ALGORITHM, bundle(patient(birth="2025-02"), obs("ca", "ica", 0.8)))
    age = findings_from_json(ALGORITHM, imported.findings)["age"]
    assert isinstance(age, Quantity) and age.unit == "months" and 20.6 <= age.value <= 21.6
    assert "birth month 2025-02" in imported.age


@pytest.mark.parametrize("birth", ["2026-10", "2026"])
def test_a_partial_birth_date_across_an_age_limit_is_asked_back(
    client: TestClient, birth: str
) -> None:
    # born in October 2026, sampled 20 Nov 2026: 20 to 50 days, across the 28-day limit
    body = bundle(patient(birth=birth), obs("ca", "ica", 0.8))
    imported = import_fhir(ALGORITHM, body)
    assert "age" not in imported.findings
    assert "across an age limit" in reasons(imported)["Patient/baby"]
    r = client.post(API, json=body)
    assert r.status_code == 200 and "age" not in r.json()["findings"]
    assert "age=" not in r.json()["url"]  # the walk asks the age


NESTED: Any = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation"}}]}
_deep: Any = NESTED["entry"][0]["resource"]
for _ in range(400):
    _deep["extension"] = [{"url": "x", "extension": []}]
    _deep = _deep["extension"][0]

HOSTILE = {
    "deeply nested": NESTED,
    "2 KB of brackets": "[" * 1000 + "]" * 1000,
    "unknown resourceType": {"resourceType": "Foo"},
    "resourceType not a string": {"resourceType": ["Bundle"]},
    "code null": {"resourceType": "Observation", "status": "final", "code": None},
    "entry not a list": {"resourceType": "Bundle", "entry": "x"},
    "adult": ADULT,
    "two patients": bundle(patient("mother", "1996-01-01"), patient("baby")),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_bodies_get_a_4xx_with_a_message_never_a_500(client: TestClient, name: str) -> None:
    body = HOSTILE[name]
    data = body if isinstance(body, str) else json.dumps(body)
    r = client.post(API, content=data, headers={"content-type": "application/fhir+json"})
    assert 400 <= r.status_code < 500, (name, r.status_code)
    assert said(r)
    page = client.post("/algorithms/hypocalcemia/fhir", data={"state": "", "bundle": data})
    assert 400 <= page.status_code < 500, (name, page.status_code)


def test_unknown_resources_and_a_null_code_inside_a_bundle_are_left_out_by_name() -> None:
    body = bundle(
        patient(),
        obs("ca", "ica", 0.8),
        {"resourceType": "Foo", "id": "f"},
        {"resourceType": "Observation", "id": "nocode", "status": "final", "code": None},
    )
    imported = import_fhir(ALGORITHM, body)
    assert imported.findings["ionized_calcium"] == {"value": 0.8, "unit": "mmol/L"}
    assert "not an Observation" in reasons(imported)["Foo/f"]
    assert "code" in reasons(imported)["Observation/nocode"]


@pytest.mark.parametrize("prefetch", [[], "labs", 3, True])
def test_a_prefetch_that_is_not_an_object_gets_a_400(client: TestClient, prefetch: Any) -> None:
    body = {"hook": "patient-view", "context": {"patientId": "p1"}, "prefetch": prefetch}
    r = client.post(CDS, json=body)
    assert r.status_code == 400 and "prefetch must be an object" in said(r)


@pytest.mark.parametrize("name", ["deeply nested", "unknown resourceType", "code null"])
def test_hostile_prefetch_labs_never_give_a_500(client: TestClient, name: str) -> None:
    body = cds_request(patient(), [])
    body["prefetch"]["labs"]["entry"] = [{"resource": HOSTILE[name]}]
    r = client.post(CDS, json=body)
    assert r.status_code in (200, 422), r.status_code
    if r.status_code == 200:
        assert r.json() == {"cards": []}  # the entry is left out: no calcium, no card
    else:
        assert "nested" in said(r)


# --------------------------------------------------------------------------- 2. one patient


def test_two_patients_in_one_bundle_are_refused_by_name(client: TestClient) -> None:
    body = bundle(
        patient("mother", "1996-01-01"),
        patient("baby"),
        obs("ca-m", "ica", 1.0, subject="Patient/mother"),
        obs("ca-b", "ica", 0.7),
    )
    with pytest.raises(FhirError, match="Patient/baby and Patient/mother"):
        import_fhir(ALGORITHM, body)
    r = client.post(API, json=body)
    assert r.status_code == 422 and "Patient/baby and Patient/mother" in said(r)


def test_another_patient_s_results_are_never_used() -> None:
    body = bundle(
        patient("baby"),
        obs("ca-m", "ica", 0.6, subject="Patient/mother"),  # lower, and later: still not hers
        obs("ca-b", "ica", 0.9, when=at(-1)),
        obs("mg-m", "mg", 0.3, subject="https://ehr.example.org/fhir/Patient/mother"),
    )
    imported = import_fhir(ALGORITHM, body)
    assert imported.findings["ionized_calcium"] == {"value": 0.9, "unit": "mmol/L"}
    assert "magnesium" not in imported.findings
    assert "Patient/mother" in reasons(imported)["Observation/ca-m"]
    assert "Patient/mother" in reasons(imported)["Observation/mg-m"]


def test_a_transaction_bundle_with_urn_uuid_references_is_read_for_its_patient() -> None:
    """Synthea's shape: entries named by urn:uuid fullUrls, subjects pointing at them."""
    baby, mother = "urn:uuid:6c1d0c8e-1111-4c5e-9a55-2f5c7a2d0b01", "urn:uuid:other"
    body = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": baby, "resource": patient()},
            {"fullUrl": "urn:uuid:o1", "resource": obs("ca", "ica", 0.7, subject=baby)},
            {"fullUrl": "urn:uuid:o2", "resource": obs("mg", "mg", 0.3, subject=mother)},
        ],
    }
    imported = import_fhir(ALGORITHM, body)
    assert imported.findings["ionized_calcium"]["value"] == 0.7
    assert "magnesium" not in imported.findings
    assert mother in reasons(imported)["Observation/mg"]


def test_results_about_two_patients_without_a_patient_resource_are_refused() -> None:
    body = bundle(obs("a", "ica", 0.7), obs("b", "mg", 0.7, subject="Patient/other"))
    with pytest.raises(FhirError, match="2 patients"):
        import_fhir(ALGORITHM, body)


def test_a_cds_call_whose_patient_differs_from_the_prefetch_gets_no_card(
    client: TestClient,
) -> None:
    low = obs("ca", "ica", 0.7)
    assert len(client.post(CDS, json=fresh_cds(patient(), low)).json()["cards"]) == 1
    other = fresh_cds(patient(), low, patient_id="someone-else")
    assert client.post(CDS, json=other).json() == {"cards": []}
    # a prefetch result about another patient is not read either
    theirs = fresh_cds(patient(), obs("ca", "ica", 0.7, subject="Patient/someone-else"))
    assert client.post(CDS, json=theirs).json() == {"cards": []}


# --------------------------------------------------------------------------- 3. current versions


def test_the_current_version_of_a_result_wins_by_version_id() -> None:
    v1 = obs("mg", "mg", 0.4, meta={"versionId": "1"})
    v2 = obs("mg", "mg", 0.8, status="amended", meta={"versionId": "2"})
    imported = import_fhir(ALGORITHM, bundle(patient(), obs("ca", "ica", 0.8), v2, v1))
    assert imported.findings["magnesium"] == {"value": 0.8, "unit": "mmol/L"}
    assert "version 1 is superseded" in reasons(imported)["Observation/mg"]


def test_the_current_version_wins_by_last_updated_or_by_its_correcting_status() -> None:
    older = obs("mg", "mg", 0.4, meta={"lastUpdated": "2026-11-20T09:00:00Z"})
    newer = obs("mg", "mg", 0.7, meta={"lastUpdated": "2026-11-20T11:00:00Z"})
    imported = import_fhir(ALGORITHM, bundle(patient(), obs("ca", "ica", 0.8), newer, older))
    assert imported.findings["magnesium"] == {"value": 0.7, "unit": "mmol/L"}
    final = obs("mg", "mg", 0.4)
    corrected = obs("mg", "mg", 0.6, status="corrected")
    imported = import_fhir(ALGORITHM, bundle(patient(), obs("ca", "ica", 0.8), corrected, final))
    assert imported.findings["magnesium"] == {"value": 0.6, "unit": "mmol/L"}


@pytest.mark.parametrize("withdrawn", ["entered-in-error", "cancelled"])
def test_a_result_withdrawn_in_its_current_version_is_never_used(withdrawn: str) -> None:
    v1 = obs("mg", "mg", 0.4, meta={"versionId": "1"})
    v2 = obs("mg", "mg", 0.4, status=withdrawn, meta={"versionId": "2"})
    imported = import_fhir(ALGORITHM, bundle(patient(), obs("ca", "ica", 0.8), v1, v2))
    assert "magnesium" not in imported.findings
    assert withdrawn in " ".join(i.reason for i in imported.ignored)


# --------------------------------------------------------------------------- 4. the index draw


def test_pth_and_magnesium_come_from_the_low_calcium_draw_not_after_treatment() -> None:
    body = bundle(
        patient(),
        obs("ca-low", "ica", 0.7, when=at(0)),
        obs("pth-low", "pth", 250, "pg/mL", when=at(0)),
        obs("mg-low", "mg", 0.4, when=at(0)),
        # after IV calcium and magnesium
        obs("ca-after", "ica", 1.05, when=at(6)),
        obs("pth-after", "pth", 12, "pg/mL", when=at(6)),
        obs("mg-after", "mg", 0.9, when=at(6)),
    )
    imported = import_fhir(ALGORITHM, body)
    f = imported.findings
    assert f["ionized_calcium"]["value"] == 0.7
    assert f["pth"] == {"value": 250.0, "unit": "pg/mL"}
    assert f["magnesium"]["value"] == 0.4
    why = reasons(imported)
    assert "6 h after the index calcium" in why["Observation/pth-after"]
    assert "may follow treatment" in why["Observation/mg-after"]
    assert "after the index calcium" in why["Observation/ca-after"]
    left = {i.resource: i.effective for i in imported.ignored}
    assert left["Observation/pth-after"].startswith("2026-11-20T14:00")  # its sample date


def test_the_lowest_recent_calcium_sets_the_index_and_the_nearest_sample_is_used() -> None:
    body = bundle(
        patient(),
        obs("ca-1", "ica", 0.9, when=at(-10)),
        obs("ca-2", "ica", 0.7, when=at(-2)),
        obs("ca-3", "ica", 1.0, when=at(0)),
        obs("p-far", "phos", 1.1, when=at(-30)),
        obs("p-near", "phos", 2.4, when=at(-3)),
        obs("p-late", "phos", 1.0, when=at(0)),
    )
    imported = import_fhir(ALGORITHM, body)
    assert imported.findings["ionized_calcium"]["value"] == 0.7
    assert imported.index_time == datetime(2026, 11, 20, 6, tzinfo=UTC)
    assert imported.findings["phosphate"]["value"] == 2.4
    why = reasons(imported)
    assert "farther from the index calcium than Observation/p-near" in why["Observation/p-far"]
    assert "2 h after the index calcium" in why["Observation/p-late"]
    used = {u.finding: u for u in imported.used}
    assert used["phosphate"].effective == "2026-11-20T05:00:00+00:00"


def test_the_api_shows_sample_dates_and_what_was_left_out(client: TestClient) -> None:
    body = bundle(
        patient(),
        obs("ca", "ica", 0.7),
        obs("pth-late", "pth", 12, "pg/mL", when=at(48)),
    )
    r = client.post(API, json=body)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    report = r.json()
    assert report["used"][0]["effective"] == "2026-11-20T08:00:00+00:00"
    assert report["index_time"] == "2026-11-20T08:00:00+00:00"
    left = {i["resource"]: i for i in report["ignored"]}
    assert left["Observation/pth-late"]["effective"] == "2026-11-22T08:00:00+00:00"


def test_an_old_calcium_makes_no_card_and_a_recent_one_names_its_sample_date(
    client: TestClient,
) -> None:
    low = obs("ca", "ica", 0.7)
    moved = recent(bundle(patient(), low), hours_ago=2 * 365 * 24)
    resources = [e["resource"] for e in moved["entry"]]
    assert client.post(CDS, json=cds_request(resources[0], resources[1:])).json() == {"cards": []}
    card = client.post(CDS, json=fresh_cds(patient(), low)).json()["cards"][0]
    sampled = datetime.now(UTC) - timedelta(hours=2)
    assert f"sampled {sampled:%d %b %Y}" in card["summary"]
    assert f"sampled {sampled:%d %b %Y}" in card["detail"]


# --------------------------------------------------------------------------- 5. age


def test_a_newborn_s_birth_time_on_birth_date_gives_the_age_to_the_hour() -> None:
    born = patient(
        birth="2026-11-18",
        _birthDate={
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "2026-11-18T04:00:00Z",
                }
            ]
        },
    )
    imported = import_fhir(ALGORITHM, bundle(born, obs("ca", "ica", 0.8)))
    assert imported.findings["age"] == {"value": 52.0, "unit": "hours"}
    assert imported.age == "52 h"


def test_ages_read_as_people_say_them() -> None:
    imported = import_fhir(ALGORITHM, bundle(patient(birth="2020-05-20"), obs("ca", "ica", 0.8)))
    assert imported.age == "6 y 6 m"
    assert imported.findings["age"] == {"value": 6.5, "unit": "years"}


# --------------------------------------------------------------------------- 6. values


def test_a_comparator_is_kept_and_shown() -> None:
    pth = obs("pth", "pth", 3, "pg/mL")
    pth["valueQuantity"]["comparator"] = "<"
    imported = import_fhir(ALGORITHM, bundle(patient(), obs("ca", "ica", 0.8), pth))
    used = {u.finding: u for u in imported.used}
    assert used["pth"].value == "<3 pg/mL"
    assert "a limit of the assay, not a measurement" in used["pth"].note


def test_components_and_diagnostic_report_results_are_read() -> None:
    panel = {
        "resourceType": "Observation",
        "id": "gas",
        "status": "final",
        "subject": {"reference": "Patient/baby"},
        "effectiveDateTime": T0,
        "code": {"coding": [{"system": "http://loinc.org", "code": "24336-0"}]},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "1994-3"}]},
                "valueQuantity": {"value": 0.8, "code": "mmol/L"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "2744-1"}]},
                "valueQuantity": {"value": 7.31, "code": "[pH]"},
            },
        ],
    }
    contained = obs("r-mg", "mg", 0.5, subject=None)
    report = {
        "resourceType": "DiagnosticReport",
        "id": "chem",
        "status": "final",
        "code": {"text": "Chemistry"},
        "subject": {"reference": "Patient/baby"},
        "contained": [contained],
        "result": [{"reference": "#r-mg"}],
    }
    imported = import_fhir(ALGORITHM, bundle(patient(), panel, report))
    f = findings_from_json(ALGORITHM, imported.findings)
    assert f["ionized_calcium"] == Quantity(0.8, "mmol/L")
    assert f["blood_ph"] == Quantity(7.31, "")
    assert f["magnesium"] == Quantity(0.5, "mmol/L")


def test_one_sample_in_two_units_is_merged_and_two_different_values_are_not() -> None:
    mass = obs("tca-mg", "tca_mass", 6.5, "mg/dL")
    molar = obs("tca-mmol", "tca_mol", 1.62, "mmol/L")
    imported = import_fhir(ALGORITHM, bundle(patient(), mass, molar))
    assert "total_calcium" in imported.findings
    assert "same sample" in " ".join(i.reason for i in imported.ignored)
    other = obs("tca-mmol", "tca_mol", 2.2, "mmol/L")
    imported = import_fhir(ALGORITHM, bundle(patient(), mass, other))
    assert "total_calcium" not in imported.findings
    assert "conflicts" in reasons(imported)["Observation/tca-mmol"]


def test_ucum_variants_are_converted() -> None:
    body = bundle(
        patient(),
        obs("ca", "ica", 0.8),
        obs("alp", "alp", 1067, "[IU]/L"),
        obs("d", "vitd", 12, "ug/L"),
        obs("ph", "ph", 7.31, None),
    )
    f = findings_from_json(ALGORITHM, import_fhir(ALGORITHM, body).findings)
    assert f["alkaline_phosphatase"] == Quantity(1067, "U/L")
    assert f["vitamin_d_25oh"] == Quantity(12, "ng/mL")
    assert f["blood_ph"] == Quantity(7.31, "")


def test_a_unitless_calcium_is_not_read_as_mmol() -> None:
    imported = import_fhir(ALGORITHM, bundle(patient(), obs("ca", "ica", 0.8, None)))
    assert "ionized_calcium" not in imported.findings
    assert "not in the UCUM table" in reasons(imported)["Observation/ca"]


def test_a_malformed_entry_is_left_out_and_the_rest_are_read(client: TestClient) -> None:
    body = bundle(patient(), obs("ca", "ica", 0.8), obs("mg", "mg", 0.4, status="final "))
    r = client.post(API, json=body)
    assert r.status_code == 200
    assert r.json()["findings"]["ionized_calcium"] == {"value": 0.8, "unit": "mmol/L"}
    left = {i["resource"]: i["reason"] for i in r.json()["ignored"]}
    assert "status" in left["Observation/mg"] and "malformed" in left["Observation/mg"]


def test_undated_results_are_never_used_and_issued_is_not_the_sample_time() -> None:
    undated = obs("mg", "mg", 0.4, when=None, issued="2026-11-20T09:00:00Z")
    imported = import_fhir(ALGORITHM, bundle(patient(), obs("ca", "ica", 0.8), undated))
    assert "magnesium" not in imported.findings
    assert "no sample time" in reasons(imported)["Observation/mg"]


# --------------------------------------------------------------------------- 7. rules on /about


def test_the_import_rules_are_shown_on_the_about_page_with_their_source_or_reason(
    client: TestClient,
) -> None:
    page = client.get("/about").text
    rules = ALGORITHM.fhir_import
    assert rules is not None and rules.rules
    for rule in rules.rules:
        assert f'id="rule-{rule.id}"' in page
    assert "to be reviewed by clinicians" in page  # a value the app chose says so, and why
    assert "<strong>1 h</strong>" in page  # the draw window, stated
    assert "29265-6" in page and "albumin-corrected" in page  # refused by name
    assert "<code>[IU]/L</code> as U/L" in page


# --------------------------------------------------------------------------- 8. CDS Hooks spec


def test_discovery_declares_its_spec_version_and_no_3_0_only_prefetch_token(
    client: TestClient,
) -> None:
    r = client.get("/cds-services")
    service = r.json()["services"][0]
    assert service["version"] == "2.0" and service["hookVersion"] == "1.0"
    assert all("today()" not in q for q in service["prefetch"].values())
    assert r.headers["access-control-allow-origin"] == "*"


def test_the_service_routes_answer_a_cors_preflight(client: TestClient) -> None:
    for path in ("/cds-services", CDS, f"{CDS}/feedback"):
        r = client.options(
            path,
            headers={
                "Origin": "https://sandbox.cds-hooks.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert r.status_code == 204, path
        assert r.headers["access-control-allow-origin"] == "*"
        assert "authorization" in r.headers["access-control-allow-headers"]


def test_a_missing_prefetch_gets_412_saying_what_to_send(client: TestClient) -> None:
    body = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p1"}}
    r = client.post(CDS, json=body)
    assert r.status_code == 412 and "send the prefetch" in said(r)
    body["prefetch"] = {"patient": patient("p1")}
    r = client.post(CDS, json=body)
    assert r.status_code == 412 and "labs" in said(r)


def test_a_picu_sized_prefetch_is_heard_and_the_limit_still_holds(client: TestClient) -> None:
    # a PICU child's few days: blood counts and the like, with the chemistry among them
    other = {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}  # haemoglobin
    labs = [obs(f"hb{i}", "mg", 110, "g/L", when=at(-i / 100), code=other) for i in range(3000)]
    labs += [obs(f"mg{i}", "mg", 0.8, when=at(-i / 10)) for i in range(400)]
    body = fresh_cds(patient(), obs("ca", "ica", 0.7), *labs)
    size = len(json.dumps(body))
    assert 1024 * 1024 < size < 2 * 1024 * 1024
    r = client.post(CDS, json=body)
    assert r.status_code == 200 and len(r.json()["cards"]) == 1
    huge = json.dumps(body) + " " * (2 * 1024 * 1024)
    r = client.post(CDS, content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in said(r)
    assert r.headers["access-control-allow-origin"] == "*"  # a browser client can read why


def test_the_feedback_endpoint_answers_as_the_spec_says(client: TestClient) -> None:
    feedback = {
        "feedback": [
            {
                "card": "4f0ba0c5-6d3b-4b8d-94bb-3b54e7b7b8c4",
                "outcome": "accepted",
                "acceptedSuggestions": [],
                "outcomeTimestamp": "2026-11-20T08:10:00Z",
            }
        ]
    }
    r = client.post(f"{CDS}/feedback", json=feedback)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    bad = client.post(f"{CDS}/feedback", json={"feedback": [{"outcome": "liked"}]})
    assert bad.status_code == 400 and "outcome (accepted or overridden)" in said(bad)


def test_without_a_public_url_a_card_links_nowhere_rather_than_to_the_host_header() -> None:
    plain = TestClient(create_app(Settings()))
    r = plain.post(
        CDS,
        json=fresh_cds(patient(), obs("ca", "ica", 0.7)),
        headers={"host": "evil.example.com"},
    )
    card = r.json()["cards"][0]
    assert card["links"] == [] and "evil.example.com" not in json.dumps(card)


# --------------------------------------------------------------------------- 8. the EHR's JWT


class KeySet:
    """A JSON Web Key Set served on 127.0.0.1, counting how often it is fetched."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.keys: dict[str, Any] = {}
        self.private: dict[str, Any] = {}
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                owner.fetches += 1
                body = json.dumps({"keys": list(owner.keys.values())}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, kid: str) -> Any:
        """The private key of `kid`, published in the set on first use."""
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.algorithms import ECAlgorithm

        if kid in self.private:
            return self.private[kid]
        private = self.private[kid] = ec.generate_private_key(ec.SECP384R1())
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        self.keys[kid] = {**jwk, "kid": kid, "alg": "ES384", "use": "sig"}
        return private


ISS = "https://ehr.example.org"
AUD = "https://workup.example.org" + CDS


def token(private: Any, kid: str, **claims: Any) -> str:
    import time
    import uuid

    import jwt

    now = int(time.time())
    body = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, private, algorithm="ES384", headers={"kid": kid})


@pytest.fixture(scope="module")
def keyset() -> Any:
    keys = KeySet()
    yield keys
    keys.server.shutdown()


@pytest.fixture(scope="module")
def guarded(keyset: KeySet) -> TestClient:
    settings = Settings(public_url="https://workup.example.org", cds_jwt_issuers={ISS: keyset.url})
    return TestClient(create_app(settings), raise_server_exceptions=False)


def call(client: TestClient, jwt_text: str | None) -> Any:
    headers = {"Authorization": f"Bearer {jwt_text}"} if jwt_text else {}
    return client.post(CDS, json=fresh_cds(patient(), obs("ca", "ica", 0.7)), headers=headers)


def test_a_jwt_from_an_allowed_issuer_s_key_set_is_heard_once(
    guarded: TestClient, keyset: KeySet
) -> None:
    key = keyset.add("k1")
    good = token(key, "k1")
    ok = call(guarded, good)
    assert ok.status_code == 200 and len(ok.json()["cards"]) == 1
    again = call(guarded, good)
    assert again.status_code == 401 and "already used" in said(again)
    assert again.headers["access-control-allow-origin"] == "*"
    for _ in range(3):
        assert call(guarded, token(key, "k1")).status_code == 200
    assert keyset.fetches == 1  # the key set is cached


def test_a_rotated_key_is_fetched_and_an_unknown_key_is_refused(keyset: KeySet) -> None:
    from app.cdsauth import CdsAuth

    settings = Settings(public_url="https://workup.example.org", cds_jwt_issuers={ISS: keyset.url})
    app = create_app(settings)
    app.state.cds_auth = CdsAuth.from_settings(settings, cooldown=0)  # no wait between fetches
    guarded = TestClient(app)
    assert call(guarded, token(keyset.add("k1"), "k1")).status_code == 200
    rotated = keyset.add("k2")  # the EHR publishes a new key and signs with it
    before = keyset.fetches
    assert call(guarded, token(rotated, "k2")).status_code == 200
    assert keyset.fetches == before + 1
    from cryptography.hazmat.primitives.asymmetric import ec

    forged = call(guarded, token(ec.generate_private_key(ec.SECP384R1()), "k2"))
    assert forged.status_code == 401 and "does not verify" in said(forged)


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"iss": "https://other.example.org"}, "not an issuer this service trusts"),
        ({"aud": "https://other.example.org" + CDS}, f"aud must be the URL called: {AUD}"),
        ({"jti": None}, "needs the claim jti"),
        ({"iat": None}, "needs the claim iat"),
        ({"exp": None}, "needs the claim exp"),
        ({"exp": 4_102_444_800}, "longer than 5 minutes"),
        ({"exp": 1_000_000_000, "iat": 999_999_990}, "expired"),
    ],
)
def test_a_jwt_is_refused_with_what_to_fix_and_no_library_text(
    guarded: TestClient, keyset: KeySet, claims: dict[str, Any], words: str
) -> None:
    key = keyset.add("k1")
    fetches = keyset.fetches
    r = call(guarded, token(key, "k1", **claims))
    assert r.status_code == 401, r.text
    assert words in said(r)
    assert "Signature" not in r.text and "Error" not in r.text
    if "issuer" in words:
        assert keyset.fetches == fetches  # nothing fetched for an issuer not on the list


def test_no_token_gets_a_401_saying_how_to_send_one(guarded: TestClient) -> None:
    r = call(guarded, None)
    assert r.status_code == 401 and "Authorization: Bearer" in said(r)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_the_jwt_check_needs_a_public_url_and_a_readable_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="public_url"):
        Settings(cds_jwt_issuers={ISS: "https://ehr.example.org/jwks.json"})
    with pytest.raises(ValidationError, match="not a readable PEM"):
        Settings(
            public_url="https://workup.example.org",
            cds_jwt_issuers={ISS: ""},
            cds_jwt_public_key="-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----",
        )
    with pytest.raises(ValidationError, match="https"):
        Settings(public_url="https://w.example.org", cds_jwt_issuers={ISS: "http://ehr.org/k"})
    with caplog.at_level("INFO", logger="workup"):
        create_app(Settings())
        create_app(
            Settings(
                public_url="https://workup.example.org",
                cds_jwt_issuers={ISS: "https://ehr.example.org/jwks.json"},
            )
        )
    said_at_start = " ".join(r.getMessage() for r in caplog.records if r.name == "workup")
    assert "JWT check: off" in said_at_start and "JWT check: on" in said_at_start


# --------------------------------------------------------------------------- 9. errors and logs


def test_an_unhandled_error_is_logged_by_type_and_route_never_its_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(Settings())

    @app.post("/api/algorithms/{algorithm_id}/boom")
    async def boom(algorithm_id: str) -> None:
        raise ValueError("ionized_calcium 0.78 mmol/L, age 52 h, Patient/baby")

    broken = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level("INFO"):
        r = broken.post("/api/algorithms/hypocalcemia/boom?pth=250", json={"pth": 250})
    assert r.status_code == 500 and "0.78" not in r.text
    logged = "\n".join(
        f"{rec.getMessage()} {rec.exc_text or ''} {rec.exc_info or ''}"
        for rec in caplog.records
        if not rec.name.startswith(("httpx", "httpcore"))  # the test client's own log
    )
    assert "ValueError on POST /api/algorithms/{algorithm_id}/boom" in logged
    assert "tests/test_fhir_trust.py:" in logged and "in boom" in logged  # where, not what
    assert "0.78" not in logged and "52 h" not in logged and "baby" not in logged
    assert "250" not in logged


def test_errors_of_the_fhir_routes_are_operation_outcomes(client: TestClient) -> None:
    too_big = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    r = client.post(API, content=too_big, headers={"content-type": "application/fhir+json"})
    assert r.status_code == 413 and "larger than" in said(r)
    r = client.post("/api/algorithms/nope/fhir", json=bundle(patient()), headers={"accept": "*/*"})
    assert r.status_code == 404 and said(r)


def test_answers_that_echo_lab_values_are_never_cached(client: TestClient) -> None:
    walk = client.post(
        "/api/algorithms/hypocalcemia/walk",
        json={"findings": {"ionized_calcium": {"value": 0.7, "unit": "mmol/L"}}},
    )
    assert walk.status_code == 200 and walk.headers["cache-control"] == "no-store"
    r = client.post(CDS, json=fresh_cds(patient(), obs("ca", "ica", 0.7)))
    assert r.headers["cache-control"] == "no-store"


def test_a_result_dated_only_by_its_day_says_so() -> None:
    body = bundle(
        patient(), obs("ca", "ica", 0.8), obs("d", "vitd", 12, "ng/mL", when="2026-11-19")
    )
    used = {u.finding: u for u in import_fhir(ALGORITHM, body).used}
    assert "no time of day" in used["vitamin_d_25oh"].note
    assert "no time of day" not in used["ionized_calcium"].note
