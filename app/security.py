"""Security headers on every response, from one small pure-ASGI middleware.

General-purpose header packages ship presets that forbid embedding (X-Frame-Options DENY or
SAMEORIGIN); this app must be framable by the intranets named in `WORKUP_FRAME_ANCESTORS`, so
the policy is built here. No cookie is set, except the SMART launch's short-lived nonce on its two
routes (`/smart/…`).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(frame_ancestors: Sequence[str]) -> str:
    ancestors = " ".join(["'self'", *[a for a in frame_ancestors if a != "'self'"]])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str]) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(frame_ancestors).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (
                b"permissions-policy",
                b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
            ),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
        if not frame_ancestors:
            # Old browsers that ignore CSP frame-ancestors: same-origin framing only.
            self.headers.append((b"x-frame-options", b"SAMEORIGIN"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # The one cookie of the app: the SMART launch's nonce (app.smart), on its two routes.
        smart = scope.get("path", "").removeprefix(scope.get("root_path", "")).startswith("/smart/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"set-cookie" or smart
                ]
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in self.headers if k not in present)
                if scope["method"] == "POST" and b"cache-control" not in present:
                    # Answers to a POST echo what was sent (lab values): never cached.
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
