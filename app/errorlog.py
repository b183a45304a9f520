"""The error log: an exception the app did not answer is logged by its type and route only.

Exception text can carry what the request carried (a lab value, an age, a patient id), and the
server's own handler would print it with the traceback. This layer sits inside the server's, so
the exception never reaches it: the log line names the exception's type, the method and the route
template (`/api/algorithms/{algorithm_id}/fhir`), never the URL, the query or the message; the
client gets a plain 500 (an OperationOutcome on the FHIR routes).
"""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("workup.error")


def _where(exc: BaseException) -> str:
    """The innermost frames as `file:line in function`: enough to find the bug, and free of
    values (no message, no locals)."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    return " <- ".join(
        f"{'/'.join(Path(f.filename).parts[-2:])}:{f.lineno} in {f.name}" for f in reversed(frames)
    )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(no route)"


class ErrorLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 (the point: nothing escapes with its text)
            route = _route(scope)
            logger.error(
                "unhandled %s on %s %s at %s",
                type(exc).__name__,
                scope["method"],
                route,
                _where(exc),
            )
            if started:
                return
            fhir = route.startswith("/cds-services") or route.endswith("/fhir")
            if fhir:
                kind = b"application/fhir+json"
                body = json.dumps(
                    {
                        "resourceType": "OperationOutcome",
                        "issue": [
                            {
                                "severity": "fatal",
                                "code": "exception",
                                "diagnostics": "internal error; nothing was stored",
                            }
                        ],
                    }
                ).encode()
            else:
                kind = b"text/plain; charset=utf-8"
                body = b"Internal server error. Nothing was stored."
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", kind),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
