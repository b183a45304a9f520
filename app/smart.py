"""SMART App Launch from the chart (EHR launch, SMART 2.x), with Authlib as the OAuth client.

`GET /smart/launch?iss=…&launch=…` (EHR launch; without `launch`, a standalone launch in which the
server's patient picker chooses the patient): for an `iss` on `WORKUP_SMART_ISSUERS` only (any
other gets a 400 and no outbound request), reads `{iss}/.well-known/smart-configuration` and
redirects to its authorization endpoint with `aud` = `iss`, the `launch` token, a `state`, a PKCE
S256 challenge, the client id `WORKUP_SMART_CLIENT_ID`, the redirect URI
`{WORKUP_PUBLIC_URL}/smart/callback` and read scopes for the Patient and its Observations (v2
`.rs` when the server advertises `permission-v2`, else v1 `.read`).

`GET /smart/callback?code=…&state=…`: refuses a state it did not issue to this browser, exchanges
the code, reads the Patient and its Observations by the LOINC codes the import maps, runs them
through the same import as a pasted Bundle, and shows the same confirmation (what was read, with
sample dates, and what was left out), from which the resident continues to the walkthrough.

Nothing is stored on the server. The state is signed with a server key and carries the issuer,
an expiry and a hash of a nonce; the nonce itself sits in a short-lived cookie (`Partitioned`,
`SameSite=None`, so that it survives an EHR iframe with third-party cookies blocked), which binds
the state to the browser that started the launch. The PKCE verifier is derived from the state
with the same key, so it need not be kept anywhere. The access token serves this one read and
is dropped: never in a URL, a log, a cookie or a page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.catalog import Catalog, get_catalog
from app.fhir import FhirError
from app.settings import Settings

router = APIRouter(prefix="/smart")
CatalogDep = Annotated[Catalog, Depends(get_catalog)]

ALGORITHM = "hypocalcemia"
COOKIE = "workup-smart-nonce"
LIFETIME = 600  # seconds from launch to callback
MAX_BYTES = 4 * 1024 * 1024  # the most read from any one answer of the EHR
MAX_PAGES = 5  # Observation search pages followed
TIMEOUT = 10  # seconds per request to the EHR


class LaunchError(Exception):
    """The launch cannot go on; the message says why, in words for the resident or admin."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Configuration:
    authorize: str
    token: str
    v2: bool


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs states and derives PKCE verifiers with one server key (from settings, or made at
    start-up, which then holds for one process)."""

    def __init__(self, secret: str) -> None:
        self.key = secret.encode() if secret else secrets.token_bytes(32)

    def _mac(self, label: bytes, data: bytes) -> bytes:
        return hmac.new(self.key, label + b":" + data, hashlib.sha256).digest()

    def state(self, iss: str, nonce: str) -> str:
        body = {
            "iss": iss,
            "exp": int(time.time()) + LIFETIME,
            "n": _b64(self._mac(b"n", nonce.encode())),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(b'state', payload.encode()))}"

    def verifier(self, state: str) -> str:
        return _b64(self._mac(b"pkce", state.encode()))  # 43 characters, as PKCE asks

    def read(self, state: str, nonce: str | None) -> str:
        """The issuer of a state this server signed for this browser, or LaunchError."""
        refused = LaunchError(
            400,
            "This sign-in was not started from this browser, or it has expired. Open the app "
            "again from the patient's chart.",
        )
        payload, _, mac = state.partition(".")
        try:
            good = hmac.compare_digest(_unb64(mac), self._mac(b"state", payload.encode()))
            body = json.loads(_unb64(payload)) if good else None
        except (ValueError, TypeError):
            raise refused from None
        if not isinstance(body, dict) or not nonce:
            raise refused
        expected = _b64(self._mac(b"n", nonce.encode()))
        if not hmac.compare_digest(str(body.get("n")), expected):
            raise refused
        if not isinstance(body.get("exp"), int) or body["exp"] < time.time():
            raise refused
        return str(body.get("iss"))


def _issuer(settings: Settings, iss: str | None) -> str:
    wanted = (iss or "").rstrip("/")
    if wanted not in settings.smart_issuers:
        raise LaunchError(
            400,
            "This app is not set up for that EHR (iss). Ask the administrator to add its FHIR "
            "address to WORKUP_SMART_ISSUERS.",
        )
    return wanted


def _http_url(url: object) -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("https", "http"):
        raise LaunchError(502, "The EHR's SMART configuration names no usable endpoint.")
    return url


def _get_json(session: requests.Session, url: str, **kw: Any) -> Any:
    """A JSON answer of the EHR, bounded in size and time; LaunchError otherwise."""
    try:
        with session.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True, **kw) as answer:
            if answer.status_code != 200:
                raise LaunchError(502, f"The EHR answered {answer.status_code} to a read.")
            data = answer.raw.read(MAX_BYTES + 1, decode_content=True)
    except requests.RequestException:
        raise LaunchError(502, "The EHR could not be reached. Try again.") from None
    if len(data) > MAX_BYTES:
        raise LaunchError(502, "The EHR's answer is too large to read here.")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise LaunchError(502, "The EHR's answer is not JSON.") from None


def _configuration(iss: str) -> Configuration:
    with requests.Session() as session:
        config = _get_json(session, f"{iss}/.well-known/smart-configuration")
    if not isinstance(config, dict):
        raise LaunchError(502, "The EHR's SMART configuration is not a JSON object.")
    methods = config.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        raise LaunchError(502, "The EHR does not offer PKCE S256, which this app requires.")
    capabilities = config.get("capabilities")
    v2 = isinstance(capabilities, list) and "permission-v2" in capabilities
    return Configuration(
        _http_url(config.get("authorization_endpoint")),
        _http_url(config.get("token_endpoint")),
        v2,
    )


def _client(settings: Settings, scope: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        settings.smart_client_id,
        redirect_uri=f"{settings.public_url}{settings.root_path}/smart/callback",
        scope=scope,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",  # a public client: PKCE instead of a secret
    )


def _authorize_url(
    settings: Settings, signer: Signer, iss: str, launch: str | None, nonce: str
) -> str:
    """The authorization request: an EHR launch (with the EHR's `launch` token), or a
    standalone launch (`launch/patient`: the server's patient picker chooses the patient)."""
    config = _configuration(iss)
    kind = "rs" if config.v2 else "read"
    context = "launch" if launch else "launch/patient"
    scope = f"{context} patient/Patient.{kind} patient/Observation.{kind}"
    state = signer.state(iss, nonce)
    extra = {"launch": launch} if launch else {}
    with _client(settings, scope) as client:
        url, _ = client.create_authorization_url(
            config.authorize, state=state, code_verifier=signer.verifier(state), aud=iss, **extra
        )
    return str(url)


def _read_chart(
    settings: Settings, signer: Signer, iss: str, state: str, code: str, codes: list[str]
) -> dict[str, Any]:
    """Exchange the code, read the Patient and its Observations; a Bundle for the import."""
    config = _configuration(iss)
    with _client(settings) as client:
        try:
            token = client.fetch_token(
                config.token, code=code, code_verifier=signer.verifier(state), timeout=TIMEOUT
            )
        except Exception:  # noqa: BLE001 (Authlib and requests raise many kinds; none is shown)
            raise LaunchError(
                502, "The EHR did not accept the sign-in. Open the app again from the chart."
            ) from None
        patient_id = token.get("patient")
        if not isinstance(patient_id, str) or not patient_id:
            raise LaunchError(502, "The EHR named no patient for this launch.")
        patient = _get_json(client, f"{iss}/Patient/{patient_id}")
        wanted = ",".join(f"http://loinc.org|{c}" for c in codes)
        entries: list[Any] = []
        url: str | None = f"{iss}/Observation"
        params: dict[str, str] | None = {"patient": patient_id, "code": wanted, "_count": "200"}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            page = _get_json(client, url, params=params)
            if isinstance(page, dict) and isinstance(page.get("entry"), list):
                entries += page["entry"]
            links = page.get("link") if isinstance(page, dict) else None
            url, params = None, None
            for link in links if isinstance(links, list) else []:
                target = link.get("url") if isinstance(link, dict) else None
                if link.get("relation") == "next" and isinstance(target, str):
                    url = target if target.startswith(iss + "/") else None  # never elsewhere
        client.token = None  # the token served this one read
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient}, *[e for e in entries if isinstance(e, dict)]],
        "patient_id": patient_id,
    }


