"""The 3 a.m. path on the real algorithm: tick-all-that-apply lists, the emergency step with its
dose card (tests/test_doses.py), and ages that never fall into a silent default unit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from scenario_support import ALGORITHM

from app.engine.values import UNKNOWN, Quantity, findings_from_pairs
from app.engine.walk import walk
from app.factory import create_app
from app.settings import PROJECT_ROOT, Settings
from app.urlstate import parse_state

RED_FLAGS = ALGORITHM.node("red-flags").asks


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(
        create_app(Settings(algorithms_dir=PROJECT_ROOT / "algorithms")), follow_redirects=False
    )


# --------------------------------------------------------------------------- tick-all-that-apply


def form(node: str, *pairs: tuple[str, str]) -> list[tuple[str, str]]:
    return [("from", node), *pairs]


def test_ticked_boxes_are_yes_and_the_rest_no() -> None:
    state = parse_state(ALGORITHM, form("red-flags", ("seizures", "yes")))
    assert state.submission is None
    assert state.findings["seizures"] is True
    assert all(state.findings[k] is False for k in RED_FLAGS if k != "seizures")
    assert walk(ALGORITHM, state.findings).node.id == "emergency-care"


def test_none_of_these_answers_the_whole_list_no() -> None:
    state = parse_state(ALGORITHM, form("red-flags", ("all", "no")))
    assert all(state.findings[k] is False for k in RED_FLAGS)
    assert walk(ALGORITHM, state.findings).node.id == "patient-age"


def test_a_ticked_red_flag_wins_over_none_of_these() -> None:
    state = parse_state(ALGORITHM, form("red-flags", ("apnea", "yes"), ("all", "no")))
    assert state.findings["apnea"] is True


def test_an_untouched_list_is_asked_again_with_a_message_naming_it() -> None:
    state = parse_state(ALGORITHM, form("red-flags"))
    assert state.submission is not None
    assert "None of these" in state.submission.errors["seizures"]


def test_a_context_list_can_be_skipped_as_a_whole() -> None:
    state = parse_state(ALGORITHM, form("illness-context", ("all", "unknown")))
    node = ALGORITHM.node("illness-context")
    assert all(state.findings[k] == "unknown" for k in node.asks)


# --------------------------------------------------------------------------- age without a trap


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("9m", Quantity(9, "months")),
        ("9 mo", Quantity(9, "months")),
        ("5d", Quantity(5, "days")),
        ("3w", Quantity(3, "weeks")),
        ("2y", Quantity(2, "years")),
        ("36h", Quantity(36, "hours")),
        ("1.5 yrs", Quantity(1.5, "years")),
    ],
)
def test_age_takes_short_units_in_the_form_and_the_url(typed: str, expected: Quantity) -> None:
    state = parse_state(ALGORITHM, form("patient-age", ("age", typed), ("unit.age", "")))
    assert state.submission is None and state.findings["age"] == expected
    assert findings_from_pairs(ALGORITHM, [("age", typed.replace(" ", ""))]) == {"age": expected}


def test_a_bare_age_is_asked_back_with_the_likely_units() -> None:
    state = parse_state(ALGORITHM, form("patient-age", ("age", "9"), ("unit.age", "")))
    assert state.submission is not None
    message = state.submission.errors["age"]
    assert "months" in message and "9m" in message


def test_a_bare_age_with_its_unit_chosen_is_accepted() -> None:
    state = parse_state(ALGORITHM, form("patient-age", ("age", "9"), ("unit.age", "months")))
    assert state.findings["age"] == Quantity(9, "months")


def test_a_short_age_in_the_url_redirects_to_the_canonical_spelling(client: TestClient) -> None:
    response = client.get("/algorithms/hypocalcemia?age=9m")
    assert response.status_code == 303
    assert response.headers["location"].endswith("?age=9months")


# --------------------------------------------------------------------------- the emergency form


def test_age_and_weight_on_the_emergency_step_do_not_hold_the_walk() -> None:
    ticked = [(k, "yes" if k == "seizures" else "no") for k in RED_FLAGS]
    doses_only = parse_state(
        ALGORITHM,
        [
            *ticked,
            ("from", "emergency-care"),
            ("age", "9m"),
            ("unit.age", ""),
            ("weight", "8.2"),
            ("unit.weight", "kg"),
        ],
    )
    assert doses_only.submission is None
    assert doses_only.findings["weight"] == Quantity(8.2, "kg")
    assert walk(ALGORITHM, doses_only.findings).node.id == "emergency-care"  # not acknowledged
    seen = parse_state(
        ALGORITHM,
        [
            *ticked,
            ("from", "emergency-care"),
            ("age", ""),
            ("unit.age", ""),
            ("weight", ""),
            ("unit.weight", "kg"),
            ("emergency_steps_reviewed", "yes"),
        ],
    )
    assert seen.submission is None
    assert walk(ALGORITHM, seen.findings).node.id == "patient-age"
    nothing = parse_state(ALGORITHM, [*ticked, ("from", "emergency-care")])
    assert nothing.submission is not None


# --------------------------------------------------------------------------- pasted results


def test_pasted_results_are_read_by_their_report_names() -> None:
    text = (
        "Ca 1.6 mmol/L, Mg 0.8, PO4 1.0; PTH 250 pg/mL 25(OH)D 12 nmol/L ALP 1200 CK 20000 Age 9m"
    )
    state = parse_state(ALGORITHM, [("from", "*labs"), ("paste", text), ("magnesium", "")])
    assert state.submission is None
    f = state.findings
    assert f["total_calcium"] == Quantity(1.6, "mmol/L")
    assert f["magnesium"] == Quantity(0.8, "mmol/L")  # no unit written: the canonical unit
    assert f["pth"] == Quantity(250, "pg/mL")
    assert f["vitamin_d_25oh"] == Quantity(12, "nmol/L")
    assert f["alkaline_phosphatase"] == Quantity(1200, "U/L")
    assert f["age"] == Quantity(9, "months")
    # "CK" is not a creatinine, nor potassium (creatinine shares a step with phosphate, so it
    # is recorded as not done).
    assert not isinstance(f.get("creatinine"), Quantity)
    assert not isinstance(f.get("potassium"), Quantity)


def test_a_lab_step_the_labs_form_answered_is_never_asked_again() -> None:
    """Total calcium typed on the labs form, ionised calcium, albumin and pH left empty: the
    confirmation says the Calcium step is answered, so the walk must not stop there to ask the
    three empty fields. A step the form gave nothing for is still asked."""
    state = parse_state(
        ALGORITHM,
        [("from", "*labs"), ("age", "9m"), ("total_calcium", "1.6"), ("magnesium", "0.8")],
    )
    f = state.findings
    assert f["ionized_calcium"] == f["albumin"] == f["blood_ph"] == UNKNOWN
    assert "pth" not in f  # its step got no value: still asked
    pairs = [(k, "yes" if k == "seizures" else "no") for k in ALGORITHM.node("red-flags").asks]
    findings = {**f, **findings_from_pairs(ALGORITHM, pairs), "emergency_steps_reviewed": True}
    step = walk(ALGORITHM, findings)
    asked = [e.node.id for e in step.trail if not e.auto and not e.node.computed]
    assert "calcium-levels" not in asked and step.node.id != "calcium-levels"


def test_pasted_names_as_laboratories_print_them_are_read() -> None:
    text = (
        "Calcium, Ionized 1.02 mmol/L\n"
        "Parathyroid Hormone, Intact 250 pg/mL\n"
        "Vitamin D, 25-Hydroxy 12 nmol/L\n"
        "Calcium.ionized [Moles/volume] in Blood 1.1 mmol/L\n"  # a LOINC long common name
        "Collected 05/12/2026 08:00\n"
    )
    state = parse_state(ALGORITHM, [("from", "*labs"), ("paste", text)])
    assert state.submission is None
    f = state.findings
    assert f["ionized_calcium"] == Quantity(1.02, "mmol/L")  # the first of the two
    assert f["pth"] == Quantity(250, "pg/mL")
    assert f["vitamin_d_25oh"] == Quantity(12, "nmol/L")


def test_a_pasted_line_with_a_value_that_cannot_be_read_is_named_not_dropped() -> None:
    """ "6 lines pasted, 3 values recorded" once happened without a word."""
    text = "Mg 0.8 mmol/L\nOsteocalcin 40 ng/mL\nCa 1.6 mmol/L\nCollected 05/12/2026 08:00"
    state = parse_state(ALGORITHM, [("from", "*labs"), ("paste", text)])
    assert state.submission is not None
    message = state.submission.errors["paste"]
    assert "“Osteocalcin 40 ng/mL”" in message and "Collected" not in message


def test_a_value_typed_in_its_field_wins_over_the_pasted_one() -> None:
    state = parse_state(
        ALGORITHM,
        [
            ("from", "*labs"),
            ("paste", "Mg 0.5"),
            ("magnesium", "0.8"),
            ("unit.magnesium", "mmol/L"),
        ],
    )
    assert state.findings["magnesium"] == Quantity(0.8, "mmol/L")


def test_a_pasted_unit_slip_is_refused_with_the_likely_unit() -> None:
    state = parse_state(ALGORITHM, [("from", "*labs"), ("paste", "Calcium 9.2")])
    assert state.submission is not None
    assert "mg/dL" in state.submission.errors["paste"]


def test_pasted_text_with_no_lab_value_is_refused() -> None:
    state = parse_state(ALGORITHM, [("from", "*labs"), ("paste", "patient seizing, labs pending")])
    assert state.submission is not None
    assert "no lab value was recognised" in state.submission.errors["paste"]


def test_paste_belongs_to_the_labs_form_only() -> None:
    from app.urlstate import StateError

    with pytest.raises(StateError):
        parse_state(ALGORITHM, [("paste", "Mg 0.8")])


# --------------------------------------------------------------------------- other keyboards


def test_digits_of_other_scripts_and_a_decimal_comma_read_as_the_same_number() -> None:
    # Arabic-Indic digits with the Arabic decimal separator, Persian digits, a decimal comma.
    state = parse_state(
        ALGORITHM,
        [
            ("from", "*labs"),
            ("ionized_calcium", "٠٫٨"),
            ("magnesium", "۰٫۶ mmol/L"),
            ("pth", "12,5 pg/mL"),
            ("age", "٩m"),
        ],
    )
    assert state.submission is None, state.submission and state.submission.errors
    f = state.findings
    assert f["ionized_calcium"] == Quantity(0.8, "mmol/L")
    assert f["magnesium"] == Quantity(0.6, "mmol/L")
    assert f["pth"] == Quantity(12.5, "pg/mL")
    assert f["age"] == Quantity(9, "months")


def test_a_comma_that_could_separate_thousands_is_asked_back_not_guessed() -> None:
    state = parse_state(ALGORITHM, [("from", "*labs"), ("pth", "1,250 pg/mL")])
    assert state.submission is not None
    message = state.submission.errors["pth"]
    assert "1.250" in message and "1250" in message
    pasted = parse_state(ALGORITHM, [("from", "*labs"), ("paste", "PTH 1,250 pg/mL, Mg 0,7")])
    assert pasted.submission is not None
    assert "without the comma" in pasted.submission.errors["paste"]
    assert "pth" not in pasted.findings


def test_pasted_report_in_arabic_digits_is_read() -> None:
    state = parse_state(ALGORITHM, [("from", "*labs"), ("paste", "Ca ١٫٦ mmol/L, Mg ٠٫٥")])
    assert state.submission is None
    assert state.findings["total_calcium"] == Quantity(1.6, "mmol/L")
    assert state.findings["magnesium"] == Quantity(0.5, "mmol/L")
