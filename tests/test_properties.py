"""Property tests on the real algorithm: any findings at all give a step, never an error."""

from __future__ import annotations

import math
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.loading import load_file
from app.engine.models import Finding
from app.engine.values import (
    UNKNOWN,
    Quantity,
    findings_from_pairs,
    findings_to_json,
    findings_to_pairs,
    make_quantity,
)
from app.engine.walk import steps_ahead, walk

ALGORITHM = load_file(Path(__file__).resolve().parents[1] / "algorithms" / "hypocalcemia.yaml")
CATALOGUE = set(ALGORITHM.diagnoses)
# The shared vocabulary as published, copied into the repository (tests/fixtures/vocabulary).
SHARED = Path(__file__).resolve().parent / "fixtures" / "vocabulary" / "diagnoses.md"


def value_of(key: str, finding: Finding) -> st.SearchStrategy[object]:
    if finding.kind == "boolean":
        return st.one_of(st.booleans(), st.just(UNKNOWN))
    if finding.kind == "choice":
        return st.sampled_from([*(finding.options or {}), UNKNOWN])
    assert finding.plausible is not None
    low, high = finding.plausible

    def in_unit(unit: str) -> st.SearchStrategy[object]:
        factor = finding.factor(unit) or 1.0
        return st.floats(low / factor, high / factor, allow_nan=False).map(
            lambda v: (
                make_quantity(key, finding, round(v, 4), unit)
                if low <= round(v, 4) * factor <= high
                else UNKNOWN
            )
        )

    return st.one_of(st.just(UNKNOWN), *(in_unit(u) for u in finding.units()))


FINDINGS = st.fixed_dictionaries(
    {}, optional={key: value_of(key, f) for key, f in ALGORITHM.findings.items()}
)


@settings(max_examples=300, deadline=None)
@given(FINDINGS, st.sampled_from(["ask", "unknown"]))
def test_any_findings_give_a_question_or_a_result(findings: dict, missing: str) -> None:
    step = walk(ALGORITHM, findings, missing=missing)  # type: ignore[arg-type]
    assert step.status in ("question", "result")
    if missing == "unknown":
        assert step.status == "result"
    if step.status == "result":
        ids = [d.id for d in step.differential]
        assert ids, "a result always names at least one diagnosis"
        assert set(ids) <= CATALOGUE
        assert len(ids) == len(set(ids))
        assert [d.rank for d in step.differential] == list(range(1, len(ids) + 1))
        # The likely entries come first, each with a positive score; among them an entry with
        # a key finding present is never below one without (supports never outweigh a key).
        likely = [d.likely for d in step.differential]
        assert likely == sorted(likely, reverse=True)
        main = [d for d in step.differential if d.likely]
        assert all(d.score > 0 for d in main)
        keyed = [bool(d.key) for d in main]
        assert keyed == sorted(keyed, reverse=True)
    else:
        assert any(k not in findings for k in step.asks)


@settings(max_examples=300, deadline=None)
@given(FINDINGS)
def test_steps_ahead_are_the_steps_the_projected_walk_would_still_ask(findings: dict) -> None:
    """ "Step n of about m" counts the steps after this one on the path the walk would take if
    every answer still to give were "not known": the whole projected walk must agree."""
    step = walk(ALGORITHM, findings, rank=False)
    if step.status == "result":
        return
    projected = walk(ALGORITHM, findings, missing="unknown", rank=False)
    asked = [e.node.id for e in projected.trail if not e.node.computed]
    assert steps_ahead(step) == len(asked) - asked.index(step.node.id) - 1


@settings(max_examples=300, deadline=None)
@given(FINDINGS)
def test_findings_round_trip_through_url_and_json(findings: dict) -> None:
    pairs = findings_to_pairs(findings)
    assert findings_from_pairs(ALGORITHM, pairs) == findings
    assert findings_to_json(findings_from_pairs(ALGORITHM, pairs)) == findings_to_json(findings)


def test_unit_conversions_round_trip() -> None:
    for key, finding in ALGORITHM.findings.items():
        if finding.kind != "quantity":
            continue
        for unit in finding.units():
            factor = finding.factor(unit)
            assert factor is not None and factor > 0, (key, unit)
            q = Quantity(1.234, unit)
            back = q.canonical(finding) / factor
            assert math.isclose(back, 1.234, rel_tol=1e-12), (key, unit)


def test_catalogue_is_exactly_the_shared_vocabulary() -> None:
    """Every id of shared/clinical/diagnoses.md is in the algorithm, and no other."""
    ids = {
        line.split("|")[1].strip()
        for line in SHARED.read_text().splitlines()
        if line.startswith("| ") and not line.startswith("| id") and "---" not in line
    }
    assert len(ids) == 38
    assert CATALOGUE == ids


def test_findings_follow_the_shared_vocabulary() -> None:
    """Quantities keep findings.md's canonical unit, accepted units and plausible range; every
    yes/no finding listed there is asked."""
    text = (SHARED.parent / "findings.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    quantities = [[c.strip() for c in r.split("|")[1:6]] for r in rows[1:]]
    assert len(quantities) >= 18
    for key, _what, unit, also, plausible in quantities:
        finding = ALGORITHM.findings[key]
        assert finding.kind == "quantity", key
        assert (finding.unit or "(none)") == unit, key
        accepted = [u.strip() for u in also.split(",") if u.strip() not in ("—", "")]
        assert set(accepted) <= set(finding.units()), (key, accepted)
        low, high = (float(x) for x in plausible.split(" to "))
        assert finding.plausible == (low, high), key
    yes_no = text.split("## Yes/no findings")[1].split("## How findings travel")[0]
    keys = set(re.findall(r"`([a-z0-9_]+)`", yes_no)) - {"findings"}  # "the `findings` block"
    assert len(keys) > 30
    for key in keys:
        assert ALGORITHM.findings[key].kind == "boolean", key
