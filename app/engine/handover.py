"""What a result hands over besides the differential: each value's flag in words, and the
values out of range that nothing in the result accounts for.

A flag says "for age" only when the age is known and the finding's ranges depend on it; a
finding with named grades under its range (25-OH vitamin D: deficient, insufficient) names the
grade instead of "low".
"""

from __future__ import annotations

from app.engine.conditions import Patient, finding_tests, flag, reference_range
from app.engine.models import Algorithm, Branch
from app.engine.values import Quantity
from app.engine.walk import Step

_WORDS = {"low": "low", "high": "high", "normal": "within range"}


def flag_text(algorithm: Algorithm, key: str, value: Quantity, patient: Patient) -> str | None:
    """The flag of a value in words, or None when no range applies."""
    lab_flag = flag(algorithm, key, value, patient)
    if lab_flag is None:
        return None
    band = reference_range(algorithm, key, patient)
    assert band is not None  # a flag implies a band
    if lab_flag == "low" and band.grades:
        canonical = value.canonical(algorithm.findings[key])
        for grade in band.grades:
            if canonical < grade.below:
                return grade.label
    words = _WORDS[lab_flag]
    by_age = any(
        r.min_age_days is not None or r.max_age_days is not None
        for r in algorithm.findings[key].ranges
    )
    if by_age and patient.age_days is not None:
        return f"{words} for age"
    return words


def also_abnormal(step: Step) -> tuple[str, ...]:
    """Keys of the values flagged low or high that no likely diagnosis accounts for (through a
    clue that points to it) and that no decision on the path took its branch on (the calcium
    that defines the problem, the PTH that chose the branch). A value a decision merely passed
    over ("magnesium not low") is not accounted for."""
    algorithm, patient = step.algorithm, step.patient
    cited = {k for d in step.differential if d.likely for k in d.cites}
    for entry in step.trail:
        if isinstance(entry.outcome, Branch):
            cited.update(t.finding for t in finding_tests(entry.outcome.when))
    return tuple(
        key
        for key, value in step.findings.items()
        if isinstance(value, Quantity)
        and key not in cited
        and flag(algorithm, key, value, patient) in ("low", "high")
    )
