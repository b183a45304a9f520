"""Endpoints for hospital systems: the FHIR lab import (API and page form) and the CDS Hooks
service. Bodies are never logged; nothing is stored; every bad input gets a 4xx naming the
resource and field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.catalog import Catalog, get_catalog
from app.cdsauth import CdsAuth, Refusal
from app.engine.conditions import evaluate, patient_of
from app.engine.models import Algorithm, FindingTest, Threshold
from app.engine.values import (
    FindingError,
    display,
    findings_from_json,
    findings_to_pairs,
    format_number,
)
from app.fhir import FhirError, Imported, import_fhir
from app.urlstate import StateError, parse_state, query_string, root_path, walk_url

router = APIRouter()
CatalogDep = Annotated[Catalog, Depends(get_catalog)]

FHIR_TYPES = ("application/fhir+json", "application/json")
IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    404: {"description": "No such algorithm"},
    413: {"description": "Body too large"},
    415: {"description": "Not application/fhir+json or application/json"},
    422: {
        "description": (
            "Not FHIR this import can read, two patients, or a patient above the workup's "
            "age range (an OperationOutcome naming resource and field)"
        )
    },
}


NO_STORE = {"Cache-Control": "no-store"}


def problem(status: int, message: str, code: str = "invalid") -> JSONResponse:
    """A FHIR error: an OperationOutcome whose diagnostics say what to send instead."""
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": message}],
    }
    return JSONResponse(
        outcome, status_code=status, media_type="application/fhir+json", headers=NO_STORE
    )


def _json(text: bytes | str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise _Refused(422, "the JSON is nested too deeply to be a lab result") from None
    except (ValueError, UnicodeDecodeError):
        raise _Refused(400, "the body is not valid JSON") from None


async def _fhir_body(request: Request) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FHIR_TYPES:
        raise _Refused(415, "send the FHIR resource as application/fhir+json or application/json")
    return _json(await request.body())


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def _report(algorithm: Algorithm, imported: Imported, root: str) -> dict[str, Any]:
    findings = findings_from_json(algorithm, imported.findings)
    return {
        "findings": imported.findings,
        "url": walk_url(root, algorithm.id, query_string(findings_to_pairs(findings))),
        "patient": imported.patient,
        "index_time": imported.index_time.isoformat() if imported.index_time else None,
        "age": imported.age or None,
        "used": [u.__dict__ for u in imported.used],
        "ignored": [i.__dict__ for i in imported.ignored],
    }


@router.post("/api/algorithms/{algorithm_id}/fhir", responses=IMPORT_ERRORS)
async def fhir_import(algorithm_id: str, request: Request, catalog: CatalogDep) -> Response:
    """Lab results as FHIR (a Bundle, an Observation or a DiagnosticReport; the Patient gives
    the age) turned into the walkthrough's findings: `findings`, the `url` that opens the
    walkthrough with them, `used` (per finding: Observation, LOINC code, value as sent and as
    recorded, sample time) and `ignored` (each resource left out, with the reason and its
    sample time). Errors are OperationOutcomes."""
    algorithm = catalog.get(algorithm_id)
    try:
        # CPU-bound for a large Bundle: off the event loop, so other requests go on.
        imported = await run_in_threadpool(import_fhir, algorithm, await _fhir_body(request))
        report = _report(algorithm, imported, root_path(request.scope))
    except _Refused as exc:
        return problem(exc.status, exc.message)
    except FhirError as exc:
        return problem(422, str(exc))
    except FindingError as exc:
        return problem(422, f"{exc.key}: {exc.message}")
    return JSONResponse(report, headers=NO_STORE)


def _sampled(moment: datetime | str | None) -> str:
    """A sample time as a resident reads it: `20 Nov 2026 08:00 UTC`."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment) if moment else None
    return moment.astimezone(UTC).strftime("%d %b %Y %H:%M UTC") if moment else ""


