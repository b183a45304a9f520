"""The emergency dose card: for each drug, one default regimen for this child's age band, the
other published doses behind it, and this child's dose worked out only when it is safe to.

Nothing here chooses a dose: every row is one named source's dose, and the default of each age
band is named in the algorithm file. The arithmetic is a medication-safety feature, so:

- no volume without an age known to fall in the row's band, and a weight that the growth
  reference accepts for that age (or that the user has confirmed);
- every volume is capped at the lower of the row's own maximum and the drug's ceiling, and the
  rounding never takes it past that cap;
- mmol first, then mg of the named salt, then mL of the stated strength, then the dilution;
- rounding changes no volume by more than 5% (0.1 mL steps from 1 mL, 0.01 mL below it,
  0.001 mL below 0.1 mL, where the diluted volume is the one to draw);
- the duration is the slower of the row's own and the drug's fastest rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from app.engine.conditions import Patient, applies, evaluate
from app.engine.growth import WeightVerdict, check_weight, largest_plausible_kg
from app.engine.models import ActionNode, Algorithm, Caution, Dose, Drug, FirstStep
from app.engine.values import Findings, Quantity, format_number

# The findings the card reads (declared in the algorithm's findings).
WEIGHT, CONFIRMED_WEIGHT, GESTATION = "weight", "weight_confirmed", "gestational_age"


@dataclass(frozen=True)
class Span:
    """A low-high pair (equal for a single figure)."""

    low: float
    high: float

    def text(self, unit: str, digits: int | None = None) -> str:
        def fmt(x: float) -> str:
            return format_number(round(x, digits)) if digits is not None else format_number(x)

        body = fmt(self.low) if self.low == self.high else f"{fmt(self.low)}–{fmt(self.high)}"
        return f"{body}\u00a0{unit}"


@dataclass(frozen=True)
class ChildDose:
    """One row worked out for this child."""

    ml: Span  # of the drug's stated strength (worked back from the drawn volume if diluted)
    mmol: Span  # of the element, from the volume drawn
    mg_salt: Span  # of the named salt, from the volume drawn
    diluted_ml: Span | None  # the volume of the dilution to draw (rounded), if diluted
    minutes: int  # the shortest time to give the larger volume over
    capped: str  # "" | "row" (the row's own maximum) | "ceiling" (the drug's)


@dataclass(frozen=True)
class DoseCard:
    """One dose row of one drug, with this child's dose when it can be worked out."""

    drug_id: str
    drug: Drug
    dose: Dose
    max_ml: float  # the lower of the row's maximum and the drug's ceiling
    child: ChildDose | None

    @property
    def default(self) -> bool:
        return self.dose.default

    @property
    def max_mmol(self) -> float:
        return round(self.max_ml * self.drug.mmol_per_ml, 4)

    @property
    def per_kg_ml(self) -> Span | None:
        d = self.dose
        if d.ml_per_kg_low is None:
            return None
        return Span(d.ml_per_kg_low, d.ml_per_kg_high or d.ml_per_kg_low)

    @property
    def per_kg_mmol(self) -> Span | None:
        ml = self.per_kg_ml
        if ml is None:
            return None
        mmol = self.drug.mmol_per_ml
        return Span(round(ml.low * mmol, 4), round(ml.high * mmol, 4))

    @property
    def per_kg_mg(self) -> Span | None:
        ml = self.per_kg_ml
        if ml is None:
            return None
        return Span(ml.low * self.drug.mg_salt_per_ml, ml.high * self.drug.mg_salt_per_ml)

    @property
    def age_band(self) -> str:
        return band_text(self.dose.min_age_days, self.dose.max_age_days)


@dataclass(frozen=True)
class DrugPlan:
    """What the card shows of one drug."""

    drug_id: str
    drug: Drug
    defaults: tuple[DoseCard, ...]  # one for a known age; one per band when the age is unknown
    others: tuple[DoseCard, ...]  # "Other published doses", by age band
    withheld: str  # why no dose of it is shown ("Magnesium is high: give none…"), or ""
    withheld_sources: tuple[str, ...]
    cautions: tuple[Caution, ...]  # the drug's safety points that apply


