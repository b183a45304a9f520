"""The walkthrough's state in the query string, and the step forms that extend it.

The canonical URL of a walkthrough is `/algorithms/{id}?<finding>=<value>&…[&edit=<node>]
[&view=present|embed…]`: one parameter per finding, in the order the findings were given,
written as `yes`, `no`, `unknown`, an option id, or a number followed by its unit
(`0.8mmol/L`, `2months`). It round-trips exactly with the JSON form of the API.

A step form submits the current state as hidden fields plus `from=<node>` and the node's own
fields (a quantity as a number field plus `unit.<key>`). That request is not canonical: it is
merged into the state and redirected (303) to the canonical URL, or re-shown with errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from app.engine.models import ActionNode, Algorithm, MeasurementNode, QuestionNode
from app.engine.paste import read_pasted, unread_lines
from app.engine.values import (
    UNKNOWN,
    FindingError,
    Findings,
    Value,
    encode_text,
    findings_from_pairs,
    findings_to_pairs,
    format_number,
    make_quantity,
    parse_text,
    split_number,
)
from app.engine.walk import asks_of, index

VIEWS = ("present", "embed")


def views_of(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The view flags (`view=present`, `view=embed`) of a query, known ones only, once each."""
    return tuple(dict.fromkeys(v for k, v in pairs if k == "view" and v in VIEWS))


# The "labs at hand" form: every measured finding at once, at any step. Not a node id (ids
# cannot start with "*"), so it never collides with a step.
LABS_FORM = "*labs"
PASTE = "paste"
RECORDED = "recorded"
MAX_PARAMS = 120


class StateError(ValueError):
    """A query string that is not a valid walkthrough state; the message says why."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass
class Submission:
    """A step form as submitted: which node, the raw field values, and any errors."""

    node_id: str
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class State:
    findings: Findings
    views: tuple[str, ...] = ()
    edit: str | None = None
    submission: Submission | None = None
    # Set once, by the redirect after the labs form, so that the next page confirms what was
    # recorded; links and forms do not carry it on.
    recorded: str | None = None  # "labs" (typed or pasted) or "fhir" (imported)

    @property
    def canonical_pairs(self) -> list[tuple[str, str]]:
        pairs = findings_to_pairs(self.findings)
        if self.edit:
            pairs.append(("edit", self.edit))
        pairs.extend(("view", v) for v in self.views)
        if self.recorded:
            pairs.append((RECORDED, self.recorded))
        return pairs


_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")


def _quote(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote(text, safe="/")


def query_string(pairs: Sequence[tuple[str, str]]) -> str:
    """Pairs as a query string; the same as `urlencode(pairs, quote_via=quote, safe="/")`, with a
    fast path for the plain ASCII that nearly every value is."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)


def walk_url(root: str, algorithm_id: str, query: str = "", page: str = "") -> str:
    """The one place a walkthrough URL is built: `{root}/algorithms/{id}[/{page}][?{query}]`,
    with `root` the app's root path ("" at the top of a host) and `query` already encoded."""
    base = f"{root}/algorithms/{algorithm_id}" + (f"/{page}" if page else "")
    return f"{base}?{query}" if query else base


def root_path(scope: Mapping[str, Any]) -> str:
    """The app's root path for a request, without a trailing slash (computed in one place)."""
    return str(scope.get("root_path", "")).rstrip("/")


def parse_state(algorithm: Algorithm, pairs: Sequence[tuple[str, str]]) -> State:
    """Read a query string (as ordered pairs). Raises StateError for anything not understood."""
    if len(pairs) > MAX_PARAMS:
        raise StateError(f"too many parameters ({len(pairs)}); a walkthrough has far fewer.")
    views: list[str] = []
    edit = None
    from_node = None
    whole: str | None = None
    recorded: str | None = None
    pasted: str | None = None
    units: dict[str, str] = {}
    finding_pairs: list[tuple[str, str]] = []
    for key, value in pairs:
        if key == "view":
            if value not in VIEWS:
                raise StateError(f"view must be one of {', '.join(VIEWS)}.", "view")
            if value not in views:
                views.append(value)
        elif key == "edit":
            if edit is not None:
                raise StateError("edit is given more than once.", "edit")
            edit = value
        elif key == "from":
            if from_node is not None:
                raise StateError("from is given more than once.", "from")
            from_node = value
        elif key == PASTE:
            if pasted is not None:
                raise StateError("paste is given more than once.", PASTE)
            pasted = value
        elif key == RECORDED:
            if recorded or value not in ("labs", "fhir"):
                raise StateError("recorded can only be labs or fhir, once.", RECORDED)
            recorded = value
        elif key == ALL:
            if whole is not None or value not in ("no", UNKNOWN):
                raise StateError("all must be given once, as no or unknown.", ALL)
            whole = value
        elif key.startswith("unit."):
            if key[5:] in units:
                raise StateError(f"{key[:60]} is given more than once.", "unit")
            units[key[5:]] = value
        else:
            finding_pairs.append((key, value))
    nodes = index(algorithm)
    if edit is not None and (edit not in nodes or not asks_of(nodes[edit])):
        raise StateError(f"edit: there is no step {edit[:60]!r} to change.", "edit")
    if from_node is None:
        if (
            units
            or whole is not None
            or pasted is not None
            or any(k.startswith(WAS) for k, _ in finding_pairs)
        ):
            raise StateError("a form field was given without its step form.", "unit")
        try:
            findings = findings_from_pairs(algorithm, finding_pairs)
        except FindingError as exc:
            raise StateError(exc.message, exc.key) from None
        return State(findings, tuple(views), edit, recorded=recorded)
    if from_node == LABS_FORM:
        return _merge_labs(algorithm, finding_pairs, units, tuple(views), pasted or "")
    if pasted is not None:
        raise StateError("only the labs form takes pasted results.", PASTE)
    if from_node not in nodes or not asks_of(nodes[from_node]):
        raise StateError(f"from: there is no step {from_node[:60]!r} to answer.", "from")
    return _merge_submission(algorithm, finding_pairs, units, from_node, tuple(views), whole)


