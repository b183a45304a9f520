"""Jinja2 set-up: one environment, cache-busted static URLs, and the page renderer."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.engine.models import Algorithm, NodeBase
from app.engine.values import format_number
from app.settings import PROJECT_ROOT
from app.urlstate import root_path

TEMPLATES = PROJECT_ROOT / "templates"
STATIC = PROJECT_ROOT / "static"
VARY = "HX-Request, HX-Request-Type, HX-History-Restore-Request"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates are read once; a deploy restarts the server
)


@cache
def asset_version(name: str) -> str:
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
    return digest[:12]


_fragments: dict[tuple[str, str, str, bool], Markup] = {}


def rationale(algorithm: Algorithm, node: NodeBase, open_all: bool = False) -> Markup:
    """A step's rationale, disagreements and sources: the same for every patient, so rendered
    once per step (and per mode) and reused (it holds nothing from the request). At the
    bedside the disagreements sit behind a disclosure; a projected class (`open_all`) sees
    them open."""
    key = (algorithm.id, algorithm.version, node.id, open_all)
    html = _fragments.get(key)
    if html is None:
        template = environment.get_template("rationale.html")
        html = Markup(template.render(node=node, sources=algorithm.sources, open_all=open_all))
        _fragments[key] = html
    return html


def hidden_inputs(pairs: list[tuple[str, str]]) -> Markup:
    """Hidden form fields carrying the state (built here: a template loop costs more)."""
    return Markup(
        "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">\n' for k, v in pairs)
    )


def hx(url: str, embed: bool = False) -> Markup:
    """A link that works without JavaScript and that htmx follows by swapping `#walk` out of the
    full page; in embed mode it replaces the frame's URL instead of adding history."""
    history = "hx-replace-url" if embed else "hx-push-url"
    return Markup(
        f'href="{escape(url)}" hx-get="{escape(url)}" hx-target="#walk" hx-select="#walk" '
        f'hx-swap="outerHTML" {history}="true"'
    )


environment.globals.update(rationale=rationale, hidden_inputs=hidden_inputs, hx=hx)
environment.filters["num"] = format_number


class PageResponse(HTMLResponse):
    """An HTML page that, under a test client, also reports its template and context (as
    Starlette's template responses do), so that tests assert on data, not on markup order."""

    def __init__(self, html: str, template: str, context: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(html, **kwargs)
        self.template = template
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = scope.get(DEBUG_CHANNEL)
        if channel is not None:
            channel.append({"template": self.template, "context": self.context})
        await super().__call__(scope, receive, send)


DEBUG_CHANNEL = "app.response.debug"


class ResponseDebug:
    """Outermost middleware, active only under a test client (which asks for the
    `http.response.debug` extension): hands it the page's template and context. They travel
    beside the middlewares (GZip drops messages it does not know), in a list on the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "http.response.debug" not in scope.get("extensions", {}):
            await self.app(scope, receive, send)
            return
        channel: list[dict[str, Any]] = []
        scope[DEBUG_CHANNEL] = channel

        async def send_with_info(message: Message) -> None:
            if message["type"] == "http.response.start" and channel:
                await send({"type": "http.response.debug", "info": channel.pop()})
            await send(message)

        await self.app(scope, receive, send_with_info)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    root = root_path(request.scope)

    def static(name: str) -> str:
        return f"{root}/static/{name}?v={asset_version(name)}"

    catalog = getattr(request.app.state, "catalog", None)
    origins = " ".join(catalog.settings.frame_ancestors) if catalog is not None else ""
    html = environment.get_template(template).render(
        {"root": root, "static": static, "parent_origins": origins, **context}
    )
    response = PageResponse(html, template, context, status_code=status_code, headers=headers)
    response.headers["Vary"] = VARY
    return response


def static_dir() -> Path:
    return STATIC
