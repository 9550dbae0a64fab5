"""A carrier priced entirely from database tables that staff edit in the admin.

Services (ShippingService), their per-zone prices (ZoneRate) and the zone matrix
(ZoneAssignment) are data; this plugin only reads them. Tracking numbers are
issued here and tracking events arrive on the signed webhook.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.utils import timezone

from backend.core.money import Money, quantize
from backend.logistics import pricing
from backend.logistics.models import HeavyParcelRule, PricingKind, ShippingService
from backend.logistics.zones import route_lookup
from plugins.base import BasePlugin, ConfigField, ConfigType

from .interface import CarrierInfo, CarrierService, Package, Quote, ShipmentRequest, ShipmentResult
from .tracking import DEFAULT_STATUS_MAP, SIGNATURE_HEADER, parse_events, verify_signature


class TableRateCarrierPlugin(BasePlugin):
    PLUGIN_ID = "logistics.table_rate"
    PLUGIN_NAME = "Table-rate carrier"
    DESCRIPTION = "Quotes from zone and weight tables kept in the database; issues its own tracking numbers."
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {
        "carrier_name": ConfigField(ConfigType.STRING, default="Marketplace Post", help_text="Shown to merchants."),
        "tracking_prefix": ConfigField(ConfigType.STRING, default="MP", help_text="Start of tracking numbers."),
        "webhook_secret": ConfigField(
            ConfigType.SECRET, help_text="Key of the HMAC-SHA256 signature on tracking webhooks."
        ),
        "status_map": ConfigField(
            ConfigType.JSON, default=DEFAULT_STATUS_MAP, help_text="Carrier status -> our status."
        ),
    }

    def _services(self):
        return ShippingService.objects.filter(carrier_id=self.PLUGIN_ID, active=True).prefetch_related("rates")

    def shipping_services(self, *, previous_value):
        services = tuple(
            CarrierService(code=s.code, name=s.name, time_guaranteed=s.time_guaranteed, description=s.description)
            for s in ShippingService.objects.filter(carrier_id=self.PLUGIN_ID, active=True)
        )
        return [*previous_value, CarrierInfo(carrier=self.PLUGIN_ID, name=self.get("carrier_name"), services=services)]

    def quote(self, package: Package, origin: str, destination: str, *, previous_value):
        route = route_lookup(origin, destination)
        if route.zone is None:
            return previous_value
        quotes = []
        for service in self._services():
            quote = self._quote_service(service, package, route)
            if quote is not None:
                quotes.append(quote)
        return [*previous_value, *quotes]

    def _quote_service(self, service: ShippingService, package: Package, route) -> Quote | None:
        rate = next((r for r in service.rates.all() if r.zone == route.zone), None)
        if service.pricing == PricingKind.TABLE and rate is None:
            return None
        total = Decimal(0)
        total_weight = Decimal(0)
        for parcel in package.parcels:
            weight = pricing.chargeable_weight(
                parcel, step=service.weight_step, volumetric_divisor=service.volumetric_divisor
            )
            if service.max_weight is not None and weight > service.max_weight:
                return None
            if service.pricing == PricingKind.FLAT:
                if service.flat_price is None:
                    return None
                freight = service.flat_price
            else:
                freight = pricing.table_price(
                    weight,
                    first_weight=service.first_weight,
                    first_weight_price=rate.first_weight_price,
                    additional_weight_price=rate.additional_weight_price,
                    heavy_threshold=service.heavy_threshold,
                    heavy_additional_weight_price=rate.heavy_additional_weight_price,
                    heavy_served=service.heavy_rule == HeavyParcelRule.OWN_PRICE,
                )
                if freight is None:
                    return None
            if route.remote:
                freight += service.remote_area_surcharge
            total += freight
            total_weight += weight
        if service.pricing == PricingKind.FLAT:
            days = service.flat_promised_days or (rate.promised_days if rate else None)
        else:
            days = rate.promised_days
        if days is None:
            return None
        price = Money(quantize(total, service.currency), service.currency)
        notes = ("remote-area surcharge",) if route.remote and service.remote_area_surcharge else ()
        return Quote(
            carrier=self.PLUGIN_ID,
            carrier_name=self.get("carrier_name"),
            service_code=service.code,
            service_name=service.name,
            price=price,
            list_price=price,
            promised_days=days,
            time_guaranteed=service.time_guaranteed,
            chargeable_weight=total_weight,
            notes=notes,
        )

    def create_shipment(self, request: ShipmentRequest, quote: Quote, *, previous_value):
        tracking_number = (
            f"{self.get('tracking_prefix')}{timezone.localdate():%y%m%d}{secrets.randbelow(10**10):010d}"
        )
        label = {
            "format": "json",
            "carrier": self.get("carrier_name"),
            "tracking_number": tracking_number,
            "barcode": tracking_number,
            "service": quote.service_name,
            "origin": request.origin,
            "destination": request.destination,
            "sender": request.vendor.name,
            "recipient": request.recipient.name if request.recipient else "",
            "parcels": [parcel.as_dict() for parcel in request.parcels],
            "reference": request.reference,
        }
        return ShipmentResult(tracking_number=tracking_number, label_data=label)

    def parse_tracking_event(self, request, *, previous_value):
        verify_signature(self.get("webhook_secret"), request.body, request.headers.get(SIGNATURE_HEADER))
        return parse_events(request.body, self.get("status_map") or DEFAULT_STATUS_MAP)

    def cancel_shipment(self, shipment, *, previous_value):
        # Nothing was booked outside the platform: cancelling is only our status change.
        return True
