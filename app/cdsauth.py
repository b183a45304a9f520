"""Who may call the CDS Hooks service: the EHR's signed JWT, as CDS Hooks 2.0 asks.

With issuers configured (`WORKUP_CDS_JWT_ISSUERS`: issuer → its JWKS URL), every call carries
`Authorization: Bearer <JWT>` whose `iss` is on that list and whose signature verifies with a key
from that issuer's key set. Key sets are fetched only from the configured URLs (never from the
token's `jku`), cached, and fetched again when a token names a key id not yet seen (rotation).
`aud` must be the URL called, under the configured public URL; `exp`, `iat` and `jti` are
required, the lifetime is at most five minutes, and a `jti` is accepted once. A PEM key
(`WORKUP_CDS_JWT_PUBLIC_KEY`) can stand in for the key set of issuers configured with an empty
URL. Refusals say what to fix, in this module's words, never a library's.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from app.settings import Settings

logger = logging.getLogger("workup")
ALGORITHMS = ["ES384", "RS384"]
MAX_LIFETIME = 300  # seconds: CDS Hooks asks for a short-lived token (5 minutes)
LEEWAY = 30  # seconds of clock difference tolerated
MAX_REMEMBERED = 100_000  # jti values kept; more live tokens than this are refused


class Refusal(Exception):
    """A call that is not let in; the message says what the caller must fix."""


def load_pem(text: str) -> Any:
    """The public key of a PEM text, or ValueError with a message for the operator."""
    try:
        return load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise ValueError(
            "WORKUP_CDS_JWT_PUBLIC_KEY is not a readable PEM public key "
            "(-----BEGIN PUBLIC KEY----- …)"
        ) from None


@dataclass
class CdsAuth:
    """The JWT check of one app: off when no issuer is configured."""

    issuers: dict[str, str]
    public_url: str
    pem_key: Any = None
    _clients: dict[str, jwt.PyJWKClient] = field(default_factory=dict)
    _seen: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings, cooldown: float = 30) -> CdsAuth:
        """`cooldown`: seconds between two fetches of a key set for an unknown `kid` (so that
        tokens naming made-up key ids cannot make the service hammer the issuer)."""
        pem = load_pem(settings.cds_jwt_public_key) if settings.cds_jwt_public_key else None
        auth = cls(dict(settings.cds_jwt_issuers), settings.public_url, pem)
        for iss, url in auth.issuers.items():
            if url:
                auth._clients[iss] = jwt.PyJWKClient(
                    url, cache_jwk_set=True, lifespan=3600, timeout=5, cooldown_duration=cooldown
                )
        if auth.on:
            logger.info(
                "CDS Hooks JWT check: on, %d issuer(s) allowed, audience under %s",
                len(auth.issuers),
                auth.public_url,
            )
        else:
            logger.warning(
                "CDS Hooks JWT check: off (WORKUP_CDS_JWT_ISSUERS is empty): any caller is "
                "heard; keep the service inside the hospital network"
            )
        return auth

    @property
    def on(self) -> bool:
        return bool(self.issuers)

    def check(self, authorization: str, audience: str) -> None:
        """Raises Refusal unless `authorization` carries a JWT this service accepts for the
        URL `audience`. Blocking (it may fetch a key set): call it from a thread."""
        if not self.on:
            return
        if not authorization.lower().startswith("bearer "):
            raise Refusal("send Authorization: Bearer <JWT>, signed by your EHR (CDS Hooks)")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Refusal("the bearer token is not a JWT (header.payload.signature)") from None
        if header.get("alg") not in ALGORITHMS:
            raise Refusal(f"sign the JWT with {' or '.join(ALGORITHMS)}")
        iss = claims.get("iss")
        if not isinstance(iss, str) or iss not in self.issuers:
            raise Refusal(
                "the JWT's iss is not an issuer this service trusts; ask its operator to add "
                "your issuer and key set URL to WORKUP_CDS_JWT_ISSUERS"
            )
        key = self._key(iss, token)
        try:
            verified = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=iss,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise Refusal(
                f"the JWT needs the claim {exc.claim} (iss, aud, exp, iat, jti)"
            ) from None
        except jwt.ExpiredSignatureError:
            raise Refusal("the JWT has expired: sign a fresh one for each call") from None
        except jwt.ImmatureSignatureError:
            raise Refusal("the JWT's iat is in the future: check the EHR's clock") from None
        except jwt.InvalidAudienceError:
            raise Refusal(f"the JWT's aud must be the URL called: {audience}") from None
        except jwt.InvalidSignatureError:
            raise Refusal("the JWT's signature does not verify with the issuer's keys") from None
        except jwt.PyJWTError:
            raise Refusal("the JWT's claims are malformed (exp and iat are numbers)") from None
        lifetime = verified["exp"] - verified["iat"]
        if not isinstance(lifetime, int | float) or lifetime > MAX_LIFETIME:
            raise Refusal(f"the JWT lives longer than {MAX_LIFETIME // 60} minutes (exp - iat)")
        self._once(iss, str(verified["jti"]), float(verified["exp"]))

    def _key(self, iss: str, token: str) -> Any:
        client = self._clients.get(iss)
        if client is None:
            if self.pem_key is None:
                raise Refusal("no key is configured for this issuer")
            return self.pem_key
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise Refusal("the issuer's key set could not be fetched; try again later") from None
        except jwt.PyJWKClientError:
            raise Refusal("no key in the issuer's key set matches the JWT's kid (header)") from None
        except jwt.PyJWTError:
            raise Refusal("the JWT header names no usable key (kid)") from None

    def _once(self, iss: str, jti: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            if len(self._seen) >= MAX_REMEMBERED:
                for seen, until in list(self._seen.items()):
                    if until + LEEWAY < now:
                        del self._seen[seen]
            if (iss, jti) in self._seen:
                raise Refusal("this JWT was already used (jti): sign a fresh one for each call")
            if len(self._seen) >= MAX_REMEMBERED:
                raise Refusal("too many live tokens; try again in a few minutes")
            self._seen[(iss, jti)] = expires
