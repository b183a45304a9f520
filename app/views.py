"""What each page template is given: one typed object built from an engine `Step`.

Templates only display; every URL, flag, range and prefilled value is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.engine.conditions import Patient, band_for, flag, reference_range
from app.engine.doses import DosePlan, card_for
from app.engine.handover import also_abnormal as also_abnormal_keys
from app.engine.handover import flag_text
from app.engine.models import (
    ActionNode,
    Algorithm,
    Finding,
    MeasurementNode,
    Source,
)
from app.engine.values import (
    UNKNOWN,
    Findings,
    Quantity,
    Value,
    display,
    encode_text,
    format_number,
)
from app.engine.walk import Step, asks_of, steps_ahead, walk
from app.urlstate import LABS_FORM, WAS, State, Submission, lab_keys, query_string, walk_url

FLAG_TEXT = {"low": "low for age", "high": "high for age", "normal": "within range for age"}


@dataclass(frozen=True)
class Links:
    """Builds URLs under the app's root path, keeping the view flags (presentation, embed)."""

    root: str
    algorithm_id: str
    views: tuple[str, ...]

    def path(self, path: str) -> str:
        return f"{self.root}{path}"

    def extend(self, state_qs: str, extra: list[tuple[str, str]], page: str = "") -> str:
        """The URL of the walkthrough (or of one of its `page`s: map, labs) for an already encoded
        state plus a few more pairs, keeping the view flags."""
        views = [("view", v) for v in self.views]
        parts = [p for p in (state_qs, query_string(extra + views)) if p]
        return walk_url(self.root, self.algorithm_id, "&".join(parts), page)

    def toggle(self, state_qs: str, extra: list[tuple[str, str]], view: str) -> str:
        """The same URL with one view flag switched on or off."""
        views = tuple(v for v in self.views if v != view)
        if view not in self.views:
            views = (*views, view)
        return Links(self.root, self.algorithm_id, views).extend(state_qs, extra)


@dataclass(frozen=True)
class RangeView:
    label: str
    text: str
    source: str


@dataclass(frozen=True)
class AnswerView:
    key: str
    label: str
    text: str
    flag: str | None
    flag_text: str | None
    range: RangeView | None


@dataclass(frozen=True)
class TrailView:
    node_id: str
    title: str
    kind: str
    auto: bool
    answers: tuple[AnswerView, ...]
    outcome: str | None
    note: str | None
    change_url: str | None
    not_known: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class FieldView:
    key: str
    label: str
    help: str | None
    kind: str
    error: str | None
    options: tuple[Option, ...] = ()
    value: str = ""
    units: tuple[Option, ...] = ()
    range: RangeView | None = None
    step: str = "any"
    has_ranges: bool = False
    range_note: str | None = None
    loinc: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitView:
    label: str
    applies: str
    text: str
    source: str


class Modes:
    """Presentation and embed modes of a page, from its `views` (the URL's `view=` flags)."""

    views: tuple[str, ...]

    @property
    def embed(self) -> bool:
        return "embed" in self.views

    @property
    def present(self) -> bool:
        return "present" in self.views


