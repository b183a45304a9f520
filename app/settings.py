"""All settings, read from the environment with the prefix `WORKUP_` (see the README table)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKUP_", extra="ignore", frozen=True)

    algorithms_dir: Path = Field(
        default=PROJECT_ROOT / "algorithms",
        description="Folder of algorithm files (`*.yaml`); all are validated at start-up.",
    )
    teaching_dir: Path = Field(
        default=PROJECT_ROOT / "teaching",
        description="Folder of teaching cases (`*.yaml`); checked at start-up.",
    )
    frame_ancestors: Annotated[list[str], NoDecode] = Field(
        default=[],
        description=(
            "Origins allowed to embed the app in an iframe, separated by spaces or commas "
            "(e.g. `https://intranet.example.org`). Empty: no other origin may frame it."
        ),
    )
    root_path: str = Field(
        default="",
        description="Sub-path the app is served under behind a proxy, e.g. `/tools/workup`.",
    )
    public_url: str = Field(
        default="",
        description=(
            "The app's address as clinicians reach it (e.g. `https://workup.example.org`), for "
            "the absolute links in CDS Hooks cards. Empty: taken from the request."
        ),
    )
    cds_jwt_issuers: dict[str, str] = Field(
        default={},
        description=(
            "The EHRs allowed to call the CDS Hooks service, as JSON: issuer (`iss`) → the URL "
            'of its JSON Web Key Set, e.g. `{"https://ehr.example.org": '
            '"https://ehr.example.org/.well-known/jwks.json"}`. Set: every call must carry a '
            "JWT from one of them (ES384 or RS384, `aud` the URL called, `exp`, `iat`, `jti`, at "
            "most 5 minutes, each used once), and `public_url` is required. An empty URL uses "
            "`cds_jwt_public_key`. Empty: no check (keep the service inside the hospital network)."
        ),
    )
    cds_jwt_public_key: str = Field(
        default="",
        description=(
            "PEM public key for the issuers of `cds_jwt_issuers` configured with an empty key "
            "set URL. The app refuses to start if it cannot read it."
        ),
    )
    smart_issuers: Annotated[list[str], NoDecode] = Field(
        default=[],
        description=(
            "FHIR base URLs of the EHRs allowed to launch the app (SMART App Launch), separated "
            "by commas. Any other `iss` gets a 400, and nothing is fetched from it. Empty: "
            "SMART launch is off. Set: `public_url` and `smart_client_id` are required."
        ),
    )
    smart_client_id: str = Field(
        default="",
        description="The client id the EHR registered for this app (a public client, PKCE S256).",
    )
    smart_secret: str = Field(
        default="",
        description=(
            "Key that signs the SMART launch state and derives its PKCE verifier. Empty: a "
            "random key made at start-up (launches then work with one server process only)."
        ),
    )
    max_query_length: int = Field(
        default=4000,
        ge=500,
        le=16000,
        description="Longest walkthrough query string accepted; longer ones get a 414.",
    )

    @field_validator("frame_ancestors", "smart_issuers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v for v in re.split(r"[\s,]+", value) if v]
        return value

    @field_validator("frame_ancestors")
    @classmethod
    def _origins_only(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "'self'" and not _ORIGIN.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin like https://intranet.example.org "
                    "(no paths, no wildcards)"
                )
        return value

    @field_validator("public_url")
    @classmethod
    def _clean_public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.fullmatch(
            r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", value
        ):
            raise ValueError("public_url must look like https://workup.example.org")
        return value

    @field_validator("smart_issuers")
    @classmethod
    def _fhir_bases(cls, value: list[str]) -> list[str]:
        out = []
        for base in value:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", base):
                raise ValueError(f"{base[:80]!r} is not a FHIR base URL like https://ehr.org/fhir")
            out.append(base.rstrip("/"))
        return out

    @field_validator("cds_jwt_issuers")
    @classmethod
    def _issuers(cls, value: dict[str, str]) -> dict[str, str]:
        for iss, url in value.items():
            if not re.fullmatch(r"https?://\S+", iss):
                raise ValueError(f"issuer {iss[:80]!r} is not a URL")
            loopback = re.fullmatch(r"http://(127\.0\.0\.1|localhost)(:\d{1,5})?/\S*", url)
            if url and not (url.startswith("https://") or loopback):
                raise ValueError(f"the key set URL of {iss[:80]!r} must be https://")
        return value

    @field_validator("cds_jwt_public_key")
    @classmethod
    def _readable_key(cls, value: str) -> str:
        if value.strip():
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            try:
                load_pem_public_key(value.strip().encode())
            except (ValueError, TypeError):
                raise ValueError(
                    "cds_jwt_public_key is not a readable PEM public key "
                    "(-----BEGIN PUBLIC KEY----- …)"
                ) from None
        return value.strip()

    @model_validator(mode="after")
    def _jwt_needs_an_audience(self) -> Settings:
        if self.cds_jwt_issuers and not self.public_url:
            raise ValueError(
                "public_url (WORKUP_PUBLIC_URL) is required when cds_jwt_issuers is set: the "
                "JWT's aud is checked against it, never against the request's Host header"
            )
        if self.smart_issuers and not (self.public_url and self.smart_client_id):
            raise ValueError(
                "smart_issuers needs public_url (the redirect URI is made under it) and "
                "smart_client_id"
            )
        if self.cds_jwt_public_key and "" not in self.cds_jwt_issuers.values():
            raise ValueError(
                "cds_jwt_public_key is set but no issuer uses it: list the issuer in "
                "cds_jwt_issuers with an empty key set URL"
            )
        return self

    @field_validator("root_path")
    @classmethod
    def _clean_root(cls, value: str) -> str:
        value = value.strip()
        if value in ("", "/"):
            return ""
        if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+/?", value):
            raise ValueError("root_path must look like /tools/workup")
        return value.rstrip("/")
