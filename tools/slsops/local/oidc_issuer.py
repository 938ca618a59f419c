"""The local stack's own OpenID Connect issuer: a local key pair that signs web-identity tokens.

AWS verifies an ``AssumeRoleWithWebIdentity`` token against the keys its issuer publishes (GitHub
Actions: ``https://token.actions.githubusercontent.com``), then evaluates the role's trust
conditions against the token's claims. The local stack cannot reach GitHub, so it stands in for
the issuer with a key pair generated at start-up: tokens it signs verify, any other token
(junk, another key, expired, wrong audience) is refused as AWS refuses it. The issuer URL is the
real one, so the deploy role's trust policy (``token.actions.githubusercontent.com:sub``/``aud``)
is evaluated unchanged.

joserfc (already installed with moto) does the JWS work; nothing here is hand-rolled crypto.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DEFAULT_AUDIENCE = "sts.amazonaws.com"
CLOCK_SKEW_S = 60  # leeway for exp/nbf/iat, as AWS allows a little skew


class TokenRefused(ValueError):
    """The token is not one AWS would accept; ``code`` is STS's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class LocalIssuer:
    """One issuer URL with a fresh RSA key pair (private key never leaves this process)."""

    url: str = GITHUB_ISSUER
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, private=True))
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    def issue(
        self,
        subject: str,
        audience: str = DEFAULT_AUDIENCE,
        lifetime_s: int = 300,
        now: float | None = None,
        **claims: Any,
    ) -> str:
        """A signed token as GitHub Actions issues one (``sub``: ``repo:o/n:ref:refs/heads/x``)."""
        issued = int(now if now is not None else time.time())
        payload = {
            "iss": self.url,
            "sub": subject,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime_s,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": self.kid}, payload, self.key)

    def verify(self, token: str, now: float | None = None) -> dict[str, Any]:
        """The claims of a token this issuer signed and that is current; TokenRefused otherwise."""
        try:
            decoded = jwt.decode(token, self.key, algorithms=["RS256"])
        except (JoseError, ValueError, TypeError) as exc:
            raise TokenRefused(
                "InvalidIdentityToken", f"Couldn't verify the token's signature ({exc})"
            ) from None
        claims = dict(decoded.claims)
        moment = now if now is not None else time.time()
        if claims.get("iss") != self.url:
            raise TokenRefused("InvalidIdentityToken", "The token's issuer is not this provider")
        if not isinstance(claims.get("exp"), int) or claims["exp"] + CLOCK_SKEW_S < moment:
            raise TokenRefused("ExpiredTokenException", "Token expired")
        if isinstance(claims.get("nbf"), int) and claims["nbf"] - CLOCK_SKEW_S > moment:
            raise TokenRefused("InvalidIdentityToken", "Token is not yet valid")
        return claims


_ISSUERS: dict[str, LocalIssuer] = {}
_LOCK = threading.Lock()


def register(issuer: LocalIssuer) -> LocalIssuer:
    """Make ``issuer`` the key holder for its URL (the local stack's AWS trusts it)."""
    with _LOCK:
        _ISSUERS[issuer.url.rstrip("/")] = issuer
    return issuer


def issuer_for(url: str) -> LocalIssuer | None:
    with _LOCK:
        return _ISSUERS.get(url.rstrip("/"))


def unverified_issuer(token: str) -> str:
    """The ``iss`` claim, read before verification only to pick the keys to verify with."""
    try:
        compact = jws.extract_compact(token.encode() if isinstance(token, str) else token)
        claims = json.loads(compact.payload)
    except Exception:
        raise TokenRefused("InvalidIdentityToken", "The ID token is not a valid JWT") from None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise TokenRefused("InvalidIdentityToken", "The ID token has no issuer")
    return issuer