@dataclass(frozen=True)
class StepView(Modes):
    """Everything a step page shows, built once per request by `build` and read by the
    templates (which reach no further into the engine than `step` and `algorithm`). Frozen:
    the page is a function of the URL, and nothing changes it after it is built."""

    algorithm: Algorithm  # the algorithm walked (title, version, sources for the rationale)
    step: Step  # the engine's answer: node, trail, differential, alerts, patient
    links: Links  # URL builder under the root path, keeping the view flags
    trail: list[TrailView]  # the answers so far, one entry per step passed, with change links
    fields: list[FieldView]  # this step's form fields, with the values already given
    hidden: list[tuple[str, str]]  # the state the step's form carries back (see carried_state)
    limits: list[LimitView]  # the thresholds a measurement step shows for this patient
    sources: dict[str, Source]  # every source by id, for citations beside ranges
    restart_url: str  # a fresh walk, same view flags
    back_url: str | None  # the step before this one (None on the first step)
    self_url: str  # this step, canonical
    state_query: str  # the findings so far, for a form that posts them back (FHIR import)
    open_url: str  # this step outside the frame (embed mode off)
    present_url: str  # this step with presentation mode toggled
    map_url: str  # the whole-tree map with this path marked
    labs_url: str  # the labs-first form, keeping the findings so far
    views: tuple[str, ...]  # the URL's view flags (present, embed)
    errors: dict[str, str] = field(default_factory=dict)  # this step's refused fields, by key
    lab_fields: list[FieldView] = field(default_factory=list)  # the labs-first form's fields
    labs_hidden: list[tuple[str, str]] = field(default_factory=list)  # the state it carries
    labs_errors: dict[str, str] = field(default_factory=dict)  # its refused fields, by key
    labs_paste: str = ""  # pasted text shown again when the labs form is refused
    labs_form: str = LABS_FORM  # the labs form's `from` marker
    progress: str = ""  # "Step 3 of about 9" (questions only, not while changing an answer)
    # After the labs form or a FHIR import: the values recorded and the steps they answered.
    recorded: list[AnswerView] = field(default_factory=list)
    recorded_from: str = ""  # "labs" or "fhir"
    settled: list[str] = field(default_factory=list)  # titles of the lab steps they answer
    # Result pages (the handover): every value given, once, with its flag; the clinical
    # findings present; the abnormal values that no likely diagnosis accounts for.
    key_values: list[AnswerView] = field(default_factory=list)
    present_findings: list[str] = field(default_factory=list)
    also_abnormal: list[AnswerView] = field(default_factory=list)
    # Emergency step: the dose card for the age and weight given (None on other steps).
    doses: DoseView | None = None

    @property
    def node(self):  # type: ignore[no-untyped-def]
        return self.step.node

    @property
    def title(self) -> str:
        return self.step.node.title

    @property
    def view_pairs(self) -> list[tuple[str, str]]:
        return [("view", v) for v in self.views]


def range_view(algorithm: Algorithm, key: str, patient: Patient) -> RangeView | None:
    finding = algorithm.findings[key]
    band = reference_range(algorithm, key, patient)
    if band is None:
        return None
    unit = finding.unit or ""
    if band.low is not None and band.high is not None:
        text = f"{format_number(band.low)}–{format_number(band.high)} {unit}"
    elif band.low is not None:
        text = f"at least {format_number(band.low)} {unit}"
    else:
        assert band.high is not None
        text = f"up to {format_number(band.high)} {unit}"
    return RangeView(band.label, text.strip(), band.source)


def _answer_view(
    algorithm: Algorithm, key: str, value: Value | None, flag: str | None, patient: Patient
) -> AnswerView:
    finding = algorithm.findings[key]
    text = display(value) if value is not None else "—"
    if finding.kind == "choice" and isinstance(value, str) and value != UNKNOWN:
        text = (finding.options or {}).get(value, value)
    rng = range_view(algorithm, key, patient) if isinstance(value, Quantity) else None
    words = flag_text(algorithm, key, value, patient) if isinstance(value, Quantity) else None
    return AnswerView(key, finding.label, text, flag, words, rng)


@dataclass(frozen=True)
class DoseView:
    """The emergency dose card as the page shows it: the engine's plan, and the words and
    links around it (for whom, a weight asked back, the two ways to answer it)."""

    plan: DosePlan
    for_text: str  # "9 months, 9 kg"
    weight_text: str  # "9 kg"
    age_text: str  # "9 months"
    dosing_text: str  # the weight the doses are worked for, when it is not the weight given
    verdict_text: str  # why the weight is asked back, or ""
    verdict_source: str  # the reference and the cut-off it was read against
    suggestion_text: str  # "3.5 kg", or ""
    suggestion_url: str  # the same step with the suggested weight
    confirm_url: str  # the same step with the weight confirmed as right


