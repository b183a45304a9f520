"""Loading an algorithm file and checking it: schema, references and graph.

Every problem is reported with the file, the node (or section) and the field, and all problems
are collected before failing, so an author sees the whole list at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.engine.conditions import finding_tests
from app.engine.models import (
    ActionNode,
    AgeBand,
    Algorithm,
    Condition,
    MeasurementNode,
    QuestionNode,
    ResultNode,
    Threshold,
)
from app.engine.walk import asks_of

# LibYAML's C loader when the installed PyYAML has it (about ten times faster), else Python's.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class AlgorithmError(ValueError):
    """An algorithm file that cannot be used. `problems` lists every problem found."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(
            f"{path}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems)
        )


def load_file(path: Path) -> Algorithm:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise AlgorithmError(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise AlgorithmError(
            str(path),
            [
                f"line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as "
                "UTF-8 (a character pasted from a word processor is the usual cause)"
            ],
        ) from None
    try:
        data = yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        raise AlgorithmError(str(path), [f"cannot read YAML: {exc}"]) from exc
    return load_data(data, str(path), expected_id=path.stem)


def load_directory(directory: Path) -> dict[str, Algorithm]:
    """Every `*.yaml` algorithm in a folder, by id. Fails on the first invalid file."""
    algorithms = {}
    for path in sorted(directory.glob("*.yaml")):
        algorithm = load_file(path)
        algorithms[algorithm.id] = algorithm
    return algorithms


def load_data(data: Any, name: str, expected_id: str | None = None) -> Algorithm:
    if not isinstance(data, dict):
        raise AlgorithmError(name, ["the file must hold a mapping at the top level"])
    try:
        algorithm = Algorithm.model_validate(data)
    except ValidationError as exc:
        raise AlgorithmError(name, [_describe(err, data) for err in exc.errors()]) from None
    problems = list(check(algorithm))
    if expected_id is not None and algorithm.id != expected_id:
        problems.insert(0, f"id: {algorithm.id!r} must equal the file name {expected_id!r}")
    if problems:
        raise AlgorithmError(name, problems)
    return algorithm


CONDITION_TAGS = {"finding", "all", "any", "not"}


def _without_condition_tags(loc: list[Any]) -> list[Any]:
    """pydantic names the kind of a condition in the path (`when.finding.iss`); an author
    wrote `when.iss`. A tag directly follows where a condition sits: `when`, `not`, `excluded`
    or a list index."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        before = loc[i - 1] if i else None
        holder = isinstance(before, int) or before in ("when", "not", "excluded")
        if part in CONDITION_TAGS and holder and i < len(loc) - 1:
            continue
        out.append(part)
    return out


def _describe(err: Any, data: dict[str, Any]) -> str:
    loc = _without_condition_tags(list(err["loc"]))
    where = ".".join(str(p) for p in loc)
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        nodes = data.get("nodes") or []
        node = nodes[loc[1]] if loc[1] < len(nodes) else None
        node_id = node.get("id") if isinstance(node, dict) else None
        kinds = {"question", "measurement", "decision", "action", "result"}
        rest = [str(p) for p in loc[2:] if p not in kinds]
        where = f"node {node_id or '#' + str(loc[1])}: " + ".".join(rest)
    return f"{where}: {err['msg']}"


# --------------------------------------------------------------------------- checks


def check(a: Algorithm) -> Iterator[str]:
    yield from _check_sources(a)
    yield from _check_findings(a)
    yield from _check_nodes(a)
    yield from _check_diagnoses(a)
    yield from _check_doses(a)
    yield from _check_findings_used(a)
    yield from _check_graph(a)


def _source_refs(a: Algorithm) -> Iterator[tuple[str, str]]:
    for sid in a.algorithm_sources:
        yield "algorithm_sources", sid
    for key, f in a.findings.items():
        for c in f.conversions:
            yield f"finding {key}: conversions.{c.unit}.source", c.source
        for r in f.ranges:
            yield f"finding {key}: ranges.{r.label}.source", r.source
        for code in f.loinc:
            yield f"finding {key}: loinc.{code.code}.source", code.source
        for refused in f.loinc_refused:
            yield f"finding {key}: loinc_refused.{refused.code}.source", refused.source
    for did, drug in a.drugs.items():
        for name in (
            "strength_source",
            "ceiling_source",
            "max_rate_source",
            "never_routes_source",
            "min_age_source",
        ):
            if getattr(drug, name) is not None:
                yield f"drug {did}: {name}", getattr(drug, name)
    if a.weight_check is not None:
        yield "weight_check.reference_source", a.weight_check.reference_source
        yield "weight_check.cutoff_source", a.weight_check.cutoff_source
    if a.fhir_import is not None:
        for sid in a.fhir_import.sources:
            yield "fhir_import.sources", sid
        for import_rule in a.fhir_import.rules:
            if import_rule.source is not None:
                yield f"fhir_import.rules.{import_rule.id}.source", import_rule.source
    for lid, limit in a.limits.items():
        for b in limit.bands:
            yield f"limit {lid}: bands.{b.label}.source", b.source
    for node in a.nodes:
        for sid in node.sources:
            yield f"node {node.id}: sources", sid
        for d in node.disagreements:
            for sid in d.sources:
                yield f"node {node.id}: disagreements.sources", sid
            for alt in d.alternatives:
                for sid in alt.sources:
                    yield f"node {node.id}: disagreements.alternatives.sources", sid
        if isinstance(node, ActionNode):
            for i, dose in enumerate(node.doses):
                where = f"node {node.id}: doses.{i}"
                yield f"{where}.source", dose.source
                for name in ("max_source", "rate_source"):
                    if getattr(dose, name) is not None:
                        yield f"{where}.{name}", getattr(dose, name)
                if dose.dilution is not None:
                    yield f"{where}.dilution.source", dose.dilution.source
            for caution in node.cautions:
                for sid in caution.sources:
                    yield f"node {node.id}: cautions.sources", sid
            for i, rule in enumerate(node.withhold):
                for sid in rule.sources:
                    yield f"node {node.id}: withhold.{i}.sources", sid
            for i, first in enumerate(node.first_steps):
                for sid in first.sources:
                    yield f"node {node.id}: first_steps.{i}.sources", sid
        for where, cond in _node_conditions(node):
            for test in finding_tests(cond):
                for th in _thresholds(test):
                    if th.source is not None:
                        yield f"node {node.id}: {where}.source", th.source
    for dx_id, dx in a.diagnoses.items():
        for sid in dx.sources:
            yield f"diagnosis {dx_id}: sources", sid
        for where, cond in _diagnosis_conditions(dx):
            for test in finding_tests(cond):
                for th in _thresholds(test):
                    if th.source is not None:
                        yield f"diagnosis {dx_id}: {where}.source", th.source


def _check_sources(a: Algorithm) -> Iterator[str]:
    used = set()
    for where, sid in _source_refs(a):
        used.add(sid)
        if sid not in a.sources:
            yield f"{where}: unknown source {sid!r}"
    for sid in a.sources:
        if sid not in used:
            yield f"sources.{sid}: declared but never cited"


def _check_findings(a: Algorithm) -> Iterator[str]:
    for key, f in a.findings.items():
        if f.kind != "quantity":
            continue
        units = f.units()
        if len(set(units)) != len(units):
            yield f"finding {key}: conversions: a unit is listed twice"
    for lid, limit in a.limits.items():
        limited = a.findings.get(limit.finding)
        if limited is None:
            yield f"limit {lid}: finding: unknown finding {limit.finding!r}"
            continue
        for b in limit.bands:
            if limited.factor(b.unit) is None:
                yield (
                    f"limit {lid}: bands.{b.label}.unit: {b.unit!r} "
                    f"is not a unit of {limit.finding}"
                )


def _thresholds(test: Any) -> Iterable[Threshold]:
    for name in ("below", "at_least", "above", "at_most"):
        th = getattr(test, name)
        if th is not None:
            yield th


def _node_conditions(node: Any) -> Iterator[tuple[str, Condition]]:
    yield from node.conditions()


def _diagnosis_conditions(dx: Any) -> Iterator[tuple[str, Condition]]:
    for i, c in enumerate(dx.supports):
        yield f"supports.{i}.when", c.when
    for i, c in enumerate(dx.against):
        yield f"against.{i}.when", c.when
    if dx.excluded is not None:
        yield "excluded", dx.excluded


def _check_condition(a: Algorithm, where: str, cond: Condition) -> Iterator[str]:
    for test in finding_tests(cond):
        f = a.findings.get(test.finding)
        if f is None:
            yield f"{where}: unknown finding {test.finding!r}"
            continue
        if test.is_ is not None:
            allowed = {"yes", "no"} if f.kind == "boolean" else set(f.options or {})
            if f.kind == "quantity" or test.is_ not in allowed:
                yield f"{where}: {test.finding} cannot be {test.is_!r}"
        for th in _thresholds(test):
            if f.kind != "quantity":
                yield f"{where}: {test.finding} is not a quantity and has no threshold"
                continue
            if th.range is not None and not f.ranges:
                yield f"{where}: {test.finding} has no reference ranges for `range`"
            if th.limit is not None:
                limit = a.limits.get(th.limit)
                if limit is None:
                    yield f"{where}: unknown limit {th.limit!r}"
                elif limit.finding != test.finding:
                    yield f"{where}: limit {th.limit!r} is for {limit.finding}, not {test.finding}"
            if th.unit is not None and f.factor(th.unit) is None:
                yield f"{where}: {th.unit!r} is not a unit of {test.finding}"


def _check_nodes(a: Algorithm) -> Iterator[str]:
    ids: set[str] = set()
    for node in a.nodes:
        if node.id in ids:
            yield f"node {node.id}: id: used by more than one node"
        ids.add(node.id)
    if a.start not in ids:
        yield f"start: unknown node {a.start!r}"
    for node in a.nodes:
        for target in _targets(node):
            if target not in ids:
                yield f"node {node.id}: next: unknown node {target!r}"
        for key in asks_of(node):
            f = a.findings.get(key)
            if f is None:
                yield f"node {node.id}: asks: unknown finding {key!r}"
            elif isinstance(node, QuestionNode) and f.kind == "quantity":
                yield f"node {node.id}: asks: {key} is a quantity; ask it in a measurement"
            elif isinstance(node, MeasurementNode) and f.kind != "quantity":
                yield f"node {node.id}: asks: {key} is not a quantity; ask it in a question"
            elif isinstance(node, ActionNode) and f.kind != "boolean":
                yield f"node {node.id}: acknowledge: {key} must be a yes/no finding"
        if isinstance(node, QuestionNode) and node.layout == "checklist":
            for key in node.asks:
                f = a.findings.get(key)
                if f is not None and f.kind != "boolean":
                    yield f"node {node.id}: asks: {key} is not yes/no; a checklist ticks yes/no"
        if isinstance(node, ActionNode):
            for key in node.offers:
                f = a.findings.get(key)
                if f is None:
                    yield f"node {node.id}: offers: unknown finding {key!r}"
                elif f.kind != "quantity":
                    yield f"node {node.id}: offers: {key} is not a measured value"
        if isinstance(node, MeasurementNode):
            for lid in node.shows_limits:
                if lid not in a.limits:
                    yield f"node {node.id}: shows_limits: unknown limit {lid!r}"
        if isinstance(node, ResultNode):
            for dx in node.candidates:
                if dx not in a.diagnoses:
                    yield f"node {node.id}: candidates: {dx!r} is not in the diagnosis catalogue"
            if len(set(node.candidates)) != len(node.candidates):
                yield f"node {node.id}: candidates: a diagnosis is listed twice"
        for where, cond in _node_conditions(node):
            yield from _check_condition(a, f"node {node.id}: {where}", cond)


def _check_doses(a: Algorithm) -> Iterator[str]:
    """Every dose row names a drug of `drugs`, by a route the drug allows, at an age the drug
    allows; at most one row per drug is the default at any age."""
    for node in a.nodes:
        if not isinstance(node, ActionNode):
            continue
        defaults: dict[str, list[tuple[float, float, int]]] = {}
        for i, dose in enumerate(node.doses):
            where = f"node {node.id}: doses.{i}"
            drug = a.drugs.get(dose.drug)
            if drug is None:
                yield f"{where}.drug: unknown drug {dose.drug!r} (declare it under `drugs`)"
                continue
            banned = sorted(set(dose.routes) & set(drug.never_routes))
            if banned:
                yield f"{where}.routes: {drug.name} is never given {', '.join(banned)}"
            low = dose.min_age_days or 0.0
            if drug.min_age_days is not None and low < drug.min_age_days:
                yield (
                    f"{where}.min_age_days: {drug.name} is not for ages below "
                    f"{drug.min_age_days:g} days"
                )
            if dose.default:
                band = (low, dose.max_age_days or 0.0, i)
                defaults.setdefault(dose.drug, []).append(band)
        for drug_id, bands in defaults.items():
            bands.sort()
            for (_, high, i), (low, _, j) in zip(bands, bands[1:], strict=False):
                if low < high:
                    yield (
                        f"node {node.id}: doses.{i} and doses.{j}: two default regimens of "
                        f"{drug_id} for one age"
                    )
        for i, rule in enumerate(node.withhold):
            if rule.drug not in a.drugs:
                yield f"node {node.id}: withhold.{i}.drug: unknown drug {rule.drug!r}"
        for i, caution in enumerate(node.cautions):
            if caution.drug is not None and caution.drug not in a.drugs:
                yield f"node {node.id}: cautions.{i}.drug: unknown drug {caution.drug!r}"


def _check_diagnoses(a: Algorithm) -> Iterator[str]:
    for dx_id, dx in a.diagnoses.items():
        for cause in dx.consequence_of:
            if cause not in a.diagnoses or cause == dx_id:
                yield f"diagnosis {dx_id}: consequence_of: {cause!r} is not another diagnosis"
        if not any(c.weight == "key" for c in dx.supports):
            yield (
                f"diagnosis {dx_id}: supports: no key clue (mark the defining finding "
                "with `weight: key`)"
            )
        for where, cond in _diagnosis_conditions(dx):
            yield from _check_condition(a, f"diagnosis {dx_id}: {where}", cond)


def _findings_read(a: Algorithm) -> set[str]:
    """Findings that something reads: a decision, a diagnosis clue, or band selection."""
    read: set[str] = set()
    for node in a.nodes:
        for _, cond in _node_conditions(node):
            read.update(t.finding for t in finding_tests(cond))
        if isinstance(node, ActionNode):
            read.add(node.acknowledge)  # the walk reads the acknowledgement itself
    for dx in a.diagnoses.values():
        for _, cond in _diagnosis_conditions(dx):
            read.update(t.finding for t in finding_tests(cond))
    bands: list[AgeBand] = [r for f in a.findings.values() for r in f.ranges]
    bands += [b for limit in a.limits.values() for b in limit.bands]
    if any(b.min_age_days is not None or b.max_age_days is not None for b in bands):
        read.add("age")
    if any(b.min_birth_weight_g is not None or b.max_birth_weight_g is not None for b in bands):
        read.add("birth_weight")
    return read


def _check_findings_used(a: Algorithm) -> Iterator[str]:
    """A finding that the algorithm asks for must change something: an unread answer is a
    question the user answers for nothing, or a value the reasoning silently ignores."""
    read = _findings_read(a)
    for node in a.nodes:
        for key in asks_of(node):
            if key in a.findings and key not in read:
                yield (
                    f"node {node.id}: asks: {key} is asked but no decision, clue or "
                    "diagnosis reads it"
                )
        if isinstance(node, ResultNode):
            for i, obtain in enumerate(node.obtain):
                for key in obtain.findings:
                    if key not in a.findings:
                        yield f"node {node.id}: obtain.{i}.findings: unknown finding {key!r}"


def _targets(node: Any) -> list[str]:
    return list(node.targets())


def _check_graph(a: Algorithm) -> Iterator[str]:
    nodes = {n.id: n for n in a.nodes}
    if a.start not in nodes:
        return
    # Cycles and reachability: an iterative depth-first search (deep trees must not recurse).
    state: dict[str, int] = {a.start: 1}  # 1 = on the current path, 2 = finished
    parent: dict[str, str] = {}
    cycles: list[str] = []
    stack: list[tuple[str, Iterator[str]]] = [(a.start, iter(_targets(nodes[a.start])))]
    while stack:
        nid, targets = stack[-1]
        target = next(targets, None)
        if target is None:
            state[nid] = 2
            stack.pop()
            continue
        if target not in nodes:
            continue
        if state.get(target) == 1:
            loop = [nid]
            while loop[-1] != target and loop[-1] in parent:
                loop.append(parent[loop[-1]])
            cycles.append(" -> ".join([*reversed(loop), target]))
        elif target not in state:
            state[target] = 1
            parent[target] = nid
            stack.append((target, iter(_targets(nodes[target]))))
    for c in cycles:
        yield f"nodes: cycle {c}"
    for nid in nodes:
        if nid not in state:
            yield f"node {nid}: not reachable from start {a.start!r}"
    # Every diagnosis is reachable: each has a key clue (checked above), and a diagnosis whose
    # key finding is present joins the differential wherever the walk ends.
