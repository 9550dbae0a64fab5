"""A carrier reached over HTTP: JSON requests to a configured base URL.

Real carriers are added the same way: subclass, set PLUGIN_ID, and adapt the
request and response shapes. The protocol spoken here:

    POST {base}/v1/quotes                        {"origin", "destination", "parcels": [...]}
         -> {"quotes": [{"service_code", "service_name", "price": "12.00", "currency": "CNY",
                         "promised_days": 2, "time_guaranteed": true}]}
    POST {base}/v1/shipments   (Idempotency-Key) {"reference", "service_code", "origin", "destination",
                                                  "parcels", "sender", "recipient"}
         -> {"id", "tracking_number", "label": {...}}
    GET  {base}/v1/shipments/<tracking number>/events  -> {"events": [...]} (webhook event shape)
    POST {base}/v1/shipments/<tracking number>/cancel  -> {"cancelled": true}

Requests carry "Authorization: Bearer <api_key>" and time out after timeout_seconds.
Timeouts, refused connections and 5xx answers become CARRIER_TIMEOUT /
CARRIER_UNAVAILABLE, 4xx answers CARRIER_REJECTED, anything unreadable CARRIER_ERROR.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from decimal import Decimal
from urllib.parse import quote as url_quote

import requests

from backend.core.exceptions import DomainError
from backend.core.money import Money, parse_amount
from backend.logistics.error_codes import LogisticsErrorCode
from plugins.base import BasePlugin, ConfigField, ConfigType

from .interface import (
    CarrierInfo,
    CarrierService,
    Package,
    Quote,
    ShipmentReference,
    ShipmentRequest,
    ShipmentResult,
)
from .tracking import DEFAULT_STATUS_MAP, SIGNATURE_HEADER, parse_events, verify_signature

logger = logging.getLogger(__name__)


class HttpCarrierPlugin(BasePlugin):
    PLUGIN_ID = "logistics.http_carrier"
    PLUGIN_NAME = "HTTP carrier"
    DESCRIPTION = "A carrier's own API at a configured base URL: quotes, shipments, tracking."
    DEFAULT_ACTIVE = False
    CONFIG_STRUCTURE = {
        "carrier_name": ConfigField(ConfigType.STRING, default="Express API carrier", help_text="Shown to merchants."),
        "base_url": ConfigField(ConfigType.STRING, default="", help_text="e.g. https://api.carrier.example"),
        "api_key": ConfigField(ConfigType.SECRET, help_text="Sent as a bearer token."),
        "webhook_secret": ConfigField(ConfigType.SECRET, help_text="Key of the HMAC-SHA256 webhook signature."),
        "timeout_seconds": ConfigField(ConfigType.DECIMAL, default="5", help_text="Per request, connect and read."),
        "services": ConfigField(
            ConfigType.JSON,
            default=[{"code": "standard", "name": "Standard", "time_guaranteed": False}],
            help_text="Services listed to merchants: [{code, name, time_guaranteed}].",
        ),
        "status_map": ConfigField(ConfigType.JSON, default=DEFAULT_STATUS_MAP, help_text="Carrier status -> ours."),
    }

    # --- transport ---

    def _error(self, code, message: str) -> DomainError:
        return DomainError(code, f"{self.get('carrier_name')}: {message}", field="carrier")

    def _call(self, method: str, path: str, payload: dict | None = None, *, headers: dict | None = None):
        base_url = (self.get("base_url") or "").rstrip("/")
        if not base_url:
            raise self._error(LogisticsErrorCode.CARRIER_UNAVAILABLE, "no base URL is configured.")
        timeout = float(Decimal(str(self.get("timeout_seconds", "5"))))
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.get("api_key"):
            all_headers["Authorization"] = f"Bearer {self.get('api_key')}"
        try:
            response = requests.request(
                method, f"{base_url}{path}", json=payload, headers=all_headers, timeout=(timeout, timeout)
            )
        except requests.Timeout as exc:
            raise self._error(LogisticsErrorCode.CARRIER_TIMEOUT, f"no answer within {timeout:g} s.") from exc
        except requests.RequestException as exc:
            raise self._error(LogisticsErrorCode.CARRIER_UNAVAILABLE, "cannot be reached.") from exc
        if response.status_code >= 500:
            raise self._error(LogisticsErrorCode.CARRIER_UNAVAILABLE, f"answered HTTP {response.status_code}.")
        try:
            body = response.json()
        except ValueError as exc:
            raise self._error(LogisticsErrorCode.CARRIER_ERROR, "answered with something that is not JSON.") from exc
        if response.status_code >= 400:
            message = body.get("error") if isinstance(body, dict) else None
            raise self._error(
                LogisticsErrorCode.CARRIER_REJECTED, f"refused the request ({message or response.status_code})."
            )
        if not isinstance(body, dict):
            raise self._error(LogisticsErrorCode.CARRIER_ERROR, "answered with an unexpected document.")
        return body

    # --- hooks ---

    def shipping_services(self, *, previous_value):
        services = tuple(
            CarrierService(
                code=str(item.get("code")), name=str(item.get("name") or item.get("code")),
                time_guaranteed=bool(item.get("time_guaranteed")), description=str(item.get("description") or ""),
            )
            for item in self.get("services") or []
            if isinstance(item, dict) and item.get("code")
        )
        return [*previous_value, CarrierInfo(carrier=self.PLUGIN_ID, name=self.get("carrier_name"), services=services)]

    def quote(self, package: Package, origin: str, destination: str, *, previous_value):
        body = self._call(
            "POST",
            "/v1/quotes",
            {"origin": origin, "destination": destination, "parcels": [p.as_dict() for p in package.parcels]},
        )
        try:
            quotes = []
            for item in body["quotes"]:
                currency = str(item["currency"])
                price = Money(parse_amount(item["price"], currency), currency)
                quotes.append(
                    Quote(
                        carrier=self.PLUGIN_ID,
                        carrier_name=self.get("carrier_name"),
                        service_code=str(item["service_code"]),
                        service_name=str(item.get("service_name") or item["service_code"]),
                        price=price,
                        list_price=price,
                        promised_days=int(item["promised_days"]),
                        time_guaranteed=bool(item.get("time_guaranteed", False)),
                    )
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._error(LogisticsErrorCode.CARRIER_ERROR, f"sent an unreadable quote ({exc}).") from exc
        return [*previous_value, *quotes]

    def create_shipment(self, request: ShipmentRequest, quote: Quote, *, previous_value):
        payload = {
            "reference": request.reference,
            "service_code": request.service_code,
            "origin": request.origin,
            "destination": request.destination,
            "parcels": [p.as_dict() for p in request.parcels],
            "sender": asdict(request.sender) if request.sender else {"name": request.vendor.name},
            "recipient": asdict(request.recipient) if request.recipient else None,
        }
        # The same key on a retry lets the carrier return the first booking instead of a second one.
        body = self._call("POST", "/v1/shipments", payload, headers={"Idempotency-Key": request.idempotency_key})
        tracking_number = str(body.get("tracking_number") or "").strip()
        if not tracking_number:
            raise self._error(LogisticsErrorCode.CARRIER_ERROR, "booked no tracking number.")
        label = body.get("label") if isinstance(body.get("label"), dict) else {}
        return ShipmentResult(tracking_number=tracking_number, label_data=label, carrier_reference=str(body.get("id") or ""))

    def fetch_tracking_events(self, shipment: ShipmentReference, *, previous_value):
        body = self._call("GET", f"/v1/shipments/{url_quote(shipment.tracking_number, safe='')}/events")
        if not body.get("events"):
            return [*previous_value]
        return [*previous_value, *parse_events(json.dumps(body).encode(), self.get("status_map") or DEFAULT_STATUS_MAP)]

    def parse_tracking_event(self, request, *, previous_value):
        verify_signature(self.get("webhook_secret"), request.body, request.headers.get(SIGNATURE_HEADER))
        return parse_events(request.body, self.get("status_map") or DEFAULT_STATUS_MAP)

    def cancel_shipment(self, shipment: ShipmentReference, *, previous_value):
        self._call("POST", f"/v1/shipments/{url_quote(shipment.tracking_number, safe='')}/cancel", {})
        return True
