"""HTML pages: the list of algorithms and the walkthrough (one step per URL).

Every URL answers a plain GET with a complete page, so reload, Back, bookmarks, shared links
and htmx history restores all get the same page. htmx only swaps `#walk` out of that page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from markupsafe import Markup

from app.catalog import Catalog, get_catalog
from app.engine.models import Algorithm
from app.engine.values import display, findings_to_pairs
from app.engine.walk import Step, WalkError, walk
from app.flowchart import mark, mermaid, svg_path
from app.rendering import render
from app.teaching import BRANCHES, CaseWalk, Screen, TeachingCase, case_walk
from app.treemap import build_map
from app.urlstate import (
    State,
    StateError,
    parse_state,
    query_string,
    root_path,
    views_of,
    walk_url,
)
from app.views import FLAG_TEXT, Modes, build

router = APIRouter()
CatalogDep = Annotated[Catalog, Depends(get_catalog)]

NO_STORE = {"Cache-Control": "no-store"}
Endpoint = Callable[..., Any]


def html_page(path: str) -> Callable[[Endpoint], Endpoint]:
    """A page route: GET and HEAD, HTML, left out of the OpenAPI document."""
    return router.api_route(
        path, methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
    )


def root_of(request: Request) -> str:
    return root_path(request.scope)


@html_page("/")
async def home(request: Request, catalog: CatalogDep) -> Response:
    return render(request, "index.html", {"algorithms": list(catalog.algorithms.values())})


@html_page("/about")
async def about(request: Request, catalog: CatalogDep) -> Response:
    """What the tool is, the LOINC notice, the FHIR import's rules and codes, privacy."""
    loinc = {"site": "http://loinc.org", "license": "http://loinc.org/license"}
    imports = [a for a in catalog.algorithms.values() if a.fhir_import is not None]
    return render(request, "about.html", {"loinc": loinc, "imports": imports})


@dataclass(frozen=True)
class Opened:
    algorithm: Algorithm
    state: State
    step: Step


class Interrupt(Exception):
    """A page that cannot be shown as asked; carries what is sent instead (an error page or a
    redirect to the canonical address). The app answers it with that response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def open_walk(request: Request, algorithm_id: str, catalog: Catalog, page: str = "") -> Opened:
    """Read the walkthrough in the query string for one of its pages ("" for the steps, "map",
    "labs"). Raises `Interrupt` with an error page for anything not understood, or with a
    redirect to the canonical address for a spelling understood but not canonical."""
    algorithm = catalog.get(algorithm_id)
    if len(request.url.query) > catalog.settings.max_query_length:
        raise Interrupt(
            error_page(request, 414, "This link is too long to be a walkthrough.", algorithm_id)
        )
    pairs = request.query_params.multi_items()
    if page and any(k == "from" for k, _ in pairs):
        raise Interrupt(
            error_page(
                request,
                400,
                "This page shows a walkthrough; it takes no form.",
                algorithm_id,
                bad_key="from",
                pairs=pairs,
            )
        )
    try:
        state = parse_state(algorithm, pairs)
    except StateError as exc:
        raise Interrupt(
            error_page(request, 400, exc.message, algorithm_id, bad_key=exc.key, pairs=pairs)
        ) from exc
    if state.submission is None and (
        state.canonical_pairs != pairs or request.url.query != query_string(state.canonical_pairs)
    ):
        canonical = query_string(state.canonical_pairs)
        raise Interrupt(
            RedirectResponse(
                walk_url(root_of(request), algorithm_id, canonical, page), 303, headers=NO_STORE
            )
        )
    try:
        step = walk(algorithm, state.findings, edit=state.edit)
    except WalkError as exc:
        raise Interrupt(
            error_page(request, 400, str(exc), algorithm_id, bad_key="edit", pairs=pairs)
        ) from exc
    return Opened(algorithm, state, step)


def opened(page: str = "") -> Callable[..., Any]:
    """The walkthrough of the request's query string, as a dependency of one of its pages."""

    async def dependency(request: Request, algorithm_id: str, catalog: CatalogDep) -> Opened:
        return open_walk(request, algorithm_id, catalog, page)

    return dependency


StepDep = Annotated[Opened, Depends(opened())]
LabsDep = Annotated[Opened, Depends(opened("labs"))]
MapDep = Annotated[Opened, Depends(opened("map"))]


