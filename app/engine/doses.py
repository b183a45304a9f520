"""Dose cards: the doses an emergency step lists, grouped by drug and filtered to the child.

Nothing here chooses a dose. Each row is one named source's dose as it reports it; with the
child's weight, the row also shows the volume that source's mL/kg gives for this child, capped
at that source's own maximum. Volumes are rounded half up to 0.1 mL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.engine.conditions import Patient, applies
from app.engine.models import Dose
from app.engine.values import format_number


@dataclass(frozen=True)
class Volume:
    """The volume one source's mL/kg gives for this weight."""

    low_ml: float
    high_ml: float | None  # None: a single mL/kg, not a range
    capped: bool  # the source's maximum was reached
    max_ml: float | None

    @property
    def text(self) -> str:
        """As drawn up: "4.1 mL", "8.2–10 mL" (a no-break space before the unit)."""
        high = f"–{format_number(self.high_ml)}" if self.high_ml is not None else ""
        return f"{format_number(self.low_ml)}{high}\u00a0mL"

    @property
    def note(self) -> str:
        if self.capped and self.max_ml is not None:
            return f"capped at this source's maximum, {format_number(self.max_ml)} mL"
        return ""


@dataclass(frozen=True)
class DoseRow:
    dose: Dose
    volume: Volume | None


@dataclass(frozen=True)
class DoseCard:
    drug: str
    rows: tuple[DoseRow, ...]


def round_ml(value: float) -> float:
    """Half up to one decimal place (0.25 → 0.3), as a volume is drawn up."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def volume_for(dose: Dose, weight_kg: float) -> Volume | None:
    """The volume for `weight_kg` from the source's own mL/kg, never above its maximum."""
    if dose.ml_per_kg_low is None or weight_kg <= 0:
        return None
    capped = False

    def scaled(per_kg: float) -> float:
        nonlocal capped
        ml = per_kg * weight_kg
        if dose.max_ml is not None and ml > dose.max_ml:
            capped = True
            ml = dose.max_ml
        return round_ml(ml)

    low = scaled(dose.ml_per_kg_low)
    high = scaled(dose.ml_per_kg_high) if dose.ml_per_kg_high is not None else None
    if high is not None and high == low:
        high = None
    return Volume(low, high, capped, dose.max_ml)


def dose_cards(doses: Sequence[Dose], patient: Patient, weight_kg: float | None) -> list[DoseCard]:
    """One card per drug, in the order the drugs first appear, with the rows for this child's
    age (all rows when the age is not known)."""
    cards: dict[str, list[DoseRow]] = {}
    for dose in doses:
        if patient.age_days is not None and not applies(dose, patient):
            continue
        volume = volume_for(dose, weight_kg) if weight_kg is not None else None
        cards.setdefault(dose.drug, []).append(DoseRow(dose, volume))
    return [DoseCard(drug, tuple(rows)) for drug, rows in cards.items()]
