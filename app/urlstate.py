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
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from app.engine.models import ActionNode, Algorithm, MeasurementNode
from app.engine.values import (
    UNKNOWN,
    FindingError,
    Findings,
    Value,
    findings_from_pairs,
    findings_to_pairs,
    make_quantity,
    parse_number,
    parse_text,
)
from app.engine.walk import asks_of, index

VIEWS = ("present", "embed")
# The "labs at hand" form: every measured finding at once, at any step. Not a node id (ids
# cannot start with "*"), so it never collides with a step.
LABS_FORM = "*labs"
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

    @property
    def canonical_pairs(self) -> list[tuple[str, str]]:
        pairs = findings_to_pairs(self.findings)
        if self.edit:
            pairs.append(("edit", self.edit))
        pairs.extend(("view", v) for v in self.views)
        return pairs


_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")


def _quote(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote(text, safe="/")


def query_string(pairs: Sequence[tuple[str, str]]) -> str:
    """Pairs as a query string; the same as `urlencode(pairs, quote_via=quote, safe="/")`, with a
    fast path for the plain ASCII that nearly every value is."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)


def parse_state(algorithm: Algorithm, pairs: Sequence[tuple[str, str]]) -> State:
    """Read a query string (as ordered pairs). Raises StateError for anything not understood."""
    if len(pairs) > MAX_PARAMS:
        raise StateError(f"too many parameters ({len(pairs)}); a walkthrough has far fewer.")
    views: list[str] = []
    edit = None
    from_node = None
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
        elif key.startswith("unit."):
            units[key[5:]] = value
        else:
            finding_pairs.append((key, value))
    nodes = index(algorithm)
    for name, node_id in (("edit", edit), ("from", from_node)):
        if (
            node_id is not None
            and node_id not in nodes
            and not (name == "from" and node_id == LABS_FORM)
        ):
            raise StateError(f"{name}: there is no step {node_id[:60]!r} in this algorithm.", name)
    if from_node is None:
        if units:
            raise StateError("a unit was given without its step form.", "unit")
        try:
            findings = findings_from_pairs(algorithm, finding_pairs)
        except FindingError as exc:
            raise StateError(exc.message, exc.key) from None
        return State(findings, tuple(views), edit)
    if from_node == LABS_FORM:
        return _merge_labs(algorithm, finding_pairs, units, tuple(views), edit)
    return _merge_submission(algorithm, finding_pairs, units, from_node, tuple(views))


def lab_keys(algorithm: Algorithm) -> list[str]:
    """The findings the "labs at hand" form offers: every measured quantity."""
    return [key for key, f in algorithm.findings.items() if f.kind == "quantity"]


def _split_form(
    algorithm: Algorithm,
    pairs: list[tuple[str, str]],
    units: dict[str, str],
    fields: Sequence[str],
    form: str,
) -> tuple[Findings, Submission]:
    """Separate a submitted form into the state it carried (parsed) and its own fields (raw)."""
    submitted = {k: v for k, v in pairs if k in fields}
    kept = [(k, v) for k, v in pairs if k not in fields]
    for key in units:
        if key not in fields:
            raise StateError(f"unit.{key[:40]}: not a field of this form.", "unit")
    try:
        findings = findings_from_pairs(algorithm, kept)
    except FindingError as exc:
        raise StateError(exc.message, exc.key) from None
    raw = dict(submitted) | {f"unit.{k}": u for k, u in units.items()}
    return findings, Submission(form, raw=raw)


def _typed_quantity(algorithm: Algorithm, key: str, text: str, units: dict[str, str]) -> Value:
    """A lab field: empty or "unknown" is unknown, otherwise a number in its chosen unit."""
    if text == "" or text.lower() == UNKNOWN:
        return UNKNOWN
    finding = algorithm.findings[key]
    return make_quantity(key, finding, parse_number(key, text), units.get(key, finding.unit))


def _merge_labs(
    algorithm: Algorithm,
    pairs: list[tuple[str, str]],
    units: dict[str, str],
    views: tuple[str, ...],
    edit: str | None,
) -> State:
    """Labs typed at once: filled fields are added (or replace earlier values); empty ones are
    left out, so the walk answers every step those labs settle."""
    findings, submission = _split_form(algorithm, pairs, units, lab_keys(algorithm), LABS_FORM)
    new: Findings = {}
    for key, text in submission.raw.items():
        if key.startswith("unit.") or not text.strip():
            continue
        try:
            new[key] = _typed_quantity(algorithm, key, text.strip(), units)
        except FindingError as exc:
            submission.errors[key] = exc.message
    if submission.errors:
        return State(findings, views, edit, submission=submission)
    findings.update(new)
    return State(findings, views, edit)


def _merge_submission(
    algorithm: Algorithm,
    pairs: list[tuple[str, str]],
    units: dict[str, str],
    node_id: str,
    views: tuple[str, ...],
) -> State:
    node = index(algorithm)[node_id]
    answered = asks_of(node)
    findings, submission = _split_form(algorithm, pairs, units, answered, node_id)
    new: Findings = {}
    for key in answered:
        text = submission.raw.get(key, "").strip()
        try:
            if isinstance(node, MeasurementNode):
                new[key] = _typed_quantity(algorithm, key, text, units)
            elif text == "":
                if isinstance(node, ActionNode):
                    raise FindingError(key, "confirm that you have read these steps.")
                raise FindingError(key, "choose an answer (or 'not known').")
            else:
                new[key] = parse_text(key, algorithm.findings[key], text)
        except FindingError as exc:
            submission.errors[key] = exc.message
    if submission.errors:
        return State(findings, views, edit=node_id, submission=submission)
    for key in answered:
        findings.pop(key, None)
    findings.update(new)
    return State(findings, views)
