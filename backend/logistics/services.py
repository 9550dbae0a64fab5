"""Logistics services: quotes, shipments, tracking events and peak-season quotas.

The rest of the platform (checkout, orders) calls these functions and never a carrier
plugin directly. Pricing rules that apply to every carrier (event prices, negotiated
vendor discounts, quotas) live here; carrier tariffs live in the plugins and their data.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import Money, quantize
from plugins.base import BasePlugin
from plugins.logistics.interface import (
    CarrierInfo,
    Package,
    Parcel,
    Quote,
    ShipmentReference,
    ShipmentRequest,
    TrackingEventData,
)
from plugins.manager import PluginsManager, get_plugins_manager

from . import pricing
from .error_codes import LogisticsErrorCode
from .models import (
    CarrierQuota,
    CarrierQuotaUsage,
    NegotiatedRate,
    PricingEvent,
    QuotaExhaustedPolicy,
    Region,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from .states import SHIPMENT_STATUS
from .zones import Route, route_lookup

logger = logging.getLogger(__name__)

MAX_PARCELS = 50
MAX_PARCEL_WEIGHT = Decimal(1000)  # kg
MAX_PARCEL_SIDE = Decimal(1000)  # cm

# --- The hook point for delivered shipments ---------------------------------------

# Called with each shipment that a carrier event moves to DELIVERED, inside the same
# transaction. The orders issue appends its handler (moving the order to delivered).
SHIPMENT_DELIVERED_HANDLERS: list[Callable[[Shipment], None]] = []


def on_shipment_delivered(shipment: Shipment) -> None:
    for handler in list(SHIPMENT_DELIVERED_HANDLERS):
        handler(shipment)


# --- Input checks -------------------------------------------------------------------


def _decimal(value, field: str) -> Decimal:
    if isinstance(value, float):
        raise DomainError(LogisticsErrorCode.INVALID, "Give weights and sizes as decimal strings.", field=field)
    try:
        number = Decimal(str(value if value is not None else 0))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(LogisticsErrorCode.INVALID, f"{value!r} is not a number.", field=field) from exc
    if not number.is_finite():
        raise DomainError(LogisticsErrorCode.INVALID, f"{value!r} is not a number.", field=field)
    return number


def parcels_clean(parcels: Iterable[Parcel]) -> tuple[Parcel, ...]:
    """Positive weights and non-negative sizes within sane limits, as Decimals."""
    parcels = tuple(parcels or ())
    if not parcels:
        raise DomainError(LogisticsErrorCode.REQUIRED, "Give at least one parcel.", field="parcels")
    if len(parcels) > MAX_PARCELS:
        raise DomainError(LogisticsErrorCode.INVALID, f"At most {MAX_PARCELS} parcels.", field="parcels")
    cleaned = []
    for parcel in parcels:
        weight = _decimal(parcel.weight, "parcels")
        sides = [_decimal(getattr(parcel, name), "parcels") for name in ("length", "width", "height")]
        if not Decimal(0) < weight <= MAX_PARCEL_WEIGHT:
            raise DomainError(
                LogisticsErrorCode.INVALID, f"A parcel weighs more than 0 and at most {MAX_PARCEL_WEIGHT} kg.", field="parcels"
            )
        if any(not Decimal(0) <= side <= MAX_PARCEL_SIDE for side in sides):
            raise DomainError(
                LogisticsErrorCode.INVALID, f"Parcel sides are 0 to {MAX_PARCEL_SIDE} cm.", field="parcels"
            )
        cleaned.append(Parcel(weight=weight, length=sides[0], width=sides[1], height=sides[2]))
    return tuple(cleaned)


def _is_carrier(plugin: BasePlugin) -> bool:
    return type(plugin).quote is not BasePlugin.quote


def _carrier_or_error(manager: PluginsManager, carrier_id: str, *, active_only: bool = True) -> BasePlugin:
    plugin = manager.get_plugin(carrier_id, active_only=active_only)
    if plugin is None or not _is_carrier(plugin):
        raise DomainError(LogisticsErrorCode.CARRIER_NOT_FOUND, f"No active carrier {carrier_id!r}.", field="carrier")
    return plugin


# --- Carriers and quotes ------------------------------------------------------------


def carriers_available(*, manager: PluginsManager | None = None) -> list[CarrierInfo]:
    """Active carriers with their services, in plugin order."""
    manager = manager or get_plugins_manager()
    return manager.run_hook("shipping_services", [])


@dataclass
class QuoteResult:
    quotes: list[Quote]
    # Carriers that failed to answer (timeouts, 5xx): the others' quotes still count.
    carrier_errors: list[DomainError] = field(default_factory=list)


def _events_and_deals(carrier_ids: set[str], vendor_id: int | None, at: datetime):
    events = list(
        PricingEvent.objects.filter(active=True, carrier_id__in=carrier_ids, starts_at__lte=at, ends_at__gt=at)
        .order_by("starts_at", "id")
    )
    deals = []
    if vendor_id is not None:
        day = timezone.localdate(at)
        deals = list(
            NegotiatedRate.objects.filter(active=True, vendor_id=vendor_id, carrier_id__in=carrier_ids)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        )
    return events, deals


def _applies(rule, quote: Quote) -> bool:
    return rule.carrier_id == quote.carrier and rule.service_code in ("", quote.service_code)


def pricing_rules_apply(quotes: list[Quote], *, vendor_id: int | None, at: datetime) -> list[Quote]:
    """Event prices, then the vendor's best negotiated discount, on each carrier price.

    Both are percentages of the carrier's whole price (surcharges included); several
    events in force compound; negotiated discounts do not stack (the largest counts).
    The result is rounded once to the currency's minor unit, half up.
    """
    if not quotes:
        return quotes
    events, deals = _events_and_deals({q.carrier for q in quotes}, vendor_id, at)
    priced = []
    for quote in quotes:
        amount = quote.price.amount
        days = quote.promised_days
        notes = list(quote.notes)
        for event in events:
            if _applies(event, quote):
                amount = pricing.apply_percent(amount, event.percent_change)
                days += event.extra_days
                notes.append(f"event price: {event.name}")
        deal = max((d for d in deals if _applies(d, quote)), key=lambda d: d.discount_percent, default=None)
        if deal is not None:
            amount = pricing.apply_percent(amount, -deal.discount_percent)
            notes.append(f"negotiated discount {deal.discount_percent}%")
        currency = quote.price.currency.code
        priced.append(
            replace(
                quote,
                price=Money(quantize(amount, currency), currency),
                list_price=quote.list_price or quote.price,
                promised_days=days,
                notes=tuple(notes),
            )
        )
    return priced


def _quota_state_apply(quotes: list[Quote], *, origin_province: Region, day: date) -> list[Quote]:
    """Quotes of carriers whose quota from this origin is used up lose their guarantee or go."""
    quotas = {
        q.carrier_id: q
        for q in CarrierQuota.objects.filter(carrier_id__in={q.carrier for q in quotes}, origin=origin_province)
    }
    if not quotas:
        return quotes
    used = dict(
        CarrierQuotaUsage.objects.filter(quota__in=quotas.values(), day=day).values_list("quota_id", "used")
    )
    result = []
    for quote in quotes:
        quota = quotas.get(quote.carrier)
        if quota is None or used.get(quota.pk, 0) < quota.daily_limit:
            result.append(quote)
        elif quota.when_exhausted == QuotaExhaustedPolicy.DROP_GUARANTEE:
            result.append(
                replace(quote, time_guaranteed=False, notes=(*quote.notes, "peak-season capacity used up"))
            )
    return result


def quote_package(
    *,
    package: Package,
    origin: str,
    destination: str,
    carrier: str | None = None,
    manager: PluginsManager | None = None,
) -> QuoteResult:
    """Quotes from every active carrier (or one) for a package between two region codes.

    Cheapest first. A carrier that fails is reported in carrier_errors, not raised.
    """
    manager = manager or get_plugins_manager()
    package = replace(package, parcels=parcels_clean(package.parcels))
    route = route_lookup(origin, destination)
    at = package.ship_at or timezone.now()
    carriers = [_carrier_or_error(manager, carrier)] if carrier else [p for p in manager.active_plugins if _is_carrier(p)]
    quotes: list[Quote] = []
    errors: list[DomainError] = []
    for plugin in carriers:
        try:
            quotes = manager.run_plugin_hook(plugin.PLUGIN_ID, "quote", quotes, package, route.origin.code, route.destination.code)
        except DomainError as error:
            logger.warning("Carrier %s gave no quote: %s", plugin.PLUGIN_ID, error.message)
            errors.append(DomainError(error.code, error.message, field=plugin.PLUGIN_ID))
    quotes = pricing_rules_apply(quotes, vendor_id=package.vendor_id, at=at)
    quotes = _quota_state_apply(quotes, origin_province=route.origin_province, day=timezone.localdate(at))
    quotes.sort(key=lambda q: (q.price.amount, q.promised_days, q.carrier, q.service_code))
    return QuoteResult(quotes=quotes, carrier_errors=errors)


def quote_stable_until(*, carrier_id: str, service_code: str, at: datetime) -> datetime:
    """Until when a quote of this service made at `at` can stay right, carrier data unchanged:
    the next start or end of one of the carrier's pricing events for the service, or the end of
    the local day (negotiated rates and quotas are by day), whichever comes first. One query."""
    bounds = PricingEvent.objects.filter(
        active=True, carrier_id=carrier_id, service_code__in=("", service_code)
    ).aggregate(
        next_start=Min("starts_at", filter=Q(starts_at__gt=at)),
        next_end=Min("ends_at", filter=Q(ends_at__gt=at)),
    )
    local = timezone.localtime(at)
    end_of_day = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return min(b for b in (bounds["next_start"], bounds["next_end"], end_of_day) if b is not None)


# --- Quotas -------------------------------------------------------------------------


def carrier_quota_reserve(
    *, carrier_id: str, origin_province: Region, day: date
) -> tuple[CarrierQuota | None, CarrierQuotaUsage | None]:
    """Count one shipment against the day's quota if any is left.

    Returns (quota, usage): quota None when the carrier has no quota from this origin;
    usage None when the quota is used up. The conditional UPDATE (used < limit) is
    atomic: concurrent callers queue on the row and re-check, so exactly `limit` succeed.
    """
    quota = CarrierQuota.objects.filter(carrier_id=carrier_id, origin=origin_province).first()
    if quota is None:
        return None, None
    usage, _ = CarrierQuotaUsage.objects.get_or_create(quota=quota, day=day)
    counted = CarrierQuotaUsage.objects.filter(pk=usage.pk, used__lt=quota.daily_limit).update(used=F("used") + 1)
    return quota, (usage if counted else None)


def carrier_quota_release(*, usage_id: int) -> None:
    CarrierQuotaUsage.objects.filter(pk=usage_id, used__gt=0).update(used=F("used") - 1)


# --- Shipments ----------------------------------------------------------------------


def _reference(shipment: Shipment) -> ShipmentReference:
    return ShipmentReference(
        tracking_number=shipment.tracking_number,
        carrier_reference=shipment.carrier_reference,
        reference=shipment.reference,
    )


class _SameRequestRecorded(Exception):
    pass


@dataclass(frozen=True)
class _PricedService:
    route: Route
    package: Package
    quote: Quote
    at: datetime

    def shipment_fields(self, request: ShipmentRequest) -> dict:
        """What a shipment records of its request and price, whether booked here or by the vendor."""
        return {
            "vendor": request.vendor,
            "reference": request.reference or "",
            "carrier_id": request.carrier,
            "service_code": self.quote.service_code,
            "service_name": self.quote.service_name,
            "origin_code": self.route.origin.code,
            "destination_code": self.route.destination.code,
            "weight": self.package.weight,
            "chargeable_weight": self.quote.chargeable_weight,
            "parcels": [p.as_dict() for p in self.package.parcels],
            "price_amount": self.quote.price.amount,
            "currency": self.quote.price.currency.code,
            "promised_days": self.quote.promised_days,
        }


def _priced_service(manager: PluginsManager, request: ShipmentRequest, parcels: tuple[Parcel, ...]) -> _PricedService:
    """Today's price of the requested service for the package on its route, after the pricing rules."""
    route = route_lookup(request.origin, request.destination)
    at = timezone.now()
    package = Package(parcels=parcels, vendor_id=request.vendor.pk, ship_at=at)
    quotes = manager.run_plugin_hook(request.carrier, "quote", [], package, route.origin.code, route.destination.code)
    quotes = pricing_rules_apply(
        [q for q in quotes if q.service_code == request.service_code], vendor_id=request.vendor.pk, at=at
    )
    if not quotes:
        raise DomainError(
            LogisticsErrorCode.SERVICE_NOT_AVAILABLE,
            f"{request.carrier} does not offer {request.service_code!r} for this package and route.",
            field="serviceCode",
        )
    return _PricedService(route=route, package=package, quote=quotes[0], at=at)


