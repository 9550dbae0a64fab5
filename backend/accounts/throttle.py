"""Sign-in abuse controls shared by both GraphQL APIs and the admin login.

Counters live in Django's cache (CACHES): locmem on the embedded default, which is per process,
so a deployment with several web workers sets CACHE_URL=redis://... for one set of counters.

- Each request carries a budget of AUTH_OPERATIONS_PER_REQUEST auth operations (sign-in,
  registration, confirmation, password reset); aliases and batches cannot multiply attempts.
- Failed sign-ins are counted per client address, per client address and email, and per email.
  The first two refuse the client; the per-email count only adds short, growing delays, so a
  stranger can never lock an account's owner out (see settings.LOGIN_THROTTLE_*).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from backend.core.exceptions import DomainError

from .error_codes import AccountErrorCode


@dataclass
class Client:
    """Who is calling: the client address, and what this request has spent of its auth budget."""

    address: str
    operations: int = field(default=0)

    def spend(self) -> None:
        """Count one auth operation of this request; past the budget it is refused unperformed.

        A refused operation still counts as a failed attempt of the client address.
        """
        self.operations += 1
        if self.operations > settings.AUTH_OPERATIONS_PER_REQUEST:
            _incr(_key("client", self.address), settings.LOGIN_THROTTLE_WINDOW.total_seconds())
            raise DomainError(
                AccountErrorCode.TOO_MANY_OPERATIONS,
                _("At most %(count)d sign-in or account operations per request.")
                % {"count": settings.AUTH_OPERATIONS_PER_REQUEST},
            )


def client_address(request) -> str:
    """REMOTE_ADDR, or the first X-Forwarded-For hop when TRUSTED_PROXY says a proxy sets it."""
    if settings.TRUSTED_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return request.META.get("REMOTE_ADDR") or "unknown"


def client_of(request) -> Client:
    """The request's Client, made once per request so that its budget covers every operation in it."""
    client = getattr(request, "_auth_client", None)
    if client is None:
        client = Client(address=client_address(request))
        request._auth_client = client
    return client


def no_client() -> Client:
    """For service calls outside a request (management commands, tests): unlimited, one address."""
    return Client(address="local", operations=-(10**9))


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]
    return f"auth-throttle:{kind}:{digest}"


def _incr(key: str, ttl: float) -> int:
    if cache.add(key, 1, timeout=ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=ttl)
        return 1


def _throttled(message: str, field_name: str | None = "email") -> DomainError:
    return DomainError(AccountErrorCode.LOGIN_THROTTLED, message, field=field_name)


def sign_in_check(email: str, client: Client) -> None:
    """Refuse the attempt (LOGIN_THROTTLED) before any password work when a limit is reached."""
    if (cache.get(_key("client", client.address)) or 0) >= settings.LOGIN_THROTTLE_PER_CLIENT:
        raise _throttled(_("Too many failed sign-in attempts from your address; try again later."), None)
    if (cache.get(_key("pair", client.address, email)) or 0) >= settings.LOGIN_THROTTLE_PER_CLIENT_EMAIL:
        raise _throttled(_("Too many failed sign-in attempts for this email; try again later."))
    delayed_until = cache.get(_key("delay", email))
    if delayed_until is not None and delayed_until > time.time():
        raise _throttled(
            _("Too many failed sign-in attempts for this email; try again in %(seconds)d seconds.")
            % {"seconds": max(1, round(delayed_until - time.time()))}
        )


def sign_in_failed(email: str, client: Client) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW.total_seconds()
    _incr(_key("client", client.address), window)
    _incr(_key("pair", client.address, email), window)
    failures = _incr(_key("email", email), window)
    beyond = failures - settings.LOGIN_THROTTLE_ATTEMPTS
    if beyond >= 0:
        delay = min(2 ** (beyond + 1), settings.LOGIN_THROTTLE_MAX_DELAY.total_seconds())
        cache.set(_key("delay", email), time.time() + delay, timeout=delay)


def sign_in_succeeded(email: str, client: Client) -> None:
    cache.delete_many([_key("pair", client.address, email), _key("email", email), _key("delay", email)])


def account_email_request(client: Client) -> None:
    """Registration and password reset requests send email: a client may ask only so often."""
    count = _incr(_key("mail-client", client.address), settings.ACCOUNT_EMAIL_WINDOW.total_seconds())
    if count > settings.ACCOUNT_EMAIL_REQUESTS_PER_CLIENT:
        raise _throttled(_("Too many account requests from your address; try again later."), None)


def account_email_allowed(address: str) -> bool:
    """False once an address got ACCOUNT_EMAILS_PER_ADDRESS account emails in the window: no mail bombs.

    The caller answers the same either way; only the email is not sent.
    """
    count = _incr(_key("mail-to", address), settings.ACCOUNT_EMAIL_WINDOW.total_seconds())
    return count <= settings.ACCOUNT_EMAILS_PER_ADDRESS