def lab_keys(algorithm: Algorithm) -> list[str]:
    """The findings the "labs at hand" form offers: every measured quantity."""
    return [key for key, f in algorithm.findings.items() if f.kind == "quantity"]


# A form carries the current value of each of its own fields as `was.<key>`, placed where that
# finding stands in the state, so that an answer given again unchanged keeps its place (the order
# of findings tells steps answered in turn from steps answered by values given earlier).
WAS = "was."


@dataclass
class _Form:
    """A submitted form taken apart: the state it carried, in order, and its own fields."""

    sequence: list[tuple[str, str, bool]]  # (key, text, is the old value of a form field)
    old: Findings
    submission: Submission

    def assemble(self, new: Findings) -> Findings:
        """The state with `new` answers: unchanged ones keep their place, others go last."""
        out: Findings = {}
        for key, text, was in self.sequence:
            if not was:
                out[key] = self.old[key]
            elif key in new and encode_text(new[key]) == text:
                out[key] = new[key]
        for key, value in new.items():
            out.setdefault(key, value)
        return out


def _take_apart(
    algorithm: Algorithm,
    pairs: list[tuple[str, str]],
    units: dict[str, str],
    fields: Sequence[str],
    form: str,
) -> _Form:
    for key in units:
        if key not in fields:
            raise StateError(f"unit.{key[:40]}: not a field of this form.", "unit")
    submitted: dict[str, str] = {}
    sequence: list[tuple[str, str, bool]] = []
    for key, value in pairs:
        if key in fields:
            submitted[key] = value
        elif key.startswith(WAS) and key[len(WAS) :] in fields:
            sequence.append((key[len(WAS) :], value, True))
        else:
            sequence.append((key, value, False))
    try:
        old = findings_from_pairs(algorithm, [(k, v) for k, v, _ in sequence])
    except FindingError as exc:
        raise StateError(exc.message, exc.key) from None
    raw = submitted | {f"unit.{k}": u for k, u in units.items()}
    return _Form(sequence, old, Submission(form, raw=raw))


def _typed_quantity(algorithm: Algorithm, key: str, text: str, units: dict[str, str]) -> Value:
    """A lab field: empty or "unknown" is unknown, otherwise a number with the unit typed after
    it (`9m`, `0.8 mmol/L`) or chosen beside it. A finding that requires a unit (age) asks back
    when neither is given, instead of reading the number in its canonical unit."""
    if text == "" or text.lower() == UNKNOWN:
        return UNKNOWN
    finding = algorithm.findings[key]
    number, typed_unit = split_number(key, finding, text)
    unit = typed_unit or units.get(key) or ""
    if not unit:
        if finding.require_unit:
            choices = ", ".join(u for u in finding.units() if u)
            raise FindingError(
                key,
                f"{finding.label}: is {format_number(number)} in {choices}? Choose the unit, "
                f"or type it after the number ({format_number(number)}m, "
                f"{format_number(number)}y, {format_number(number)}d).",
            )
        unit = finding.unit or ""
    return make_quantity(key, finding, number, unit)