def confirmation(
    request: Request,
    algorithm: Algorithm,
    data: Any,
    patient_id: str | None = None,
    before: dict[str, Any] | None = None,
    views: tuple[str, ...] = (),
) -> Response:
    """The confirmation page of an import (a pasted Bundle, or the chart read by a SMART
    launch): what was used, with sample dates, what was left out and why, and the link to the
    step the values lead to. Raises FhirError for a body the import refuses."""
    from app.rendering import render

    imported = import_fhir(algorithm, data, patient_id=patient_id)
    findings = dict(before or {})
    try:
        findings.update(findings_from_json(algorithm, imported.findings))
    except FindingError as exc:
        raise FhirError(f"{exc.key}: {exc.message}") from None
    root = root_path(request.scope)
    view_pairs = [("view", v) for v in views]
    pairs_out = findings_to_pairs(findings) + view_pairs
    pairs_out.append(("recorded", "fhir"))
    report = {
        "patient": imported.patient,
        "index_time": _sampled(imported.index_time),
        "age": imported.age,
        "used": [
            {
                **u.__dict__,
                "label": algorithm.findings[u.finding].label,
                "sampled": _sampled(u.effective),
            }
            for u in imported.used
        ],
        "ignored": [{**i.__dict__, "sampled": _sampled(i.effective)} for i in imported.ignored],
        "url": walk_url(root, algorithm.id, query_string(pairs_out)),
        "back_url": walk_url(
            root, algorithm.id, query_string(findings_to_pairs(before or {}) + view_pairs)
        ),
    }
    return render(request, "fhir_import.html", {"report": report, "views": views}, headers=NO_STORE)


@router.post("/algorithms/{algorithm_id}/fhir", include_in_schema=False)
async def fhir_import_form(algorithm_id: str, request: Request, catalog: CatalogDep) -> Response:
    """The page form: pasted FHIR JSON plus the walkthrough so far (`state`), answered with the
    confirmation: what was used (with sample dates) and what was left out and why, and a link to
    the step the imported values lead to."""
    from app.pages import error_page  # the page layer renders errors

    algorithm = catalog.get(algorithm_id)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    pairs = parse_qsl(form.get("state", ""), keep_blank_values=True)
    try:
        state = parse_state(algorithm, [(k, v) for k, v in pairs if k != "recorded"])
        data = _json(form.get("bundle", ""))
        return confirmation(
            request, algorithm, data, before=dict(state.findings), views=tuple(state.views)
        )
    except StateError as exc:
        return error_page(request, 400, exc.message, algorithm_id)
    except _Refused as exc:
        message = "the text is not valid JSON" if exc.status == 400 else exc.message
        return error_page(request, 422, f"The FHIR import was refused: {message}", algorithm_id)
    except FhirError as exc:
        return error_page(request, 422, f"The FHIR import was refused: {exc}", algorithm_id)


# --------------------------------------------------------------------------- CDS Hooks
# CDS Hooks 2.0 (the version declared in discovery): prefetch tokens are context fields only, a
# service that cannot get the data it needs answers 412, browsers call with CORS.

SERVICE = "hypocalcemia-workup"
SPEC_VERSION = "2.0"
ADULT_DAYS = 6574.5  # 18 years: the app is for infants and children
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type",
    "Access-Control-Max-Age": "600",
}


def _cds(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**CORS, **NO_STORE})


def _cds_problem(status: int, message: str, code: str = "invalid") -> JSONResponse:
    response = problem(status, message, code)
    response.headers.update(CORS)
    return response


NO_CARD: dict[str, Any] = {"cards": []}


@router.options("/cds-services", include_in_schema=False)
@router.options("/cds-services/{service_id}", include_in_schema=False)
@router.options("/cds-services/{service_id}/feedback", include_in_schema=False)
async def cds_preflight() -> Response:
    """CORS preflight: browser-based CDS clients send `Authorization`, which needs one."""
    return Response(status_code=204, headers=CORS)