# Booking is two-phase, so that no row lock is held while a carrier answers (it may take seconds,
# or time out):
#   1. claim, in a short transaction: the quota is counted and the shipment recorded as BOOKING,
#      marked as being booked by this attempt (carrier_call_started_at);
#   2. the carrier is called with no transaction open, under the shipment's idempotency key;
#   3. the answer is recorded in a second transaction (tracking number, label: INFO_RECEIVED).
# When the carrier refuses for good (CARRIER_REJECTED, a service it does not offer) the claim is
# undone: no shipment, no quota used. When the outcome is unknown (a timeout, a 5xx, an unreadable
# answer, a crashed worker) the shipment stays BOOKING: the next attempt (a retry of the same
# request, or the periodic orders.complete_bookings) calls the carrier again with the same key, and
# the carrier answers with the booking it may already have made; never a second booking.

DEFINITIVE_REFUSALS = {
    LogisticsErrorCode.CARRIER_REJECTED,
    LogisticsErrorCode.SERVICE_NOT_AVAILABLE,
    LogisticsErrorCode.CARRIER_NOT_FOUND,
    LogisticsErrorCode.INVALID,
}


def _call_is_running(shipment: Shipment, now: datetime) -> bool:
    started = shipment.carrier_call_started_at
    return started is not None and now - started < timedelta(seconds=settings.SHIPMENT_CARRIER_CALL_TIMEOUT)


