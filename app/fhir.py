"""Lab results from a hospital system: a FHIR R4 Bundle (or one Observation, optionally with the
Patient) turned into findings, with what was used and what was ignored and why.

Parsing is `fhir.resources` (its R4B models read R4 resources); the mapping is data in the
algorithm file: each finding's LOINC codes (and the codes refused by name), the UCUM unit table,
the statuses that count, and the windows around the index calcium sample. Nothing is stored and
nothing from the body is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from app.engine.models import Algorithm
from app.engine.values import FindingError, format_number, make_quantity

LOINC = "http://loinc.org"
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
CALCIUM = ("ionized_calcium", "total_calcium")


class FhirError(ValueError):
    """The body is not FHIR this import can read; the message names the resource and field."""


@dataclass(frozen=True)
class Used:
    finding: str
    observation: str
    code: str
    value: str  # as sent, with its UCUM code
    converted: str  # as the app records it
    effective: str


@dataclass(frozen=True)
class Ignored:
    resource: str
    reason: str


@dataclass
class Imported:
    findings: dict[str, Any] = field(default_factory=dict)  # the JSON form of the vocabulary
    used: list[Used] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    key: str
    observation: Observation
    code: str
    when: datetime | None
    value: Decimal
    unit: str


def _resources(data: Any) -> list[Any]:
    if not isinstance(data, dict) or "resourceType" not in data:
        raise FhirError("the body is not a FHIR resource (no resourceType)")
    kind = data["resourceType"]
    try:
        if kind == "Bundle":
            bundle = Bundle.model_validate(data)
            return [e.resource for e in bundle.entry or [] if e.resource is not None]
        if kind == "Observation":
            return [Observation.model_validate(data)]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FhirError(f"{kind}: {where}: {first['msg']}") from None
    raise FhirError(f"resourceType {str(kind)[:40]!r}: send a Bundle or an Observation")


def _name(resource: Any) -> str:
    return f"{type(resource).__name__}/{getattr(resource, 'id', None) or '(no id)'}"


def _when(obs: Observation) -> datetime | None:
    moment: object = obs.effectiveDateTime or obs.effectiveInstant or obs.issued
    if moment is None and obs.effectivePeriod is not None:
        moment = obs.effectivePeriod.start
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(moment, date):  # a date without a time of day
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return None


def _born(patient: Patient) -> datetime | None:
    for ext in patient.extension or []:
        if ext.url == BIRTH_TIME and ext.valueDateTime is not None:
            moment = ext.valueDateTime
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if patient.birthDate is not None:
        day = patient.birthDate
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return None


def import_fhir(algorithm: Algorithm, data: Any) -> Imported:
    """Findings from FHIR resources, by the algorithm's mapping. Raises FhirError for a body
    that cannot be read at all; anything that can be skipped is listed in `ignored`."""
    rules = algorithm.fhir_import
    if rules is None:
        raise FhirError(f"the algorithm {algorithm.id!r} declares no FHIR import")
    by_code: dict[str, str] = {}
    refused: dict[str, str] = {}
    for key, finding in algorithm.findings.items():
        for code in finding.loinc:
            by_code[code.code] = key
        for bad in finding.loinc_refused:
            refused[bad.code] = f"{bad.code} ({bad.name}): {bad.reason}"
    out = Imported()
    candidates: list[_Candidate] = []
    patient: Patient | None = None
    for resource in _resources(data):
        name = _name(resource)
        if isinstance(resource, Patient):
            patient = resource
            continue
        if not isinstance(resource, Observation):
            out.ignored.append(Ignored(name, "not an Observation or a Patient"))
            continue
        codes = [c.code for c in (resource.code.coding or []) if c.system == LOINC and c.code]
        known = [c for c in codes if c in by_code]
        if not known:
            why = next((refused[c] for c in codes if c in refused), None)
            out.ignored.append(
                Ignored(name, f"refused code {why}" if why else "no LOINC code this workup reads")
            )
            continue
        if resource.status not in rules.statuses:
            out.ignored.append(
                Ignored(name, f"status {resource.status!r} (counted: {', '.join(rules.statuses)})")
            )
            continue
        quantity = resource.valueQuantity
        if quantity is None or quantity.value is None:
            out.ignored.append(Ignored(name, "no numeric value (valueQuantity)"))
            continue
        ucum = (quantity.code or quantity.unit or "").split("{")[0].strip()
        if ucum not in rules.ucum:
            out.ignored.append(Ignored(name, f"unit {ucum!r} is not in the UCUM table"))
            continue
        candidates.append(
            _Candidate(by_code[known[0]], resource, known[0], _when(resource), quantity.value, ucum)
        )
    index = max(
        (c.when for c in candidates if c.key in CALCIUM and c.when is not None), default=None
    )
    if index is None:
        index = max((c.when for c in candidates if c.when is not None), default=None)
    chosen: dict[str, _Candidate] = {}
    for c in sorted(candidates, key=lambda c: c.when or datetime.min.replace(tzinfo=UTC)):
        name = _name(c.observation)
        limit = rules.paired_with_calcium_hours.get(c.key) or rules.windows.get(
            c.key, rules.window_hours
        )
        if (
            index is not None
            and c.when is not None
            and abs(index - c.when) > timedelta(hours=limit)
        ):
            paired = c.key in rules.paired_with_calcium_hours
            what = "the calcium sample" if paired else "the index sample"
            out.ignored.append(Ignored(name, f"more than {format_number(limit)} h from {what}"))
            continue
        earlier = chosen.get(c.key)
        if earlier is not None:
            if earlier.when == c.when and earlier.value != c.value:
                out.ignored.append(
                    Ignored(name, f"conflicts with {_name(earlier.observation)} (same time)")
                )
                chosen[c.key] = _Candidate(c.key, c.observation, "", c.when, Decimal(-1), "")
                continue
            out.ignored.append(
                Ignored(_name(earlier.observation), f"superseded by the newer {name}")
            )
        chosen[c.key] = c
    for key, c in chosen.items():
        if not c.code:  # a conflict: neither value is used
            continue
        finding = algorithm.findings[key]
        unit = rules.ucum[c.unit]
        try:
            recorded = make_quantity(key, finding, float(c.value), unit)
        except FindingError as exc:
            out.ignored.append(Ignored(_name(c.observation), f"{finding.label}: {exc.message}"))
            continue
        out.findings[key] = {"value": recorded.value, "unit": recorded.unit}
        out.used.append(
            Used(
                key,
                _name(c.observation),
                c.code,
                f"{c.value} {c.unit}".strip(),
                f"{format_number(recorded.value)} {recorded.unit}".strip(),
                c.when.isoformat() if c.when else "",
            )
        )
    if patient is not None:
        born = _born(patient)
        if born is not None and index is not None and index >= born:
            hours = (index - born).total_seconds() / 3600
            if hours < 72:
                out.findings["age"] = {"value": round(hours, 1), "unit": "hours"}
            else:
                out.findings["age"] = {"value": round(hours / 24, 1), "unit": "days"}
        elif born is None:
            out.ignored.append(Ignored(_name(patient), "no birthDate: the age is not known"))
    return out