def _sds_text(sds: tuple[float, float] | None) -> str:
    if sds is None:
        return ""
    low, high = sorted(sds)
    return f"{low:+.1f} to {high:+.1f}".replace("-", "\u2212")


def dose_view(
    algorithm: Algorithm,
    node: ActionNode,
    findings: Findings,
    patient: Patient,
    links: Links,
    edit_pair: list[tuple[str, str]],
) -> DoseView:
    plan = card_for(algorithm, node, findings, patient)
    age, weight = findings.get("age"), findings.get("weight")
    weight_text = display(weight) if isinstance(weight, Quantity) else ""
    age_text = display(age) if isinstance(age, Quantity) else ""
    who = [age_text, weight_text]
    verdict_text = verdict_source = suggestion_text = suggestion_url = confirm_url = ""
    verdict = plan.verdict
    check = algorithm.weight_check
    dosing_text = ""
    if isinstance(weight, Quantity) and plan.weight_kg is not None:
        if abs(plan.weight_kg - weight.canonical(algorithm.findings["weight"])) > 1e-9:
            dosing_text = display(Quantity(plan.weight_kg, "kg"))
    if plan.need == "confirm" and verdict is not None and check is not None:
        age_words = age_text
        cutoff = f"{check.sds_low:+g} to {check.sds_high:+g}".replace("-", "\u2212")
        if verdict.sds is None:
            verdict_text = (
                f"The growth reference has no value for {age_words}"
                f"{' (corrected for gestation)' if verdict.corrected else ''}: check {weight_text}."
            )
        else:
            verdict_text = (
                f"{weight_text} is far outside the growth reference for {age_words}"
                f"{' (corrected for gestation)' if verdict.corrected else ''}: SDS "
                f"{_sds_text(verdict.sds)}; weights outside {cutoff} are flagged as likely slips."
            )
        verdict_source = (
            f"{algorithm.sources[check.reference_source].citation}; "
            f"{algorithm.sources[check.cutoff_source].citation}."
        )

        def with_findings(changes: dict[str, Value]) -> str:
            pairs = [(k, encode_text(v)) for k, v in {**findings, **changes}.items()]
            return links.extend(query_string(pairs), edit_pair)

        if verdict.suggestion_kg is not None:
            suggested = Quantity(verdict.suggestion_kg, "kg")
            suggestion_text = display(suggested)
            suggestion_url = with_findings({"weight": suggested})
        if isinstance(weight, Quantity):
            confirm_url = with_findings({"weight_confirmed": weight})
    return DoseView(
        plan=plan,
        for_text=", ".join(w for w in who if w),
        weight_text=weight_text,
        age_text=age_text,
        dosing_text=dosing_text,
        verdict_text=verdict_text,
        verdict_source=verdict_source,
        suggestion_text=suggestion_text,
        suggestion_url=suggestion_url,
        confirm_url=confirm_url,
    )