def _in_progress(shipment: Shipment) -> DomainError:
    return DomainError(
        LogisticsErrorCode.CARRIER_CALL_IN_PROGRESS,
        "The carrier is being called about this shipment right now; try again in a moment.",
        field="carrier",
    )


def shipment_price(*, request: ShipmentRequest, manager: PluginsManager | None = None) -> _PricedService:
    """Check the carrier and price the requested service (the carrier's quote hook may call its
    API: never under a row lock)."""
    manager = manager or get_plugins_manager()
    _carrier_or_error(manager, request.carrier)
    return _priced_service(manager, request, parcels_clean(request.parcels))


def shipment_booking_claim(*, request: ShipmentRequest, priced: _PricedService) -> Shipment:
    """Phase 1, inside the caller's transaction: count the quota and record the shipment as BOOKING,
    claimed by this attempt. Its idempotency key is what the carrier is called with, every attempt."""
    quota, usage = carrier_quota_reserve(
        carrier_id=request.carrier, origin_province=priced.route.origin_province, day=timezone.localdate(priced.at)
    )
    if quota is not None and usage is None and quota.when_exhausted == QuotaExhaustedPolicy.HIDE_SERVICE:
        raise DomainError(
            LogisticsErrorCode.CAPACITY_EXHAUSTED,
            f"{request.carrier} takes no more shipments from {priced.route.origin_province.name} today.",
            field="carrier",
        )
    return Shipment.objects.create(
        **priced.shipment_fields(request),
        idempotency_key=request.idempotency_key or uuid.uuid4().hex,
        status=ShipmentStatus.BOOKING,
        time_guaranteed=priced.quote.time_guaranteed and (quota is None or usage is not None),
        quota_usage=usage,
        tracking_number="",
        carrier_call_started_at=timezone.now(),
    )


