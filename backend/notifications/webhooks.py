"""Signed outgoing webhooks: the signature, the target check (SSRF) and the HTTP call.

The receiver checks `X-Marketplace-Signature: t=<unix time>,v1=<hex>` where v1 is
HMAC-SHA256(secret, "<t>.<raw body>"), refuses old timestamps (replays), and uses
`X-Marketplace-Delivery` to ignore a delivery it already processed (a delivery is retried
until it is answered with a 2xx, so a receiver can see one twice after a lost answer).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

SIGNATURE_HEADER = "X-Marketplace-Signature"


class ForbiddenTarget(Exception):
    pass


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and the tests): the signature matches and the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_global:
        return True
    return bool(settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS)


def check_target(url: str) -> None:
    """Refuse anything but http(s) to public addresses (unless the setting allows private ones)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenTarget("The URL must be http or https with a host name.")
    if parts.username or parts.password:
        raise ForbiddenTarget("The URL must not carry credentials.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (OSError, ValueError, UnicodeError) as error:
        raise ForbiddenTarget(f"The host {parts.hostname!r} cannot be resolved.") from error
    if not addresses or not all(_address_allowed(a) for a in addresses):
        raise ForbiddenTarget("The URL points at a loopback, private or reserved address.")


@dataclass
class Result:
    ok: bool
    status: int | None
    error: str


def body_for(*, delivery_id: int, event) -> bytes:
    return json.dumps(
        {"id": delivery_id, "event": event.name, "createdAt": event.created_at.isoformat(), "data": event.payload},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    ).encode()


def post(*, url: str, secret: str, delivery_id: int, event) -> Result:
    """One try, with no database row locked by the caller."""
    try:
        check_target(url)
    except ForbiddenTarget as error:
        return Result(False, None, str(error))
    body = body_for(delivery_id=delivery_id, event=event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Marketplace-Webhooks/1",
        "X-Marketplace-Event": event.name,
        "X-Marketplace-Delivery": str(delivery_id),
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
    }
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=settings.NOTIFICATIONS_WEBHOOK_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as error:
        return Result(False, None, f"{type(error).__name__}: {error}"[:500])
    if 200 <= response.status_code < 300:
        return Result(True, response.status_code, "")
    return Result(False, response.status_code, f"HTTP {response.status_code}")