def build(
    algorithm: Algorithm, step: Step, state: State, root: str, with_labs: bool | None = None
) -> StepView:
    """The page object for a step. The "labs at hand" form is built on the first step, when
    its values were refused, or when asked for (`with_labs`); other steps link to it."""
    links = Links(root, algorithm.id, state.views)
    findings = step.findings
    patient = step.patient
    finding_pairs = [(k, encode_text(v)) for k, v in findings.items()]
    state_qs = query_string(finding_pairs)
    trail = []
    for entry in step.trail:
        change = None
        if not entry.node.computed:
            change = links.extend(state_qs, [("edit", entry.node.id)])
        decision = entry.node.computed
        # A decision lists only the measured values it read (its yes/no inputs are already shown
        # at the step that asked them); answers "not known" are gathered on one line.
        shown = [
            a
            for a in entry.answers
            if a.value != UNKNOWN and (not decision or isinstance(a.value, Quantity))
        ]
        not_known = (
            ()
            if decision
            else tuple(algorithm.findings[a.key].label for a in entry.answers if a.value == UNKNOWN)
        )
        trail.append(
            TrailView(
                node_id=entry.node.id,
                title=entry.node.title,
                kind=entry.node.kind,
                auto=entry.auto,
                answers=tuple(
                    _answer_view(algorithm, a.key, a.value, a.flag, patient) for a in shown
                ),
                not_known=not_known,
                outcome=entry.outcome.label if entry.outcome else None,
                note=entry.outcome.note if entry.outcome else None,
                change_url=change,
            )
        )
    node = step.node
    asked: Sequence[str] = node.offers if isinstance(node, ActionNode) else asks_of(node)
    submission = state.submission
    labs_submission = submission if submission and submission.node_id == LABS_FORM else None
    step_submission = submission if submission and not labs_submission else None
    fields = [_field(algorithm, key, findings.get(key), step_submission, patient) for key in asked]
    hidden = carried_state(finding_pairs, asked)
    # "Labs at hand": every measured finding, on the first step or on its own page.
    if with_labs is None:
        with_labs = labs_submission is not None
    lab_fields = (
        [
            _field(algorithm, key, findings.get(key), labs_submission, patient)
            for key in lab_keys(algorithm)
        ]
        if with_labs
        else []
    )
    labs_hidden = carried_state(finding_pairs, lab_keys(algorithm)) if with_labs else []
    limits = []
    if isinstance(node, MeasurementNode):
        limits = [_limit_view(algorithm, lid, patient) for lid in node.shows_limits]
    recorded: list[AnswerView] = []
    settled: list[str] = []
    if state.recorded:
        recorded = [
            _answer_view(algorithm, k, v, flag(algorithm, k, v, patient), patient)
            for k, v in findings.items()
            if isinstance(v, Quantity)
        ]
        # Lab steps they answer, on the path as it stands (every answer not yet given unknown).
        ahead = walk(algorithm, findings, missing="unknown", rank=False)
        settled = [
            e.node.title
            for e in ahead.trail
            if isinstance(e.node, MeasurementNode)
            and any(isinstance(findings.get(k), Quantity) for k in e.node.asks)
        ]
    progress = ""
    if step.status == "question" and not step.editing:
        progress = _progress(algorithm, step)
    key_values: list[AnswerView] = []
    present_labels: list[str] = []
    also_abnormal: list[AnswerView] = []
    if step.status == "result":
        unexplained = also_abnormal_keys(step)
        for key, value in findings.items():
            if isinstance(value, Quantity):
                lab_flag = flag(algorithm, key, value, patient)
                view = _answer_view(algorithm, key, value, lab_flag, patient)
                key_values.append(view)
                if key in unexplained:
                    also_abnormal.append(view)
            elif value is True and key in _clinical(algorithm):
                present_labels.append(algorithm.findings[key].label)
    previous = step.previous
    edit_pair = [("edit", state.edit)] if state.edit else []
    doses = None
    if isinstance(node, ActionNode) and node.doses:
        doses = dose_view(algorithm, node, findings, patient, links, edit_pair)
    back = links.extend(state_qs, [("edit", previous.node.id)]) if previous else None
    return StepView(
        algorithm=algorithm,
        step=step,
        links=links,
        trail=trail,
        fields=fields,
        hidden=hidden,
        limits=[lv for lv in limits if lv is not None],
        sources=algorithm.sources,
        restart_url=links.extend("", []),
        back_url=back,
        self_url=links.extend(state_qs, edit_pair),
        state_query=query_string(finding_pairs + [("view", v) for v in state.views]),
        open_url=links.toggle(state_qs, edit_pair, "embed")
        if "embed" in state.views
        else links.extend(state_qs, edit_pair),
        present_url=links.toggle(state_qs, edit_pair, "present"),
        labs_url=links.extend(state_qs, edit_pair, page="labs"),
        map_url=links.extend(state_qs, edit_pair, page="map"),
        views=state.views,
        errors=step_submission.errors if step_submission else {},
        lab_fields=lab_fields,
        labs_hidden=labs_hidden,
        labs_errors=labs_submission.errors if labs_submission else {},
        labs_paste=labs_submission.raw.get("paste", "") if labs_submission else "",
        progress=progress,
        recorded=recorded,
        recorded_from=state.recorded or "",
        settled=settled,
        key_values=key_values,
        present_findings=present_labels,
        also_abnormal=also_abnormal,
        doses=doses,
    )


