"""Builds the ASGI app: algorithms validated at start-up, pages, API, static files, headers."""

from __future__ import annotations

import gzip
import mimetypes
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app import api, hospital, pages, smart
from app.accesslog import AccessLog
from app.accesslog import configure as configure_access_log
from app.catalog import Catalog
from app.cdsauth import CdsAuth
from app.engine.growth import warm_growth_reference
from app.errorlog import ErrorLog
from app.limits import BodyLimit
from app.rendering import ResponseDebug, static_dir
from app.security import SecurityHeaders
from app.settings import Settings


class CachedStatic(StaticFiles):
    """Static files; URLs carry a content hash (`?v=`), so they may be cached for a year. Text
    assets are compressed once, when first asked for, and served from memory after that (the
    GZip middleware leaves a response that is already encoded alone)."""

    TEXT = (".css", ".js", ".svg")
    IMMUTABLE = "public, max-age=31536000, immutable"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gzipped: dict[str, tuple[bytes, str]] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        accepts = b"gzip" in dict(scope.get("headers", [])).get(b"accept-encoding", b"")
        if accepts and path.endswith(self.TEXT) and scope["method"] in ("GET", "HEAD"):
            cached = self._gzipped.get(path)
            if cached is None:
                full, stat = self.lookup_path(path)
                if stat is not None and Path(full).is_file():
                    body = gzip.compress(Path(full).read_bytes(), compresslevel=9, mtime=0)
                    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
                    cached = self._gzipped[path] = (body, media)
            if cached is not None:
                body, media = cached
                return Response(
                    body,
                    media_type=media,
                    headers={
                        "Content-Encoding": "gzip",
                        "Vary": "Accept-Encoding",
                        "Cache-Control": self.IMMUTABLE,
                    },
                )
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = self.IMMUTABLE
        return response


class RootPath:
    """Serves the app under `WORKUP_ROOT_PATH`, whether the proxy strips the prefix or not."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            if path != self.root_path and not path.startswith(self.root_path + "/"):
                path = self.root_path + path
            scope = {**scope, "root_path": self.root_path, "path": path}
        await self.app(scope, receive, send)


class TrailingSlash:
    """`/algorithms/x/` answers with a relative redirect to `/algorithms/x`, keeping the query.
    Starlette's own slash redirect is off: it builds an absolute URL from the Host header (a
    forged Host would receive the lab values in the query string) and may drop to http."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            root = scope.get("root_path", "")
            target = root + path[len(root) :].rstrip("/") if path.startswith(root) else path
            target = target.rstrip("/") or "/"
            query = scope.get("query_string", b"").decode("latin-1")
            location = target + (f"?{query}" if query else "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 308,
                    "headers": [
                        (b"location", location.encode("latin-1")),
                        (b"cache-control", b"no-store"),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    catalog = Catalog.load(settings)  # refuses to start on an invalid algorithm
    if any(a.weight_check for a in catalog.algorithms.values()):
        warm_growth_reference()  # its first use loads SciPy: at start-up, not on a request
    configure_access_log()
    app = FastAPI(
        title="Hypocalcemia workup",
        version="1",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        description=(
            "Walks the diagnostic workup of symptomatic hypocalcemia in infants and children. "
            "A teaching and decision-support aid: it does not replace clinical judgment."
        ),
    )
    app.state.catalog = catalog
    app.state.cds_auth = CdsAuth.from_settings(settings)
    app.state.smart_signer = smart.Signer(settings.smart_secret)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(hospital.router)
    app.include_router(smart.router)
    app.mount("/static", CachedStatic(directory=static_dir()), name="static")

    @app.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    @app.exception_handler(pages.Interrupt)
    async def interrupted(request: Request, exc: pages.Interrupt) -> Response:
        return exc.response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "The body is not valid JSON."}, status_code=400)
        problems = [
            {"finding": None, "message": f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"}
            for e in errors
        ]
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        route_path = request.url.path.removeprefix(settings.root_path)
        if route_path.startswith("/cds-services") or route_path.endswith("/fhir"):
            return hospital.problem(exc.status_code, str(exc.detail), "not-found")
        if route_path.startswith("/api/"):
            return JSONResponse(
                {"detail": exc.detail},
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        return pages.error_page(
            request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    app.add_middleware(ErrorLog)  # innermost: it sees the route, and no exception passes it
    app.add_middleware(TrailingSlash)
    app.add_middleware(BodyLimit)
    app.add_middleware(GZipMiddleware, minimum_size=800)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    app.add_middleware(AccessLog)
    if settings.root_path:
        app.add_middleware(RootPath, root_path=settings.root_path)
    app.add_middleware(ResponseDebug)
    return app