def shipment_booking_take(*, shipment: Shipment, now: datetime | None = None) -> Shipment | None:
    """Phase 1 of a later attempt, inside the caller's transaction: claim an unfinished booking.
    None when it is booked already; CARRIER_CALL_IN_PROGRESS while another attempt is calling."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.status != ShipmentStatus.BOOKING:
        return None
    now = now or timezone.now()
    if _call_is_running(shipment, now):
        raise _in_progress(shipment)
    shipment.carrier_call_started_at = now
    shipment.save(update_fields=["carrier_call_started_at", "updated_at"])
    return shipment


def _booking_quote(shipment: Shipment) -> Quote:
    """The quote a BOOKING shipment was priced with, as it recorded it."""
    return Quote(
        carrier=shipment.carrier_id,
        service_code=shipment.service_code,
        service_name=shipment.service_name,
        price=shipment.price,
        promised_days=shipment.promised_days,
        time_guaranteed=shipment.time_guaranteed,
        chargeable_weight=shipment.chargeable_weight,
    )


def shipment_booking_call(*, shipment: Shipment, request: ShipmentRequest, manager: PluginsManager | None = None):
    """Phase 2, with no transaction open: the carrier books under the shipment's idempotency key.
    Returns its ShipmentResult; raises its DomainError."""
    manager = manager or get_plugins_manager()
    booking = replace(
        request,
        carrier=shipment.carrier_id,
        service_code=shipment.service_code,
        parcels=parcels_clean(request.parcels),
        idempotency_key=shipment.idempotency_key,
    )
    result = manager.run_plugin_hook(
        shipment.carrier_id, "create_shipment", NotImplemented, booking, _booking_quote(shipment)
    )
    if result is NotImplemented:
        raise DomainError(LogisticsErrorCode.CARRIER_REJECTED, "The carrier cannot book shipments.", field="carrier")
    return result


def shipment_booking_failed(*, shipment: Shipment, error: DomainError) -> bool:
    """After a failed phase 2, inside a transaction. A definitive refusal undoes the claim (the
    shipment row goes, the quota is given back) and returns True; an unknown outcome keeps the
    booking for the next attempt (same key) and returns False."""
    shipment = Shipment.objects.select_for_update().filter(pk=shipment.pk).first()
    if shipment is None or shipment.status != ShipmentStatus.BOOKING:
        return False
    if error.code in DEFINITIVE_REFUSALS:
        if shipment.quota_usage_id:
            carrier_quota_release(usage_id=shipment.quota_usage_id)
        shipment.delete()
        return True
    shipment.carrier_call_started_at = None
    shipment.booking_error = f"{error.code.name}: {error.message}"[:255]
    shipment.save(update_fields=["carrier_call_started_at", "booking_error", "updated_at"])
    return False


class BookingNotRecordable(Exception):
    """The carrier booked under a tracking number already recorded for another shipment."""

    def __init__(self, result):
        super().__init__(result.tracking_number)
        self.result = result


def shipment_booking_record(*, shipment: Shipment, result) -> Shipment:
    """Phase 3, inside the caller's transaction: the carrier's answer makes the shipment INFO_RECEIVED.
    A shipment another attempt recorded first is returned as it is (the carrier gave both the same
    booking). BookingNotRecordable, after undoing the claim, when the tracking number is taken:
    the caller cancels that booking at the carrier once its transaction is over."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.status != ShipmentStatus.BOOKING:
        return shipment
    shipment.tracking_number = result.tracking_number
    shipment.carrier_reference = result.carrier_reference
    shipment.label_data = result.label_data
    shipment.carrier_call_started_at = None
    shipment.booking_error = ""
    try:
        with transaction.atomic():
            SHIPMENT_STATUS.apply(
                shipment,
                ShipmentStatus.INFO_RECEIVED,
                update_fields=["tracking_number", "carrier_reference", "label_data", "carrier_call_started_at",
                               "booking_error"],
            )
    except IntegrityError as exc:
        shipment_booking_failed(
            shipment=shipment,
            error=DomainError(LogisticsErrorCode.CARRIER_REJECTED, "Tracking number in use.", field="carrier"),
        )
        raise BookingNotRecordable(result) from exc
    return shipment


