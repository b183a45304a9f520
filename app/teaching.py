"""Teaching cases: published cases retold for a class, walked as "predict, then reveal".

A case (`teaching/<id>.yaml`) is a published case report: its story in our own words, the
findings as reported, and prompts for the teacher. The walk of its findings (anything not
reported is unknown) gives the screens: one per step the walk asks, then the result. On each
screen the class sees the story, what has been revealed so far and the step's question, and
predicts which way the next decision goes; the teacher reveals the case's answer, the decision
taken and why. The result is revealed one diagnosis at a time. All of it lives in the URL
(`step`, `guess`, `reveal`, `shown`), so Back steps back through the reveals and a teacher can
prepare links in advance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.engine.models import Algorithm, Branch, DecisionNode, Fallback
from app.engine.values import FindingError, findings_from_json
from app.engine.walk import Step, TrailEntry, walk

BRANCHES = {
    "vitamin_d": "Vitamin D and calcium supply",
    "magnesium": "Magnesium",
    "hypoparathyroid": "Hypoparathyroid pattern",
    "pth_resistance": "PTH resistance",
    "renal_or_phosphate": "Kidney and phosphate",
    "malabsorption": "Malabsorption",
    "neonatal_early": "Newborn, first 72 hours",
    "neonatal_late": "Newborn, after 72 hours",
    "critical_illness_or_drugs": "Critical illness, procedures and drugs",
}
Branches = Literal[
    "vitamin_d",
    "magnesium",
    "hypoparathyroid",
    "pth_resistance",
    "renal_or_phosphate",
    "malabsorption",
    "neonatal_early",
    "neonatal_late",
    "critical_illness_or_drugs",
]


class TeachingError(ValueError):
    pass


class TeachingCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)
    algorithm: str = "hypocalcemia"
    title: str
    branch: Branches
    difficulty: int = Field(ge=1, le=3)
    source_case: str
    citation: str
    url: str
    story: str
    diagnosis: str
    findings: dict[str, Any]
    prompts: dict[str, str] = {}
    teaching_point: str


def load_cases(folder: Path, algorithms: dict[str, Algorithm]) -> dict[str, TeachingCase]:
    """Every case of the folder, checked against its algorithm: findings that parse, prompts
    on real steps, a diagnosis of the catalogue. A bad case stops start-up, naming the file."""
    cases: dict[str, TeachingCase] = {}
    if not folder.is_dir():
        return cases
    for path in sorted(folder.glob("*.yaml")):
        try:
            case = TeachingCase.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (ValidationError, yaml.YAMLError) as exc:
            raise TeachingError(f"{path.name}: {exc}") from exc
        if case.id != path.stem:
            raise TeachingError(f"{path.name}: id {case.id!r} differs from the file name")
        algorithm = algorithms.get(case.algorithm)
        if algorithm is None:
            continue  # a case for an algorithm this server does not load
        try:
            findings_from_json(algorithm, case.findings)
        except FindingError as exc:
            raise TeachingError(f"{path.name}: findings: {exc}") from exc
        if case.diagnosis not in algorithm.diagnoses:
            raise TeachingError(
                f"{path.name}: diagnosis {case.diagnosis!r} is not in the catalogue"
            )
        unknown = set(case.prompts) - set(algorithm.node_ids())
        if unknown:
            raise TeachingError(f"{path.name}: prompts name no step: {sorted(unknown)}")
        cases[case.id] = case
    return cases


@dataclass(frozen=True)
class Screen:
    """One step the walk asks, with the decisions computed after it (up to the next step)."""

    entry: TrailEntry
    decisions: tuple[TrailEntry, ...]

    @property
    def choices(self) -> list[str]:
        """What the class picks from: the ways out of the first decision after the step."""
        if not self.decisions:
            return []
        node = self.decisions[0].node
        assert isinstance(node, DecisionNode)
        labels = [b.label for b in node.branches] + [node.otherwise.label, node.unknown.label]
        return list(dict.fromkeys(labels))

    @property
    def taken(self) -> Branch | Fallback | None:
        """The way out the walk took (what "reveal" shows)."""
        return self.decisions[0].outcome if self.decisions else None


@dataclass(frozen=True)
class CaseWalk:
    case: TeachingCase
    algorithm: Algorithm
    screens: tuple[Screen, ...]
    result: Step

    @property
    def rank_of_published(self) -> int | None:
        for entry in self.result.differential:
            if entry.id == self.case.diagnosis:
                return entry.rank
        return None


def case_walk(algorithm: Algorithm, case: TeachingCase) -> CaseWalk:
    """The case walked once per algorithm version (it depends on nothing in the request)."""
    memo = algorithm.memo()
    key = f"case_walk:{case.id}"
    cached = memo.get(key)
    if cached is None or cached.case is not case:
        cached = memo[key] = _case_walk(algorithm, case)
    return cached


def _case_walk(algorithm: Algorithm, case: TeachingCase) -> CaseWalk:
    findings = findings_from_json(algorithm, case.findings)
    step = walk(algorithm, findings, missing="unknown")
    screens: list[Screen] = []
    pending: TrailEntry | None = None
    decisions: list[TrailEntry] = []
    for entry in step.trail:
        if entry.node.computed:
            if pending is not None:
                decisions.append(entry)
            continue
        if pending is not None:
            screens.append(Screen(pending, tuple(decisions)))
        pending, decisions = entry, []
    if pending is not None:
        screens.append(Screen(pending, tuple(decisions)))
    return CaseWalk(case, algorithm, tuple(screens), step)
