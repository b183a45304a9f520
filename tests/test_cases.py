"""Clinical accuracy on published cases: every case is well formed, and the figures that
`make cases` prints never fall below their floors.

The floors are the figures measured when the set last changed. A change to the reasoning that
lowers them fails here; read the misses (`make cases`) before changing the reasoning, and never
adjust a case to what the app answers.
"""

from __future__ import annotations

import pytest
from published_cases import figures, load_cases, run
from scenario_support import ALGORITHM

from app.engine.values import findings_from_json

CASES = load_cases()

MIN_CASES = 53
FLOOR_MAIN_LIST = 0.98
FLOOR_TOP3 = 0.96
FLOOR_FIRST = 0.69


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_is_a_published_report_in_the_shared_vocabulary(case) -> None:  # type: ignore[no-untyped-def]
    assert case.citation.strip() and case.url.startswith(("http://", "https://")), case.id
    assert case.diagnosis in ALGORITHM.diagnoses, case.diagnosis
    assert set(case.also) <= set(ALGORITHM.diagnoses), case.also
    assert set(case.findings) <= set(ALGORITHM.findings), set(case.findings) - set(
        ALGORITHM.findings
    )
    findings_from_json(ALGORITHM, case.findings)  # values and units parse, or FindingError


def test_the_published_diagnosis_stays_in_the_differential() -> None:
    outcomes = [run(ALGORITHM, case) for case in CASES]
    f = figures(outcomes)
    assert f.total >= MIN_CASES
    misses = [(o.case.id, o.case.diagnosis, o.ranked[:3]) for o in outcomes if not o.in_top3]
    assert f.main_list / f.total >= FLOOR_MAIN_LIST, misses
    assert f.top3 / f.total >= FLOOR_TOP3, misses
    assert f.first / f.total >= FLOOR_FIRST, misses


def test_the_walk_api_answers_every_published_case_as_the_engine_does() -> None:
    """Cases are also judged through the walk API, with the findings a report leaves out either
    omitted (`"missing": "unknown"`) or sent as `"unknown"`: both must give the differential the
    engine gives, in the same order, ending at the same result."""
    from fastapi.testclient import TestClient

    from app.factory import create_app
    from app.settings import PROJECT_ROOT, Settings

    client = TestClient(create_app(Settings(algorithms_dir=PROJECT_ROOT / "algorithms")))
    for case in CASES:
        expected = run(ALGORITHM, case).ranked
        every = {k: "unknown" for k in ALGORITHM.findings} | case.findings
        for body in (
            {"findings": case.findings, "missing": "unknown"},
            {"findings": every, "missing": "ask"},
        ):
            response = client.post("/api/algorithms/hypocalcemia/walk", json=body)
            assert response.status_code == 200, (case.id, response.text)
            answer = response.json()
            assert answer["status"] == "result", (case.id, body["missing"], answer["node"])
            got = [d["id"] for d in answer["differential"]]
            assert got == list(expected), (case.id, body["missing"])
