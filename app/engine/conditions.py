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
    canonical = value.canonical(algorithm.findings[test.finding])
    for name, compare in _COMPARISONS:
        threshold = getattr(test, name)
        if threshold is not None:
            limit = threshold_value(algorithm, test.finding, threshold, patient)
            return None if limit is None else compare(canonical, limit)
    raise AssertionError("a finding test without a comparison")  # the model forbids it


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