def _progress(algorithm: Algorithm, step: Step) -> str:
    """ "Step n of about m": the steps answered, this one, and those the walk would still ask if
    every answer from here on were "not known" (the path can change with the answers)."""
    done = sum(1 for e in step.trail if not e.node.computed)
    return f"Step {done + 1} of about {done + 1 + steps_ahead(step) + 1}"


def _clinical(algorithm: Algorithm) -> frozenset[str]:
    """Yes/no findings that describe the patient (not acknowledgements of a step)."""
    memo = algorithm.memo()
    found = memo.get("clinical_findings")
    if found is None:
        acks = {n.acknowledge for n in algorithm.nodes if isinstance(n, ActionNode)}
        found = memo["clinical_findings"] = frozenset(
            k for k, f in algorithm.findings.items() if f.kind == "boolean" and k not in acks
        )
    return found


def carried_state(pairs: list[tuple[str, str]], fields: Sequence[str]) -> list[tuple[str, str]]:
    """The hidden fields of a form: the state in order, with the current value of each of the
    form's own fields written as `was.<key>` in its place (see `app.urlstate`)."""
    own = set(fields)
    return [(f"{WAS}{k}" if k in own else k, v) for k, v in pairs]


def _limit_view(algorithm: Algorithm, limit_id: str, patient: Patient) -> LimitView | None:
    limit = algorithm.limits[limit_id]
    band = band_for(limit.bands, patient)
    if band is None:
        return None
    return LimitView(
        limit.label, band.label, f"below {format_number(band.value)} {band.unit}", band.source
    )


def _field(
    algorithm: Algorithm,
    key: str,
    value: Value | None,
    submission: Submission | None,
    patient: Patient,
) -> FieldView:
    finding: Finding = algorithm.findings[key]
    error = submission.errors.get(key) if submission else None
    raw = submission.raw.get(key) if submission else None
    if finding.kind == "quantity":
        unit = finding.unit or ""
        text = ""
        if raw is not None:
            text = raw
            unit = submission.raw.get(f"unit.{key}", unit) if submission else unit
        elif isinstance(value, Quantity):
            text, unit = format_number(value.value), value.unit
        elif value == UNKNOWN:
            text = UNKNOWN  # shown as "unknown", so it is kept unless a value replaces it
        if finding.require_unit and not text:
            unit = ""  # no silent default: the unit is chosen (or typed after the number)
        units = tuple(Option(u, u or "(no unit)", u == unit) for u in finding.units())
        if finding.require_unit:
            units = (Option("", "choose the unit", unit == ""), *units)
        return FieldView(
            key,
            finding.label,
            finding.help,
            "quantity",
            error,
            value=text,
            units=units,
            range=range_view(algorithm, key, patient),
            step=format_number(finding.step) if finding.step else "any",
            has_ranges=bool(finding.ranges),
            range_note=finding.range_note,
            loinc=tuple(code.code for code in finding.loinc),
        )
    current = raw if raw is not None else (encode_text(value) if value is not None else None)
    if finding.kind == "boolean":
        choices = [("yes", "Yes"), ("no", "No")]
    else:
        choices = list((finding.options or {}).items())
    choices.append((UNKNOWN, "Not known"))
    options = tuple(Option(v, label, v == current) for v, label in choices)
    return FieldView(key, finding.label, finding.help, finding.kind, error, options=options)