@router.get("/cds-services", include_in_schema=False)
async def cds_discovery(catalog: CatalogDep) -> Response:
    rules = catalog.get("hypocalcemia").fhir_import
    hours = format_number(rules.card_max_age_hours) if rules is not None else "72"
    return _cds(
        {
            "services": [
                {
                    "hook": "patient-view",
                    "hookVersion": "1.0",
                    "version": SPEC_VERSION,
                    "id": SERVICE,
                    "title": "Hypocalcaemia workup",
                    "description": (
                        f"When a child's recent calcium (sampled in the last {hours} hours) is "
                        "low for age, offers the step-by-step workup of symptomatic "
                        "hypocalcaemia, opened with the results of that draw."
                    ),
                    "prefetch": {
                        "patient": "Patient/{{context.patientId}}",
                        "labs": "Observation?patient={{context.patientId}}&category=laboratory",
                    },
                }
            ]
        }
    )


async def _check_jwt(request: Request, catalog: Catalog, path: str) -> Response | None:
    """The EHR's signed JWT (app.cdsauth), when issuers are configured; 401 saying what to fix."""
    auth: CdsAuth = request.app.state.cds_auth
    if not auth.on:
        return None
    audience = f"{catalog.settings.public_url}{root_path(request.scope)}{path}"
    try:
        await run_in_threadpool(auth.check, request.headers.get("authorization", ""), audience)
    except Refusal as exc:
        response = _cds_problem(401, str(exc), "login")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    return None


def _low(algorithm: Algorithm, findings: Any, key: str, limit: str) -> bool:
    test = FindingTest(finding=key, below=Threshold(limit=limit))
    return evaluate(algorithm, test, findings, patient_of(algorithm, findings)) is True


