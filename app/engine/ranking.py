"""The differential: every diagnosis of the catalogue weighed against every finding known.

The walk decides which questions to ask and where it ends; it does not decide which diagnoses
may appear. Wherever it ends, a diagnosis joins the differential when the result lists it (the
leaf's prior) or when one of its key findings is present. Each is then scored from its clues
with the weights of `Algorithm.ranking`:

    score = key × keys present + support × supports present + prior × priors present
            + listed (if the result lists it)
            − against × findings against present − key_absent × key findings known absent

Order. An entry is eligible for the main list ("likely") only with a positive score, and not
when every key clue is known absent and none is present. Eligible entries come first; within
each group an entry with a key finding present comes before one without (supports and priors
never outweigh a key finding), then the higher score. Equal scores are broken by the evidence
itself (more key findings, more supports, more background, fewer findings against, fewer key
findings absent); entries still equal are a tie, marked as such (`tied`) and kept in the
catalogue's order, never in the leaf's. The first `main_list` eligible entries are the likely
ones; the rest are shown as less likely, each with its reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.conditions import Patient, age_readings, evaluate, finding_tests, patient_of
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
    cites: frozenset[str] = frozenset()  # findings read by its clues that point to it
    tied: bool = False  # same place as a neighbour on every count of evidence (a tie)

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


Row = tuple[tuple[float, ...], RankedDiagnosis]


def differential(
    algorithm: Algorithm, node: ResultNode, findings: Findings, patient: Patient
) -> tuple[RankedDiagnosis, ...]:
    weights = algorithm.ranking
    listed = frozenset(node.candidates)
    # An age at an edge (whole days against a limit in hours) is read both ways; each diagnosis
    # is weighed at the reading that fits it best.
    readings = [
        (reading, patient if reading is findings else patient_of(algorithm, reading))
        for reading in age_readings(algorithm, findings)
    ]
    rows: list[Row] = []
    for dx_id, dx in algorithm.diagnoses.items():
        weighed = [
            row
            for reading, reading_patient in readings
            if (row := _weigh(algorithm, dx_id, dx, dx_id in listed, reading, reading_patient))
        ]
        if weighed:
            rows.append(min(weighed, key=lambda row: row[0]))
    rows.sort(key=lambda row: row[0])  # stable: equal evidence keeps the catalogue's order
    rows = _after_causes(rows)
    placed: list[RankedDiagnosis] = []
    for i, (evidence, entry) in enumerate(rows):
        tied = (i > 0 and rows[i - 1][0] == evidence) or (
            i + 1 < len(rows) and rows[i + 1][0] == evidence
        )
        likely = entry.likely and i < weights.main_list
        placed.append(_placed(entry, i + 1, likely, tied))
    return tuple(placed)


def _weigh(
    algorithm: Algorithm,
    dx_id: str,
    dx: Diagnosis,
    listed: bool,
    findings: Findings,
    patient: Patient,
) -> Row | None:
    """The entry of one diagnosis and its place in the order (smaller first), or None when it
    does not join (excluded, or neither listed nor with a key finding present)."""
    weights = algorithm.ranking
    if dx.excluded is not None and evaluate(algorithm, dx.excluded, findings, patient):
        return None
    key, absent, open_key = _split(algorithm, dx.supports, "key", findings, patient)
    supports, _, open_support = _split(algorithm, dx.supports, "support", findings, patient)
    priors, _, _ = _split(algorithm, dx.supports, "prior", findings, patient)
    against, _, _ = _split(algorithm, dx.against, None, findings, patient)
    cautions = sum(1 for c in dx.against if c.weight == "prior" and c.label in against)
    if not listed and not key:
        return None
    # Findings it accounts for: those read by the clues that point to it (not by those
    # against it).
    cites = frozenset(
        t.finding
        for clue in dx.supports
        if clue.label in key or clue.label in supports or clue.label in priors
        for t in finding_tests(clue.when)
    )
    score = (
        weights.key * len(key)
        + weights.support * len(supports)
        + weights.prior * len(priors)
        + (weights.listed if listed else 0)
        - weights.against * (len(against) - cautions)
        - weights.prior * cautions
        - weights.key_absent * len(absent)
    )
    n_keys = sum(1 for c in dx.supports if c.weight == "key")
    ruled_out = not key and len(absent) == n_keys
    eligible = score > 0 and not ruled_out
    evidence = (
        float(not eligible),
        float(not key),
        -score,
        -float(len(key)),
        -float(len(supports)),
        -float(len(priors)),
        float(len(against)),
        float(len(absent)),
    )
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
        likely=eligible,
        cites=cites,
    )
    return evidence, entry


def _after_causes(rows: list[Row]) -> list[Row]:
    """A consequence (kidney injury) never stands above its named cause (tumour lysis) when the
    cause's key finding is present: it moves to just after the last such cause."""
    out = list(rows)
    for row in rows:
        entry = row[1]
        causes = set(entry.diagnosis.consequence_of)
        if not causes:
            continue
        here = out.index(row)
        named = [
            i for i, (_, e) in enumerate(out) if e.id in causes and e.key and e.likely and i > here
        ]
        if named:
            out.insert(named[-1], out.pop(here))
    return out


def _placed(entry: RankedDiagnosis, rank: int, likely: bool, tied: bool) -> RankedDiagnosis:
    return RankedDiagnosis(**{**entry.__dict__, "rank": rank, "likely": likely, "tied": tied})


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