@html_page("/algorithms/{algorithm_id}")
async def walkthrough(request: Request, opened: StepDep) -> Response:
    view = build(opened.algorithm, opened.step, opened.state, root_of(request))
    status = 422 if opened.state.submission else 200
    if view.labs_errors:  # a refused labs form is shown again on its own page
        return render(
            request,
            "labs_page.html",
            {"view": view},
            status_code=422,
            headers={**NO_STORE, "HX-Push-Url": "false"},
        )
    headers = dict(NO_STORE)
    if status == 422:
        headers["HX-Push-Url"] = "false"
    return render(
        request,
        "walk.html",
        {"view": view, "today": date.today().isoformat()},
        status_code=status,
        headers=headers,
    )


@html_page("/algorithms/{algorithm_id}/labs")
async def labs_form(request: Request, opened: LabsDep) -> Response:
    """The "labs at hand" form for the walkthrough in the query string, on a page of its own."""
    view = build(opened.algorithm, opened.step, opened.state, root_of(request), with_labs=True)
    return render(request, "labs_page.html", {"view": view}, headers=NO_STORE)


KIND_NAMES = {
    "question": "question",
    "measurement": "labs",
    "decision": "branch",
    "action": "action",
    "result": "result",
}


@html_page("/algorithms/{algorithm_id}/map")
async def tree_map(
    request: Request, algorithm_id: str, catalog: CatalogDep, opened: MapDep
) -> Response:
    """The whole tree, with the path of the walkthrough in the query string marked."""
    state, step = opened.state, opened.step
    qs = query_string(state.canonical_pairs)
    back = walk_url(root_of(request), algorithm_id, qs)
    path = [e.node.id for e in step.trail] + [step.node.id]
    svg = flowchart_svg(catalog, opened.algorithm)
    marked = (
        Markup(mark(svg, path, step.node.id, zip(path, path[1:], strict=False))) if svg else None
    )
    return render(
        request,
        "map.html",
        {
            "algorithm": opened.algorithm,
            "tree": build_map(opened.algorithm, step),
            "back_url": back,
            "kind_names": KIND_NAMES,
            "views": state.views,
            "path_ids": {e.node.id for e in step.trail} | {step.node.id},
            "flowchart": marked,
            "current_id": step.node.id,
            "mermaid_url": walk_url(root_of(request), algorithm_id, page="mermaid"),
        },
        headers=NO_STORE,
    )


_flowcharts: dict[tuple[str, str], str] = {}


def flowchart_svg(catalog: Catalog, algorithm: Algorithm) -> str:
    """The algorithm's flowchart (`algorithms/<id>.svg`, a build output of `app.flowchart`),
    read once per algorithm version; "" when it has not been built."""
    key = (algorithm.id, algorithm.version)
    svg = _flowcharts.get(key)
    if svg is None:
        path = svg_path(algorithm.id, catalog.settings.algorithms_dir)
        svg = _flowcharts[key] = path.read_text(encoding="utf-8") if path.is_file() else ""
    return svg


@router.get("/algorithms/{algorithm_id}/mermaid", include_in_schema=False)
async def tree_mermaid(algorithm_id: str, catalog: CatalogDep) -> PlainTextResponse:
    """Mermaid text of the whole tree, for review where a forge draws it."""
    return PlainTextResponse(mermaid(catalog.get(algorithm_id)))


