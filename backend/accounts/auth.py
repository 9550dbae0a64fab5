"""The one way both GraphQL APIs learn who is calling: a bearer access token.

Session cookies are ignored by the APIs, so they need no CSRF protection; the
admin keeps Django's own session login.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef

from .jwt import ACCESS, TokenError, decode_token
from .models import RefreshToken, User


def get_bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "jwt") and token.strip():
        return token.strip()
    return None


def user_from_access_token(token: str) -> User:
    payload = decode_token(token, ACCESS)
    users = User.objects.filter(pk=payload.user_id)
    if payload.family:
        # One query either way: a sign-in whose refresh token was reused is revoked, access tokens too.
        revoked = RefreshToken.objects.filter(family=payload.family, revoked_at__isnull=False, user=OuterRef("pk"))
        users = users.annotate(family_revoked=Exists(revoked))
    user = users.first()
    if user is None or user.jwt_token_key != payload.token_key or getattr(user, "family_revoked", False):
        raise TokenError("JWT_INVALID_TOKEN", "The token has been revoked.")
    if not user.is_active:
        raise TokenError("JWT_INVALID_TOKEN", "The account is inactive.")
    return user


def authenticate_request(request):
    """Return the user of the request's bearer token, or AnonymousUser without one.

    Raises TokenError for a token that is expired, forged or revoked: a client
    sending a bad token gets told so instead of being treated as anonymous.
    """
    if hasattr(request, "_api_user"):
        return request._api_user
    token = get_bearer_token(request)
    user = user_from_access_token(token) if token else AnonymousUser()
    request._api_user = user
    return user