def carrier_booking_cancel_quietly(*, carrier_id: str, result, manager: PluginsManager | None = None) -> None:
    """Undo a booking the platform could not record (no transaction open)."""
    _carrier_cancel_quietly(manager or get_plugins_manager(), carrier_id, result.tracking_number, result.carrier_reference)


def shipment_create(*, request: ShipmentRequest, manager: PluginsManager | None = None) -> Shipment:
    """Book a package with a carrier's service at today's price and record the shipment, in the
    two phases above (call it with no transaction open). Repeating a request with the same
    idempotency_key returns the first shipment, or finishes its unfinished booking."""
    manager = manager or get_plugins_manager()
    _carrier_or_error(manager, request.carrier)
    parcels_clean(request.parcels)
    shipment = None
    if request.idempotency_key:
        existing = Shipment.objects.filter(carrier_id=request.carrier, idempotency_key=request.idempotency_key).first()
        if existing is not None:
            if existing.vendor_id != request.vendor.pk:
                raise DomainError(LogisticsErrorCode.INVALID, "This idempotency key is taken.", field="idempotencyKey")
            if existing.status != ShipmentStatus.BOOKING:
                return existing
            with transaction.atomic():
                shipment = shipment_booking_take(shipment=existing)
            if shipment is None:
                return Shipment.objects.get(pk=existing.pk)
    if shipment is None:
        priced = shipment_price(request=request, manager=manager)
        try:
            with transaction.atomic():
                shipment = shipment_booking_claim(request=request, priced=priced)
        except IntegrityError:
            # A concurrent call with the same key claimed first: finish (or wait for) that one.
            return shipment_create(request=request, manager=manager)
    return _shipment_book(shipment, request, manager)