@router.post(f"/cds-services/{SERVICE}", include_in_schema=False)
async def cds_patient_view(request: Request, catalog: CatalogDep) -> Response:
    """patient-view: one card when the index calcium (the lowest of the last 72 hours, at most
    72 hours old) is low for the child's age by the algorithm's own limits, none otherwise. The
    service does not call the FHIR server: without the prefetch it answers 412."""
    algorithm = catalog.get("hypocalcemia")
    refused = await _check_jwt(request, catalog, f"/cds-services/{SERVICE}")
    if refused is not None:
        refused.headers.update(CORS)
        return refused
    try:
        body = _json(await request.body())
    except _Refused as exc:
        return _cds_problem(exc.status, exc.message)
    if not isinstance(body, dict) or body.get("hook") != "patient-view":
        return _cds_problem(400, "expected a CDS Hooks request for the patient-view hook")
    context = body.get("context")
    patient_id = context.get("patientId") if isinstance(context, dict) else None
    if not isinstance(patient_id, str) or not patient_id:
        return _cds_problem(400, "context.patientId is required (a string)")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        return _cds_problem(400, "prefetch must be an object keyed by the prefetch names")
    prefetch = prefetch or {}
    labs, patient = prefetch.get("labs"), prefetch.get("patient")
    if not isinstance(labs, dict) or not isinstance(patient, dict):
        missing = [k for k, v in (("patient", patient), ("labs", labs)) if not isinstance(v, dict)]
        return _cds_problem(
            412,
            f"prefetch {' and '.join(missing)} missing: this service does not query the FHIR "
            "server, so send the prefetch declared in discovery",
            "not-found",
        )
    if patient.get("resourceType") != "Patient" or patient.get("id") != patient_id:
        return _cds(NO_CARD)  # the prefetched patient is not the patient in context
    entries = labs.get("entry") or []
    if not isinstance(entries, list):
        return _cds_problem(400, "prefetch labs: entry must be a list")
    entries = [{"resource": patient}] + [e for e in entries if isinstance(e, dict)]
    try:
        imported = await run_in_threadpool(
            import_fhir,
            algorithm,
            {"resourceType": "Bundle", "type": "collection", "entry": entries},
            patient_id,
        )
        findings = findings_from_json(algorithm, imported.findings)
    except FhirError as exc:
        if "this workup is for" in str(exc):
            return _cds(NO_CARD)  # above the workup's age range
        return _cds_problem(422, str(exc))
    except FindingError:
        return _cds(NO_CARD)
    rules = algorithm.fhir_import
    assert rules is not None  # import_fhir refused otherwise
    at = imported.index_time
    if at is None or datetime.now(UTC) - at > timedelta(hours=rules.card_max_age_hours):
        return _cds(NO_CARD)
    age = patient_of(algorithm, findings).age_days
    if age is None or age >= ADULT_DAYS:
        return _cds(NO_CARD)
    low_ionised = _low(algorithm, findings, "ionized_calcium", "ionized-calcium-age-limit")
    low_total = "ionized_calcium" not in findings and _low(
        algorithm, findings, "total_calcium", "total-calcium-age-limit"
    )
    if not (low_ionised or low_total):
        return _cds(NO_CARD)
    critical = _low(algorithm, findings, "ionized_calcium", "protocol-ionized-calcium")
    key = "ionized_calcium" if low_ionised else "total_calcium"
    base = catalog.settings.public_url  # never the request's Host header
    link = base + walk_url(
        root_path(request.scope), algorithm.id, query_string(findings_to_pairs(findings))
    )
    value = f"{algorithm.findings[key].label} {display(findings[key])}"
    sampled = _sampled(at)
    left_out = len(imported.ignored)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": f"{value} (sampled {sampled}): low for age. Open the workup"[:139],
        "indicator": "critical" if critical else "warning",
        "detail": (
            f"Calcium below the age-specific limit, sampled {sampled}"
            + (f" at age {imported.age}" if imported.age else "")
            + ". The workup opens with the results of that draw filled in"
            + (f" ({left_out} other result(s) left out; the import lists why)" if left_out else "")
            + "; it supports, and does not replace, clinical judgment."
        ),
        "source": {"label": f"Hypocalcaemia workup (algorithm {algorithm.version})"},
        "links": [{"label": "Open the workup with these results", "url": link, "type": "absolute"}],
    }
    if not base:  # an absolute link needs the configured address (WORKUP_PUBLIC_URL)
        card["links"] = []
        card["detail"] += " (No link: this service's public address is not configured.)"
    elif catalog.settings.smart_issuers:
        # The EHR launches the app with its own context (iss, launch): the chart's results are
        # then read fresh through SMART, with the same import and confirmation.
        card["links"].append(
            {
                "label": "Open the workup from the chart (SMART)",
                "url": f"{base}{root_path(request.scope)}/smart/launch",
                "type": "smart",
            }
        )
    return _cds({"cards": [card]})


@router.post(f"/cds-services/{SERVICE}/feedback", include_in_schema=False)
async def cds_feedback(request: Request, catalog: CatalogDep) -> Response:
    """CDS Hooks feedback: `{"feedback": [{"card", "outcome", "outcomeTimestamp", …}]}`,
    answered 200 with an empty body. Nothing is kept."""
    refused = await _check_jwt(request, catalog, f"/cds-services/{SERVICE}/feedback")
    if refused is not None:
        refused.headers.update(CORS)
        return refused
    try:
        body = _json(await request.body())
    except _Refused as exc:
        return _cds_problem(exc.status, exc.message)
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return _cds_problem(400, 'expected {"feedback": [ … ]} with at least one item')
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("card"), str)
            or item.get("outcome") not in ("accepted", "overridden")
            or not isinstance(item.get("outcomeTimestamp"), str)
        ):
            return _cds_problem(
                400,
                "each feedback item needs card (the card's uuid), outcome (accepted or "
                "overridden) and outcomeTimestamp",
            )
    return Response(status_code=200, headers=CORS)
