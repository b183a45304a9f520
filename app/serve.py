"""`python -m app.serve`: uvicorn with the settings this app needs (what `make run`, the
Dockerfile and the README use).

- No access log: step URLs carry lab values; `app.accesslog` writes one without them.
- Slow clients are bounded: uvicorn times out idle keep-alive connections but not a client that
  sends its request headers slowly (slowloris). `BoundedH11Protocol` closes a connection whose
  request headers are not complete within `--header-timeout` seconds. A reverse proxy in front
  should bound them too (nginx: `client_header_timeout`, `client_body_timeout`).
- Behind a proxy, `--proxy-headers` trusts `X-Forwarded-*` only from `--forwarded-allow-ips`
  (uvicorn also reads `FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
TIMEOUT_ENV = "WORKUP_HEADER_TIMEOUT"  # read by each worker process at import


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers arrive too slowly."""

    header_timeout = float(os.environ.get(TIMEOUT_ENV, HEADER_TIMEOUT))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._waiting_for_headers():
            if self._header_timer is None:
                self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()


def options(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    proxy_headers: bool = False,
    forwarded_allow_ips: str | None = None,
    header_timeout: float = HEADER_TIMEOUT,
) -> dict[str, Any]:
    """uvicorn's settings for this app (the header timeout reaches worker processes through
    the environment)."""
    os.environ[TIMEOUT_ENV] = str(header_timeout)
    BoundedH11Protocol.header_timeout = header_timeout
    return {
        "host": host,
        "port": port,
        "workers": workers,
        "access_log": False,
        "http": BoundedH11Protocol,
        "timeout_keep_alive": 5,
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": forwarded_allow_ips,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--proxy-headers", action="store_true")
    parser.add_argument("--forwarded-allow-ips", default=None)
    parser.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT)
    args = parser.parse_args(argv)
    uvicorn.run(
        "app.main:app",
        **options(
            args.host,
            args.port,
            args.workers,
            args.proxy_headers,
            args.forwarded_allow_ips,
            args.header_timeout,
        ),
    )


if __name__ == "__main__":
    main()
