"""The walk on the tiny fixture algorithm: one engine feature per test."""

from __future__ import annotations

import pytest

from app.engine.conditions import patient_of
from app.engine.models import Algorithm, DecisionNode
from app.engine.values import UNKNOWN, Quantity, findings_from_json
from app.engine.walk import WalkError, decide, walk


def run(tiny: Algorithm, missing: str = "ask", edit: str | None = None, **findings: object):
    return walk(tiny, findings_from_json(tiny, findings), missing=missing, edit=edit)  # type: ignore[arg-type]


def test_empty_state_asks_the_first_question(tiny: Algorithm) -> None:
    step = run(tiny)
    assert step.status == "question"
    assert step.node.id == "symptoms"
    assert step.asks == ("seizures",)
    assert step.trail == ()


def test_decision_branches_on_a_yes_no_finding(tiny: Algorithm) -> None:
    assert run(tiny, seizures=True).node.id == "emergency"
    assert run(tiny, seizures=False).node.id == "patient"


def test_unknown_finding_takes_the_unknown_branch(tiny: Algorithm) -> None:
    step = run(tiny, seizures="unknown")
    assert step.node.id == "emergency"
    assert step.trail[-1].outcome is not None
    assert step.trail[-1].outcome.label == "seizures not known"


def test_action_waits_for_acknowledgement_then_continues(tiny: Algorithm) -> None:
    assert run(tiny, seizures=True).node.id == "emergency"
    step = run(tiny, seizures=True, emergency_steps_reviewed=True)
    assert step.node.id == "patient"
    assert [a.node_id for a in step.alerts] == ["emergency"]


def test_quantity_threshold_uses_the_age_specific_range(tiny: Algorithm) -> None:
    # 0.62 mmol/L is normal under 1 week (0.6-1.0) but low at 1 week and older (0.65-1.1).
    base = dict(seizures=False, feeding="breast", magnesium=0.62)
    newborn = run(tiny, age={"value": 3, "unit": "days"}, **base)
    infant = run(tiny, age={"value": 2, "unit": "months"}, **base)
    assert newborn.node.id == "normal-result"
    assert infant.node.id == "low-result"


def test_limit_bands_depend_on_age(tiny: Algorithm) -> None:
    # very_low_mg: below 0.5 mmol/L under 1 year, below 0.4 from 1 year; formula feeding is its
    # second key finding, so it leads only when the magnesium also counts as very low.
    base = dict(seizures=False, feeding="formula", magnesium=0.45)
    infant = run(tiny, age={"value": 6, "unit": "months"}, **base)
    child = run(tiny, age={"value": 3, "unit": "years"}, **base)
    assert infant.differential[0].id == "very_low_mg"
    assert child.differential[0].id == "low_mg"


def test_units_are_converted_before_comparison(tiny: Algorithm) -> None:
    # 1.2 mg/dL x 0.4114 = 0.49 mmol/L: low for a 2-month-old.
    step = run(
        tiny, seizures=False, feeding="breast", age=60, magnesium={"value": 1.2, "unit": "mg/dL"}
    )
    assert step.node.id == "low-result"
    assert step.trail[-1].answers[0].value == Quantity(1.2, "mg/dL")
    assert step.trail[-1].answers[0].flag == "low"


def test_findings_given_up_front_answer_their_steps_automatically(tiny: Algorithm) -> None:
    # Labs first (as typed at the start), then the questions in turn.
    step = run(tiny, age=60, magnesium=0.3, seizures=False, feeding="formula")
    by_node = {e.node.id: e.auto for e in step.trail}
    assert by_node["symptoms"] is False
    assert by_node["patient"] is False
    assert by_node["labs"] is True  # answered by the labs given before the questions
    assert by_node["mg-status"] is True  # decisions are always worked out


def test_partial_measurement_stops_at_its_step(tiny: Algorithm) -> None:
    step = run(tiny, seizures=False, feeding="formula", magnesium=0.8)
    assert step.node.id == "labs"


