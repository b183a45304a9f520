"""Lab results from a hospital system: a FHIR R4 Bundle (or one Observation or DiagnosticReport,
optionally with the Patient) turned into findings, with what was used and what was left out and
why.

Each resource is parsed on its own by `fhir.resources` (its R4B models read R4 resources), so one
malformed entry is left out with its reason while the rest are read. The mapping is data in the
algorithm file (`fhir_import`, shown on /about): each finding's LOINC codes (and the codes refused
by name), the UCUM unit table, the statuses that count, and the index draw: the lowest recent
calcium sets the index time, and every other finding comes from the sample nearest to it inside
its window, never from one drawn after treatment. Results are read for one patient only.
Nothing is stored and nothing from the body is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from app.engine.models import Algorithm, FhirImport
from app.engine.values import FindingError, Quantity, format_number, make_quantity

LOINC = "http://loinc.org"
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
CALCIUM = ("ionized_calcium", "total_calcium")
MAX_DEPTH = 32  # FHIR lab resources nest about 10 deep; deeper JSON is refused, not parsed
MAX_ENTRIES = 20000  # a 2 MiB body holds at most about that many small entries
# Later in this order wins when two versions of one Observation carry no meta to tell them apart.
STATUS_ORDER = ("registered", "preliminary", "final", "amended", "corrected")
WITHDRAWN = ("entered-in-error", "cancelled")


class FhirError(ValueError):
    """The body is not FHIR this import can read (or not for one child of this workup's age);
    the message names the resource and field, and says what to send instead."""


@dataclass(frozen=True)
class Used:
    finding: str
    observation: str
    code: str
    value: str  # as sent, with its UCUM code (and comparator)
    converted: str  # as the app records it
    effective: str  # the sample time (effective[x]), ISO 8601
    note: str = ""


@dataclass(frozen=True)
class Ignored:
    resource: str
    reason: str
    effective: str = ""  # the sample time, when the resource has one


@dataclass
class Imported:
    findings: dict[str, Any] = field(default_factory=dict)  # the JSON form of the vocabulary
    used: list[Used] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    patient: str | None = None  # "Patient/<id>" whose results these are
    index_time: datetime | None = None  # the index calcium draw
    age: str = ""  # as people say it ("6 y 6 m", "52 h")


@dataclass(frozen=True)
class _Candidate:
    key: str
    name: str
    code: str
    when: datetime
    quantity: Quantity
    sent: str
    note: str


# --------------------------------------------------------------------------- reading the body


def _depth(data: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _label(raw: Any) -> str:
    if not isinstance(raw, dict):
        return "(not a resource)"
    kind, rid = raw.get("resourceType"), raw.get("id")
    kind = kind if isinstance(kind, str) and kind.isalnum() else "(no resourceType)"
    rid = rid if isinstance(rid, str) else "(no id)"
    return f"{kind[:40]}/{rid[:64]}"


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(the resource)"
    return f"{where}: {first['msg']}"


@dataclass
class _Body:
    codes: frozenset[str] = frozenset()  # every LOINC code read or refused by name
    patients: list[tuple[Patient, str]] = field(default_factory=list)  # with the entry fullUrl
    observations: list[tuple[Observation, str, dict[str, Any]]] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


def _read_report(raw: dict[str, Any], body: _Body) -> None:
    name = _label(raw)
    try:
        report = DiagnosticReport.model_validate(raw)
    except ValidationError as exc:
        body.ignored.append(Ignored(name, f"malformed, left out: {_problem(exc)}"))
        return
    contained = {
        c.get("id"): c
        for c in raw.get("contained") or []
        if isinstance(c, dict) and c.get("resourceType") == "Observation"
    }
    for ref in report.result or []:
        target = ref.reference or ""
        if not target.startswith("#"):
            continue  # a result elsewhere in the Bundle is read as its own entry
        obs = contained.get(target[1:])
        if obs is None:
            body.ignored.append(Ignored(name, f"result {target[:64]} is not contained"))
            continue
        obs = dict(obs)
        if "subject" not in obs and isinstance(raw.get("subject"), dict):
            obs["subject"] = raw["subject"]
        _read_observation(obs, f"{name}{target[:64]}", body)


def _observation(raw: dict[str, Any]) -> Observation:
    obs = Observation.model_validate(raw)
    if obs.code is None:  # `"code": null` passes the model; FHIR requires a code
        raise ValueError("code: required (a CodeableConcept with a LOINC coding)")
    return obs


def _raw_loinc(raw: dict[str, Any]) -> set[str]:
    """The LOINC codes of an Observation and its components, read before parsing it."""
    found: set[str] = set()
    concepts = [raw.get("code")]
    components = raw.get("component")
    if isinstance(components, list):
        concepts += [c.get("code") for c in components if isinstance(c, dict)]
    for concept in concepts:
        codings = concept.get("coding") if isinstance(concept, dict) else None
        for coding in codings if isinstance(codings, list) else []:
            if isinstance(coding, dict) and coding.get("system") == LOINC:
                code = coding.get("code")
                if isinstance(code, str):
                    found.add(code)
    return found


def _read_observation(raw: dict[str, Any], name: str, body: _Body) -> None:
    if body.codes and isinstance(raw.get("code"), dict) and not (_raw_loinc(raw) & body.codes):
        # Most of a PICU child's results (blood counts, drug levels) are not read here: left out
        # before the costly model validation.
        body.ignored.append(Ignored(name, "no LOINC code this workup reads"))
        return
    try:
        obs = _observation(raw)
    except ValidationError as exc:
        body.ignored.append(Ignored(name, f"malformed, left out: {_problem(exc)}"))
        return
    except ValueError as exc:
        body.ignored.append(Ignored(name, f"malformed, left out: {exc}"))
        return
    body.observations.append((obs, name, raw))


def _codes(algorithm: Algorithm) -> frozenset[str]:
    memo = algorithm.memo()
    if "fhir_codes" not in memo:
        read = {c.code for f in algorithm.findings.values() for c in f.loinc}
        refused = {c.code for f in algorithm.findings.values() for c in f.loinc_refused}
        memo["fhir_codes"] = frozenset(read | refused)
    return memo["fhir_codes"]  # type: ignore[no-any-return]


def _read(data: Any, codes: frozenset[str] = frozenset()) -> _Body:
    if not isinstance(data, dict) or "resourceType" not in data:
        raise FhirError("the body is not a FHIR resource (no resourceType)")
    if _depth(data) > MAX_DEPTH:
        raise FhirError(f"the JSON is nested more than {MAX_DEPTH} levels deep: not a lab result")
    kind = data["resourceType"]
    body = _Body(codes=codes)
    if kind == "Observation":
        try:
            body.observations.append((_observation(data), _label(data), data))
        except ValidationError as exc:
            raise FhirError(f"Observation: {_problem(exc)}") from None
        except ValueError as exc:
            raise FhirError(f"Observation: {exc}") from None
        return body
    if kind == "DiagnosticReport":
        _read_report(data, body)
        return body
    if kind != "Bundle":
        shown = str(kind)[:40]
        raise FhirError(
            f"resourceType {shown!r}: send a Bundle, an Observation or a DiagnosticReport"
        )
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError("Bundle.entry: must be a list of entries")
    if len(entries) > MAX_ENTRIES:
        raise FhirError(f"Bundle.entry: more than {MAX_ENTRIES} entries")
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            body.ignored.append(Ignored("Bundle.entry", "an entry without a resource"))
            continue
        name = _label(resource)
        kind = resource.get("resourceType")
        if kind == "Observation":
            _read_observation(resource, name, body)
        elif kind == "DiagnosticReport":
            _read_report(resource, body)
        elif kind == "Patient":
            try:
                patient = Patient.model_validate(resource)
            except ValidationError as exc:
                raise FhirError(f"{name}: {_problem(exc)}") from None
            body.patients.append((patient, full_url if isinstance(full_url, str) else ""))
        else:
            body.ignored.append(Ignored(name, "not an Observation, DiagnosticReport or Patient"))
    return body


# --------------------------------------------------------------------------- one patient


def _reference(ref: str) -> str:
    """`Patient/p1`, `https://ehr/fhir/Patient/p1/_history/2` → `Patient/p1`; else unchanged."""
    parts = ref.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == "Patient":
        return f"Patient/{parts[-1]}"
    return ref


def _whose(body: _Body, patient_id: str | None) -> tuple[Patient | None, set[str]]:
    """The one patient of this import (its resource, if sent) and the references that name it."""
    by_id: dict[str, tuple[Patient, str]] = {}
    for patient, full_url in body.patients:
        by_id.setdefault(f"Patient/{patient.id or '(no id)'}", (patient, full_url))
    if len(by_id) > 1:
        listed = " and ".join(sorted(by_id))
        raise FhirError(
            f"the Bundle holds {len(by_id)} patients ({listed}): send one patient's results"
        )
    if patient_id is not None:
        wanted = f"Patient/{patient_id}"
        if by_id and wanted not in by_id:
            raise FhirError(f"the Patient sent ({next(iter(by_id))}) is not {wanted}")
        found = by_id.get(wanted)
        return (found[0] if found else None), {wanted} | (
            {found[1]} if found and found[1] else set()
        )
    if by_id:
        ((name, (patient, full_url)),) = by_id.items()
        return patient, {name} | ({full_url} if full_url else set())
    subjects = {
        _reference(obs.subject.reference)
        for obs, _, _ in body.observations
        if obs.subject is not None and obs.subject.reference
    }
    if len(subjects) > 1:
        listed = " and ".join(sorted(s[:64] for s in subjects))
        raise FhirError(
            f"the results are about {len(subjects)} patients ({listed}): send one patient's results"
        )
    return None, subjects


# --------------------------------------------------------------------------- versions


def _version_key(obs: Observation) -> tuple[int, str, int]:
    version = obs.meta.versionId if obs.meta is not None else None
    updated = obs.meta.lastUpdated if obs.meta is not None else None
    number = int(version) if version is not None and version.isdigit() else -1
    stamp = updated.astimezone(UTC).isoformat() if isinstance(updated, datetime) else ""
    status = str(obs.status)
    rank = (
        len(STATUS_ORDER) + 1
        if status in WITHDRAWN
        else (STATUS_ORDER.index(status) if status in STATUS_ORDER else -1)
    )
    return number, stamp, rank


def _current(
    observations: list[tuple[Observation, str, dict[str, Any]]], out: Imported
) -> list[tuple[Observation, str]]:
    groups: dict[str, list[tuple[Observation, str]]] = {}
    alone: list[tuple[Observation, str]] = []
    for obs, name, _ in observations:
        if obs.id:
            groups.setdefault(name, []).append((obs, name))
        else:
            alone.append((obs, name))
    current = list(alone)
    for versions in groups.values():
        versions.sort(key=lambda v: _version_key(v[0]))
        latest = versions[-1]
        for older, name in versions[:-1]:
            what = older.meta.versionId if older.meta is not None else None
            label = f"version {what}" if what else f"the {older.status} version"
            out.ignored.append(
                Ignored(
                    name,
                    f"{label} is superseded by the current one ({latest[0].status})",
                    _iso(_when(older)),
                )
            )
        current.append(latest)
    return current


# --------------------------------------------------------------------------- times and age


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(obs: Observation) -> datetime | None:
    """The sample time: effective[x], never `issued` (the release time)."""
    moment: object = obs.effectiveDateTime or obs.effectiveInstant
    if moment is None and obs.effectivePeriod is not None:
        moment = obs.effectivePeriod.start
    if isinstance(moment, datetime):
        return _aware(moment)
    if isinstance(moment, date):  # a day without a time of day
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return None  # none, or only a year or a month


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def say_hours(hours: float) -> str:
    """A duration as people say it: `52 h`, `12 d`, `9 m 12 d`, `6 y 6 m`."""
    if hours < 72:
        return f"{format_number(round(hours, 1))} h"
    days = hours / 24
    if days < 28:
        return f"{format_number(round(days, 1))} d"
    if days < 730.5:
        months = int(days // 30.4375)
        rest = int(round(days - months * 30.4375))
        return f"{months} m {rest} d" if rest else f"{months} m"
    years = int(days // 365.25)
    months = int((days - years * 365.25) // 30.4375)
    return f"{years} y {months} m" if months else f"{years} y"


def _age_bounds(algorithm: Algorithm) -> tuple[float, ...]:
    """Every age (in days) at which this workup's limits, ranges, branches or priors change."""
    memo = algorithm.memo()
    if "fhir_age_bounds" in memo:
        return memo["fhir_age_bounds"]  # type: ignore[no-any-return]
    age = algorithm.findings.get("age")
    factors = {c.unit: c.factor for c in age.conversions} if age is not None else {}
    factors[(age.unit if age is not None else None) or "days"] = 1.0
    found: set[float] = set()
    stack: list[Any] = [algorithm.model_dump(mode="json", by_alias=True)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in ("min_age_days", "max_age_days"):
                if isinstance(item.get(key), int | float):
                    found.add(float(item[key]))
            if item.get("finding") == "age":
                for test in ("below", "at_least", "above", "at_most"):
                    limit = item.get(test)
                    if isinstance(limit, dict) and isinstance(limit.get("value"), int | float):
                        found.add(float(limit["value"]) * factors.get(str(limit.get("unit")), 1.0))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    bounds = tuple(sorted(found))
    memo["fhir_age_bounds"] = bounds
    return bounds


def _band(bounds: tuple[float, ...], days: float) -> tuple[tuple[bool, bool], ...]:
    return tuple((days < b, days <= b) for b in bounds)


def _birth(patient: Patient) -> tuple[datetime, datetime, str] | None:
    """The earliest and latest possible moment of birth, and how it was given."""
    extensions = list(patient.extension or [])
    element = getattr(patient, "birthDate__ext", None)
    if element is not None:
        extensions += list(element.extension or [])
    for ext in extensions:
        if ext.url == BIRTH_TIME and ext.valueDateTime is not None:
            moment = ext.valueDateTime
            if isinstance(moment, datetime):
                moment = _aware(moment)
                return moment, moment, "birth time"
    day: object = patient.birthDate  # a str when only a year or a month is given
    if isinstance(day, date):
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=1), "birth date"
    if isinstance(day, str) and len(day) == 7:  # YYYY-MM
        year, month = int(day[:4]), int(day[5:7])
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return start, end, f"birth month {day}"
    if isinstance(day, str) and len(day) == 4:  # YYYY
        start = datetime(int(day), 1, 1, tzinfo=UTC)
        return start, datetime(int(day) + 1, 1, 1, tzinfo=UTC), f"birth year {day}"
    return None


def _recorded_age(bounds: tuple[float, ...], hours: float) -> dict[str, Any]:
    """The age in the unit people use, rounded only where rounding crosses no age limit."""
    days = hours / 24
    if hours < 72:
        unit, per = "hours", 1 / 24
    elif days < 61:
        unit, per = "days", 1.0
    elif days < 730.5:
        unit, per = "months", 30.4375
    else:
        unit, per = "years", 365.25
    value = round(days / per, 1)
    if _band(bounds, value * per) == _band(bounds, days):
        return {"value": value, "unit": unit}
    return {"value": round(days, 3), "unit": "days"}


def _age(algorithm: Algorithm, patient: Patient, name: str, at: datetime, out: Imported) -> None:
    birth = _birth(patient)
    if birth is None:
        out.ignored.append(Ignored(name, "no birthDate: the age is asked"))
        return
    earliest, latest, given = birth
    oldest = (at - earliest).total_seconds() / 3600
    youngest = max((at - latest).total_seconds() / 3600, 0.0)
    if oldest < 0:
        out.ignored.append(Ignored(name, "the index sample is dated before the birth"))
        return
    finding = algorithm.findings.get("age")
    top = finding.plausible[1] if finding is not None and finding.plausible else None
    if top is not None and youngest / 24 > top:
        raise FhirError(
            f"{name} is {say_hours(youngest)} old at the sample: this workup is for infants "
            f"and children up to {say_hours(top * 24)}; nothing was imported"
        )
    bounds = _age_bounds(algorithm)
    if top is not None:
        bounds = tuple(sorted(set(bounds) | {top}))
    if earliest != latest and any(youngest / 24 <= b <= oldest / 24 for b in bounds):
        out.ignored.append(
            Ignored(
                name,
                f"the {given} gives an age between {say_hours(youngest)} and "
                f"{say_hours(oldest)}, across an age limit of this workup: the age is asked",
            )
        )
        return
    hours = (youngest + oldest) / 2
    out.findings["age"] = _recorded_age(bounds, hours)
    out.age = (
        say_hours(hours)
        if earliest == latest or given == "birth date"
        else (f"{say_hours(youngest)} to {say_hours(oldest)} ({given})")
    )


# --------------------------------------------------------------------------- candidates


def _candidates(
    algorithm: Algorithm,
    rules: FhirImport,
    obs: Observation,
    name: str,
    when: datetime,
    out: Imported,
) -> list[_Candidate]:
    by_code: dict[str, str] = {}
    refused: dict[str, str] = {}
    for key, finding in algorithm.findings.items():
        for loinc in finding.loinc:
            by_code[loinc.code] = key
        for bad in finding.loinc_refused:
            refused[bad.code] = f"{bad.code} ({bad.name}): {bad.reason}"
    parts = [(obs.code, obs.valueQuantity, name)]
    for comp in obs.component or []:
        concept: Any = comp.code  # may be null in a hostile body
        if concept is None:
            continue
        codes = [c.code for c in concept.coding or [] if c.system == LOINC and c.code]
        parts.append((concept, comp.valueQuantity, f"{name} component {(codes or ['?'])[0]}"))
    found: list[_Candidate] = []
    read_any = False
    for concept, quantity, label in parts:
        codes = [c.code for c in (concept.coding or []) if c.system == LOINC and c.code]
        known = [c for c in codes if c in by_code]
        if not known:
            why = next((refused[c] for c in codes if c in refused), None)
            if why:
                out.ignored.append(Ignored(label, f"refused code {why}", _iso(when)))
                read_any = True
            continue
        read_any = True
        key, code = by_code[known[0]], known[0]
        finding = algorithm.findings[key]
        if quantity is None or quantity.value is None:
            out.ignored.append(Ignored(label, "no numeric value (valueQuantity)", _iso(when)))
            continue
        ucum = (quantity.code or quantity.unit or "").split("{")[0].strip()
        if ucum == "" and not finding.unit:
            unit = ""
        elif ucum in rules.ucum and ucum:
            unit = rules.ucum[ucum]
        else:
            shown = ucum[:20] or "no unit"
            out.ignored.append(
                Ignored(label, f"unit {shown!r} is not in the UCUM table", _iso(when))
            )
            continue
        try:
            recorded = make_quantity(key, finding, float(quantity.value), unit)
        except FindingError as exc:
            out.ignored.append(Ignored(label, f"{finding.label}: {exc.message}", _iso(when)))
            continue
        comparator = quantity.comparator or ""
        sent = f"{comparator}{quantity.value} {ucum}".strip()
        notes = []
        if comparator:
            notes.append(
                f"sent as {comparator}{quantity.value}: a limit of the assay, not a "
                f"measurement; recorded as {format_number(recorded.value)}"
            )
        moment: object = obs.effectiveDateTime
        if isinstance(moment, date) and not isinstance(moment, datetime):
            notes.append("sampled on that day; no time of day was given")
        found.append(_Candidate(key, label, code, when, recorded, sent, "; ".join(notes)))
    if not read_any:
        out.ignored.append(Ignored(name, "no LOINC code this workup reads", _iso(when)))
    return found


# --------------------------------------------------------------------------- the index draw


def _index(algorithm: Algorithm, rules: FhirImport, cands: list[_Candidate]) -> _Candidate | None:
    calcium = [c for c in cands if c.key in CALCIUM]
    if not calcium:
        return None
    latest = max(c.when for c in calcium)
    recent = [c for c in calcium if latest - c.when <= timedelta(hours=rules.look_back(c.key))]
    pool = [c for c in recent if c.key == "ionized_calcium"] or recent
    return min(pool, key=lambda c: (c.quantity.canonical(algorithm.findings[c.key]), c.when))


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _choose(
    algorithm: Algorithm, rules: FhirImport, cands: list[_Candidate], out: Imported
) -> dict[str, _Candidate]:
    index = _index(algorithm, rules, cands)
    at = index.when if index is not None else max(c.when for c in cands)
    out.index_time = at
    what = "the index calcium" if index is not None else "the most recent sample (no calcium)"
    chosen: dict[str, _Candidate] = {}
    by_key: dict[str, list[_Candidate]] = {}
    for c in cands:
        by_key.setdefault(c.key, []).append(c)
    for key, group in by_key.items():
        back, after = rules.look_back(key), rules.draw_after_hours
        inside: list[_Candidate] = []
        for c in group:
            delta = _hours(c.when - at)
            if delta < -back:
                out.ignored.append(
                    Ignored(
                        c.name,
                        f"drawn {say_hours(-delta)} before {what}: outside its "
                        f"{format_number(back)} h look-back",
                        _iso(c.when),
                    )
                )
            elif delta > after:
                out.ignored.append(
                    Ignored(
                        c.name,
                        f"drawn {say_hours(delta)} after {what}: later than "
                        f"{format_number(after)} h, it may follow treatment",
                        _iso(c.when),
                    )
                )
            else:
                inside.append(c)
        if not inside:
            continue
        if index is not None and key == index.key:
            best = index
        else:
            best = min(inside, key=lambda c: (abs(_hours(c.when - at)), c.when > at))
        finding = algorithm.findings[key]
        value = best.quantity.canonical(finding)
        conflict = False
        for c in inside:
            if c is best:
                continue
            if c.when == best.when:
                other = c.quantity.canonical(finding)
                if abs(other - value) <= rules.same_sample_tolerance * max(abs(value), 1e-9):
                    reason = f"the same sample as {best.name}, sent in another unit"
                else:
                    conflict = True
                    reason = f"conflicts with {best.name} (same sample time): neither is used"
            elif index is not None and key == index.key:
                reason = f"not the index draw (the lowest calcium is {best.name})"
            else:
                reason = f"farther from {what} than {best.name}"
            out.ignored.append(Ignored(c.name, reason, _iso(c.when)))
        if conflict:
            out.ignored.append(
                Ignored(
                    best.name,
                    "conflicts with another result at the same time: not used",
                    _iso(best.when),
                )
            )
            continue
        chosen[key] = best
    return chosen


# --------------------------------------------------------------------------- the import


def import_fhir(algorithm: Algorithm, data: Any, patient_id: str | None = None) -> Imported:
    """Findings from FHIR resources, by the algorithm's mapping. Raises FhirError for a body
    that cannot be read at all (or two patients, or a patient above the workup's age range);
    anything that can be skipped is listed in `ignored` with its reason and sample time.
    `patient_id` (a CDS Hooks context) names the only patient whose results count."""
    rules = algorithm.fhir_import
    if rules is None:
        raise FhirError(f"the algorithm {algorithm.id!r} declares no FHIR import")
    body = _read(data, _codes(algorithm))
    out = Imported(ignored=list(body.ignored))
    patient, names = _whose(body, patient_id)
    out.patient = next((n for n in sorted(names) if n.startswith("Patient/")), None)
    cands: list[_Candidate] = []
    for obs, name in _current(body.observations, out):
        when = _when(obs)
        subject = obs.subject.reference if obs.subject is not None else None
        if names and subject is None:
            out.ignored.append(
                Ignored(name, "no subject: whose result it is is not said", _iso(when))
            )
            continue
        if subject is not None and names and not ({subject, _reference(subject)} & names):
            out.ignored.append(
                Ignored(
                    name, f"about {subject[:64]}, not {out.patient or 'this patient'}", _iso(when)
                )
            )
            continue
        status = str(obs.status)
        if status not in rules.statuses:
            out.ignored.append(
                Ignored(
                    name,
                    f"status {status[:30]!r} (counted: {', '.join(rules.statuses)})",
                    _iso(when),
                )
            )
            continue
        if when is None:
            out.ignored.append(
                Ignored(
                    name,
                    "no sample time (effective[x], to the day at least): a result that cannot "
                    "be placed next to the calcium is not used",
                )
            )
            continue
        cands.extend(_candidates(algorithm, rules, obs, name, when, out))
    chosen = _choose(algorithm, rules, cands, out) if cands else {}
    for key, c in chosen.items():
        out.findings[key] = {"value": c.quantity.value, "unit": c.quantity.unit}
        out.used.append(
            Used(
                key,
                c.name,
                c.code,
                c.sent,
                f"{format_number(c.quantity.value)} {c.quantity.unit}".strip(),
                _iso(c.when),
                c.note,
            )
        )
    if patient is not None:
        name = f"Patient/{patient.id or '(no id)'}"
        if out.index_time is not None:
            _age(algorithm, patient, name, out.index_time, out)
    return out
