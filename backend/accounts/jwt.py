"""JWT access and refresh tokens (PyJWT).

Access tokens are short-lived and stateless. Refresh tokens rotate: each one is
recorded and good for a single refresh; presenting a used one again revokes its
whole family (a stolen token is useless once either party has refreshed).
Every token carries the user's token key, which a password change replaces.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from django.conf import settings
from django.utils import timezone

ACCESS = "access"
REFRESH = "refresh"


class TokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TokenPayload:
    user_id: int
    token_key: str
    token_type: str
    jti: str
    family: str | None
    expires_at: datetime


def _encode(payload: dict) -> str:
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=settings.JWT_ALGORITHM)


def create_access_token(user, family: str | None = None) -> str:
    """An access token; `family` ties it to a sign-in, so that refresh-token reuse revokes it too."""
    now = timezone.now()
    claims = {"fam": family} if family else {}
    return _encode(
        {
            **claims,
            "iss": settings.JWT_ISSUER,
            "sub": str(user.pk),
            "type": ACCESS,
            "key": user.jwt_token_key,
            "jti": secrets.token_hex(8),
            "iat": now,
            "exp": now + settings.JWT_ACCESS_TTL,
            "email": user.email,
            "is_staff": user.is_staff,
        }
    )


def create_refresh_token(user, family: str | None = None) -> str:
    from .models import RefreshToken

    now = timezone.now()
    jti = secrets.token_hex(16)
    family = family or secrets.token_hex(16)
    expires_at = now + settings.JWT_REFRESH_TTL
    RefreshToken.objects.create(jti=jti, family=family, user=user, expires_at=expires_at)
    return _encode(
        {
            "iss": settings.JWT_ISSUER,
            "sub": str(user.pk),
            "type": REFRESH,
            "key": user.jwt_token_key,
            "jti": jti,
            "fam": family,
            "iat": now,
            "exp": expires_at,
        }
    )


def decode_token(token: str, expected_type: str) -> TokenPayload:
    try:
        payload = jwt.decode(
            token,
            settings.SECRET_KEY,
            algorithms=[settings.JWT_ALGORITHM],
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp", "iat", "sub", "type", "key", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("JWT_SIGNATURE_EXPIRED", "The token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("JWT_INVALID_TOKEN", "The token is not valid.") from exc
    if payload["type"] != expected_type:
        raise TokenError("JWT_INVALID_TOKEN", f"An {expected_type} token is required.")
    try:
        user_id = int(payload["sub"])
    except (TypeError, ValueError) as exc:
        raise TokenError("JWT_INVALID_TOKEN", "The token is not valid.") from exc
    return TokenPayload(
        user_id=user_id,
        token_key=payload["key"],
        token_type=payload["type"],
        jti=payload["jti"],
        family=payload.get("fam"),
        expires_at=datetime.fromtimestamp(payload["exp"], tz=UTC),
    )
