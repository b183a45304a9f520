"""The walk: a pure function from (algorithm, findings) to the current step.

The path is recomputed from the findings on every call (nothing is stored). Question,
measurement and action nodes whose findings are all present are answered automatically;
decision nodes are computed; the walk stops at the first node that still needs an answer,
or at a result.

A step answered "in turn" is one whose findings come after every finding used so far (the
findings are ordered as given). A step whose findings were given earlier than that — labs
typed at the start, or answers kept after changing an earlier step — is marked `auto`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from app.engine.conditions import Patient, evaluate, finding_tests, flag, patient_of
from app.engine.models import (
    ActionNode,
    Algorithm,
    Branch,
    DecisionNode,
    Fallback,
    MeasurementNode,
    QuestionNode,
    ResultNode,
)
from app.engine.models import Node as NodeModel
from app.engine.ranking import NextTest, RankedDiagnosis, differential, next_tests
from app.engine.values import UNKNOWN, Findings, Quantity, Value

Missing = Literal["ask", "unknown"]
AskingNode = QuestionNode | MeasurementNode | ActionNode


class WalkError(ValueError):
    """The request names a node that is not on the path (for example a stale `edit`)."""


@dataclass(frozen=True)
class Answer:
    key: str
    value: Value | None
    flag: str | None = None


@dataclass(frozen=True)
class TrailEntry:
    node: NodeModel
    answers: tuple[Answer, ...]
    auto: bool
    outcome: Branch | Fallback | None = None


@dataclass(frozen=True)
class Alert:
    node_id: str
    title: str
    severity: str


@dataclass(frozen=True)
class Step:
    algorithm: Algorithm
    findings: Findings
    trail: tuple[TrailEntry, ...]
    node: NodeModel
    editing: bool = False
    differential: tuple[RankedDiagnosis, ...] = ()
    alerts: tuple[Alert, ...] = field(default=())
    next_tests: tuple[NextTest, ...] = ()
    # Age and birth weight as the reference bands were chosen for them (computed once, here).
    patient: Patient = field(default=Patient(None, None))

    @property
    def status(self) -> Literal["question", "result"]:
        return "result" if self.node.ends else "question"

    @property
    def asks(self) -> tuple[str, ...]:
        return asks_of(self.node)

    @property
    def previous(self) -> TrailEntry | None:
        """The last step the user answered (not a computed decision)."""
        for entry in reversed(self.trail):
            if not entry.node.computed:
                return entry
        return None


def asks_of(node: NodeModel) -> tuple[str, ...]:
    """The findings a step records (each node kind answers for itself)."""
    return node.records()


def walk(
    algorithm: Algorithm,
    findings: Findings,
    missing: Missing = "ask",
    edit: str | None = None,
    rank: bool = True,
) -> Step:
    """The step the findings lead to. `rank=False` skips the differential at a result (for a
    projection of the path ahead, which needs only the steps)."""
    nodes = index(algorithm)
    memo = algorithm.memo()
    if edit is not None and edit not in nodes:
        raise WalkError(f"there is no step {edit!r} in this algorithm.")
    position = {key: i for i, key in enumerate(findings)}
    patient = patient_of(algorithm, findings)
    trail: list[TrailEntry] = []
    alerts: list[Alert] = []
    cursor = -1
    node = nodes[algorithm.start]

    def stop(at: NodeModel, **result: Any) -> Step:
        """The walk ends at `at` with the trail so far."""
        return Step(
            algorithm, findings, tuple(trail), at, alerts=tuple(alerts), patient=patient, **result
        )

    for _ in range(len(nodes) + 1):  # acyclic (checked at load): a path visits each node once
        if isinstance(node, ResultNode):
            if edit is not None:
                raise WalkError(f"the step {edit!r} is not on this path.")
            if not rank:
                return stop(node)
            ranked = differential(algorithm, node, findings, patient)
            return stop(
                node,
                differential=ranked,
                next_tests=next_tests(
                    algorithm,
                    node,
                    ranked,
                    findings,
                    patient,
                    [
                        e.node
                        for e in trail
                        if isinstance(e.node, DecisionNode) and e.outcome is e.node.unknown
                    ],
                ),
            )
        if isinstance(node, DecisionNode):
            outcome = decide(algorithm, node, findings, patient)
            read = memo.get(node.id)
            if read is None:
                read = memo[node.id] = _keys_read(node)
            answers = tuple(
                _answer(algorithm, k, findings.get(k), patient) for k in read if k in findings
            )
            trail.append(TrailEntry(node, answers, auto=True, outcome=outcome))
            node = nodes[outcome.next]
            continue
        keys = asks_of(node)
        if node.id == edit:
            return stop(node, editing=True)
        given = [k for k in keys if k in findings]
        if len(given) < len(keys) and missing == "ask":
            if edit is not None:  # the step to change lies beyond the first unanswered one
                raise WalkError(f"the step {edit!r} is not on this path.")
            return stop(node)
        first = min((position[k] for k in given), default=cursor + 1)
        auto = first <= cursor or not given
        cursor = max([cursor, *(position[k] for k in given)])
        trail.append(
            TrailEntry(
                node,
                tuple(_answer(algorithm, k, findings.get(k, UNKNOWN), patient) for k in keys),
                auto=auto,
            )
        )
        if isinstance(node, ActionNode):
            alerts.append(Alert(node.id, node.title, node.severity))
        node = nodes[node.next]
    raise AssertionError("the walk did not end: the algorithm has a cycle")


def steps_ahead(step: Step) -> int:
    """How many more steps the walk would ask after this one if every answer from here on were
    "not known" (the path can change with the answers). Walks on from the step's node with the
    same findings, deciding as `walk` does, without building the trail."""
    nodes = index(step.algorithm)
    node = step.node
    count = 0
    for _ in range(len(nodes) + 1):
        if isinstance(node, ResultNode):
            return count
        if isinstance(node, DecisionNode):
            node = nodes[decide(step.algorithm, node, step.findings, step.patient).next]
            continue
        if node is not step.node:
            count += 1
        node = nodes[node.next]
    raise AssertionError("the walk did not end: the algorithm has a cycle")


def index(algorithm: Algorithm) -> dict[str, NodeModel]:
    """Nodes by id (built once when the algorithm is loaded)."""
    return algorithm.node_ids()


def decide(
    algorithm: Algorithm, node: DecisionNode, findings: Findings, patient: Patient
) -> Branch | Fallback:
    """The first branch that is true; else `unknown` if a branch could not be decided; else
    `otherwise`. A later branch that is true is taken even when an earlier one is unknown."""
    undecided = False
    for branch in node.branches:
        result = evaluate(algorithm, branch.when, findings, patient)
        if result is True:
            return branch
        if result is None:
            undecided = True
    return node.unknown if undecided else node.otherwise


def _keys_read(node: DecisionNode) -> list[str]:
    keys: list[str] = []
    for branch in node.branches:
        for test in finding_tests(branch.when):
            if test.finding not in keys:
                keys.append(test.finding)
    return keys


def _answer(algorithm: Algorithm, key: str, value: Value | None, patient: Patient) -> Answer:
    lab_flag = None
    if isinstance(value, Quantity):
        lab_flag = flag(algorithm, key, value, patient)
    return Answer(key, value, lab_flag)
