"""The 3 a.m. path on the real algorithm: tick-all-that-apply lists, the emergency step with its
dose cards, and ages that never fall into a silent default unit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from scenario_support import ALGORITHM

from app.engine.conditions import Patient
from app.engine.doses import dose_cards, round_ml, volume_for
from app.engine.models import Dose
from app.engine.values import Quantity, findings_from_pairs
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


def dose(**fields: object) -> Dose:
    return Dose.model_validate(
        {"drug": "Calcium gluconate 10%", "population": "x", "source": "s"} | fields
    )


# --------------------------------------------------------------------------- dose arithmetic


def test_volumes_round_half_up_to_a_tenth_of_a_millilitre() -> None:
    assert round_ml(4.05) == 4.1
    assert round_ml(4.04) == 4.0
    assert round_ml(0.25) == 0.3
    assert volume_for(dose(ml_per_kg_low=0.5), 8.2) == volume_for(dose(ml_per_kg_low=0.5), 8.2)
    single = volume_for(dose(ml_per_kg_low=0.5), 8.2)
    assert single is not None and (single.low_ml, single.high_ml, single.capped) == (
        4.1,
        None,
        False,
    )


def test_a_range_is_scaled_at_both_ends() -> None:
    volume = volume_for(dose(ml_per_kg_low=1, ml_per_kg_high=2), 3.45)
    assert volume is not None and (volume.low_ml, volume.high_ml) == (3.5, 6.9)


def test_volumes_never_exceed_the_source_maximum() -> None:
    """SA STG children: 1-2 mL/kg, maximum 10 mL. For 8.2 kg: 8.2 to 10 mL, not 16.4."""
    volume = volume_for(dose(ml_per_kg_low=1, ml_per_kg_high=2, max_ml=10), 8.2)
    assert volume is not None
    assert (volume.low_ml, volume.high_ml, volume.capped) == (8.2, 10, True)
    both = volume_for(dose(ml_per_kg_low=1, ml_per_kg_high=2, max_ml=10), 30)
    assert both is not None and (both.low_ml, both.high_ml, both.capped) == (10, None, True)


def test_no_volume_without_a_per_kg_dose_or_a_weight() -> None:
    assert volume_for(dose(), 8.2) is None
    assert volume_for(dose(ml_per_kg_low=1), 0) is None


def test_dose_cards_keep_the_rows_for_the_child_s_age() -> None:
    emergency = ALGORITHM.node("emergency-care")
    infant = dose_cards(emergency.doses, Patient(age_days=274, birth_weight_g=None), 8.2)
    sources = {r.dose.source for card in infant for r in card.rows}
    assert "kidshealthwa" in sources and "vuralli2019" in sources
    assert not sources & {"rch_piper", "anmf2018", "smpc_cagluc", "lothian_neonatal"}
    assert [c.drug for c in infant] == ["Calcium gluconate 10%", "Magnesium sulfate 50%"]
    kids = next(r for r in infant[0].rows if r.dose.source == "kidshealthwa")
    assert kids.volume is not None and kids.volume.low_ml == 4.1  # 0.5 mL/kg x 8.2 kg
    newborn = dose_cards(emergency.doses, Patient(age_days=3, birth_weight_g=None), None)
    newborn_sources = {r.dose.source for card in newborn for r in card.rows}
    assert "rch_piper" in newborn_sources and "kidshealthwa" not in newborn_sources
    unknown_age = dose_cards(emergency.doses, Patient(age_days=None, birth_weight_g=None), None)
    assert sum(len(c.rows) for c in unknown_age) == len(emergency.doses)


def test_the_emergency_page_shows_volumes_for_this_child(client: TestClient) -> None:
    flags = "&".join(f"{k}={'yes' if k == 'seizures' else 'no'}" for k in RED_FLAGS)
    page = client.get(f"/algorithms/hypocalcemia?{flags}&age=9months&weight=8.2kg")
    assert page.status_code == 200
    text = page.text
    assert text.index("Check magnesium") < text.index("Doses as the named sources report them")
    assert "4.1\u00a0mL" in text  # KidsHealth WA, 0.5 mL/kg
    assert "capped at this source&#39;s maximum, 10 mL" in text  # SA STG children, max 10 mL
    assert "RCH PIPER" not in text.split("All reported doses")[0]  # neonatal rows only in the table


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
    assert "creatinine" not in f  # "CK" is not a creatinine, nor potassium
    assert "potassium" not in f


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
