"""Findings in the URL and in JSON: parsing, clear refusals, and exact round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.models import Algorithm
from app.engine.values import (
    UNKNOWN,
    FindingError,
    Quantity,
    findings_from_json,
    findings_from_pairs,
    findings_to_json,
    findings_to_pairs,
)
from app.urlstate import StateError, parse_state


def test_url_values_are_readable(tiny: Algorithm) -> None:
    findings = findings_from_pairs(
        tiny,
        [
            ("age", "2months"),
            ("seizures", "yes"),
            ("magnesium", "0.3mmol/L"),
            ("feeding", "unknown"),
        ],
    )
    assert findings == {
        "age": Quantity(2, "months"),
        "seizures": True,
        "magnesium": Quantity(0.3, "mmol/L"),
        "feeding": UNKNOWN,
    }
    assert findings_to_pairs(findings) == [
        ("age", "2months"),
        ("seizures", "yes"),
        ("magnesium", "0.3mmol/L"),
        ("feeding", "unknown"),
    ]


def test_units_are_matched_without_regard_to_case(tiny: Algorithm) -> None:
    findings = findings_from_pairs(tiny, [("magnesium", "1.2 MG/DL")])
    assert findings["magnesium"] == Quantity(1.2, "mg/dL")


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (
            [("magnesium", "0.3g/L")],
            "the unit 'g/L' is not accepted for magnesium; use mmol/L, mg/dL",
        ),
        ([("magnesium", "9mmol/L")], "9 looks like a value in mg/dL"),
        ([("magnesium", "-1mmol/L")], "outside the possible range"),
        ([("magnesium", "lots")], "write a number followed by its unit"),
        ([("seizures", "maybe")], "answer yes, no or unknown"),
        ([("feeding", "juice")], "choose one of breast, formula or unknown"),
        ([("sodium", "140")], "not a finding of this algorithm"),
        ([("seizures", "yes"), ("seizures", "no")], "given more than once"),
        ([("age", "1" * 50)], "too long"),
    ],
)
def test_bad_url_values_are_refused_clearly(tiny: Algorithm, pairs, message: str) -> None:
    with pytest.raises(FindingError, match=message):
        findings_from_pairs(tiny, pairs)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"seizures": "yes"}, 'expected true, false or "unknown"'),
        ({"seizures": 1}, 'expected true, false or "unknown"'),
        ({"magnesium": True}, "expected a number"),
        ({"magnesium": {"value": "0.3"}}, "`value` must be a number"),
        ({"magnesium": {"value": 0.3, "unit": "mmol/L", "extra": 1}}, "expected a number"),
        ({"magnesium": {"value": 30, "unit": "mmol/L"}}, "outside the possible range"),
    ],
)
def test_bad_json_values_are_refused_clearly(tiny: Algorithm, body, message: str) -> None:
    with pytest.raises(FindingError, match=message):
        findings_from_json(tiny, body)


def test_bare_json_number_is_in_the_canonical_unit(tiny: Algorithm) -> None:
    assert findings_from_json(tiny, {"magnesium": 0.5}) == {"magnesium": Quantity(0.5, "mmol/L")}


def quantity(unit: str, low: float, high: float) -> st.SearchStrategy[dict[str, object]]:
    return st.floats(low, high, allow_nan=False).map(lambda v: {"value": round(v, 3), "unit": unit})


STATES = st.fixed_dictionaries(
    {},
    optional={
        "age": st.one_of(quantity("days", 0, 6000), quantity("months", 0, 200), st.just(UNKNOWN)),
        "seizures": st.one_of(st.booleans(), st.just(UNKNOWN)),
        "feeding": st.sampled_from(["breast", "formula", UNKNOWN]),
        "magnesium": st.one_of(quantity("mmol/L", 0.05, 5), quantity("mg/dL", 0.2, 12)),
    },
)


@settings(max_examples=150, deadline=None)
@given(STATES)
def test_url_and_json_round_trip_exactly(tiny: Algorithm, body: dict[str, object]) -> None:
    findings = findings_from_json(tiny, body)
    pairs = findings_to_pairs(findings)
    again = findings_from_pairs(tiny, pairs)
    assert again == findings
    assert findings_to_pairs(again) == pairs
    assert findings_from_json(tiny, findings_to_json(again)) == findings


def test_step_form_is_merged_with_the_answers_appended(tiny: Algorithm) -> None:
    state = parse_state(
        tiny,
        [
            ("seizures", "no"),
            ("feeding", "breast"),
            ("from", "labs"),
            ("age", "2"),
            ("unit.age", "months"),
            ("magnesium", ""),
            ("unit.magnesium", "mmol/L"),
        ],
    )
    assert state.submission is None
    assert list(state.findings.items()) == [
        ("seizures", False),
        ("feeding", "breast"),
        ("age", Quantity(2, "months")),
        ("magnesium", UNKNOWN),
    ]


def test_step_form_errors_stay_on_the_step(tiny: Algorithm) -> None:
    state = parse_state(tiny, [("seizures", "no"), ("from", "patient")])
    assert state.edit == "patient"
    assert state.submission is not None
    assert state.submission.errors == {"feeding": "Feeding: choose an answer (or 'not known')."}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("view", "fullscreen")], "view must be one of"),
        ([("edit", "nowhere")], "there is no step 'nowhere'"),
        ([("from", "labs"), ("unit.seizures", "x")], "not a field of this form"),
        ([("unit.age", "days")], "a form field was given without its step form"),
        ([("edit", "labs"), ("edit", "patient")], "edit is given more than once"),
        ([("seizures", "no")] * 200, "too many parameters"),
    ],
)
def test_tampered_state_is_refused(tiny: Algorithm, pairs, message: str) -> None:
    with pytest.raises(StateError, match=message):
        parse_state(tiny, pairs)


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=6))
def test_query_string_matches_the_standard_encoding(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import quote, urlencode

    from app.urlstate import query_string

    assert query_string(pairs) == urlencode(pairs, quote_via=quote, safe="/")


def test_an_answer_given_again_unchanged_keeps_its_place(tiny: Algorithm) -> None:
    # Labs typed first, then the questions: going back to "patient" and continuing unchanged
    # must not move the answer, or later steps would look answered by earlier values.
    state = parse_state(
        tiny,
        [
            ("age", "2months"),
            ("seizures", "no"),
            ("was.feeding", "formula"),
            ("from", "patient"),
            ("feeding", "formula"),
        ],
    )
    assert list(state.findings) == ["age", "seizures", "feeding"]
    changed = parse_state(
        tiny,
        [
            ("was.feeding", "formula"),
            ("seizures", "no"),
            ("from", "patient"),
            ("feeding", "breast"),
        ],
    )
    assert list(changed.findings.items()) == [("seizures", False), ("feeding", "breast")]


def test_labs_form_drops_edit_keeps_unknowns_and_keeps_the_state_when_refused(
    tiny: Algorithm,
) -> None:
    ok = parse_state(
        tiny,
        [
            ("seizures", "no"),
            ("was.magnesium", "unknown"),
            ("from", "*labs"),
            ("magnesium", "unknown"),
            ("age", "3"),
            ("unit.age", "days"),
        ],
    )
    assert list(ok.findings.items()) == [
        ("seizures", False),
        ("magnesium", UNKNOWN),
        ("age", Quantity(3, "days")),
    ]
    assert ok.edit is None
    refused = parse_state(
        tiny,
        [
            ("seizures", "no"),
            ("was.magnesium", "0.8mmol/L"),
            ("from", "*labs"),
            ("magnesium", "0.8x"),
            ("unit.magnesium", "mmol/L"),
        ],
    )
    assert refused.submission is not None and "magnesium" in refused.submission.errors
    assert refused.findings == {"seizures": False, "magnesium": Quantity(0.8, "mmol/L")}


def test_tiny_numbers_never_use_exponent_notation(tiny: Algorithm) -> None:
    findings = findings_from_json(tiny, {"age": {"value": 0.00001, "unit": "days"}})
    assert findings_to_pairs(findings) == [("age", "0.00001days")]
    assert findings_from_pairs(tiny, findings_to_pairs(findings)) == findings