def _shipment_book(shipment: Shipment, request: ShipmentRequest, manager: PluginsManager) -> Shipment:
    try:
        result = shipment_booking_call(shipment=shipment, request=request, manager=manager)
    except DomainError as error:
        with transaction.atomic():
            shipment_booking_failed(shipment=shipment, error=error)
        raise
    try:
        with transaction.atomic():
            return shipment_booking_record(shipment=shipment, result=result)
    except BookingNotRecordable as exc:
        carrier_booking_cancel_quietly(carrier_id=shipment.carrier_id, result=exc.result, manager=manager)
        raise DomainError(
            LogisticsErrorCode.CARRIER_ERROR, "The carrier returned a tracking number already in use.", field="carrier"
        ) from exc


def shipment_register(
    *, request: ShipmentRequest, tracking_number: str, manager: PluginsManager | None = None,
    priced: _PricedService | None = None,
) -> Shipment:
    """Record a package the vendor booked with the carrier outside the platform, under the
    carrier's own tracking number: priced like shipment_create for the record, no booking
    call and no quota. Tracking events then arrive on the carrier's webhook as usual.
    Repeating a request with the same idempotency_key returns the first shipment.
    """
    manager = manager or get_plugins_manager()
    _carrier_or_error(manager, request.carrier)
    tracking_number = (tracking_number or "").strip()
    if not tracking_number or len(tracking_number) > 64:
        raise DomainError(LogisticsErrorCode.INVALID, "Give the carrier's tracking number.", field="trackingNumber")
    if request.idempotency_key:
        existing = Shipment.objects.filter(carrier_id=request.carrier, idempotency_key=request.idempotency_key).first()
        if existing is not None:
            return existing
    if priced is None:  # priced by the caller before it took its locks (the quote may call the carrier)
        priced = _priced_service(manager, request, parcels_clean(request.parcels))
    try:
        with transaction.atomic():
            return Shipment.objects.create(
                **priced.shipment_fields(request),
                idempotency_key=request.idempotency_key or "",
                time_guaranteed=False,
                tracking_number=tracking_number,
            )
    except IntegrityError as exc:
        raise DomainError(
            LogisticsErrorCode.INVALID, "This tracking number is already recorded.", field="trackingNumber"
        ) from exc


