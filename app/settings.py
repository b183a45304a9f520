"""All settings, read from the environment with the prefix `WORKUP_` (see the README table)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
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
    cds_jwt_public_key: str = Field(
        default="",
        description=(
            "PEM public key of the EHR that calls the CDS Hooks service. Set: every call must "
            "carry a JWT signed with it (RS384 or ES384), addressed to the service's URL. "
            "Empty: no check (keep the service inside the hospital network)."
        ),
    )
    max_query_length: int = Field(
        default=4000,
        ge=500,
        le=16000,
        description="Longest walkthrough query string accepted; longer ones get a 414.",
    )

    @field_validator("frame_ancestors", mode="before")
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

    @field_validator("root_path")
    @classmethod
    def _clean_root(cls, value: str) -> str:
        value = value.strip()
        if value in ("", "/"):
            return ""
        if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+/?", value):
            raise ValueError("root_path must look like /tools/workup")
        return value.rstrip("/")