@dataclass(frozen=True)
class DosePlan:
    """The whole dose card of an emergency step."""

    drugs: tuple[DrugPlan, ...]
    first_steps: tuple[FirstStep, ...]  # put before the step's own actions
    cautions: tuple[Caution, ...]  # safety points of no one drug
    weight_kg: float | None  # the weight the volumes are worked for (see `card_for`)
    verdict: WeightVerdict | None  # the growth reference's word on the weight, if checked
    confirmed: bool  # the user confirmed an unusual weight
    need: str  # "age", "weight", "confirm" or "" (volumes shown)


def band_text(low: float | None, high: float | None) -> str:
    def age(days: float) -> str:
        if days <= 28:
            n, unit = days, "day"
        elif days < 365:
            n, unit = round(days / 30.4375), "month"
        else:
            n, unit = round(days / 365.25), "year"
        return f"{format_number(float(n))} {unit}{'' if n == 1 else 's'}"

    if not low:
        return f"under {age(high)}" if high is not None else "all ages"
    return f"{age(low)} to {age(high)}" if high is not None else f"from {age(low)}"


def _step(x: float) -> Decimal:
    """The rounding step that keeps the error within 5%: a twentieth of the leading unit."""
    if x >= 1:
        return Decimal("0.1")
    if x >= 0.1:
        return Decimal("0.01")
    return Decimal("0.001")


def round_volume(x: float, cap: float) -> float:
    """Half up to the step for its size, never above `cap` (then down to the step)."""
    step = _step(x)
    rounded = Decimal(repr(x)).quantize(step, rounding=ROUND_HALF_UP)
    if rounded > Decimal(repr(cap)):
        rounded = Decimal(repr(cap)).quantize(step, rounding=ROUND_FLOOR)
    return float(rounded)


def child_dose(drug: Drug, dose: Dose, weight_kg: float) -> ChildDose:
    """This row for this weight: capped, rounded, with its mmol, mg, dilution and duration.

    An undiluted dose is drawn as it is, so its volume is the one rounded. A diluted dose is
    drawn from the dilution (1 mL of 50% magnesium made up to 5 mL, say), so the drawn volume is
    the one rounded, five times larger and so measurable; the stock volume, mmol and mg are
    worked back from it."""
    cap = min(dose.max_ml, drug.ceiling_ml)
    if dose.fixed_ml is not None:
        raw = (dose.fixed_ml, dose.fixed_ml)
    else:
        per_kg_low = dose.ml_per_kg_low or 0.0
        per_kg_high = dose.ml_per_kg_high or per_kg_low
        raw = (per_kg_low * weight_kg, per_kg_high * weight_kg)
    capped = ""
    if raw[1] > cap:
        capped = "ceiling" if drug.ceiling_ml < dose.max_ml else "row"
    diluted = None
    if dose.dilution is None:
        low, high = (round_volume(min(v, cap), cap) for v in raw)
    else:
        f = dose.dilution.final_ml_per_ml
        drawn = [round_volume(min(v, cap) * f, cap * f) for v in raw]
        diluted = Span(drawn[0], drawn[1])
        low, high = (round(v / f, 4) for v in drawn)
    minutes = dose.min_minutes
    if drug.max_ml_per_min is not None:
        minutes = max(minutes, high / drug.max_ml_per_min)
    return ChildDose(
        ml=Span(low, high),
        mmol=Span(round(low * drug.mmol_per_ml, 4), round(high * drug.mmol_per_ml, 4)),
        mg_salt=Span(round(low * drug.mg_salt_per_ml, 1), round(high * drug.mg_salt_per_ml, 1)),
        diluted_ml=diluted,
        minutes=math.ceil(minutes - 1e-9),
        capped=capped,
    )


