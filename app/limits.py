"""Request-size limit for the JSON API: large bodies are refused with 413 before parsing. The
routes that take a hospital system's results (the FHIR import and the CDS Hooks service) get a
larger, still bounded, limit: a PICU child's prefetch of a few days' labs runs to hundreds of KB."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 64 * 1024
MAX_FHIR_BODY = 2 * 1024 * 1024


def limit_for(path: str, default: int) -> int:
    """The body limit of one route: the FHIR routes get MAX_FHIR_BODY."""
    if "/cds-services/" in path or path.endswith("/fhir"):
        return max(default, MAX_FHIR_BODY)
    return default


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope.get("path", ""), self.max_body)
        fhir = limit != self.max_body
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit, fhir)
            return
        # Read the whole body first (bounded), then hand the app a replay of it: the limit is
        # enforced here with a 413 whether the body was sent with a length or in chunks.
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body
            body = message.get("body", b"")
            received += len(body)
            if received > limit:
                await self._refuse(send, limit, fhir)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int, fhir: bool = False) -> None:
        message = f"The body is larger than {limit} bytes."
        kind = b"application/json"
        if fhir:  # the FHIR routes answer every error as an OperationOutcome
            kind = b"application/fhir+json"
            body = json.dumps(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "too-long", "diagnostics": message}],
                }
            ).encode()
        else:
            body = json.dumps({"detail": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    *([(b"access-control-allow-origin", b"*")] if fhir else []),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
