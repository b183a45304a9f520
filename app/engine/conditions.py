"""Three-valued evaluation of conditions, age-specific bands and lab flags.

A condition is True, False or None (cannot be decided: a finding it needs is absent or
`unknown`). `all` and `any` follow Kleene's logic, so `any` is True as soon as one part is True
even when another part is unknown.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from app.engine.models import (
    AgeBand,
    Algorithm,
    AllOf,
    AnyOf,
    Condition,
    FindingTest,
    NotOf,
    ReferenceRange,
    Threshold,
)
from app.engine.values import UNKNOWN, Findings, Quantity

Band = TypeVar("Band", bound=AgeBand)


@dataclass(frozen=True)
class Patient:
    """What band selection needs to know: age in days and birth weight in grams, if known."""

    age_days: float | None
    birth_weight_g: float | None


def patient_of(algorithm: Algorithm, findings: Findings) -> Patient:
    def canonical(key: str) -> float | None:
        value = findings.get(key)
        finding = algorithm.findings.get(key)
        if isinstance(value, Quantity) and finding is not None:
            return value.canonical(finding)
        return None

    return Patient(canonical("age"), canonical("birth_weight"))


def band_for(bands: Sequence[Band], patient: Patient) -> Band | None:
    """The first band that applies to the patient. A band that needs an unknown age or birth
    weight does not apply, so a later, wider band is used instead."""
    for band in bands:
        if applies(band, patient):
            return band
    return None


def applies(band: AgeBand, patient: Patient) -> bool:
    checks = (
        (band.min_age_days, band.max_age_days, patient.age_days),
        (band.min_birth_weight_g, band.max_birth_weight_g, patient.birth_weight_g),
    )
    for low, high, value in checks:
        if low is None and high is None:
            continue
        if value is None:
            return False
        if low is not None and value < low:
            return False
        if high is not None and value >= high:
            return False
    return True


def reference_range(algorithm: Algorithm, key: str, patient: Patient) -> ReferenceRange | None:
    return band_for(algorithm.findings[key].ranges, patient)


def flag(algorithm: Algorithm, key: str, value: Quantity, patient: Patient) -> str | None:
    """`low`, `normal` or `high` against the age-specific reference range, if one applies."""
    band = reference_range(algorithm, key, patient)
    if band is None:
        return None
    canonical = value.canonical(algorithm.findings[key])
    if band.low is not None and canonical < band.low:
        return "low"
    if band.high is not None and canonical > band.high:
        return "high"
    return "normal"


def threshold_value(
    algorithm: Algorithm, key: str, threshold: Threshold, patient: Patient
) -> float | None:
    """The threshold in the finding's canonical unit, or None if no band applies."""
    finding = algorithm.findings[key]
    if threshold.range is not None:
        band = band_for(finding.ranges, patient)
        if band is None:
            return None
        return band.low if threshold.range == "low" else band.high
    if threshold.limit is not None:
        limit_band = band_for(algorithm.limits[threshold.limit].bands, patient)
        if limit_band is None:
            return None
        factor = finding.factor(limit_band.unit)
        assert factor is not None
        return limit_band.value * factor
    assert threshold.value is not None and threshold.unit is not None
    factor = finding.factor(threshold.unit)
    assert factor is not None
    return threshold.value * factor


def evaluate(
    algorithm: Algorithm, condition: Condition, findings: Findings, patient: Patient
) -> bool | None:
    if isinstance(condition, FindingTest):
        return _test(algorithm, condition, findings, patient)
    if isinstance(condition, AllOf):
        results = [evaluate(algorithm, c, findings, patient) for c in condition.all]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if isinstance(condition, AnyOf):
        results = [evaluate(algorithm, c, findings, patient) for c in condition.any]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    assert isinstance(condition, NotOf)
    inner = evaluate(algorithm, condition.not_, findings, patient)
    return None if inner is None else not inner


def _test(
    algorithm: Algorithm, test: FindingTest, findings: Findings, patient: Patient
) -> bool | None:
    value = findings.get(test.finding)
    if test.known is not None:
        return (value is not None and value != UNKNOWN) == test.known
    if value is None or value == UNKNOWN:
        return None
    if test.is_ is not None:
        if isinstance(value, bool):
            return value == (test.is_ == "yes")
        return value == test.is_
    assert isinstance(value, Quantity)
    finding = algorithm.findings[test.finding]
    canonical = value.canonical(finding)
    for name, compare in _COMPARISONS:
        threshold = getattr(test, name)
        if threshold is not None:
            limit = threshold_value(algorithm, test.finding, threshold, patient)
            if limit is None:
                return None
            span = whole_day_span(value) if _hour_limit(test.finding, threshold) else None
            if span is not None and compare(span[0], limit) != compare(span[1], limit):
                return None  # the age may lie either side of the limit
            return compare(canonical, limit)
    raise AssertionError("a finding test without a comparison")  # the model forbids it


def _hour_limit(key: str, threshold: Threshold) -> bool:
    return key == "age" and threshold.unit == "hours"


def whole_day_span(age: Quantity) -> tuple[float, float] | None:
    """An age typed in whole days, read against a limit in hours: "3 days" may mean the third
    day of life (48-72 h) or three completed days (72-96 h), so it stands for any age from the
    day before to the day after (in days, open at both ends). None for any other age."""
    if age.unit != "days" or age.value != int(age.value) or age.value < 1:
        return None
    eps = 1e-9
    return age.value - 1 + eps, age.value + 1 - eps


def age_readings(algorithm: Algorithm, findings: Findings) -> list[Findings]:
    """The findings as given, and, when an age in whole days lies across a limit in hours, one
    reading with the age half a day earlier and one half a day later: each diagnosis is then
    weighed at the reading that fits it best, so the causes on both sides of the edge are kept."""
    age = findings.get("age")
    span = whole_day_span(age) if isinstance(age, Quantity) else None
    if span is None or not isinstance(age, Quantity):
        return [findings]
    memo = algorithm.memo()
    edges = memo.get("age_hour_limits")
    if edges is None:
        edges = memo["age_hour_limits"] = tuple(
            sorted({t.value / 24 for t in _hour_thresholds(algorithm) if t.value is not None})
        )
    if not any(span[0] < edge < span[1] for edge in edges):
        return [findings]
    return [
        findings,
        {**findings, "age": Quantity(age.value - 0.5, "days")},
        {**findings, "age": Quantity(age.value + 0.5, "days")},
    ]


def _hour_thresholds(algorithm: Algorithm) -> Iterator[Threshold]:
    conditions: list[Condition] = []
    for dx in algorithm.diagnoses.values():
        conditions += [c.when for c in (*dx.supports, *dx.against)]
        if dx.excluded is not None:
            conditions.append(dx.excluded)
    for condition in conditions:
        for test in finding_tests(condition):
            for name, _ in _COMPARISONS:
                threshold = getattr(test, name)
                if threshold is not None and _hour_limit(test.finding, threshold):
                    yield threshold


_COMPARISONS: tuple[tuple[str, Callable[[float, float], bool]], ...] = (
    ("below", operator.lt),
    ("at_least", operator.ge),
    ("above", operator.gt),
    ("at_most", operator.le),
)


def finding_tests(condition: Condition) -> Iterator[FindingTest]:
    """Every finding test inside a condition, depth first."""
    if isinstance(condition, FindingTest):
        yield condition
    elif isinstance(condition, AllOf):
        for c in condition.all:
            yield from finding_tests(c)
    elif isinstance(condition, AnyOf):
        for c in condition.any:
            yield from finding_tests(c)
    else:
        yield from finding_tests(condition.not_)
