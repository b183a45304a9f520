"""Helpers for the clinical scenario tests in `test_scenarios.py`.

A scenario is a plain function that walks the real hypocalcaemia algorithm with a set of
findings, checks where it lands, and returns the final step. `@scenario` registers it, so that
one test can check that every diagnosis of the catalogue comes first in at least one scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path

from app.engine.loading import load_file
from app.engine.models import Branch, Fallback
from app.engine.values import findings_from_json
from app.engine.walk import Step, walk

ALGORITHM = load_file(Path(__file__).resolve().parents[1] / "algorithms" / "hypocalcemia.yaml")

Scenario = Callable[[], Step]
SCENARIOS: list[Scenario] = []


def workup(**findings: object) -> Step:
    """Walk with the JSON form of the findings; anything not given counts as unknown."""
    return walk(ALGORITHM, findings_from_json(ALGORITHM, findings), missing="unknown")


def ranked(step: Step) -> list[str]:
    """The differential's diagnosis ids, most likely first."""
    return [entry.id for entry in step.differential]


def first(step: Step) -> str:
    return ranked(step)[0]


def outcome(step: Step, decision_id: str) -> Branch | Fallback:
    """The branch a decision took on the way to this step."""
    for entry in step.trail:
        if entry.node.id == decision_id and entry.outcome is not None:
            return entry.outcome
    raise AssertionError(f"decision {decision_id!r} is not on the path")


def obtained_tests(step: Step) -> list[str]:
    return [o.test for o in getattr(step.node, "obtain", [])]


def scenario(func: Scenario) -> Callable[[], None]:
    """Register a scenario and expose it to pytest as a test that returns nothing."""
    SCENARIOS.append(func)

    @wraps(func)
    def test() -> None:
        func()

    return test
