"""Signed tracking webhooks shared by the carrier plugins.

A carrier POSTs JSON to /webhooks/carriers/<carrier id>/tracking/:

    {"events": [{"id": "evt-1", "tracking_number": "TR...", "status": "DELIVERED",
                 "occurred_at": "2026-11-12T10:00:00+08:00", "location": "Hangzhou",
                 "description": "Signed for at the door"}]}

with the header  X-Carrier-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed
with the carrier's webhook secret>. Carrier statuses are mapped to ours through the
plugin's configurable status map.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from backend.core.exceptions import DomainError
from backend.logistics.error_codes import LogisticsErrorCode
from backend.logistics.models import ShipmentStatus

from .interface import TrackingEventData

SIGNATURE_HEADER = "X-Carrier-Signature"
SIGNATURE_PREFIX = "sha256="

# Carrier status words seen in Chinese express APIs, mapped to our statuses.
DEFAULT_STATUS_MAP: dict[str, str] = {
    "CREATED": ShipmentStatus.INFO_RECEIVED,
    "ACCEPTED": ShipmentStatus.INFO_RECEIVED,
    "INFO_RECEIVED": ShipmentStatus.INFO_RECEIVED,
    "COLLECTED": ShipmentStatus.PICKED_UP,
    "PICKED_UP": ShipmentStatus.PICKED_UP,
    "DEPARTED_HUB": ShipmentStatus.IN_TRANSIT,
    "ARRIVED_AT_HUB": ShipmentStatus.IN_TRANSIT,
    "IN_TRANSIT": ShipmentStatus.IN_TRANSIT,
    "OUT_FOR_DELIVERY": ShipmentStatus.OUT_FOR_DELIVERY,
    "DELIVERING": ShipmentStatus.OUT_FOR_DELIVERY,
    "DELIVERED": ShipmentStatus.DELIVERED,
    "SIGNED": ShipmentStatus.DELIVERED,
    "FAILED_ATTEMPT": ShipmentStatus.EXCEPTION,
    "EXCEPTION": ShipmentStatus.EXCEPTION,
    "RETURNED": ShipmentStatus.RETURNED,
    "RETURNED_TO_SENDER": ShipmentStatus.RETURNED,
}


def sign(secret: str, body: bytes) -> str:
    """The header value a carrier sends for this body."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | None, body: bytes, header: str | None) -> None:
    if not secret:
        raise DomainError(
            LogisticsErrorCode.WEBHOOK_NOT_CONFIGURED, "This carrier has no webhook secret configured."
        )
    given = (header or "").strip()
    if given.startswith(SIGNATURE_PREFIX):
        given = given[len(SIGNATURE_PREFIX):]
    expected = sign(secret, body)[len(SIGNATURE_PREFIX):]
    # compare_digest takes the same time wherever the strings differ.
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise DomainError(LogisticsErrorCode.INVALID_SIGNATURE, "The tracking event signature does not match.")


def _occurred_at(value) -> datetime:
    moment = parse_datetime(str(value or ""))
    if moment is None:
        raise ValueError(f"occurred_at {value!r} is not an ISO 8601 time")
    if timezone.is_naive(moment):
        raise ValueError(f"occurred_at {value!r} has no UTC offset")
    return moment


def parse_events(body: bytes, status_map: dict[str, str]) -> list[TrackingEventData]:
    """Parse a webhook body into normalised events, or raise INVALID naming what is wrong."""
    try:
        document = json.loads(body)
        items = document["events"] if isinstance(document, dict) and "events" in document else [document]
        if not isinstance(items, list) or not items:
            raise ValueError("no events")
        mapping = {str(k).upper(): v for k, v in status_map.items()}
        events = []
        for item in items:
            carrier_status = str(item["status"]).strip()
            status = mapping.get(carrier_status.upper())
            if status not in ShipmentStatus.values:
                raise ValueError(f"unknown carrier status {carrier_status!r}")
            event_id = str(item["id"]).strip()
            tracking_number = str(item["tracking_number"]).strip()
            if not event_id or not tracking_number:
                raise ValueError("id and tracking_number are required")
            events.append(
                TrackingEventData(
                    event_id=event_id[:128],
                    tracking_number=tracking_number,
                    status=status,
                    occurred_at=_occurred_at(item.get("occurred_at")),
                    carrier_status=carrier_status[:64],
                    location=str(item.get("location") or "")[:255],
                    description=str(item.get("description") or ""),
                    raw=item,
                )
            )
        return events
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DomainError(LogisticsErrorCode.INVALID, f"Malformed tracking events: {exc}") from exc
