"""A tiny EHR for SMART launch tests, served on 127.0.0.1: a SMART configuration, an authorization
server (authorization code with PKCE S256, approving at once, as an EHR does for a launch from the
chart) and a FHIR endpoint with one child's Patient and Observations. It checks what a real one
would (client id, redirect URI, aud, launch, the PKCE verifier, the bearer token) and records every
request, so tests can see what the app sent and that it sent nothing it should not have."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

PATIENT = {"resourceType": "Patient", "id": "baby", "birthDate": "2026-02-20"}


def _obs(oid: str, code: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/baby"},
        "effectiveDateTime": when,
        "issued": "2026-11-20T11:00:00Z",
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


OBSERVATIONS = [
    _obs("ica", "1994-3", 0.78, "mmol/L", "2026-11-20T08:00:00Z"),
    _obs("pth", "2731-8", 250, "pg/mL", "2026-11-20T08:00:00Z"),
    _obs("pth-after", "2731-8", 12, "pg/mL", "2026-11-20T14:00:00Z"),
]


class TinyEhr:
    def __init__(self, client_id: str, v2: bool = True) -> None:
        self.client_id = client_id
        self.v2 = v2
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.authorize_params: dict[str, str] = {}
        self.token_form: dict[str, str] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: set[str] = set()
        ehr = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: Any = None, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if body is not None:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                ehr.requests.append(("GET", self.path))
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/fhir/.well-known/smart-configuration":
                    caps = ["launch-ehr", "client-public", "context-ehr-patient"]
                    self._send(
                        200,
                        {
                            "authorization_endpoint": f"{ehr.base}/auth/authorize",
                            "token_endpoint": f"{ehr.base}/auth/token",
                            "capabilities": caps + (["permission-v2"] if ehr.v2 else []),
                            "code_challenge_methods_supported": ["S256"],
                        },
                    )
                elif url.path == "/auth/authorize":
                    ehr.authorize_params = query
                    ok = (
                        query.get("response_type") == "code"
                        and query.get("client_id") == ehr.client_id
                        and query.get("aud") == ehr.fhir
                        and (
                            query.get("launch") == "launch-123"  # an EHR launch
                            or "launch/patient" in query.get("scope", "").split()  # standalone
                        )
                        and query.get("code_challenge_method") == "S256"
                    )
                    if not ok:
                        self._send(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    ehr.codes[code] = query
                    back = urlencode({"code": code, "state": query["state"]})
                    self._send(302, headers={"Location": f"{query['redirect_uri']}?{back}"})
                elif url.path.startswith("/fhir/"):
                    if self.headers.get("authorization", "")[7:] not in ehr.tokens:
                        self._send(401, {"resourceType": "OperationOutcome"})
                    elif url.path == "/fhir/Patient/baby":
                        self._send(200, PATIENT)
                    elif url.path == "/fhir/Observation" and query.get("patient") == "baby":
                        wanted = {
                            c.split("|")[1] for c in query.get("code", "").split(",") if "|" in c
                        }
                        entries = [
                            {"resource": o}
                            for o in OBSERVATIONS
                            if o["code"]["coding"][0]["code"] in wanted
                        ]
                        self._send(
                            200, {"resourceType": "Bundle", "type": "searchset", "entry": entries}
                        )
                    else:
                        self._send(404, {"resourceType": "OperationOutcome"})
                else:
                    self._send(404)

            def do_POST(self) -> None:  # noqa: N802
                ehr.requests.append(("POST", self.path))
                length = int(self.headers.get("content-length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                ehr.token_form = form
                asked = ehr.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if (
                    self.path != "/auth/token"
                    or asked is None
                    or form.get("grant_type") != "authorization_code"
                    or form.get("redirect_uri") != asked["redirect_uri"]
                    or challenge != asked["code_challenge"]
                ):
                    self._send(400, {"error": "invalid_grant"})
                    return
                token = secrets.token_urlsafe(24)
                ehr.tokens.add(token)
                self._send(
                    200,
                    {
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "scope": asked["scope"],
                        "patient": "baby",
                        "need_patient_banner": True,
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.fhir = f"{self.base}/fhir"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
