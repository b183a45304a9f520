"""The app's own access log: method, path, status and time, never the query string.

Step URLs carry lab values in the query string, so uvicorn's access log is switched off
(`--no-access-log`) and this one-line log replaces it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("workup.access")
CLIENT_CLOSED = 499  # nginx's code for a request the client closed


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        disconnected = False

        async def watch() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, watch, capture)
        except (asyncio.CancelledError, OSError, ClientDisconnect):
            disconnected = True
            raise
        finally:
            if disconnected and status == 500:
                status = CLIENT_CLOSED  # the client left before an answer: not a server error
            elapsed = (time.perf_counter() - started) * 1000
            # The path as sent (still percent-encoded, so a newline cannot forge a log line);
            # never the query string.
            raw = scope.get("raw_path") or scope["path"].encode("utf-8", "backslashreplace")
            path = raw.decode("ascii", "backslashreplace")
            logger.info("%s %s %d %.1fms", scope["method"], path, status, elapsed)


def configure() -> None:
    """Send the access log, and the app's own log (`workup`: start-up, errors by type and route),
    to standard error once, unless logging was already set up."""
    app_log = logging.getLogger("workup")
    if not app_log.handlers:
        own = logging.StreamHandler()
        own.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        app_log.addHandler(own)
        app_log.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