def _cookie_path(settings: Settings) -> str:
    return f"{settings.root_path}/smart/callback"


@router.get("/launch", include_in_schema=False)
async def launch(
    request: Request, catalog: CatalogDep, iss: str | None = None, launch: str | None = None
) -> Response:
    from app.pages import error_page

    settings = catalog.settings
    signer: Signer = request.app.state.smart_signer
    try:
        if not settings.smart_issuers:
            raise LaunchError(404, "SMART launch is not set up on this server.")
        issuer = _issuer(settings, iss)
        if launch is not None and not 0 < len(launch) <= 2000:
            raise LaunchError(400, "The launch token from the EHR is empty or too long.")
        nonce = secrets.token_urlsafe(24)
        url = await run_in_threadpool(_authorize_url, settings, signer, issuer, launch, nonce)
    except LaunchError as exc:
        return error_page(request, exc.status, exc.message)
    response = RedirectResponse(url, 302, headers={"Cache-Control": "no-store"})
    response.headers.append(
        "Set-Cookie",
        f"{COOKIE}={nonce}; Max-Age={LIFETIME}; Path={_cookie_path(settings)}; HttpOnly; "
        "Secure; SameSite=None; Partitioned",
    )
    return response


@router.get("/callback", include_in_schema=False)
async def callback(
    request: Request,
    catalog: CatalogDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    from app.hospital import confirmation
    from app.pages import error_page

    settings = catalog.settings
    signer: Signer = request.app.state.smart_signer
    algorithm = catalog.get(ALGORITHM)
    forget = (
        f"{COOKIE}=; Max-Age=0; Path={_cookie_path(settings)}; HttpOnly; Secure; "
        "SameSite=None; Partitioned"
    )
    try:
        if not settings.smart_issuers:
            raise LaunchError(404, "SMART launch is not set up on this server.")
        if error:
            raise LaunchError(
                400, "The EHR did not authorise the app. Open it again from the chart."
            )
        if not code or not state or len(state) > 1000 or len(code) > 2000:
            raise LaunchError(400, "The EHR's answer carries no code or state.")
        issuer = _issuer(settings, signer.read(state, request.cookies.get(COOKIE)))
        codes = sorted({c.code for f in algorithm.findings.values() for c in f.loinc})
        chart = await run_in_threadpool(_read_chart, settings, signer, issuer, state, code, codes)
        patient_id = chart.pop("patient_id")
        response = confirmation(request, algorithm, chart, patient_id=patient_id)
    except LaunchError as exc:
        response = error_page(request, exc.status, exc.message)
    except FhirError as exc:
        response = error_page(request, 422, f"The results from the EHR were refused: {exc}")
    response.headers.append("Set-Cookie", forget)
    return response