def test_missing_unknown_walks_to_a_provisional_result(tiny: Algorithm) -> None:
    step = run(tiny, missing="unknown", seizures=False)
    assert step.status == "result"
    assert step.node.id == "unknown-result"
    labs = next(e for e in step.trail if e.node.id == "labs")
    assert [a.value for a in labs.answers] == [UNKNOWN, UNKNOWN]


def test_ranking_counts_present_key_findings(tiny: Algorithm) -> None:
    breast = run(tiny, seizures=False, feeding="breast", age=60, magnesium=0.6)
    formula = run(tiny, seizures=False, feeding="formula", age=60, magnesium=0.3)
    assert [d.id for d in breast.differential] == ["low_mg", "very_low_mg"]
    assert [d.id for d in formula.differential] == ["very_low_mg", "low_mg"]
    very_low = formula.differential[0]
    assert very_low.key == ("magnesium very low",)
    assert very_low.supports == ("formula fed",)
    assert very_low.score == 3 + 1 + 1  # key, support, listed by the result
    # A key finding known to be absent counts against: 0.6 mmol/L is not very low.
    assert breast.differential[1].absent == ("magnesium very low",)
    assert breast.differential[1].score == -2 + 1


def test_findings_against_lower_the_rank_and_key_findings_add_diagnoses(tiny: Algorithm) -> None:
    step = run(
        tiny, seizures=True, emergency_steps_reviewed=True, feeding="breast", age=60, magnesium=0.9
    )
    ids = [d.id for d in step.differential]
    assert ids == ["seizure_context", "normal"]
    normal = step.differential[1]
    assert normal.against == ("seizures",)
    assert normal.score == 3 + 1 - 2
    # Not listed by the result: it joined because its key finding is present.
    assert not step.differential[0].listed and step.differential[0].key == ("seizures",)


def test_a_later_true_branch_is_taken_when_an_earlier_one_is_unknown(tiny: Algorithm) -> None:
    """decide() takes the first branch that is true; `unknown` only when none is."""
    node = DecisionNode.model_validate(
        {
            "id": "d",
            "kind": "decision",
            "title": "t",
            "rationale": "r",
            "sources": ["book"],
            "branches": [
                {"when": {"finding": "feeding", "is": "formula"}, "next": "a", "label": "a"},
                {"when": {"finding": "seizures", "is": "yes"}, "next": "b", "label": "b"},
            ],
            "otherwise": {"next": "c", "label": "c"},
            "unknown": {"next": "u", "label": "u"},
        }
    )
    findings = findings_from_json(tiny, {"seizures": True})
    assert decide(tiny, node, findings, patient_of(tiny, findings)).next == "b"
    findings = findings_from_json(tiny, {"seizures": False})
    assert decide(tiny, node, findings, patient_of(tiny, findings)).next == "u"
    findings = findings_from_json(tiny, {"seizures": False, "feeding": "breast"})
    assert decide(tiny, node, findings, patient_of(tiny, findings)).next == "c"


def test_diagnoses_beyond_the_main_list_are_less_likely(tiny: Algorithm) -> None:
    small = tiny.model_copy(update={"ranking": tiny.ranking.model_copy(update={"main_list": 1})})
    step = run(small, seizures=False, feeding="formula", age=60, magnesium=0.3)
    assert [d.likely for d in step.differential] == [True, False]
    assert step.differential[1].rank == 2


def test_edit_stops_at_an_answered_step(tiny: Algorithm) -> None:
    step = run(tiny, edit="symptoms", seizures=False, feeding="breast")
    assert step.node.id == "symptoms"
    assert step.editing
    with pytest.raises(WalkError):
        run(tiny, edit="emergency", seizures=False, feeding="breast", age=60, magnesium=0.9)
    with pytest.raises(WalkError):
        run(tiny, edit="no-such-step")


def test_previous_is_the_last_answered_step(tiny: Algorithm) -> None:
    step = run(tiny, seizures=False, feeding="breast")
    assert step.previous is not None
    assert step.previous.node.id == "patient"


def test_edit_beyond_the_first_unanswered_step_is_refused(tiny: Algorithm) -> None:
    with pytest.raises(WalkError, match="not on this path"):
        run(tiny, edit="labs", seizures=False)
