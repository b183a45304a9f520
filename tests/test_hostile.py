"""Hostile and broken input: a clear 4xx message for each, never a 5xx, never reflected raw."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCRIPT = "<script>alert(1)</script>"
PAGE = "/algorithms/hypocalcemia"
WALK = "/api/algorithms/hypocalcemia/walk"

# (description, path with query, expected status, text the message must contain)
PAGES = [
    ("unknown finding", f"{PAGE}?sodium=140mmol/L", 400, "not a finding"),
    ("unknown finding with script name", f"{PAGE}?{SCRIPT}=1", 400, "not a finding"),
    ("script as a value", f"{PAGE}?seizures={SCRIPT}", 400, "answer yes, no or unknown"),
    ("script as a unit", f"{PAGE}?total_calcium=2{SCRIPT}", 400, "is not accepted"),
    ("wrong unit", f"{PAGE}?total_calcium=2.1g/L", 400, "is not accepted"),
    (
        "mg/dL value typed as mmol/L",
        f"{PAGE}?total_calcium=9mmol/L",
        400,
        "looks like a value in mg/dL",
    ),
    ("negative value", f"{PAGE}?magnesium=-0.5mmol/L", 400, "outside the possible range"),
    ("absurd age", f"{PAGE}?age=300years", 400, "outside the possible range"),
    ("not a number", f"{PAGE}?pth=high", 400, "write a number"),
    ("NaN", f"{PAGE}?pth=nan", 400, "write a number"),
    ("infinity", f"{PAGE}?pth=inf", 400, "write a number"),
    ("exponent", f"{PAGE}?pth=1e308pg/mL", 400, ""),
    ("missing number", f"{PAGE}?pth=pg/mL", 400, "write a number"),
    ("empty value", f"{PAGE}?seizures=", 400, "answer yes, no or unknown"),
    ("repeated finding", f"{PAGE}?seizures=yes&seizures=no", 400, "more than once"),
    (
        "deeply repeated parameter",
        f"{PAGE}?" + "&".join(["seizures=yes"] * 150),
        400,
        "too many parameters",
    ),
    ("huge value", f"{PAGE}?seizures=" + "y" * 3000, 400, "too long"),
    ("huge query", f"{PAGE}?" + "a" * 9000, 414, "too long"),
    ("unknown node in edit", f"{PAGE}?edit=no-such-step", 400, "no step"),
    ("script in edit", f"{PAGE}?edit={SCRIPT}", 400, "no step"),
    ("repeated edit", f"{PAGE}?edit=a&edit=b", 400, "more than once"),
    ("unknown view", f"{PAGE}?view=admin", 400, "view must be one of"),
    ("unknown step in from", f"{PAGE}?from=nowhere", 400, "no step"),
    ("unit without its form", f"{PAGE}?unit.pth=pg/mL", 400, "without its step form"),
    ("old value without its form", f"{PAGE}?was.pth=12pg/mL", 400, "without its step form"),
    ("from a decision", f"{PAGE}?from=red-flag-check", 400, "to answer"),
    ("edit a result", f"{PAGE}?edit=early-neonatal", 400, "to change"),
    ("unknown algorithm", "/algorithms/nothing", 404, "no algorithm"),
    ("path traversal", "/algorithms/..%2F..%2Fetc%2Fpasswd", 404, ""),
    ("path traversal in static", "/static/..%2F..%2Fapp%2Fsettings.py", 404, ""),
    ("dot-dot static", "/static/../pyproject.toml", 404, ""),
    ("map with bad state", f"{PAGE}/map?seizures=perhaps", 400, "answer yes, no or unknown"),
    ("null byte", f"{PAGE}?seizures=yes%00", 400, "answer yes, no or unknown"),
    ("unicode digits", f"{PAGE}?pth=\u0663\u0660pg/mL", 400, ""),
]


@pytest.mark.parametrize(("name", "url", "status", "message"), PAGES, ids=[p[0] for p in PAGES])
def test_hostile_page_requests(
    client: TestClient, name: str, url: str, status: int, message: str
) -> None:
    r = client.get(url, follow_redirects=False)
    assert r.status_code == status, r.text[:300]
    assert message.lower() in r.text.lower()
    assert SCRIPT not in r.text
    assert "Traceback" not in r.text


API = [
    ("malformed JSON", b'{"findings": {', 400, "not valid JSON"),
    ("JSON array", b"[1, 2, 3]", 422, ""),
    ("JSON string", b'"findings"', 422, ""),
    ("findings not an object", b'{"findings": [1]}', 422, ""),
    ("unknown top-level field", b'{"findings": {}, "admin": true}', 422, "Extra inputs"),
    ("bad missing mode", b'{"findings": {}, "missing": "guess"}', 422, ""),
    ("unknown finding", b'{"findings": {"sodium": 140}}', 422, "not a finding"),
    ("script finding key", b'{"findings": {"<script>": 1}}', 422, "not a finding"),
    ("string for yes/no", b'{"findings": {"seizures": "yes"}}', 422, "expected true, false"),
    ("number for yes/no", b'{"findings": {"seizures": 1}}', 422, "expected true, false"),
    ("boolean for a lab", b'{"findings": {"pth": false}}', 422, "expected a number"),
    (
        "wrong unit",
        b'{"findings": {"total_calcium": {"value": 2, "unit": "g"}}}',
        422,
        "not accepted",
    ),
    (
        "impossible value",
        b'{"findings": {"total_calcium": {"value": 9, "unit": "mmol/L"}}}',
        422,
        "mg/dL",
    ),
    ("string value", b'{"findings": {"pth": {"value": "12"}}}', 422, "must be a number"),
    ("huge number", b'{"findings": {"pth": 1e400}}', 422, ""),
    ("huge integer", b'{"findings": {"age": 1' + b"0" * 400 + b"}}", 422, "far too large"),
    ("deeply nested", b'{"findings": {"pth": ' + b"[" * 500 + b"]" * 500 + b"}}", 422, ""),
    (
        "oversized body",
        b'{"findings": {' + b",".join(b'"k%d": 1' % i for i in range(5000)) + b"}}",
        422,
        "",
    ),
]


@pytest.mark.parametrize(("name", "body", "status", "message"), API, ids=[a[0] for a in API])
def test_hostile_api_requests(
    client: TestClient, name: str, body: bytes, status: int, message: str
) -> None:
    r = client.post(WALK, content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text[:300]
    assert message.lower() in r.text.lower()
    assert r.headers["content-type"].startswith("application/json")  # never HTML from the API


KEYS = [
    "age",
    "seizures",
    "total_calcium",
    "ionized_calcium",
    "magnesium",
    "pth",
    "phosphate",
    "vitamin_d_25oh",
    "edit",
    "view",
    "from",
    "unit.pth",
    "critically_ill",
    "x",
]
VALUES = st.one_of(
    st.sampled_from(
        ["yes", "no", "unknown", "2months", "0.8mmol/L", "9mg/dL", "12pg/mL", "present", ""]
    ),
    st.text(max_size=12),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=12))
def test_fuzzed_url_state_never_errors_on_the_server(
    client: TestClient, pairs: list[tuple[str, str]]
) -> None:
    r = client.get(PAGE, params=pairs, follow_redirects=True)
    assert r.status_code < 500, (pairs, r.text[:300])


JSON_VALUES = st.one_of(
    st.booleans(),
    st.just("unknown"),
    st.none(),
    st.integers(-10, 10_000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.fixed_dictionaries(
        {
            "value": st.floats(-1, 5000),
            "unit": st.sampled_from(
                [
                    "mmol/L",
                    "mg/dL",
                    "pg/mL",
                    "pmol/L",
                    "nmol/L",
                    "ng/mL",
                    "months",
                    "days",
                    "g/L",
                    "x",
                ]
            ),
        }
    ),
    st.text(max_size=8),
)
API_KEYS = [
    "age",
    "seizures",
    "tetany",
    "total_calcium",
    "ionized_calcium",
    "albumin",
    "magnesium",
    "pth",
    "phosphate",
    "vitamin_d_25oh",
    "vitamin_d_1_25",
    "critically_ill",
    "bogus",
]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(st.sampled_from(API_KEYS), JSON_VALUES, max_size=10),
    st.sampled_from(["ask", "unknown"]),
)
def test_fuzzed_walk_api_never_errors_on_the_server(
    client: TestClient, findings: dict, missing: str
) -> None:
    r = client.post(WALK, json={"findings": findings, "missing": missing})
    assert r.status_code in (200, 422), r.text[:300]
    if r.status_code == 200 and missing == "unknown":
        assert r.json()["status"] == "result"