def _carrier_cancel_quietly(manager, carrier_id: str, tracking_number: str, carrier_reference: str) -> None:
    plugin = manager.get_plugin(carrier_id, active_only=False)
    try:
        plugin.cancel_shipment(
            ShipmentReference(tracking_number=tracking_number, carrier_reference=carrier_reference),
            previous_value=NotImplemented,
        )
    except DomainError:
        logger.exception("Could not cancel booking %s at %s", tracking_number, carrier_id)


def shipment_cancel(*, shipment: Shipment, actor=None, reason: str = "", manager: PluginsManager | None = None) -> Shipment:
    """Cancel before pickup: the carrier is told, the quota counted for it is given back.

    Two phases like booking: the shipment is claimed in a short transaction, the carrier is told
    with no transaction open, and the cancellation recorded in a second one. A crashed attempt's
    claim lapses after SHIPMENT_CARRIER_CALL_TIMEOUT_SECONDS; telling a carrier twice is harmless.
    """
    manager = manager or get_plugins_manager()
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if shipment.status == ShipmentStatus.BOOKING:
            raise _in_progress(shipment)
        SHIPMENT_STATUS.check(shipment.status, ShipmentStatus.CANCELLED)
        # The booking exists even when the carrier has since been switched off.
        plugin = _carrier_or_error(manager, shipment.carrier_id, active_only=False)
        now = timezone.now()
        if _call_is_running(shipment, now):
            raise _in_progress(shipment)
        shipment.carrier_call_started_at = now
        shipment.save(update_fields=["carrier_call_started_at", "updated_at"])
    try:
        plugin.cancel_shipment(_reference(shipment), previous_value=NotImplemented)
    except BaseException:
        Shipment.objects.filter(pk=shipment.pk, carrier_call_started_at=now).update(carrier_call_started_at=None)
        raise
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if shipment.carrier_call_started_at == now:
            shipment.carrier_call_started_at = None
        if shipment.status == ShipmentStatus.CANCELLED:
            shipment.save(update_fields=["carrier_call_started_at", "updated_at"])
            return shipment
        if not SHIPMENT_STATUS.can(shipment.status, ShipmentStatus.CANCELLED):
            # Picked up while the carrier was being told: its tracking decides.
            shipment.save(update_fields=["carrier_call_started_at", "updated_at"])
            logger.warning("Shipment %s was %s when its cancellation was confirmed", shipment.pk, shipment.status)
        else:
            if shipment.quota_usage_id:
                carrier_quota_release(usage_id=shipment.quota_usage_id)
                shipment.quota_usage = None
            shipment.cancelled_at = timezone.now()
            SHIPMENT_STATUS.apply(
                shipment, ShipmentStatus.CANCELLED,
                update_fields=["cancelled_at", "quota_usage", "carrier_call_started_at"],
            )
            if actor is not None:
                audit_log(actor=actor, action="shipment.cancel", target=shipment, reason=reason,
                          tracking_number=shipment.tracking_number)
            return shipment
    SHIPMENT_STATUS.check(shipment.status, ShipmentStatus.CANCELLED)
    return shipment


# --- Tracking -----------------------------------------------------------------------


class TrackingOutcome:
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    UNKNOWN_SHIPMENT = "unknown_shipment"


@dataclass(frozen=True)
class TrackingRecord:
    outcome: str
    event: TrackingEvent | None = None

    @property
    def applied(self) -> bool:
        return bool(self.event and self.event.applied)


