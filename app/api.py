"""The JSON API: the same engine as the pages, findings in the JSON form of findings.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.catalog import Catalog, get_catalog
from app.engine.doses import DoseCard, Span, card_for
from app.engine.models import ActionNode, ResultNode
from app.engine.values import (
    FindingError,
    findings_from_json,
    findings_to_pairs,
    format_number,
)
from app.engine.values import encode_json as json_value
from app.engine.walk import Step, asks_of, walk
from app.urlstate import query_string, root_path, walk_url

router = APIRouter(prefix="/api")
CatalogDep = Annotated[Catalog, Depends(get_catalog)]


class Problem(BaseModel):
    finding: str | None = None
    message: str


class ErrorBody(BaseModel):
    detail: str | list[Problem]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed JSON or a body that is not an object"},
    404: {"model": ErrorBody, "description": "No such algorithm"},
    413: {"model": ErrorBody, "description": "Body too large"},
    422: {"model": ErrorBody, "description": "A finding or field that cannot be accepted"},
}


class AlgorithmSummary(BaseModel):
    id: str
    title: str
    version: str
    reviewed: str
    summary: str
    url: str


class WalkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    findings: dict[Annotated[str, Field(max_length=60)], Any] = Field(
        default_factory=dict,
        max_length=100,
        description=(
            "Findings by key: yes/no as true/false, choices as the option id, quantities as "
            '{"value": 0.8, "unit": "mmol/L"} (or a bare number in the canonical unit), and '
            '"unknown" for any finding not known.'
        ),
        examples=[{"age": {"value": 2, "unit": "months"}, "seizures": True, "pth": "unknown"}],
    )
    missing: Literal["ask", "unknown"] = Field(
        default="ask",
        description='"ask": stop at the first step that needs a finding not given; '
        '"unknown": count every finding not given as unknown and walk to a result.',
    )


class SourceOut(BaseModel):
    id: str
    citation: str
    url: str | None
    evidence: str


class AskOut(BaseModel):
    key: str
    label: str
    kind: str
    unit: str | None = None
    units: list[str] = []
    options: dict[str, str] | None = None


class SpanOut(BaseModel):
    low: float
    high: float


class DoseOut(BaseModel):
    """One dose of the emergency card. `volume_ml`, `mmol` and the rest are for this child, and
    null whenever the age or weight is missing, unconfirmed or implausible for the age."""

    drug: str = Field(description="Product and strength, e.g. 'Calcium gluconate 10%'")
    drug_id: str
    salt: str = Field(description="The salt every mg figure is of")
    element: str
    default: bool = Field(description="The default regimen for this drug and age band")
    label: str
    population: str
    min_age_days: float | None
    max_age_days: float | None
    ml_per_kg: SpanOut | None = Field(description="mL/kg of the stated strength")
    mmol_per_kg: SpanOut | None
    fixed_ml: float | None
    volume_ml: SpanOut | None = Field(description="mL of the stated strength for this child")
    mmol: SpanOut | None = Field(description="mmol of the element for this child")
    mg_salt: SpanOut | None
    diluted_ml: SpanOut | None = Field(description="The volume after dilution, to draw")
    dilution: str | None = Field(description="How to dilute, or null if given undiluted")
    min_minutes: float = Field(description="Give over at least this long")
    routes: list[str]
    line: str
    interval: str | None
    capped: Literal["", "row", "ceiling"]
    max_ml: float = Field(description="The lower of the dose's maximum and the drug's ceiling")
    max_mmol: float
    source: str = Field(description="Id of the source (see `sources`)")
    source_citation: str


class CautionOut(BaseModel):
    text: str
    drug: str | None
    sources: list[str]


class WithheldOut(BaseModel):
    drug: str
    text: str
    sources: list[str]


class WeightCheckOut(BaseModel):
    status: str = Field(description="plausible, implausible or unchecked (no reference value)")
    sds: list[float] | None = Field(description="SDS for a boy and a girl of that age")
    suggestion_kg: float | None = Field(description="The likely intended weight (a slip)")
    confirmed: bool


class NodeOut(BaseModel):
    id: str
    kind: str
    title: str
    prompt: str | None
    rationale: str
    sources: list[SourceOut]
    asks: list[AskOut]
    provisional: bool = False
    obtain: list[dict[str, Any]] = []
    # Action steps (the emergency step): what to do, the safety points, the dose card.
    actions: list[str] = []
    more_actions: list[str] = []
    cautions: list[CautionOut] = []
    doses: list[DoseOut] = []
    withheld: list[WithheldOut] = []
    dose_needs: str | None = Field(
        default=None,
        description="What the dose card needs before it shows volumes: age, weight, confirm "
        "(a weight far outside the growth reference, sent back as `weight_confirmed`), or "
        "null when volumes are shown",
    )
    weight_check: WeightCheckOut | None = None


class TrailOut(BaseModel):
    node: str
    kind: str
    title: str
    auto: bool
    answers: dict[str, Any]
    outcome: str | None


class DiagnosisOut(BaseModel):
    id: str
    name: str
    rank: int
    score: float
    likely: bool = Field(description="In the main list; false: shown as less likely.")
    listed: bool = Field(description="Listed by the result where the walk ended (its prior).")
    tied: bool = Field(
        default=False, description="Same evidence as a neighbour: a tie, kept in catalogue order."
    )
    key_findings: list[str]
    supporting_findings: list[str] = Field(description="Every clue present, key findings first.")
    background: list[str]
    against: list[str]
    key_findings_absent: list[str]
    not_yet_known: list[str]
    next_tests: list[str]
    sources: list[SourceOut]


class NextTestOut(BaseModel):
    test: str
    meaning: str
    findings: list[str]


class AlertOut(BaseModel):
    node: str
    title: str
    severity: str


class WalkResponse(BaseModel):
    status: Literal["question", "result"]
    node: NodeOut
    trail: list[TrailOut]
    differential: list[DiagnosisOut]
    next_tests: list[NextTestOut]
    alerts: list[AlertOut]
    url: str


def _root(request: Request) -> str:
    return root_path(request.scope)


@router.get("/algorithms", response_model=list[AlgorithmSummary])
async def list_algorithms(request: Request, catalog: CatalogDep) -> list[AlgorithmSummary]:
    return [
        AlgorithmSummary(
            id=a.id,
            title=a.title,
            version=a.version,
            reviewed=a.reviewed,
            summary=a.summary,
            url=walk_url(_root(request), a.id),
        )
        for a in catalog.algorithms.values()
    ]


@router.get("/algorithms/{algorithm_id}", responses=ERRORS)
async def get_algorithm(algorithm_id: str, catalog: CatalogDep) -> dict[str, Any]:
    """The whole algorithm definition: sources, findings, limits, diagnoses and nodes."""
    return catalog.get(algorithm_id).model_dump(mode="json", by_alias=True, exclude_none=True)


# HEAD answers as GET does (the server sends no body); kept out of the OpenAPI document, where
# a second operation per path would only repeat the GET one.
@router.head("/algorithms", include_in_schema=False)
async def head_algorithms(request: Request, catalog: CatalogDep) -> JSONResponse:
    summaries = await list_algorithms(request, catalog)
    return JSONResponse([s.model_dump() for s in summaries])


@router.head("/algorithms/{algorithm_id}", include_in_schema=False)
async def head_algorithm(algorithm_id: str, catalog: CatalogDep) -> JSONResponse:
    return JSONResponse(await get_algorithm(algorithm_id, catalog))


@router.post("/algorithms/{algorithm_id}/walk", response_model=WalkResponse, responses=ERRORS)
async def walk_algorithm(
    algorithm_id: str, body: WalkRequest, request: Request, catalog: CatalogDep
) -> WalkResponse | JSONResponse:
    algorithm = catalog.get(algorithm_id)
    try:
        findings = findings_from_json(algorithm, body.findings)
    except FindingError as exc:
        return JSONResponse(
            {"detail": [{"finding": exc.key, "message": exc.message}]}, status_code=422
        )
    step = walk(algorithm, findings, missing=body.missing)
    return step_out(step, _root(request))


def _sources(step: Step, ids: list[str]) -> list[SourceOut]:
    out = []
    for sid in ids:
        src = step.algorithm.sources[sid]
        out.append(SourceOut(id=sid, citation=src.citation, url=src.url, evidence=src.evidence))
    return out


def _span(span: Span | None) -> SpanOut | None:
    return SpanOut(low=span.low, high=span.high) if span is not None else None


def _dose_out(step: Step, card: DoseCard) -> DoseOut:
    d, c = card.dose, card.child
    dilution = None
    if d.dilution is not None:
        dilution = f"1 in {format_number(d.dilution.final_ml_per_ml)} with {d.dilution.diluent}"
    return DoseOut(
        drug=card.drug.name,
        drug_id=card.drug_id,
        salt=card.drug.salt,
        element=card.drug.element,
        default=card.default,
        label=d.label,
        population=d.population,
        min_age_days=d.min_age_days,
        max_age_days=d.max_age_days,
        ml_per_kg=_span(card.per_kg_ml),
        mmol_per_kg=_span(card.per_kg_mmol),
        fixed_ml=d.fixed_ml,
        volume_ml=_span(c.ml) if c else None,
        mmol=_span(c.mmol) if c else None,
        mg_salt=_span(c.mg_salt) if c else None,
        diluted_ml=_span(c.diluted_ml) if c else None,
        dilution=dilution,
        min_minutes=c.minutes if c else d.min_minutes,
        routes=list(d.routes),
        line=d.line,
        interval=d.interval,
        capped=c.capped if c else "",
        max_ml=card.max_ml,
        max_mmol=card.max_mmol,
        source=d.source,
        source_citation=step.algorithm.sources[d.source].citation,
    )


def _action_out(step: Step, node: ActionNode, out: NodeOut) -> None:
    """The emergency step's actions, safety points and dose card, from the same plan the page
    shows."""
    plan = card_for(step.algorithm, node, step.findings, step.patient)
    out.actions = [s.text for s in plan.first_steps] + list(node.steps)
    out.more_actions = list(node.more_steps)
    cautions = [c for p in plan.drugs for c in p.cautions] + list(plan.cautions)
    out.cautions = [CautionOut(text=c.text, drug=c.drug, sources=list(c.sources)) for c in cautions]
    out.doses = [_dose_out(step, card) for p in plan.drugs for card in (*p.defaults, *p.others)]
    out.withheld = [
        WithheldOut(drug=p.drug_id, text=p.withheld, sources=list(p.withheld_sources))
        for p in plan.drugs
        if p.withheld
    ]
    out.dose_needs = plan.need or None
    if plan.verdict is not None:
        v = plan.verdict
        out.weight_check = WeightCheckOut(
            status=v.status,
            sds=[round(z, 2) for z in v.sds] if v.sds else None,
            suggestion_kg=v.suggestion_kg,
            confirmed=plan.confirmed,
        )


def step_out(step: Step, root: str) -> WalkResponse:
    algorithm = step.algorithm
    node = step.node
    asks = []
    for key in asks_of(node):
        f = algorithm.findings[key]
        asks.append(
            AskOut(
                key=key,
                label=f.label,
                kind=f.kind,
                unit=f.unit,
                units=f.units() if f.kind == "quantity" else [],
                options=f.options,
            )
        )
    node_out = NodeOut(
        id=node.id,
        kind=node.kind,
        title=node.title,
        prompt=node.prompt,
        rationale=node.rationale,
        sources=_sources(step, list(node.sources)),
        asks=asks,
    )
    if isinstance(node, ResultNode):
        node_out.provisional = node.provisional
        node_out.obtain = [o.model_dump() for o in node.obtain]
    if isinstance(node, ActionNode):
        _action_out(step, node, node_out)
    trail = [
        TrailOut(
            node=e.node.id,
            kind=e.node.kind,
            title=e.node.title,
            auto=e.auto,
            answers={a.key: json_value(a.value) for a in e.answers if a.value is not None},
            outcome=e.outcome.label if e.outcome else None,
        )
        for e in step.trail
    ]
    differential = [
        DiagnosisOut(
            id=d.id,
            name=d.diagnosis.name,
            rank=d.rank,
            score=d.score,
            likely=d.likely,
            tied=d.tied,
            listed=d.listed,
            key_findings=list(d.key),
            supporting_findings=list(d.points_to),
            background=list(d.priors),
            against=list(d.against),
            key_findings_absent=list(d.absent),
            not_yet_known=list(d.open_questions),
            next_tests=list(d.diagnosis.tests),
            sources=_sources(step, list(d.diagnosis.sources)),
        )
        for d in step.differential
    ]
    alerts = [AlertOut(node=a.node_id, title=a.title, severity=a.severity) for a in step.alerts]
    # Findings the walk counted as unknown (missing="unknown") go into the URL as `unknown`,
    # so that the URL reopens this very step.
    effective = dict(step.findings)
    for entry in step.trail:
        if not entry.node.computed:
            for answer in entry.answers:
                effective.setdefault(answer.key, "unknown")
    qs = query_string(findings_to_pairs(effective))
    url = walk_url(root, algorithm.id, qs)
    return WalkResponse(
        status=step.status,
        node=node_out,
        trail=trail,
        differential=differential,
        next_tests=[
            NextTestOut(test=t.test, meaning=t.meaning, findings=list(t.findings))
            for t in step.next_tests
        ],
        alerts=alerts,
        url=url,
    )
