"""The differential: every diagnosis of the catalogue weighed against every finding known.

The walk decides which questions to ask and where it ends; it does not decide which diagnoses
may appear. Wherever it ends, a diagnosis joins the differential when the result lists it (the
leaf's prior) or when one of its key findings is present. Each is then scored from its clues
with the weights of `Algorithm.ranking`:

    score = key × keys present + support × supports present + prior × priors present
            + listed (if the result lists it)
            − against × findings against present − key_absent × key findings known absent

Ties keep the result's order (listed diagnoses first), then the catalogue's order, so the same
findings always give the same ranking. The first `main_list` entries are the likely ones; the
rest are shown as less likely, each with its reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.conditions import Patient, evaluate, finding_tests
from app.engine.models import Algorithm, Clue, DecisionNode, Diagnosis, ResultNode
from app.engine.values import UNKNOWN, Findings


@dataclass(frozen=True)
class RankedDiagnosis:
    """One entry of the differential, with the reasons for its place."""

    id: str
    diagnosis: Diagnosis
    rank: int
    score: float
    key: tuple[str, ...]  # key findings present
    supports: tuple[str, ...]  # supporting clues present
    priors: tuple[str, ...]  # background likelihood (age band, …) present
    against: tuple[str, ...]  # findings against present
    absent: tuple[str, ...]  # key findings known to be absent
    open_questions: tuple[str, ...]  # key findings and clues not yet known
    listed: bool  # the result where the walk ended lists it
    likely: bool  # in the main list (the first `main_list` entries)
    cites: frozenset[str] = frozenset()  # findings read by its clues that are present

    @property
    def points_to(self) -> tuple[str, ...]:
        """Every clue present that points to it, key findings first."""
        return self.key + self.supports + self.priors


@dataclass(frozen=True)
class NextTest:
    """A test or question whose answer would change the ranking, and what it would decide."""

    test: str
    meaning: str
    findings: tuple[str, ...]


def _diagnostic_findings(algorithm: Algorithm) -> frozenset[str]:
    """Findings that some diagnosis reads: only these are worth obtaining for the ranking (a
    red flag changes the path, but it is not a test to obtain)."""
    memo = algorithm.memo()
    found = memo.get("diagnostic_findings")
    if found is None:
        keys: set[str] = set()
        for dx in algorithm.diagnoses.values():
            for clue in (*dx.supports, *dx.against):
                keys.update(t.finding for t in finding_tests(clue.when))
        found = memo["diagnostic_findings"] = frozenset(keys)
    return found


def differential(
    algorithm: Algorithm, node: ResultNode, findings: Findings, patient: Patient
) -> tuple[RankedDiagnosis, ...]:
    weights = algorithm.ranking
    listed_order = {dx_id: i for i, dx_id in enumerate(node.candidates)}
    catalogue_order = len(listed_order)
    rows: list[tuple[float, int, RankedDiagnosis]] = []
    for order, (dx_id, dx) in enumerate(algorithm.diagnoses.items()):
        if dx.excluded is not None and evaluate(algorithm, dx.excluded, findings, patient):
            continue
        key, absent, open_key = _split(algorithm, dx.supports, "key", findings, patient)
        supports, _, open_support = _split(algorithm, dx.supports, "support", findings, patient)
        priors, _, _ = _split(algorithm, dx.supports, "prior", findings, patient)
        against, _, _ = _split(algorithm, dx.against, None, findings, patient)
        listed = dx_id in listed_order
        if not listed and not key:
            continue
        cites = frozenset(
            t.finding
            for clue in (*dx.supports, *dx.against)
            if clue.label in key
            or clue.label in supports
            or clue.label in priors
            or clue.label in against
            for t in finding_tests(clue.when)
        )
        score = (
            weights.key * len(key)
            + weights.support * len(supports)
            + weights.prior * len(priors)
            + (weights.listed if listed else 0)
            - weights.against * len(against)
            - weights.key_absent * len(absent)
        )
        tie = listed_order.get(dx_id, catalogue_order + order)
        entry = RankedDiagnosis(
            id=dx_id,
            diagnosis=dx,
            rank=0,
            score=score,
            key=tuple(key),
            supports=tuple(supports),
            priors=tuple(priors),
            against=tuple(against),
            absent=tuple(absent),
            open_questions=tuple(open_key + open_support),
            listed=listed,
            likely=False,
            cites=cites,
        )
        rows.append((score, tie, entry))
    rows.sort(key=lambda row: (-row[0], row[1]))
    return tuple(
        _placed(entry, i + 1, i < weights.main_list) for i, (_, _, entry) in enumerate(rows)
    )


def _placed(entry: RankedDiagnosis, rank: int, likely: bool) -> RankedDiagnosis:
    return RankedDiagnosis(**{**entry.__dict__, "rank": rank, "likely": likely})


def _split(
    algorithm: Algorithm,
    clues: Sequence[Clue],
    weight: str | None,
    findings: Findings,
    patient: Patient,
) -> tuple[list[str], list[str], list[str]]:
    """Labels of the clues (of one weight) that are present, known absent, and not known."""
    present: list[str] = []
    absent: list[str] = []
    open_: list[str] = []
    for clue in clues:
        if weight is not None and clue.weight != weight:
            continue
        result = evaluate(algorithm, clue.when, findings, patient)
        if result is True:
            present.append(clue.label)
        elif result is False:
            absent.append(clue.label)
        else:
            open_.append(clue.label)
    return present, absent, open_


def next_tests(
    algorithm: Algorithm,
    node: ResultNode,
    ranked: Sequence[RankedDiagnosis],
    findings: Findings,
    patient: Patient,
    undecided: Sequence[DecisionNode] = (),
) -> tuple[NextTest, ...]:
    """What to obtain next, most useful first, never a finding already known:
    1. the result's own `obtain` entries whose findings are not all known;
    2. the findings that a decision on the path needed but did not have (it took `unknown`);
    3. every finding not yet known that would decide a key clue of a likely diagnosis."""

    def known(key: str) -> bool:
        value = findings.get(key)
        return value is not None and value != UNKNOWN

    out: list[NextTest] = []
    offered: set[str] = set()
    diagnostic = _diagnostic_findings(algorithm)
    for obtain in node.obtain:
        missing = [k for k in obtain.findings if not known(k)]
        if missing:
            out.append(NextTest(obtain.test, obtain.meaning, tuple(missing)))
            offered.update(obtain.findings)
    for decision in undecided:
        for branch in decision.branches:
            for test in finding_tests(branch.when):
                key = test.finding
                if known(key) or key in offered or key not in diagnostic:
                    continue
                offered.add(key)
                out.append(
                    NextTest(
                        algorithm.findings[key].label,
                        f"Needed at the step “{decision.title}”: {decision.unknown.label}.",
                        (key,),
                    )
                )
    decides: dict[str, list[str]] = {}
    for entry in ranked:
        if not entry.likely:
            break
        for clue in entry.diagnosis.supports:
            if clue.weight != "key":
                continue
            if evaluate(algorithm, clue.when, findings, patient) is not None:
                continue
            for test in finding_tests(clue.when):
                if known(test.finding) or test.finding in offered:
                    continue
                names = decides.setdefault(test.finding, [])
                if entry.diagnosis.name not in names:
                    names.append(entry.diagnosis.name)
    for key, names in decides.items():
        finding = algorithm.findings[key]
        out.append(NextTest(finding.label, "A key finding for: " + "; ".join(names) + ".", (key,)))
    return tuple(out)