def error_page(
    request: Request,
    status: int,
    message: str,
    algorithm_id: str | None = None,
    bad_key: str | None = None,
    pairs: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    # Presentation and embed modes survive an error page and its links.
    views = views_of(request.query_params.multi_items())
    view_qs = query_string([("view", v) for v in views])
    without = None
    if algorithm_id and pairs is not None and bad_key:
        kept = [
            (k, v) for k, v in pairs if k != bad_key and not k.startswith("unit.") and k != "from"
        ]
        if bad_key != "view":
            kept = [(k, v) for k, v in kept if k != "view"] + [("view", v) for v in views]
        if kept != pairs:
            without = walk_url(root_of(request), algorithm_id, query_string(kept))
    restart = None
    if algorithm_id:
        restart = walk_url(root_of(request), algorithm_id, view_qs)
    return render(
        request,
        "error.html",
        {
            "status": status,
            "message": message,
            "restart_url": restart,
            "without_url": without,
            "bad_key": bad_key,
            "views": views,
        },
        status_code=status,
        headers={**(headers or {}), **NO_STORE, "HX-Push-Url": "false"},
    )


# --------------------------------------------------------------------------- teaching cases


@html_page("/cases")
async def case_list(request: Request, catalog: CatalogDep) -> Response:
    """The teaching cases by branch, easiest first."""
    groups: dict[str, list[TeachingCase]] = {}
    for case in sorted(catalog.cases.values(), key=lambda c: (c.difficulty, c.title)):
        groups.setdefault(case.branch, []).append(case)
    ordered = [(BRANCHES[b], groups[b]) for b in BRANCHES if b in groups]
    views = views_of(request.query_params.multi_items())
    return render(request, "cases.html", {"groups": ordered, "views": views}, headers=NO_STORE)


@dataclass(frozen=True)
class TeachView(Modes):
    """What the predict-then-reveal page shows; every link keeps the state in the URL."""

    walk: CaseWalk
    index: int  # the screen shown; len(screens) is the result
    guess: int | None  # the class's prediction (index of a choice)
    revealed: bool
    shown: int  # result: diagnoses revealed so far
    urls: dict[str, str]
    choice_urls: list[str]
    views: tuple[str, ...]

    @property
    def at_result(self) -> bool:
        return self.index >= len(self.walk.screens)

    @property
    def screen(self) -> Screen | None:
        return None if self.at_result else self.walk.screens[self.index]

    @property
    def before(self) -> tuple[Screen, ...]:
        return self.walk.screens[: self.index]


TEACH_KEYS = ("step", "guess", "reveal", "shown", "view")


@html_page("/cases/{case_id}")
async def teach(request: Request, case_id: str, catalog: CatalogDep) -> Response:
    """One teaching case, predict then reveal, one screen per URL."""
    case = catalog.case(case_id)
    algorithm = catalog.get(case.algorithm)
    walked = case_walk(algorithm, case)
    params = request.query_params
    bad = [k for k in params if k not in TEACH_KEYS]
    last = len(walked.screens)
    try:
        if bad:
            raise ValueError(f"{bad[0][:40]!r} is not a setting of a teaching case")
        index = int(params.get("step", "0"))
        guess = int(params["guess"]) if "guess" in params else None
        revealed = params.get("reveal") == "yes"
        shown = int(params.get("shown", "0"))
        views = views_of(params.multi_items())
        if not 0 <= index <= last or shown < 0 or (guess is not None and guess < 0):
            raise ValueError("that step is not part of this case")
    except ValueError as exc:
        return error_page(request, 400, f"This teaching link cannot be used: {exc}.")
    root = root_of(request)

    def url(**pairs: object) -> str:
        query = [(k, str(v)) for k, v in pairs.items() if v is not None and v is not False]
        query += [("view", v) for v in views]
        qs = query_string(query)
        return f"{root}/cases/{case.id}" + (f"?{qs}" if qs else "")

    ranked = walked.result.differential
    urls = {
        "start": url(),
        "list": f"{root}/cases",
        "reveal": url(step=index, guess=guess, reveal="yes"),
        "next": url(step=index + 1) if index < last else url(step=last, shown=shown + 1),
        "back": url(step=index - 1, reveal="yes") if index > 0 else url(),
        "walk": walk_url(
            root,
            algorithm.id,
            query_string(findings_to_pairs(walked.result.findings)),
        ),
        "all": url(step=last, shown=len(ranked)),
    }
    if index >= last and shown > 0:
        urls["back"] = url(step=last, shown=shown - 1)
    screen = walked.screens[index] if index < last else None
    choices = screen.choices if screen else []
    view = TeachView(
        walk=walked,
        index=index,
        guess=guess if guess is not None and guess < len(choices) else None,
        revealed=revealed,
        shown=min(shown, len(ranked)),
        urls=urls,
        choice_urls=[url(step=index, guess=i) for i in range(len(choices))],
        views=views,
    )
    return render(
        request,
        "teach.html",
        {"teach": view, "views": views, "display": display, "flag_text": FLAG_TEXT},
        headers=NO_STORE,
    )