def _event_apply(shipment: Shipment, event: TrackingEvent) -> bool:
    """Move the shipment's status if the event is newest and the move is allowed."""
    if shipment.status == ShipmentStatus.BOOKING:
        return False  # only the booking's own answer makes it INFO_RECEIVED
    if shipment.last_event_at is not None and event.occurred_at < shipment.last_event_at:
        return False  # older than what we know: timeline only, status never goes back
    if event.status == shipment.status:
        shipment.last_event_at = event.occurred_at
        shipment.save(update_fields=["last_event_at", "updated_at"])
        return True
    if not SHIPMENT_STATUS.can(shipment.status, event.status):
        return False
    shipment.last_event_at = event.occurred_at
    if event.status == ShipmentStatus.DELIVERED:
        shipment.delivered_at = event.occurred_at
    SHIPMENT_STATUS.apply(shipment, event.status, update_fields=["last_event_at", "delivered_at"])
    return True


def tracking_event_record(*, carrier_id: str, event: TrackingEventData) -> TrackingRecord:
    """Add a carrier event to its shipment's timeline, once per event id."""
    with transaction.atomic():
        if TrackingEvent.objects.filter(carrier_id=carrier_id, event_id=event.event_id).exists():
            return TrackingRecord(TrackingOutcome.DUPLICATE)
        # The row lock puts concurrent events of one shipment in a queue.
        shipment = (
            Shipment.objects.select_for_update()
            .filter(carrier_id=carrier_id, tracking_number=event.tracking_number)
            .first()
        )
        if shipment is None:
            return TrackingRecord(TrackingOutcome.UNKNOWN_SHIPMENT)
        try:
            with transaction.atomic():
                row = TrackingEvent.objects.create(
                    shipment=shipment,
                    carrier_id=carrier_id,
                    event_id=event.event_id,
                    status=event.status,
                    carrier_status=event.carrier_status,
                    occurred_at=event.occurred_at,
                    location=event.location,
                    description=event.description,
                    raw=event.raw,
                )
        except IntegrityError:
            return TrackingRecord(TrackingOutcome.DUPLICATE)
        was = shipment.status
        row.applied = _event_apply(shipment, row)
        row.save(update_fields=["applied"])
        if row.applied and was != ShipmentStatus.DELIVERED and shipment.status == ShipmentStatus.DELIVERED:
            on_shipment_delivered(shipment)
    return TrackingRecord(TrackingOutcome.RECORDED, row)


def tracking_events_record(*, carrier_id: str, events: Iterable[TrackingEventData]) -> dict[str, object]:
    """Record a batch (one webhook delivery); returns counts for the carrier's answer."""
    summary: dict[str, object] = {"recorded": 0, "applied": 0, "duplicates": 0, "unknown_tracking_numbers": []}
    for event in events:
        record = tracking_event_record(carrier_id=carrier_id, event=event)
        if record.outcome == TrackingOutcome.RECORDED:
            summary["recorded"] += 1
            summary["applied"] += int(record.applied)
        elif record.outcome == TrackingOutcome.DUPLICATE:
            summary["duplicates"] += 1
        else:
            summary["unknown_tracking_numbers"].append(event.tracking_number)
    return summary


def tracking_webhook_receive(*, carrier_id: str, request, manager: PluginsManager | None = None) -> dict[str, object]:
    """A carrier's webhook call: the plugin verifies and parses, we record."""
    manager = manager or get_plugins_manager()
    _carrier_or_error(manager, carrier_id)
    events = manager.run_plugin_hook(carrier_id, "parse_tracking_event", NotImplemented, request)
    if events is NotImplemented:
        raise DomainError(LogisticsErrorCode.CARRIER_NOT_FOUND, f"{carrier_id} takes no tracking events.")
    return tracking_events_record(carrier_id=carrier_id, events=events)


def shipment_tracking_refresh(*, shipment: Shipment, manager: PluginsManager | None = None) -> dict[str, object]:
    """Pull events from carriers that have an API and record them like webhook events."""
    manager = manager or get_plugins_manager()
    _carrier_or_error(manager, shipment.carrier_id)
    events = manager.run_plugin_hook(shipment.carrier_id, "fetch_tracking_events", [], _reference(shipment))
    return tracking_events_record(carrier_id=shipment.carrier_id, events=events)
