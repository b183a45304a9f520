"""Is this weight plausible for this age? Checked against a growth reference (UK-WHO through
the RCPCH's `rcpchgrowth`), corrected for gestation when it is given, before any volume is
worked out from it. Tenfold slips (35 kg for 3.5 kg) are the archetypal paediatric dosing error.

The library needs a sex; the workup does not ask it, so a weight is checked against both and
accepted when either accepts it (a weight plausible for a boy or a girl of that age)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from app.engine.models import WeightCheck

# Below 37 weeks the reference is read at the age corrected for gestation (RCPCH practice).
PRETERM_BELOW_WEEKS = 37
_BIRTH = date(2000, 1, 1)  # any date: only the difference matters

Status = Literal["plausible", "implausible", "unchecked"]
# The earliest gestation the reference (UK90 preterm data) covers.
EARLIEST_WEEKS = 23


@dataclass(frozen=True)
class WeightVerdict:
    """What the reference says of one weight at one age."""

    status: Status
    sds: tuple[float, float] | None  # boys', girls' SDS; None if the reference has no value
    suggestion_kg: float | None  # the likely intended weight (a decimal slip), if one fits
    corrected: bool  # read at the age corrected for gestation
    preterm_possible: bool = False  # too light for a term baby, not for a very preterm one

    @property
    def plausible(self) -> bool:
        return self.status == "plausible"


@lru_cache(maxsize=4096)
def _sds(decimal_age: float, weight_kg: float) -> tuple[float, float] | None:
    from rcpchgrowth import sds_for_measurement  # scipy: import on first use only

    try:
        return (
            float(sds_for_measurement("uk-who", decimal_age, "weight", weight_kg, "male")),
            float(sds_for_measurement("uk-who", decimal_age, "weight", weight_kg, "female")),
        )
    except (LookupError, ValueError, ZeroDivisionError):
        return None


def decimal_age(age_days: float, gestation_weeks: float | None) -> tuple[float, bool]:
    """Age in years as the reference reads it, and whether it was corrected for gestation."""
    from rcpchgrowth.date_calculations import (
        chronological_decimal_age,
        corrected_decimal_age,
    )

    seen = _BIRTH + timedelta(days=int(age_days))
    if gestation_weeks is not None and gestation_weeks < PRETERM_BELOW_WEEKS:
        weeks = int(gestation_weeks)
        days = int(round((gestation_weeks - weeks) * 7))
        return corrected_decimal_age(_BIRTH, seen, weeks, days), True
    return chronological_decimal_age(_BIRTH, seen), False


def _inside(sds: tuple[float, float] | None, check: WeightCheck) -> bool:
    return sds is not None and any(check.sds_low <= z <= check.sds_high for z in sds)


def check_weight(
    check: WeightCheck, age_days: float, weight_kg: float, gestation_weeks: float | None = None
) -> WeightVerdict:
    """The verdict on `weight_kg` at `age_days`; for an implausible weight, the decimal slip
    (÷10 or ×10) that the reference would accept, if exactly one does."""
    age, corrected = decimal_age(age_days, gestation_weeks)
    sds = _sds(round(age, 4), round(weight_kg, 3))
    if sds is None:
        return WeightVerdict("unchecked", None, None, corrected)
    if _inside(sds, check):
        return WeightVerdict("plausible", sds, None, corrected)
    light = max(sds) < check.sds_low
    if light and gestation_weeks is None:
        # Too light for a term baby: a baby born very early may weigh this. Ask the gestation
        # instead of offering ten times the weight.
        earliest, _ = decimal_age(age_days, EARLIEST_WEEKS)
        if _inside(_sds(round(earliest, 4), round(weight_kg, 3)), check):
            return WeightVerdict("implausible", sds, None, corrected, preterm_possible=True)
    fits = [
        kg
        for kg in (round(weight_kg / 10, 3), round(weight_kg * 10, 3))
        if _inside(_sds(round(age, 4), kg), check)
    ]
    return WeightVerdict("implausible", sds, fits[0] if len(fits) == 1 else None, corrected)


def largest_plausible_kg(
    check: WeightCheck, age_days: float, gestation_weeks: float | None = None
) -> float | None:
    """The heaviest weight the reference accepts at this age (either sex), if it has one."""
    from rcpchgrowth import measurement_from_sds

    age, _ = decimal_age(age_days, gestation_weeks)
    found = []
    for sex in ("male", "female"):
        try:
            kg = measurement_from_sds("uk-who", check.sds_high, "weight", sex, age)
        except (LookupError, ValueError, ZeroDivisionError):
            continue
        if kg is not None:
            found.append(float(kg))
    return round(max(found), 1) if found else None


def warm_growth_reference() -> None:
    """Load the reference (and SciPy) once, so that no request pays for it."""
    _sds(0.5, 7.5)
