"""Endpoints for hospital systems: the FHIR lab import (API and page form) and the CDS Hooks
service. Bodies are never logged; nothing is stored; every bad input gets a 4xx naming the
resource and field."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.catalog import Catalog, get_catalog
from app.engine.conditions import evaluate, patient_of
from app.engine.models import Algorithm, FindingTest, Threshold
from app.engine.values import display, findings_from_json, findings_to_pairs
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
    422: {"description": "Not FHIR this import can read (the message names resource and field)"},
}


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


async def _fhir_body(request: Request) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FHIR_TYPES:
        raise _Refused(415, "send the FHIR resource as application/fhir+json or application/json")
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise _Refused(400, "the body is not valid JSON") from None


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def _report(algorithm: Algorithm, imported: Imported, root: str) -> dict[str, Any]:
    findings = findings_from_json(algorithm, imported.findings)
    return {
        "findings": imported.findings,
        "url": walk_url(root, algorithm.id, query_string(findings_to_pairs(findings))),
        "used": [u.__dict__ for u in imported.used],
        "ignored": [i.__dict__ for i in imported.ignored],
    }


@router.post("/api/algorithms/{algorithm_id}/fhir", responses=IMPORT_ERRORS)
async def fhir_import(algorithm_id: str, request: Request, catalog: CatalogDep) -> Response:
    """Lab results as FHIR (a Bundle, or one Observation; the Patient gives the age) turned into
    the walkthrough's findings: `findings`, the `url` that opens the walkthrough with them,
    `used` (per finding: Observation, LOINC code, value as sent and as recorded, time) and
    `ignored` (each skipped resource with the reason)."""
    algorithm = catalog.get(algorithm_id)
    try:
        imported = import_fhir(algorithm, await _fhir_body(request))
    except _Refused as exc:
        return _problem(exc.status, exc.message)
    except FhirError as exc:
        return _problem(422, str(exc))
    return JSONResponse(_report(algorithm, imported, root_path(request.scope)))


@router.post("/algorithms/{algorithm_id}/fhir", include_in_schema=False)
async def fhir_import_form(algorithm_id: str, request: Request, catalog: CatalogDep) -> Response:
    """The page form: pasted FHIR JSON plus the walkthrough so far (`state`), answered with a
    303 to the step the imported values lead to."""
    from app.pages import error_page  # the page layer renders errors

    algorithm = catalog.get(algorithm_id)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    pairs = parse_qsl(form.get("state", ""), keep_blank_values=True)
    try:
        state = parse_state(algorithm, [(k, v) for k, v in pairs if k != "recorded"])
        imported = import_fhir(algorithm, json.loads(form.get("bundle", "")))
    except StateError as exc:
        return error_page(request, 400, exc.message, algorithm_id)
    except (ValueError, FhirError) as exc:
        message = str(exc) if isinstance(exc, FhirError) else "the text is not valid JSON"
        return error_page(request, 422, f"The FHIR import was refused: {message}", algorithm_id)
    findings = dict(state.findings)
    findings.update(findings_from_json(algorithm, imported.findings))
    pairs_out = findings_to_pairs(findings) + [("view", v) for v in state.views]
    pairs_out.append(("recorded", "fhir"))
    url = walk_url(root_path(request.scope), algorithm_id, query_string(pairs_out))
    return RedirectResponse(url, 303, headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- CDS Hooks

SERVICE = "hypocalcemia-workup"
ADULT_DAYS = 6574.5  # 18 years: the app is for infants and children


@router.get("/cds-services", include_in_schema=False)
async def cds_discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": "patient-view",
                "id": SERVICE,
                "title": "Hypocalcaemia workup",
                "description": (
                    "When a child's recent calcium is low for age, offers the step-by-step "
                    "workup of symptomatic hypocalcaemia, opened with the recent results."
                ),
                "prefetch": {
                    "patient": "Patient/{{context.patientId}}",
                    "labs": (
                        "Observation?patient={{context.patientId}}&category=laboratory"
                        "&date=ge{{today() - 7 days}}"
                    ),
                },
            }
        ]
    }


def _check_jwt(request: Request, catalog: Catalog) -> Response | None:
    """With `WORKUP_CDS_JWT_PUBLIC_KEY` set, the call must carry a JWT signed with that key
    (RS384 or ES384, as CDS Hooks asks), unexpired, addressed to this service's URL."""
    key = catalog.settings.cds_jwt_public_key
    if not key:
        return None
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return _problem(401, "a signed JWT is required (Authorization: Bearer …)")
    base = catalog.settings.public_url or str(request.base_url).rstrip("/")
    audience = f"{base}{root_path(request.scope)}/cds-services/{SERVICE}"
    try:
        jwt.decode(
            header[7:].strip(),
            key,
            algorithms=["RS384", "ES384"],
            audience=audience,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        return _problem(401, f"the JWT was refused: {exc}")
    return None


def _low(algorithm: Algorithm, findings: Any, key: str, limit: str) -> bool:
    test = FindingTest(finding=key, below=Threshold(limit=limit))
    return evaluate(algorithm, test, findings, patient_of(algorithm, findings)) is True


@router.post(f"/cds-services/{SERVICE}", include_in_schema=False)
async def cds_patient_view(request: Request, catalog: CatalogDep) -> Response:
    """patient-view: one card when the prefetched calcium is low for the child's age (the
    algorithm's own limits), none otherwise; no call to any FHIR server."""
    algorithm = catalog.get("hypocalcemia")
    refused = _check_jwt(request, catalog)
    if refused is not None:
        return refused
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _problem(400, "the body is not valid JSON")
    if not isinstance(body, dict) or body.get("hook") != "patient-view":
        return _problem(400, "expected a CDS Hooks request for the patient-view hook")
    prefetch = body.get("prefetch") or {}
    labs, patient = prefetch.get("labs"), prefetch.get("patient")
    if not isinstance(labs, dict) or not isinstance(patient, dict):
        return JSONResponse({"cards": []})  # no prefetch: no card, and no FHIR calls from here
    entries = [{"resource": patient}] + [e for e in labs.get("entry") or [] if isinstance(e, dict)]
    try:
        imported = import_fhir(
            algorithm, {"resourceType": "Bundle", "type": "collection", "entry": entries}
        )
    except FhirError as exc:
        return _problem(422, str(exc))
    findings = findings_from_json(algorithm, imported.findings)
    age = patient_of(algorithm, findings).age_days
    if age is None or age >= ADULT_DAYS:
        return JSONResponse({"cards": []})
    low_ionised = _low(algorithm, findings, "ionized_calcium", "ionized-calcium-age-limit")
    low_total = "ionized_calcium" not in findings and _low(
        algorithm, findings, "total_calcium", "total-calcium-age-limit"
    )
    if not (low_ionised or low_total):
        return JSONResponse({"cards": []})
    critical = _low(algorithm, findings, "ionized_calcium", "protocol-ionized-calcium")
    key = "ionized_calcium" if low_ionised else "total_calcium"
    base = catalog.settings.public_url or str(request.base_url).rstrip("/")
    link = base + walk_url(
        root_path(request.scope), algorithm.id, query_string(findings_to_pairs(findings))
    )
    value = f"{algorithm.findings[key].label} {display(findings[key])}"
    card = {
        "uuid": str(uuid.uuid4()),
        "summary": f"{value}: low for age. Open the hypocalcaemia workup"[:139],
        "indicator": "critical" if critical else "warning",
        "detail": (
            "Calcium below the age-specific limit. The workup opens with the recent results "
            "filled in; it supports, and does not replace, clinical judgment."
        ),
        "source": {"label": f"Hypocalcaemia workup (algorithm {algorithm.version})"},
        "links": [{"label": "Open the workup with these results", "url": link, "type": "absolute"}],
    }
    return JSONResponse({"cards": [card]})