def _merge_labs(
    algorithm: Algorithm,
    pairs: list[tuple[str, str]],
    units: dict[str, str],
    views: tuple[str, ...],
    pasted: str = "",
) -> State:
    """Labs typed at once: filled fields are added (or replace earlier values); emptied ones are
    removed, so the walk answers every step those labs settle. Pasted report text adds the
    values it names; a value typed in its field wins. A refused value leaves the rest of the
    state as it was, so the page shown with the message is the same step."""
    form = _take_apart(algorithm, pairs, units, lab_keys(algorithm), LABS_FORM)
    new: Findings = {}
    if pasted.strip():
        form.submission.raw[PASTE] = pasted
        found = read_pasted(algorithm, pasted)
        typed = {k for k, v in form.submission.raw.items() if v.strip() and k in algorithm.findings}
        for item in found:
            if item.key in typed:
                continue
            try:
                new[item.key] = _typed_quantity(algorithm, item.key, item.number + item.unit, {})
            except FindingError as exc:
                form.submission.errors[PASTE] = f"Pasted results: {exc.message}"
        if not found:
            form.submission.errors[PASTE] = (
                "Pasted results: no lab value was recognised; type them in the fields below."
            )
        unread = unread_lines(algorithm, pasted)
        if unread and PASTE not in form.submission.errors:
            quoted = "; ".join(f"“{line[:80]}”" for line in unread[:6])
            form.submission.errors[PASTE] = (
                f"Pasted results: {len(unread)} line{'s' if len(unread) > 1 else ''} with a "
                f"value could not be read: {quoted}. Type {'these' if len(unread) > 1 else 'it'}"
                " in the fields below, or delete them from the paste."
            )
    for key, text in form.submission.raw.items():
        if key.startswith("unit.") or key == PASTE or not text.strip():
            continue
        try:
            new[key] = _typed_quantity(algorithm, key, text.strip(), units)
        except FindingError as exc:
            form.submission.errors[key] = exc.message
    if form.submission.errors:
        return State(form.old, views, submission=form.submission)
    _not_done_beside(algorithm, new, form.old)
    return State(form.assemble(new), views, recorded="labs")


def _not_done_beside(algorithm: Algorithm, new: Findings, old: Findings) -> None:
    """A lab step the form gave a value for is answered: its other fields left empty count as
    not done (`unknown`), so the walk never asks that step again. A step the form gave nothing
    for is still asked."""
    labs = set(lab_keys(algorithm))
    for node in algorithm.nodes:
        if not isinstance(node, MeasurementNode):
            continue
        given = [k for k in node.asks if k in new and new[k] != UNKNOWN]
        if not given:
            continue
        for key in node.asks:
            if key in labs and key not in new and key not in old:
                new[key] = UNKNOWN


def _merge_submission(
    algorithm: Algorithm,
    pairs: list[tuple[str, str]],
    units: dict[str, str],
    node_id: str,
    views: tuple[str, ...],
    whole: str | None = None,
) -> State:
    node = index(algorithm)[node_id]
    answered = asks_of(node)
    offered = tuple(node.offers) if isinstance(node, ActionNode) else ()
    form = _take_apart(algorithm, pairs, units, (*answered, *offered), node_id)
    raw = form.submission.raw
    new: Findings = {}
    if isinstance(node, QuestionNode) and node.layout == "checklist":
        _tick_list(algorithm, node, raw, whole, new, form.submission.errors)
    elif isinstance(node, ActionNode):
        for key in offered:
            text = raw.get(key, "").strip()
            if text and text.lower() != UNKNOWN:
                try:
                    new[key] = _typed_quantity(algorithm, key, text, units)
                except FindingError as exc:
                    form.submission.errors[key] = exc.message
        ack = node.acknowledge
        if raw.get(ack, "").strip():
            try:
                new[ack] = parse_text(ack, algorithm.findings[ack], raw[ack])
            except FindingError as exc:
                form.submission.errors[ack] = exc.message
        elif not new and not form.submission.errors:
            form.submission.errors[ack] = "confirm that you have read these steps."
    else:
        for key in answered:
            text = raw.get(key, "").strip()
            try:
                if isinstance(node, MeasurementNode):
                    new[key] = _typed_quantity(algorithm, key, text, units)
                elif text == "":
                    label = algorithm.findings[key].label
                    raise FindingError(key, f"{label}: choose an answer (or 'not known').")
                else:
                    new[key] = parse_text(key, algorithm.findings[key], text)
            except FindingError as exc:
                form.submission.errors[key] = exc.message
    if form.submission.errors:
        return State(form.old, views, edit=node_id, submission=form.submission)
    return State(form.assemble(new), views)


# A checklist form's whole-list answer: `all=no` ("None of these") or `all=unknown` (skip).
ALL = "all"


def _tick_list(
    algorithm: Algorithm,
    node: QuestionNode,
    raw: dict[str, str],
    whole: str | None,
    new: Findings,
    errors: dict[str, str],
) -> None:
    """Ticked boxes are yes. With at least one ticked, or "None of these", the others are no;
    "Skip" records them all as not known. A ticked box always wins over "None of these"."""
    ticked = {k for k in node.asks if raw.get(k, "").strip().lower() == "yes"}
    stray = [k for k in node.asks if raw.get(k, "").strip().lower() not in ("", "yes")]
    if stray:
        errors[stray[0]] = f"{algorithm.findings[stray[0]].label}: a box is either ticked or not."
        return
    if whole == UNKNOWN:
        new.update({k: (True if k in ticked else UNKNOWN) for k in node.asks})
        return
    if not ticked and whole != "no":
        first = node.asks[0]
        skip = " or skip this list" if node.skippable else ""
        errors[first] = f"Tick everything that applies, or “None of these”{skip}."
        return
    new.update({k: k in ticked for k in node.asks})