def card_for(
    algorithm: Algorithm, node: ActionNode, findings: Findings, patient: Patient
) -> DosePlan:
    """The dose card of `node` for the child the findings describe: the weight (checked
    against the growth reference for the age) and a confirmation of an unusual weight."""

    def kg(key: str) -> float | None:
        value = findings.get(key)
        finding = algorithm.findings.get(key)
        if isinstance(value, Quantity) and finding is not None:
            return value.canonical(finding)
        return None

    weight = kg(WEIGHT)
    confirmed_kg = kg(CONFIRMED_WEIGHT)
    confirmed = (
        weight is not None and confirmed_kg is not None and abs(confirmed_kg - weight) < 1e-9
    )
    verdict = None
    dosing = weight
    check = algorithm.weight_check
    if weight is not None and patient.age_days is not None and check is not None:
        verdict = check_weight(check, patient.age_days, weight, kg(GESTATION))
        if confirmed and not verdict.plausible:
            # A confirmed weight above the reference is dosed as the largest weight the
            # reference accepts for the age: a slip confirmed by mistake cannot multiply a dose.
            largest = largest_plausible_kg(check, patient.age_days, kg(GESTATION))
            if largest is not None and weight > largest:
                dosing = largest
    return dose_plan(algorithm, node, findings, patient, dosing, verdict, confirmed)


def dose_plan(
    algorithm: Algorithm,
    node: ActionNode,
    findings: Findings,
    patient: Patient,
    weight_kg: float | None,
    verdict: WeightVerdict | None,
    confirmed: bool,
) -> DosePlan:
    """The dose card for this child. Volumes only when the age is known and the weight is
    plausible for it (or confirmed); otherwise `need` says what is missing."""
    if patient.age_days is None:
        need = "age"
    elif weight_kg is None:
        need = "weight"
    elif verdict is not None and not verdict.plausible and not confirmed:
        need = "confirm"
    else:
        need = ""

    def holds(condition: object) -> bool:
        return evaluate(algorithm, condition, findings, patient) is True  # type: ignore[arg-type]

    plans: list[DrugPlan] = []
    used = {d.drug for d in node.doses}
    for drug_id in (d for d in algorithm.drugs if d in used):
        drug = algorithm.drugs[drug_id]
        rows = [d for d in node.doses if d.drug == drug_id]
        if patient.age_days is not None:
            rows = [d for d in rows if applies(d, patient)]
        rule = next((w for w in node.withhold if w.drug == drug_id and holds(w.when)), None)
        # The points the values given make true come first: they are about this child.
        cautions = tuple(
            [c for c in node.cautions if c.drug == drug_id and c.when is not None and holds(c.when)]
            + [c for c in node.cautions if c.drug == drug_id and c.when is None]
        )
        if rule is not None:
            plans.append(DrugPlan(drug_id, drug, (), (), rule.text, tuple(rule.sources), cautions))
            continue
        if not rows:
            continue
        cards = [
            DoseCard(
                drug_id,
                drug,
                d,
                min(d.max_ml, drug.ceiling_ml),
                child_dose(drug, d, weight_kg) if not need and weight_kg is not None else None,
            )
            for d in rows
        ]
        defaults = tuple(c for c in cards if c.default)
        others = tuple(
            sorted(
                (c for c in cards if not c.default),
                key=lambda c: (c.dose.min_age_days or 0.0, c.dose.max_age_days or 0.0),
            )
        )
        plans.append(DrugPlan(drug_id, drug, defaults, others, "", (), cautions))
    return DosePlan(
        drugs=tuple(plans),
        first_steps=tuple(s for s in node.first_steps if holds(s.when)),
        cautions=tuple(
            c for c in node.cautions if c.drug is None and (c.when is None or holds(c.when))
        ),
        weight_kg=weight_kg,
        verdict=verdict,
        confirmed=confirmed,
        need=need,
    )
