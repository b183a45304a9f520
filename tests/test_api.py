"""The JSON API on the tiny fixture."""

from __future__ import annotations

from fastapi.testclient import TestClient


def walk(client: TestClient, findings: dict, missing: str = "ask"):
    return client.post("/api/algorithms/tiny/walk", json={"findings": findings, "missing": missing})


def test_list_and_definition(tiny_client: TestClient) -> None:
    listing = tiny_client.get("/api/algorithms").json()
    assert listing == [
        {
            "id": "tiny",
            "title": "Tiny fixture",
            "version": "1",
            "reviewed": "2026-11-22",
            "summary": "One of each node kind.",
            "url": "/algorithms/tiny",
        }
    ]
    definition = tiny_client.get("/api/algorithms/tiny").json()
    assert [n["id"] for n in definition["nodes"]][:2] == ["symptoms", "seizure-check"]
    assert definition["findings"]["magnesium"]["unit"] == "mmol/L"


def test_walk_asks_the_next_finding(tiny_client: TestClient) -> None:
    body = walk(tiny_client, {"seizures": False}).json()
    assert body["status"] == "question"
    assert body["node"]["id"] == "patient"
    assert body["node"]["asks"][0]["key"] == "feeding"
    assert body["node"]["asks"][0]["options"] == {"breast": "Breast milk", "formula": "Formula"}
    assert body["url"] == "/algorithms/tiny?seizures=no"


def test_walk_to_a_result_with_unknowns(tiny_client: TestClient) -> None:
    r = walk(
        tiny_client,
        {"seizures": True, "magnesium": {"value": 0.9, "unit": "mg/dL"}, "age": 400},
        "unknown",
    )
    body = r.json()
    assert r.status_code == 200
    assert body["status"] == "result"
    # 0.9 mg/dL = 0.37 mmol/L: low, and very low for a child; each has one key finding, so the
    # result's own order breaks the tie and the context diagnosis comes last.
    assert [d["id"] for d in body["differential"]] == ["low_mg", "very_low_mg", "seizure_context"]
    second = body["differential"][1]
    assert second["supporting_findings"] == ["magnesium very low"]
    assert second["next_tests"] == ["genetics"]
    assert body["differential"][0]["sources"][0]["citation"] == "A fixture source"
    assert body["alerts"] == [
        {"node": "emergency", "title": "Emergency care", "severity": "emergency"}
    ]
    # the URL reopens exactly this state: the findings counted as unknown are written out
    assert body["url"] == (
        "/algorithms/tiny?seizures=yes&magnesium=0.9mg/dL&age=400days"
        "&emergency_steps_reviewed=unknown&feeding=unknown"
    )


def test_walk_url_reopens_the_same_step(tiny_client: TestClient) -> None:
    body = walk(tiny_client, {"seizures": False, "feeding": "breast"}, "unknown").json()
    page = tiny_client.get(body["url"])
    assert page.status_code == 200
    assert 'data-status="result"' in page.text


def test_bad_input_gets_a_4xx_with_a_message(tiny_client: TestClient) -> None:
    bad_json = tiny_client.post(
        "/api/algorithms/tiny/walk",
        content=b'{"findings": ',
        headers={"content-type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json() == {"detail": "The body is not valid JSON."}
    wrong_unit = walk(tiny_client, {"magnesium": {"value": 0.8, "unit": "g"}})
    assert wrong_unit.status_code == 422
    assert wrong_unit.json()["detail"][0]["finding"] == "magnesium"
    unknown = walk(tiny_client, {"sodium": 140})
    assert unknown.status_code == 422
    assert "not a finding" in unknown.json()["detail"][0]["message"]
    bad_mode = tiny_client.post(
        "/api/algorithms/tiny/walk", json={"findings": {}, "missing": "guess"}
    )
    assert bad_mode.status_code == 422
    not_object = tiny_client.post("/api/algorithms/tiny/walk", json=[1, 2])
    assert not_object.status_code == 422
    missing = tiny_client.post("/api/algorithms/nothing/walk", json={"findings": {}})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "There is no algorithm called 'nothing'."}


def test_openapi_is_served(tiny_client: TestClient) -> None:
    spec = tiny_client.get("/openapi.json").json()
    assert "/api/algorithms/{algorithm_id}/walk" in spec["paths"]
