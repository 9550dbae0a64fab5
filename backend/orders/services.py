"""Order lifecycle: placement, payment into escrow, shipping, delivery, receipt
confirmation and release, refunds (order_refund: the one place money goes back to
a shopper, for cancellations and disputes alike) and cancellation.

Every status change goes through ORDER_STATUS under a row lock on the order, and
every movement of money is a ledger movement with an idempotency key derived from
the order, so running any of these twice (a retried request, the periodic task
running twice) changes nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import partial

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Prefetch, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.analytics import hooks as analytics
from backend.core.audit import audit_log
from backend.notifications.services import notify
from backend.core.bulk import insert_rows, update_column
from backend.core.models import AuditLogEntry
from backend.core.exceptions import DomainError
from backend.core.money import Money, quantize
from backend.core.periodic import record_processed
from backend.finance import services as ledger
from backend.finance.commission import commission_for, commission_return_for
from backend.finance.ledger import post, post_transactions
from backend.logistics import services as logistics
from backend.logistics.models import Shipment, ShipmentStatus
from backend.payments import services as payments
from backend.payments.models import Payment
from backend.payments.models import PaymentStatus as PaymentState
from backend.promotions import group_buying
from backend.promotions.services import give_back_on_cancel as promotions_give_back
from backend.promotions.services import orders_to_give_back as promotions_give_back_needed
from backend.promotions.settlement import order_refund_shares, subsidy_outstanding, subsidy_posting
from backend.members.services import points_on_refund, points_on_release
from plugins.logistics.interface import ContactAddress, Parcel, ShipmentRequest
from plugins.manager import PluginsManager

from .commission import commission_rates_for
from .error_codes import OrderErrorCode
from .models import CompletionSource, Order, OrderLine, OrderRefund, OrderRefundStatus, OrderStatus
from .selectors import is_order_owner, may_manage_order, vendor_shipping_origin
from .state_machines import ORDER_STATUS
from .stock import sales_record, stock_lock, stock_return

logger = logging.getLogger(__name__)

# A package whose variants have no weight is quoted and booked as this (kg).
MIN_PACKAGE_WEIGHT = Decimal("0.100")


def translate_error(error: DomainError, enum: type[Enum], default) -> DomainError:
    """Another domain's error in this domain's codes: same name when we have it, else `default`."""
    code = enum.__members__.get(error.code.name, default)
    return DomainError(code, error.message, field=error.field)


def package_parcels(weights: list[Decimal]) -> tuple[Parcel, ...]:
    """One parcel per vendor package, weighing what its lines weigh."""
    weight = sum(weights, Decimal(0))
    return (Parcel(weight=max(weight, MIN_PACKAGE_WEIGHT)),)


# --- Placement ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedLine:
    variant: object  # catalog ProductVariant, locked, with product loaded
    quantity: int
    unit_price: Money
    # Goods discounts allocated to the line, by funder (promotions' pricing path).
    store_discount: Decimal = Decimal(0)
    platform_discount: Decimal = Decimal(0)


@dataclass(frozen=True)
class ShippingChoice:
    carrier: str
    service_code: str
    service_name: str
    price: Money
    promised_days: int | None = None


@dataclass(frozen=True)
class PlacedPackage:
    vendor: object
    origin: str
    lines: list[PlacedLine]
    shipping: ShippingChoice
    # Every discount of the package (goods and shipping) and the platform-funded part of it.
    discount: Decimal = Decimal(0)
    subsidy: Decimal = Decimal(0)


def orders_place(
    *,
    checkout_token,
    user,
    email: str,
    currency: str,
    shipping_region: str,
    shipping_address: dict,
    packages: list[PlacedPackage],
    at: datetime | None = None,
    language_code: str = "",
) -> list[Order]:
    """Create one unpaid order per vendor package with its lines as a snapshot.

    Stock is the caller's (checkout locks and takes it before placing).
    """
    at = at or timezone.now()
    buyer = user if user is not None and user.is_authenticated else None
    orders = []
    for package in packages:
        subtotal = sum((line.unit_price.amount * line.quantity for line in package.lines), Decimal(0))
        subtotal = quantize(subtotal, currency)
        shipping = quantize(package.shipping.price.amount, currency)
        discount = quantize(package.discount, currency)
        orders.append(
            Order(
                checkout_token=checkout_token,
                vendor=package.vendor,
                user=buyer,
                email=email,
                language_code=language_code,
                currency=currency,
                subtotal_amount=subtotal,
                shipping_amount=shipping,
                total_amount=subtotal + shipping - discount,
                discount_amount=discount,
                subsidy_amount=quantize(package.subsidy, currency),
                shipping_carrier_id=package.shipping.carrier,
                shipping_service_code=package.shipping.service_code,
                shipping_service_name=package.shipping.service_name,
                shipping_promised_days=package.shipping.promised_days,
                shipping_region=shipping_region,
                shipping_address=shipping_address,
                shipping_origin=package.origin,
            )
        )
    # One insert for the orders and one for all their lines; commission rates in a fixed number of queries.
    Order.objects.bulk_create(orders)
    rates = commission_rates_for(
        {(package.vendor.pk, line.variant.product.category_id) for package in packages for line in package.lines}, at
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant=line.variant,
                product=line.variant.product,
                category_id=line.variant.product.category_id,
                product_name=line.variant.product.name,
                variant_sku=line.variant.sku,
                variant_attributes=line.variant.attributes or {},
                quantity=line.quantity,
                unit_price_amount=line.unit_price.amount,
                currency=currency,
                commission_rate=rates[(package.vendor.pk, line.variant.product.category_id)],
                weight_kg=line.variant.weight_kg,
                store_discount_amount=quantize(line.store_discount, currency),
                platform_discount_amount=quantize(line.platform_discount, currency),
            )
            for order, package in zip(orders, packages, strict=True)
            for line in package.lines
        ]
    )
    notify("order.placed", orders=orders)
    analytics.orders_placed(orders)
    return orders


def _mark_paid(orders: list[Order], payment, now: datetime, *, fill_groups: bool = True) -> None:
    for order in orders:
        ORDER_STATUS.check(order.status, OrderStatus.PAID)
    # Every order moves the same way: one UPDATE for all of them.
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(
        status=OrderStatus.PAID, payment=payment, paid_at=now, reserved_until=None, updated_at=timezone.now()
    )
    for order in orders:
        order.status, order.payment, order.paid_at, order.reserved_until = OrderStatus.PAID, payment, now, None
    # An order held for its group is not to be shipped yet: the store is told when the group fills.
    shippable = [o for o in orders if not o.group_hold]
    if shippable:
        notify("order.paid", orders=shippable)
    if fill_groups:
        group_buying.on_orders_paid(orders)


def orders_mark_paid(*, orders: list[Order], payment, fill_groups: bool = True) -> list[Order]:
    """A captured payment covers these orders: hold it in escrow, one split per order, and mark them paid.

    A payment captured later (a gateway that answered pending or authorized) goes
    through order_payment_captured instead, which also settles cancelled orders.
    fill_groups=False: the caller (checkout's placement, holding the variants' row locks) fills
    the orders' groups after its transaction (group_buying.fill_groups_of).
    """
    orders = [o for o in orders if o.status == OrderStatus.UNPAID]
    if not orders:
        return []
    ledger.escrow_hold(
        payment=payment,
        splits=[ledger.EscrowSplit(order_ref=str(o.pk), vendor_id=o.vendor_id, amount=o.total) for o in orders],
    )
    _mark_paid(orders, payment, timezone.now(), fill_groups=fill_groups)
    return orders


def orders_reserve(*, orders: list[Order], payment, until: datetime) -> None:
    """The payment is not captured yet: the orders hold their stock until `until`, then expire."""
    for order in orders:
        order.payment = payment
        order.reserved_until = until
        order.save(update_fields=["payment", "reserved_until", "updated_at"])


def _hold_captured(payment, *, manager: PluginsManager | None) -> list[Order]:
    """A payment captured after checkout: its unpaid orders are held in escrow and marked paid.

    Orders cancelled while the payment was not captured should cost nothing. If the
    gateway captured their part anyway (it could not void or capture only part of
    the authorization, or it captured a payment we could not void), that part is
    held for them too and refunded through order_refund's phases, so the ledger shows where the
    money went: claimed here, the gateway asked once the caller's transaction commits (or by the
    periodic payments.complete_refunds). Under the payment's row lock (the caller's).
    """
    orders = list(Order.objects.select_for_update(of=("self",)).filter(payment_id=payment.pk).order_by("pk"))
    unpaid = [o for o in orders if o.status == OrderStatus.UNPAID]
    left = quantize(payment.captured_amount, payment.currency) - sum((o.total_amount for o in unpaid), Decimal(0))
    owed: list[tuple[Order, Decimal]] = []
    for order in orders:
        if left <= 0:
            break
        if order.status == OrderStatus.CANCELLED and order.paid_at is None:
            part = min(order.total_amount, left)
            owed.append((order, part))
            left -= part
    if not unpaid and not owed:
        return []
    ledger.escrow_hold(
        payment=payment,
        splits=[ledger.EscrowSplit(order_ref=str(o.pk), vendor_id=o.vendor_id, amount=o.total) for o in unpaid]
        + [ledger.EscrowSplit(order_ref=str(o.pk), vendor_id=o.vendor_id, amount=o.money(part)) for o, part in owed],
    )
    now = timezone.now()
    _mark_paid(unpaid, payment, now)
    for order, part in owed:
        order.paid_at = now
        order.save(update_fields=["paid_at", "updated_at"])
        # Claimed here; the gateway is asked after the caller's transaction commits, outside it.
        record = _refund_claim(
            order=order, amount=order.money(part), idempotency_key=f"order:{order.pk}:cancel", actor=None,
            reason="Cancelled before the payment was captured.",
        )
        if record.status == OrderRefundStatus.REQUESTED:
            transaction.on_commit(partial(_refund_finish_quietly, record.pk, manager), robust=True)
    return unpaid


def order_payment_captured(*, payment, manager: PluginsManager | None = None) -> list[Order]:
    """A payment that was pending or authorized at checkout is now captured (the payment's webhook)."""
    with transaction.atomic():
        return _hold_captured(payment, manager=manager)


# --- Helpers -----------------------------------------------------------------------


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("vendor").get(pk=order.pk)


def _days(name: str) -> timedelta:
    return timedelta(days=int(getattr(settings, name)))


def _deadline(order: Order) -> datetime | None:
    """When receipt is confirmed automatically: N days after delivery, or M days after shipment
    while no delivery event came; the shopper's one extension adds to either."""
    if order.delivered_at is not None:
        deadline = order.delivered_at + _days("ORDER_AUTO_CONFIRM_DAYS_AFTER_DELIVERY")
    elif order.shipped_at is not None:
        deadline = order.shipped_at + _days("ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT")
    else:
        return None
    if order.confirmation_extended:
        deadline += _days("ORDER_CONFIRMATION_EXTENSION_DAYS")
    return deadline


def _require_manager(actor, order: Order) -> None:
    if not may_manage_order(actor, order):
        raise DomainError(OrderErrorCode.NOT_FOUND, _("No such order."), field="id")


def _require_owner(actor, order: Order) -> None:
    if not is_order_owner(actor, order):
        raise DomainError(OrderErrorCode.NOT_FOUND, _("No such order."), field="id")


# --- Shipping and delivery -----------------------------------------------------------


def _shipment_request(order: Order, carrier: str, service_code: str) -> ShipmentRequest:
    address = order.shipping_address or {}
    return ShipmentRequest(
        vendor=order.vendor,
        reference=str(order.pk),
        carrier=carrier,
        service_code=service_code,
        origin=vendor_shipping_origin(order.vendor),
        destination=order.shipping_region,
        parcels=package_parcels([line.weight_kg * line.quantity for line in order.lines.all()]),
        idempotency_key=f"order:{order.pk}",
        recipient=ContactAddress(
            name=" ".join(filter(None, [address.get("first_name"), address.get("last_name")])),
            phone=address.get("phone", ""),
            region=order.shipping_region,
            street=address.get("street_address_1", ""),
            postal_code=address.get("postal_code", ""),
        ),
    )


def _check_shippable(actor, order: Order) -> None:
    if actor is not None:
        _require_manager(actor, order)
    ORDER_STATUS.check(order.status, OrderStatus.SHIPPED)
    if order.group_hold:
        raise DomainError(
            OrderErrorCode.AWAITING_GROUP,
            _("This order waits for its group to fill; ship it once the group is complete."),
            field="status",
        )


def _booking_of(order: Order) -> Shipment | None:
    """The order's unfinished booking (a claimed shipment still BOOKING), if any."""
    if order.shipment_id is None:
        return None
    shipment = Shipment.objects.filter(pk=order.shipment_id).first()
    return shipment if shipment is not None and shipment.status == ShipmentStatus.BOOKING else None


def order_ship(
    *,
    actor,
    order: Order,
    carrier: str,
    service_code: str | None = None,
    tracking_number: str | None = None,
    manager: PluginsManager | None = None,
) -> Order:
    """The vendor hands the package to a carrier: a shipment through logistics, reference = order id.

    Without a service code the service the shopper chose is used when the carrier is the same.
    With a tracking number the package was booked with the carrier outside the platform.

    No row is locked while a carrier answers (its quote, its booking): the order is checked and
    its shipment claimed (BOOKING) under the order's lock in a short transaction, the carrier
    called with no transaction open, and the booking recorded and the order shipped in a second
    transaction (logistics.services, "Booking is two-phase"). Call it with no transaction open.
    Two requests at once book once: the second finds the claim. An unfinished booking (a timeout,
    a crash) is finished by shipping again with the same carrier, or by orders.complete_bookings.
    """
    order = Order.objects.select_related("vendor").get(pk=order.pk)
    _check_shippable(actor, order)
    carrier = (carrier or "").strip()
    if not carrier:
        raise DomainError(OrderErrorCode.REQUIRED, _("Name the carrier."), field="carrier")
    service_code = (service_code or "").strip() or (
        order.shipping_service_code if carrier == order.shipping_carrier_id else ""
    )
    if not service_code:
        raise DomainError(OrderErrorCode.REQUIRED, _("Name the carrier's service."), field="serviceCode")
    request = _shipment_request(order, carrier, service_code)
    pending = _booking_of(order)
    if pending is not None:
        if (pending.carrier_id, pending.service_code) != (carrier, service_code) or tracking_number:
            raise DomainError(
                OrderErrorCode.CARRIER_CALL_IN_PROGRESS,
                _(
                    "This order's parcel is being booked with %(carrier)s (%(service)s); "
                    "ship it with that carrier and service again to finish the booking."
                )
                % {"carrier": pending.carrier_id, "service": pending.service_code},
                field="carrier",
            )
        return _finish_booking(order, pending, request, actor=actor, manager=manager)
    try:
        # The carrier's quote (an API call for some carriers): before any lock is taken.
        priced = logistics.shipment_price(request=request, manager=manager)
    except DomainError as error:
        raise translate_error(error, OrderErrorCode, OrderErrorCode.CARRIER_ERROR) from error
    if tracking_number and tracking_number.strip():
        return _ship_registered(order, request, priced, tracking_number, actor=actor, manager=manager)
    with transaction.atomic():
        order = _locked(order)
        _check_shippable(actor, order)
        pending = _booking_of(order)
        if pending is None:
            try:
                shipment = logistics.shipment_booking_claim(request=request, priced=priced)
            except DomainError as error:
                raise translate_error(error, OrderErrorCode, OrderErrorCode.CARRIER_ERROR) from error
            order.shipment = shipment
            order.save(update_fields=["shipment", "updated_at"])
            claimed = True
        else:
            shipment, claimed = pending, False
    if not claimed:  # another request claimed it between our check and our lock
        return order_ship(actor=actor, order=order, carrier=carrier, service_code=service_code, manager=manager)
    return _book_and_ship(order, shipment, request, actor=actor, manager=manager)


def _ship_registered(order, request, priced, tracking_number: str, *, actor, manager) -> Order:
    """A parcel the vendor booked outside the platform: recorded and shipped in one short transaction."""
    with transaction.atomic():
        order = _locked(order)
        _check_shippable(actor, order)
        if _booking_of(order) is not None:
            raise DomainError(
                OrderErrorCode.CARRIER_CALL_IN_PROGRESS, _("This order's parcel is being booked."), field="carrier"
            )
        try:
            shipment = logistics.shipment_register(
                request=request, tracking_number=tracking_number, manager=manager, priced=priced
            )
        except DomainError as error:
            raise translate_error(error, OrderErrorCode, OrderErrorCode.CARRIER_ERROR) from error
        return _mark_shipped(order, shipment, actor=actor)


def _mark_shipped(order: Order, shipment: Shipment, *, actor) -> Order:
    """Under the order's lock."""
    order.shipment = shipment
    order.shipped_at = timezone.now()
    order.auto_confirm_at = _deadline(order)
    ORDER_STATUS.apply(order, OrderStatus.SHIPPED, update_fields=["shipment", "shipped_at", "auto_confirm_at"])
    audit_log(
        actor=actor, action="order.ship", target=order,
        carrier=shipment.carrier_id, service_code=shipment.service_code, tracking_number=shipment.tracking_number,
    )
    notify("order.shipped", order=order)
    return order


def _finish_booking(
    order: Order, pending: Shipment, request: ShipmentRequest, *, actor, manager, now: datetime | None = None
) -> Order:
    """Take over an unfinished booking (no other attempt calling the carrier now) and finish it."""
    try:
        with transaction.atomic():
            shipment = logistics.shipment_booking_take(shipment=pending, now=now)
    except DomainError as error:
        raise translate_error(error, OrderErrorCode, OrderErrorCode.CARRIER_ERROR) from error
    if shipment is None:  # booked meanwhile by the attempt that held it
        shipment = Shipment.objects.get(pk=pending.pk)
        with transaction.atomic():
            return _record_and_ship(order, shipment, None, actor=actor, manager=manager)
    return _book_and_ship(order, shipment, request, actor=actor, manager=manager)


def _book_and_ship(order: Order, shipment: Shipment, request: ShipmentRequest, *, actor, manager) -> Order:
    """Phases 2 and 3: the carrier books (no transaction open), then the order is shipped."""
    try:
        result = logistics.shipment_booking_call(shipment=shipment, request=request, manager=manager)
    except DomainError as error:
        with transaction.atomic():
            _locked(order)
            if logistics.shipment_booking_failed(shipment=shipment, error=error):
                Order.objects.filter(pk=order.pk, shipment_id=shipment.pk).update(shipment=None)
        raise translate_error(error, OrderErrorCode, OrderErrorCode.CARRIER_ERROR) from error
    try:
        with transaction.atomic():
            shipped = _record_and_ship(order, shipment, result, actor=actor, manager=manager)
    except logistics.BookingNotRecordable as exc:
        Order.objects.filter(pk=order.pk, shipment_id=shipment.pk).update(shipment=None)
        logistics.carrier_booking_cancel_quietly(carrier_id=shipment.carrier_id, result=exc.result, manager=manager)
        raise DomainError(
            OrderErrorCode.CARRIER_ERROR, _("The carrier returned a tracking number already in use."), field="carrier"
        ) from exc
    if shipped.shipment_id != shipment.pk or shipped.status != OrderStatus.SHIPPED:
        # The order was cancelled or refunded while its parcel was being booked: the booking goes too.
        try:
            logistics.shipment_cancel(shipment=shipment, reason="The order was cancelled while it was being booked.",
                                      manager=manager)
        except DomainError:
            logger.exception("Could not cancel the booking of shipment %s of order %s", shipment.pk, order.pk)
        raise DomainError(
            OrderErrorCode.INVALID_TRANSITION,
            _("The order was %(status)s while its parcel was being booked; the booking is cancelled.") % {"status": shipped.status},
            field="status",
        )
    return shipped


def _record_and_ship(order: Order, shipment: Shipment, result, *, actor, manager) -> Order:
    """Phase 3, inside a transaction: the booking recorded under the order's lock and the order shipped."""
    order = _locked(order)
    if result is not None:
        shipment = logistics.shipment_booking_record(shipment=shipment, result=result)
    else:
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if order.status == OrderStatus.SHIPPED and order.shipment_id == shipment.pk:
        return order  # another attempt finished it with the same booking
    if order.status != OrderStatus.PAID or order.shipment_id != shipment.pk or order.group_hold:
        return order
    return _mark_shipped(order, shipment, actor=actor)


def orders_complete_bookings(*, now: datetime | None = None, manager: PluginsManager | None = None) -> int:
    """Finish bookings left BOOKING (a carrier timeout, a crashed worker) whose last attempt is over:
    the carrier is called again with the same idempotency key, so it answers with the booking it may
    already have made. Orders cancelled meanwhile get their booking cancelled. Returns how many
    orders shipped."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.SHIPMENT_CARRIER_CALL_TIMEOUT)
    pending = (
        Order.objects.filter(shipment__status=ShipmentStatus.BOOKING)
        .filter(Q(shipment__carrier_call_started_at__isnull=True) | Q(shipment__carrier_call_started_at__lte=stale))
        .select_related("vendor", "shipment")
        .order_by("pk")
    )
    shipped = 0
    for order in pending[:200]:
        shipment = order.shipment
        request = _shipment_request(order, shipment.carrier_id, shipment.service_code)
        try:
            result = _finish_booking(order, shipment, request, actor=None, manager=manager, now=now)
        except DomainError as error:
            logger.warning("Booking of order %s not finished: %s %s", order.pk, error.code.name, error.message)
            continue
        record_processed("order", order.pk)
        shipped += result.status == OrderStatus.SHIPPED
    return shipped


def order_shipment_delivered(shipment: Shipment) -> None:
    """Logistics' hook: a carrier event delivered this shipment (inside its transaction)."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .filter(shipment_id=shipment.pk)
        .first()
    )
    if order is None or order.status != OrderStatus.SHIPPED:
        return
    order.delivered_at = shipment.delivered_at or timezone.now()
    order.auto_confirm_at = _deadline(order)
    ORDER_STATUS.apply(order, OrderStatus.DELIVERED, update_fields=["delivered_at", "auto_confirm_at"])
    notify("order.delivered", order=order)


# --- Completion and release ----------------------------------------------------------


def order_commission(order: Order, lines=None) -> Money:
    """Line rate x the line's commission base (the line less the store's own discounts), each rounded
    half up; less the share of anything refunded before release."""
    full = sum(
        (
            commission_for(line.commission_base, line.commission_rate)
            for line in (order.lines.all() if lines is None else lines)
        ),
        Money(0, order.currency),
    )
    full = order.money(full.amount)
    if order.refunded_amount > 0:
        back = commission_return_for(
            gross=order.total, commission=full, refunded_before=order.money(0), refund=order.refunded
        )
        full = full - back
    return full


def _mark_completed(order: Order, *, source: str, now, lines=None) -> tuple[Money, Money]:
    """Check the move to COMPLETED and set the completion fields (not saved); returns (gross, commission)."""
    if order.release_frozen:
        raise DomainError(
            OrderErrorCode.RELEASE_FROZEN, _("A dispute holds this order's money; it is released when resolved.")
        )
    ORDER_STATUS.check(order.status, OrderStatus.COMPLETED)
    # The shopper's money left in escrow and the platform's subsidy still to pay (promotions).
    gross = order.total - order.refunded + subsidy_outstanding(order)
    commission = order_commission(order, lines)
    order.commission_amount = commission.amount
    order.completed_at = now
    order.released_at = now
    order.completion_source = source
    order.auto_confirm_at = None
    return gross, commission


_COMPLETION_FIELDS = ["commission_amount", "completed_at", "released_at", "completion_source", "auto_confirm_at"]


def _complete(order: Order, *, actor, source: str) -> Order:
    """Under the order's row lock: completed, and its escrow released (commission to the platform)."""
    gross, commission = _mark_completed(order, source=source, now=timezone.now())
    # The shopper's tier and points first: the member's row before any ledger account.
    points_on_release([order], now=order.completed_at)
    subsidy = subsidy_posting(order)
    if subsidy is not None:
        post(subsidy)
    if gross.amount > 0:
        ledger.escrow_release(order_ref=str(order.pk), vendor=order.vendor_id, gross=gross, commission=commission)
    # A completed order is a sale (the storefront's SALES sort); same transaction as the release.
    sales_record(order.lines.all())
    ORDER_STATUS.apply(order, OrderStatus.COMPLETED, update_fields=_COMPLETION_FIELDS)
    audit_log(
        actor=actor, action="order.complete", target=order, source=source,
        gross=str(gross.amount), commission=str(commission.amount),
    )
    notify("order.completed", order=order)
    return order


def order_confirm_receipt(*, actor, order: Order) -> Order:
    """The shopper got the goods: the order completes and the vendor is paid from escrow."""
    with transaction.atomic():
        order = _locked(order)
        _require_owner(actor, order)
        return _complete(order, actor=actor, source=CompletionSource.SHOPPER)


def order_extend_confirmation(*, actor, order: Order) -> Order:
    """Once per order, the shopper pushes the automatic confirmation back (goods not arrived yet)."""
    with transaction.atomic():
        order = _locked(order)
        _require_owner(actor, order)
        if order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            raise DomainError(
                OrderErrorCode.INVALID_TRANSITION, _("Only a shipped or delivered order has a confirmation deadline.")
            )
        if order.confirmation_extended:
            raise DomainError(OrderErrorCode.ALREADY_EXTENDED, _("The confirmation deadline was already extended once."))
        order.confirmation_extended = True
        order.auto_confirm_at = _deadline(order)
        order.save(update_fields=["confirmation_extended", "auto_confirm_at", "updated_at"])
        audit_log(actor=actor, action="order.extend_confirmation", target=order, until=order.auto_confirm_at.isoformat())
    return order


def orders_due_for_confirmation(*, now: datetime | None = None):
    now = now or timezone.now()
    return Order.objects.filter(
        status__in=(OrderStatus.SHIPPED, OrderStatus.DELIVERED),
        auto_confirm_at__lte=now,
        release_frozen=False,
    ).order_by("auto_confirm_at", "pk")


def orders_auto_confirm(*, now: datetime | None = None, limit: int | None = None, batch_size: int | None = None) -> int:
    """Complete every order whose confirmation deadline passed; returns how many were completed.

    In batches of ORDER_RELEASE_BATCH_SIZE orders (keyset over the primary key, so each batch
    is one index range): each batch is one transaction that locks its orders (rows another run
    or a shopper holds are skipped on PostgreSQL, and taken by whoever holds them), re-checks
    them there, posts their releases with one batched ledger write, and marks them completed
    with one update. Two runs at once, or one after another, complete and release each order
    once; a crash loses at most the batch in flight, which the next run does again.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.ORDER_RELEASE_BATCH_SIZE
    completed, after = 0, 0
    while limit is None or completed < limit:
        size = batch_size if limit is None else min(batch_size, limit - completed)
        ids = list(
            orders_due_for_confirmation(now=now).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size]
        )
        if not ids:
            break
        after = ids[-1]
        try:
            completed += _auto_confirm_batch(ids, now=now)
        except Exception:
            if len(ids) == 1:
                raise
            # One bad order must not hold back the rest of its batch on every run: the batch was
            # rolled back whole; go through it again order by order, so the good ones are released
            # and the bad one raises (and is reported) on its own.
            logger.warning("Releasing orders %s to %s in one batch failed; releasing them one by one", ids[0], ids[-1])
            for pk in ids:
                completed += _auto_confirm_batch([pk], now=now)
    return completed


_RELEASE_READS = (
    "pk", "vendor_id", "user_id", "status", "currency", "total_amount", "shipping_amount", "refunded_amount",
    "subsidy_amount", "release_frozen", "auto_confirm_at",
    *_COMPLETION_FIELDS, "updated_at",
)
_RELEASE_LINE_READS = (
    "pk", "order_id", "product_id", "quantity", "unit_price_amount", "currency", "commission_rate", "store_discount_amount",
)


def _auto_confirm_batch(ids: list[int], *, now: datetime) -> int:
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(of=("self",), skip_locked=connection.features.has_select_for_update_skip_locked)
            .filter(
                pk__in=ids,
                status__in=(OrderStatus.SHIPPED, OrderStatus.DELIVERED),
                release_frozen=False,
                auto_confirm_at__lte=now,
            )
            # Only what the release reads: a batch of thousands builds no more of each row than that.
            .only(*_RELEASE_READS)
            .prefetch_related(
                Prefetch("lines", queryset=OrderLine.objects.only(*_RELEASE_LINE_READS), to_attr="release_lines")
            )
            .order_by("pk")
        )
        if not orders:
            return 0
        stamp = timezone.now()
        postings, lines, audits = [], [], []
        order_type = ContentType.objects.get_for_model(Order)
        for order in orders:
            gross, commission = _mark_completed(
                order, source=CompletionSource.AUTOMATIC, now=stamp, lines=order.release_lines
            )
            subsidy = subsidy_posting(order)
            if subsidy is not None:
                postings.append(subsidy)
            if gross.amount > 0:
                postings.append(
                    ledger.escrow_release_posting(
                        order_ref=str(order.pk), vendor=order.vendor_id, gross=gross, commission=commission
                    )
                )
            lines += order.release_lines
            order.status = OrderStatus.COMPLETED
            order.updated_at = stamp
            audits.append(
                (
                    None, "order.complete", order_type.pk, str(order.pk), "",
                    {"source": CompletionSource.AUTOMATIC.value, "gross": str(gross.amount), "commission": str(commission.amount)},
                    stamp,
                )
            )
        # The shoppers' tiers and points first: their member rows before any ledger account.
        points_on_release(orders, now=stamp)
        post_transactions(postings)
        sales_record(lines)
        # What every order of the batch gets alike is set once; the commission per order.
        update_column(
            Order,
            "commission_amount",
            {order.pk: order.commission_amount for order in orders},
            also={
                "status": OrderStatus.COMPLETED,
                "updated_at": stamp,
                "completed_at": stamp,
                "released_at": stamp,
                "completion_source": CompletionSource.AUTOMATIC,
                "auto_confirm_at": None,
            },
        )
        # The audit entries audit_log would write, without building them as models first.
        insert_rows(AuditLogEntry, ["actor_id", "action", "target_type_id", "target_id", "reason", "data", "created_at"], audits)
        notify("order.completed", orders=orders)
    record_processed("order", *[order.pk for order in orders])
    return len(orders)


# --- Disputes freeze the release -----------------------------------------------------


def order_release_freeze(*, order: Order, reason: str = "") -> Order:
    """Hold the order's money (a dispute was opened): no confirmation releases it until unfrozen."""
    with transaction.atomic():
        order = _locked(order)
        order.release_frozen = True
        order.release_frozen_reason = reason
        order.save(update_fields=["release_frozen", "release_frozen_reason", "updated_at"])
    return order


def order_release_unfreeze(*, order: Order) -> Order:
    """The dispute is over; a passed deadline completes the order at the next periodic run."""
    with transaction.atomic():
        order = _locked(order)
        order.release_frozen = False
        order.release_frozen_reason = ""
        order.save(update_fields=["release_frozen", "release_frozen_reason", "updated_at"])
    return order


# --- Refunds -------------------------------------------------------------------------


def _refunded_after_release(order: Order) -> Money:
    total = (
        OrderRefund.objects.filter(order_id=order.pk, after_release=True, status=OrderRefundStatus.SUCCEEDED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return order.money(total or 0)


def _refund_reserved(order: Order) -> Money:
    """What refunds claimed on the order and not answered yet hold back from what is left to refund."""
    total = (
        OrderRefund.objects.filter(order_id=order.pk, status=OrderRefundStatus.REQUESTED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return order.money(total or 0)


def order_refund(
    *,
    order: Order,
    amount: Money,
    idempotency_key: str,
    actor,
    manager: PluginsManager | None = None,
    reason: str = "",
) -> OrderRefund:
    """Give the shopper `amount` of this order's part of the shared payment back, once per key.

    The one place money goes back to a shopper (cancellations, disputes, returns):
    - before release it comes out of escrow (the vendor's pending share); the rest of the
      order is released as usual later, its commission computed on what is kept;
    - after release the vendor pays it (available balance, then deposit, then a negative
      balance recovered from later sales) and the platform returns its commission on the
      refunded part pro rata.
    A refund of everything that is left moves the order to refunded (an order being cancelled
    stays cancelled); before shipment the stock comes back too, since the goods never left.
    A partial refund changes no status. Returns the refund record; `.order` is the updated order.

    In three phases, so that no row is locked while the gateway answers (call it with no
    transaction open; inside one, the gateway is asked in the caller's transaction):
    1. under the order's lock the amount is checked and claimed: an OrderRefund and a payments
       Refund, REQUESTED under the key, which hold the amount back from what is left to refund;
    2. the gateway is asked under the key, with no transaction open;
    3. under the order's lock the answer is recorded: accepted, the ledger moves and the order's
       status with it; refused, the claim is released (FAILED) and REFUND_FAILED raised; no answer
       (a timeout, a 5xx), the refund stays REQUESTED with what is known and PAYMENT_TIMEOUT or
       GATEWAY_ERROR is raised: a retry with the same key, or the periodic payments.complete_refunds,
       asks the gateway again under the same key and finishes it.
    A retry with the same key of a finished refund returns the first record and moves no money;
    of a refused one raises its REFUND_FAILED again.
    """
    record = _refund_claim(order=order, amount=amount, idempotency_key=idempotency_key, actor=actor, reason=reason)
    error = None
    if record.status == OrderRefundStatus.REQUESTED:
        record, error = _refund_finish(record, manager=manager)
    elif record.status == OrderRefundStatus.FAILED:
        error = _refund_error(record, None)
    if error is not None:
        raise error
    return record


def refund_claim(*, order: Order, amount: Money, idempotency_key: str, actor, reason: str = "") -> OrderRefund:
    """Phase 1 of order_refund alone, in the caller's transaction (the periodic dispute deadlines claim
    a batch's refunds together and finish them with refunds_finish after their transaction)."""
    return _refund_claim(order=order, amount=amount, idempotency_key=idempotency_key, actor=actor, reason=reason)


def _refund_claim(*, order: Order, amount: Money, idempotency_key: str, actor, reason: str) -> OrderRefund:
    """Phase 1 (a transaction; inside the caller's when there is one): the record for this key,
    claimed REQUESTED with its payments Refund; a known key returns its record."""
    if not idempotency_key:
        raise DomainError(OrderErrorCode.REQUIRED, _("An idempotency key is required."), field="idempotency_key")
    with transaction.atomic():
        order = _locked(order)
        done = OrderRefund.objects.filter(idempotency_key=idempotency_key).select_related("payment_refund").first()
        if done is not None:
            if done.order_id != order.pk or done.money != amount:
                raise DomainError(
                    OrderErrorCode.IDEMPOTENCY_CONFLICT,
                    _("The key %(key)s was used for another refund.") % {"key": repr(idempotency_key)},
                    field="idempotency_key",
                )
            done.order = order
            return done
        if order.paid_at is None or order.payment_id is None:
            raise DomainError(OrderErrorCode.NOTHING_TO_REFUND, _("The order was not paid."), field="id")
        if amount.currency.code != order.currency:
            raise DomainError(
                OrderErrorCode.INVALID, _("The order is in %(currency)s.") % {"currency": order.currency}, field="amount"
            )
        if amount.amount <= 0 or quantize(amount.amount, order.currency) != amount.amount:
            raise DomainError(
                OrderErrorCode.INVALID, _("The amount must be positive, in the currency's unit."), field="amount"
            )
        remaining = order.total - order.refunded - _refund_reserved(order)
        if amount.amount > remaining.amount:
            raise DomainError(
                OrderErrorCode.AMOUNT_TOO_HIGH,
                _("At most %(amount)s %(currency)s is left to refund.")
                % {"amount": remaining.amount, "currency": order.currency},
                field="amount",
            )
        try:
            refund = payments.payment_refund_claim(
                payment=order.payment, amount=amount, idempotency_key=idempotency_key,
                reason=reason or f"Order {order.pk}",
            )
        except DomainError as error:
            raise translate_error(error, OrderErrorCode, OrderErrorCode.REFUND_FAILED) from error
        record = OrderRefund.objects.create(
            order=order,
            idempotency_key=idempotency_key,
            amount=amount.amount,
            currency=order.currency,
            status=OrderRefundStatus.REQUESTED,
            payment_refund=refund,
            actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
            reason=reason or "",
        )
    record.order = order
    return record


def _refund_finish(record: OrderRefund, *, manager: PluginsManager | None) -> tuple[OrderRefund, DomainError | None]:
    """Phases 2 and 3 of a claimed refund: the gateway asked (no transaction of ours open), then
    its answer recorded under the order's lock. Returns the record and the error to raise, if any."""
    response = payments.payment_refund_call(refund=record.payment_refund, manager=manager)
    return _refund_record_answer(record, response)


def refunds_finish(records: list[OrderRefund], *, manager: PluginsManager | None = None) -> list[OrderRefund]:
    """Phases 2 and 3 of many claimed refunds (the periodic dispute deadlines): the gateway asked for
    each under its key with no transaction open, then every answer recorded in one transaction, each
    under its order's lock in a savepoint of its own (one that fails stays REQUESTED, finished by a
    later run or payments.complete_refunds; it holds back none of the others). Returns the records
    as they are now (SUCCEEDED, FAILED or still REQUESTED)."""
    answers = []
    for record in records:
        try:
            answers.append((record, payments.payment_refund_call(refund=record.payment_refund, manager=manager)))
        except Exception:
            logger.exception("Order %s: refund %s: the gateway could not be asked", record.order_id, record.idempotency_key)
            answers.append((record, None))
    finished = []
    with transaction.atomic():
        for record, response in answers:
            try:
                with transaction.atomic():
                    record, _error = _refund_record_answer(record, response)
            except Exception:
                logger.exception("Order %s: refund %s not recorded; finished later", record.order_id, record.idempotency_key)
                record = OrderRefund.objects.select_related("payment_refund").get(pk=record.pk)
            finished.append(record)
    return finished


def _refund_record_answer(record: OrderRefund, response) -> tuple[OrderRefund, DomainError | None]:
    """Phase 3: the gateway's answer (None: not asked, answered meanwhile) recorded under the order's lock."""
    with transaction.atomic():
        order = _locked(record.order)
        record = OrderRefund.objects.select_for_update(of=("self",)).select_related("payment_refund").get(pk=record.pk)
        record.order = order
        if record.status != OrderRefundStatus.REQUESTED:
            return record, _refund_error(record, None)  # finished meanwhile (a retry, the periodic task)
        if _refunds_everything(order, record) and order.status == OrderStatus.PAID:
            # Stock first: variants are always locked before payments and the ledger (no deadlocks).
            stock_lock(line.variant_id for line in order.lines.all() if line.variant_id is not None)
        refund = payments.payment_refund_record(refund=record.payment_refund, response=response)
        record.payment_refund = refund
        if refund.status in payments.ANSWERED:
            _refund_apply(order, record)
        elif refund.status == payments.RefundStatus.FAILED:
            record.status = OrderRefundStatus.FAILED
            record.save(update_fields=["status"])
            audit_log(
                actor=record.actor, action="order.refund_failed", target=order, reason=record.reason,
                amount=str(record.amount), key=record.idempotency_key, error=refund.error_message,
            )
            logger.warning("Order %s: refund %s refused by the gateway: %s", order.pk, record.idempotency_key, refund.error_message)
    return record, _refund_error(record, response)


def _refund_finish_quietly(record_id: int, manager: PluginsManager | None = None) -> None:
    """_refund_finish outside any request (after a commit, a webhook): what does not finish is logged
    and left to the periodic payments.complete_refunds."""
    record = OrderRefund.objects.select_related("payment_refund").get(pk=record_id)
    if record.status != OrderRefundStatus.REQUESTED:
        return
    record, error = _refund_finish(record, manager=manager)
    if error is not None:
        logger.warning("Order %s: refund %s not finished: %s %s", record.order_id, record.idempotency_key,
                       error.code.name, error.message)


def _refund_error(record: OrderRefund, response) -> DomainError | None:
    if record.status == OrderRefundStatus.SUCCEEDED:
        return None
    if record.status == OrderRefundStatus.FAILED:
        detail = record.payment_refund.error_message if record.payment_refund_id else ""
        return DomainError(
            OrderErrorCode.REFUND_FAILED,
            _("The gateway refused the refund: %(reason)s") % {"reason": detail} if detail
            else _("The gateway refused the refund."),
        )
    error = payments.refund_error(record.payment_refund, response)
    return translate_error(error, OrderErrorCode, OrderErrorCode.REFUND_FAILED) if error is not None else None


def _refunds_everything(order: Order, record: OrderRefund) -> bool:
    return record.amount == (order.total - order.refunded).amount and ORDER_STATUS.can(order.status, OrderStatus.REFUNDED)


def _refund_apply(order: Order, record: OrderRefund) -> None:
    """Phase 3, the gateway took the refund: the ledger moves (out of escrow before release, from the
    vendor after it) and the order with it. Under the order's lock, once (the record was REQUESTED)."""
    amount = record.money
    full = _refunds_everything(order, record)
    if full and order.status == OrderStatus.COMPLETED:
        # Refunded in full after completion: no longer a sale.
        sales_record(order.lines.all(), sign=-1)
    if full and order.status == OrderStatus.PAID:
        stock_return(list(order.lines.all()))
    after_release = order.released_at is not None
    commission_back = order.money(0)
    try:
        if after_release and order.user_id:
            # The points issued at release follow the refund back (the member's row before the ledger).
            points_on_refund(order=order, amount=amount, refund_ref=record.idempotency_key)
        # The platform's voucher subsidy follows the refund back to the platform.
        order_refund_shares(order=order, amount=amount, refund_ref=record.idempotency_key, after_release=after_release)
        if not after_release:
            ledger.refund_from_escrow(
                refund_ref=record.idempotency_key, order_ref=str(order.pk), vendor=order.vendor_id,
                buyer=order.user_id, amount=amount,
            )
        else:
            refunded_after = _refunded_after_release(order)
            # What left escrow at release, and the commission taken on it.
            released_gross = order.total - (order.refunded - refunded_after)
            commission_back = commission_return_for(
                gross=released_gross,
                commission=order.money(order.commission_amount or 0),
                refunded_before=refunded_after,
                refund=amount,
            )
            ledger.refund_from_vendor(
                refund_ref=record.idempotency_key, order_ref=str(order.pk), vendor=order.vendor_id,
                buyer=order.user_id, amount=amount, commission_returned=commission_back,
            )
    except DomainError as error:
        raise translate_error(error, OrderErrorCode, OrderErrorCode.REFUND_FAILED) from error
    order.refunded_amount += amount.amount
    if full:
        order.auto_confirm_at = None
        ORDER_STATUS.apply(order, OrderStatus.REFUNDED, update_fields=["refunded_amount", "auto_confirm_at"])
    else:
        order.save(update_fields=["refunded_amount", "updated_at"])
    record.status = OrderRefundStatus.SUCCEEDED
    record.after_release = after_release
    record.commission_returned_amount = commission_back.amount
    record.save(update_fields=["status", "after_release", "commission_returned_amount"])
    audit_log(
        actor=record.actor, action="order.refund", target=order, reason=record.reason,
        amount=str(amount.amount), key=record.idempotency_key, after_release=after_release,
        commission_returned=str(commission_back.amount), status=order.status,
    )
    logger.info("Order %s: refund %s of %s (%s)", order.pk, record.payment_refund_id, amount, record.idempotency_key)


def orders_complete_refunds(now: datetime, manager: PluginsManager | None = None) -> int:
    """payments' REFUND_COMPLETERS: finish order refunds left REQUESTED whose last attempt is over
    (asked again under the same key) or that a webhook answered meanwhile. Returns how many finished."""
    stale = now - timedelta(seconds=settings.PAYMENT_REFUND_RETRY_AFTER)
    due = (
        OrderRefund.objects.filter(status=OrderRefundStatus.REQUESTED)
        .filter(Q(payment_refund__updated_at__lte=stale) | ~Q(payment_refund__status=payments.RefundStatus.REQUESTED))
        .select_related("payment_refund")
        .order_by("pk")
    )
    finished = 0
    for record in due[:200]:
        try:
            record, error = _refund_finish(record, manager=manager)
        except DomainError as error:
            logger.warning("Refund %s of order %s not finished: %s", record.idempotency_key, record.order_id, error.message)
            continue
        if record.status != OrderRefundStatus.REQUESTED:
            record_processed("order_refund", record.pk)
            finished += 1
    return finished


def on_refund_answered(refund_id: int) -> None:
    """payments' REFUND_ANSWERED_HANDLERS: a webhook answered a refund whose call had timed out."""
    record = OrderRefund.objects.filter(payment_refund_id=refund_id, status=OrderRefundStatus.REQUESTED).first()
    if record is not None:
        _refund_finish_quietly(record.pk)


# --- Cancellation ------------------------------------------------------------------


CANCELLABLE = (OrderStatus.UNPAID, OrderStatus.PAID)
# A payment in one of these states holds (or may still take) money that nothing was captured from.
UNCAPTURED = (PaymentState.PENDING, PaymentState.ACTION_REQUIRED, PaymentState.AUTHORIZED)


def _cancel(order: Order, *, actor, by: str, reason: str) -> tuple[Order, OrderRefund | None]:
    """Under the order's row lock. A paid order's part of the payment is claimed for a refund out of
    escrow, which the caller finishes after its transaction (_refund_after); an unpaid order's part of
    an uncaptured payment is the caller's too (_release_uncaptured). Returns (order, claimed refund)."""
    if order.status not in CANCELLABLE:
        raise DomainError(
            OrderErrorCode.INVALID_TRANSITION,
            _("Only an order that has not been shipped can be cancelled; after shipment, open a dispute."),
            field="status",
        )
    was_paid = order.status == OrderStatus.PAID
    left = order.total - order.refunded - _refund_reserved(order)
    if was_paid and left.amount <= 0:
        # A refund of everything is with the gateway: it ends the order (refunded). Cancelling as
        # well would leave nothing claimed if that refund were refused.
        raise DomainError(
            OrderErrorCode.INVALID_TRANSITION,
            _("A refund of the whole order is under way; the order cannot be cancelled as well."),
            field="status",
        )
    # Stock first: variants are always locked before payments and the ledger (no deadlocks).
    stock_return(list(order.lines.all()))
    order.cancel_reason = reason or ""
    order.cancelled_at = timezone.now()
    order.auto_confirm_at = None
    order.reserved_until = None
    # Cancelled first, so that refunding the rest below keeps it cancelled (and returns no stock twice).
    ORDER_STATUS.apply(
        order, OrderStatus.CANCELLED, update_fields=["cancel_reason", "cancelled_at", "auto_confirm_at", "reserved_until"]
    )
    claimed = None
    if was_paid:
        claimed = _refund_claim(
            order=order, amount=left, idempotency_key=f"order:{order.pk}:cancel", actor=actor,
            reason=reason or "Cancelled before shipment.",
        )
    # The checkout's vouchers count as unused again once all its orders are cancelled.
    promotions_give_back(order)
    audit_log(actor=actor, action="order.cancel", target=order, reason=reason, by=by, refunded=str(left.amount if claimed else 0))
    return order, claimed


def _refund_after(claimed: OrderRefund | None, *, manager: PluginsManager | None) -> None:
    """Finish a cancellation's refund after the cancelling transaction: the cancellation stands
    whatever the gateway answers. No answer: finished later (a webhook, payments.complete_refunds).
    Refused: REFUND_FAILED is raised, the order cancelled and its money still in escrow for staff
    to refund with a new key."""
    if claimed is None or claimed.status != OrderRefundStatus.REQUESTED:
        return
    record, error = _refund_finish(claimed, manager=manager)
    if error is None:
        return
    if record.status == OrderRefundStatus.FAILED:
        raise DomainError(
            OrderErrorCode.REFUND_FAILED,
            _("The order is cancelled, but the gateway refused its refund: %(reason)s") % {"reason": error.message},
        )
    logger.warning("Order %s: cancelled; its refund is finished later (%s)", record.order_id, error.message)


@dataclass(frozen=True)
class _Release:
    """What to do with an uncaptured payment after the cancelling transaction: void it, or capture
    `amount` (the orders left) from it."""

    payment_id: int
    amount: Money | None = None


def _release_uncaptured(payment_id: int) -> _Release | None:
    """Orders of a payment that was not captured were cancelled: the payment must not take their part.

    The gateway is never asked here, while the stock's and the orders' row locks are held: what
    to ask is returned and the caller asks after its transaction (_release_after).
    A void cancels a whole authorization (gateways void all or nothing), so:
    - no order left to pay: the payment is to be voided. A void the gateway refuses does not
      hold the cancellation up: an authorization never captured lapses, and money captured
      after all is refunded by the capture (_hold_captured);
    - orders left on an authorized payment: it is to be captured for those orders only, which
      releases the rest of the authorization (and pays them, through PAYMENT_CAPTURED_HANDLERS);
      if the gateway captures more than asked, the cancelled orders' part is refunded (_hold_captured);
    - orders left on a payment still pending at the gateway: nothing can change now; when
      it is captured the cancelled orders' part is refunded the same way.
    Under the payment's row lock, taken before its orders' (the webhook's order).
    """
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status not in UNCAPTURED:
        return None
    left = list(Order.objects.filter(payment_id=payment.pk, status=OrderStatus.UNPAID).order_by("pk"))
    if not left:
        return _Release(payment.pk)
    if payment.status != PaymentState.AUTHORIZED:
        return None
    return _Release(payment.pk, Money(sum((o.total_amount for o in left), Decimal(0)), payment.currency))


def _release_after(release: _Release | None, *, manager: PluginsManager | None) -> None:
    """Void or capture in part a payment some of whose orders were cancelled, outside the cancelling
    transaction. Neither holds the cancellation up: a refused void lapses (a later capture is
    refunded); a capture that fails leaves the orders left unpaid, captured by a later attempt
    (checkoutComplete again) or expired."""
    if release is None:
        return
    payment = Payment(pk=release.payment_id)
    try:
        if release.amount is None:
            payments.payment_void_unlocked(payment=payment, manager=manager)
        else:
            payments.payment_capture_unlocked(payment=payment, amount=release.amount, manager=manager)
    except DomainError as error:
        what = "void" if release.amount is None else "capture"
        logger.warning("Payment %s: %s refused (%s)", release.payment_id, what, error.message)


def _lock_for_cancel(order: Order) -> Order:
    """The order under its row lock; an unpaid order's payment and sibling orders first, in the order
    the gateway's webhook locks them (payment, then its orders by key), so the two never deadlock."""
    current = Order.objects.filter(pk=order.pk).values("status", "payment_id").first()
    if current and current["payment_id"] and current["status"] == OrderStatus.UNPAID:
        list(Payment.objects.select_for_update().filter(pk=current["payment_id"]).values_list("pk", flat=True))
        list(
            Order.objects.select_for_update(of=("self",)).filter(payment_id=current["payment_id"])
            .order_by("pk").values_list("pk", flat=True)
        )
    return _locked(order)


def order_cancel(*, actor, order: Order, reason: str = "", manager: PluginsManager | None = None) -> Order:
    """Cancel before shipment, by the vendor (or order staff) or by the shopper who placed it.

    The stock comes back; a paid order's money is refunded out of escrow through the gateway;
    an unpaid order's part of an authorized payment is released (_release_uncaptured). The
    cancellation is one short transaction; the gateway is asked after it, with no row locked.
    """
    with transaction.atomic():
        order = _lock_for_cancel(order)
        if may_manage_order(actor, order):
            by = "vendor"
        elif is_order_owner(actor, order):
            by = "shopper"
        else:
            raise DomainError(OrderErrorCode.NOT_FOUND, _("No such order."), field="id")
        was_unpaid = order.status == OrderStatus.UNPAID
        order, claimed = _cancel(order, actor=actor, by=by, reason=reason)
        release = None
        if was_unpaid and order.payment_id is not None:
            release = _release_uncaptured(order.payment_id)
    _release_after(release, manager=manager)
    _refund_after(claimed, manager=manager)
    if release is not None or claimed is not None:
        order.refresh_from_db()
    return order


def order_cancel_for_group(*, order: Order, reason: str, manager: PluginsManager | None = None) -> Order:
    """promotions' group buying: a failed group's member order is cancelled and refunded in full
    (out of escrow, keyed `order:<id>:cancel`), the gateway asked after the transaction. Safe to
    run again: an order cancelled already only has its cancellation's refund finished if a crash
    left it claimed (REQUESTED); nothing is refunded twice."""
    with transaction.atomic():
        order = _lock_for_cancel(order)
        claimed = release = None
        if order.status in CANCELLABLE:
            was_unpaid = order.status == OrderStatus.UNPAID
            order, claimed = _cancel(order, actor=None, by="platform", reason=reason)
            if was_unpaid and order.payment_id is not None:
                release = _release_uncaptured(order.payment_id)
        elif order.status == OrderStatus.CANCELLED:
            claimed = OrderRefund.objects.filter(
                order_id=order.pk, idempotency_key=f"order:{order.pk}:cancel", status=OrderRefundStatus.REQUESTED
            ).first()
        else:
            logger.warning("Order %s of a failed group is %s: not cancelled", order.pk, order.status)
    _release_after(release, manager=manager)
    _refund_after(claimed, manager=manager)
    return order


def orders_expire_unpaid(
    *, now: datetime | None = None, manager: PluginsManager | None = None, batch_size: int | None = None
) -> int:
    """Cancel unpaid orders whose stock reservation ran out; returns how many.

    In batches of ORDER_EXPIRY_BATCH_SIZE orders (keyset over the primary key). Each batch is one
    transaction that locks the batch's payments, then their orders (on PostgreSQL skipping rows
    another run, a shopper or a webhook holds: those are theirs), re-checks them there, gives their
    stock back with one statement, cancels them with one and writes their audit entries with one;
    the promotions' give-back runs only for orders that have something to give back. The orders of
    one payment expire together (a payment's due orders join its batch), so the payment is voided
    once when none is left (not captured for siblings about to expire too); the voids are asked
    after the batch's transaction, with no row locked. A batch that fails is gone through again
    payment by payment, so one bad order never holds back the others. Two runs at once, or one
    after another, cancel each order once.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.ORDER_EXPIRY_BATCH_SIZE
    due = Order.objects.filter(status=OrderStatus.UNPAID, reserved_until__lte=now)
    cancelled, after = 0, 0
    while True:
        rows = list(due.filter(pk__gt=after).order_by("pk").values_list("pk", "payment_id")[:batch_size])
        if not rows:
            break
        after = rows[-1][0]
        try:
            done, releases = _expire_batch(rows, now=now)
        except Exception:
            if len(rows) == 1:
                logger.exception("Unpaid order %s did not expire", rows[0][0])
                continue
            logger.warning("Expiring unpaid orders %s to %s in one batch failed; expiring them payment by payment",
                           rows[0][0], rows[-1][0])
            done, releases = [], []
            groups: dict[tuple, list[tuple]] = {}
            for pk, payment_id in rows:
                groups.setdefault(("payment", payment_id) if payment_id else ("order", pk), []).append((pk, payment_id))
            for group in groups.values():
                try:
                    one_done, one_releases = _expire_batch(group, now=now)
                except Exception:
                    logger.exception("Unpaid orders %s did not expire", [pk for pk, _ in group])
                    continue
                done += one_done
                releases += one_releases
        # The gateway after the transaction: a void it refuses does not hold the cancellation up
        # (an authorization never captured lapses). The voids' own updates go in one transaction.
        payments.payments_void_unlocked(
            payment_ids=[release.payment_id for release in releases if release.amount is None], manager=manager
        )
        for release in releases:
            if release.amount is not None:
                _release_after(release, manager=manager)
        cancelled += len(done)
        record_processed("order", *done)
    return cancelled


_EXPIRY_REASON = "The payment did not arrive in time."


def _expire_batch(rows: list[tuple[int, int | None]], *, now: datetime) -> tuple[list[int], list[_Release]]:
    """One transaction: the due orders `rows` (pk, payment_id) and their payments' other due orders
    cancelled; returns (cancelled ids, what to ask the gateway for each payment afterwards)."""
    skip = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        payment_ids = sorted({payment_id for _, payment_id in rows if payment_id})
        # The payments first, then their orders by key: the webhook's lock order (no deadlocks).
        locked_payments = set(
            Payment.objects.select_for_update(skip_locked=skip).filter(pk__in=payment_ids)
            .order_by("pk").values_list("pk", flat=True)
        )
        own = [pk for pk, payment_id in rows if payment_id is None]
        orders = list(
            Order.objects.select_for_update(of=("self",), skip_locked=skip)
            .filter(Q(pk__in=own) | Q(payment_id__in=sorted(locked_payments)))
            # Re-checked under the lock: a payment may have arrived meanwhile.
            .filter(status=OrderStatus.UNPAID, reserved_until__isnull=False, reserved_until__lte=now)
            .only("pk", "status", "payment_id", "checkout_token", "group_hold", "vendor_id", "user_id", "total_amount",
                  "currency", "refunded_amount", "updated_at")
            .order_by("pk")
        )
        if not orders:
            return [], []
        for order in orders:
            ORDER_STATUS.check(order.status, OrderStatus.CANCELLED)
        ids = [order.pk for order in orders]
        # Stock first: variants are always locked before the ledger (no deadlocks).
        stock_return(list(OrderLine.objects.filter(order_id__in=ids).only("pk", "order_id", "variant_id", "quantity")))
        stamp = timezone.now()
        for start in range(0, len(ids), 500):
            Order.objects.filter(pk__in=ids[start : start + 500]).update(
                status=OrderStatus.CANCELLED, cancel_reason=_EXPIRY_REASON, cancelled_at=stamp, auto_confirm_at=None,
                reserved_until=None, updated_at=stamp,
            )
        give_back = promotions_give_back_needed(orders)
        for order in orders:
            order.status = OrderStatus.CANCELLED
            order.cancel_reason, order.cancelled_at, order.reserved_until = _EXPIRY_REASON, stamp, None
            if order.pk in give_back:
                promotions_give_back(order)
        order_type = ContentType.objects.get_for_model(Order)
        insert_rows(
            AuditLogEntry,
            ["actor_id", "action", "target_type_id", "target_id", "reason", "data", "created_at"],
            [
                (None, "order.cancel", order_type.pk, str(order.pk), _EXPIRY_REASON,
                 {"by": "platform", "refunded": "0"}, stamp)
                for order in orders
            ],
        )
        releases = _releases_uncaptured(sorted({order.payment_id for order in orders if order.payment_id}))
    return ids, releases


def _releases_uncaptured(payment_ids: list[int]) -> list[_Release]:
    """_release_uncaptured for many payments, under their row locks (taken already), in two queries."""
    if not payment_ids:
        return []
    statuses = dict(Payment.objects.filter(pk__in=payment_ids).values_list("pk", "status"))
    left: dict[int, Decimal] = {}
    for payment_id, total in Order.objects.filter(payment_id__in=payment_ids, status=OrderStatus.UNPAID).values_list(
        "payment_id", "total_amount"
    ):
        left[payment_id] = left.get(payment_id, Decimal(0)) + total
    currencies = dict(Payment.objects.filter(pk__in=[pk for pk in payment_ids if pk in left]).values_list("pk", "currency"))
    releases = []
    for payment_id in payment_ids:
        status = statuses.get(payment_id)
        if status not in UNCAPTURED:
            continue
        if payment_id not in left:
            releases.append(_Release(payment_id))
        elif status == PaymentState.AUTHORIZED:
            releases.append(_Release(payment_id, Money(left[payment_id], currencies[payment_id])))
    return releases


# --- Hooks for payments settled later by the gateway's webhook ------------------------------


def on_payment_captured(payment) -> None:
    """payments' PAYMENT_CAPTURED_HANDLERS: a payment pending or authorized at checkout was captured."""
    order_payment_captured(payment=payment)


def on_payment_failed(payment) -> None:
    """payments' PAYMENT_FAILED_HANDLERS: a payment pending at checkout failed; its orders give their stock back."""
    with transaction.atomic():
        for order in Order.objects.select_for_update(of=("self",)).filter(payment=payment, status=OrderStatus.UNPAID).order_by("pk"):
            _cancel(order, actor=None, by="platform", reason="The payment failed.")


def on_payment_disputed(payment, event) -> None:
    """payments' PAYMENT_DISPUTED_HANDLERS: a chargeback was opened on the payment; its orders'
    money stays in escrow (no confirmation releases it) until staff unfreeze them."""
    for order in Order.objects.filter(payment=payment, released_at__isnull=True).order_by("pk"):
        order_release_freeze(order=order, reason=f"Payment disputed at the gateway ({event.event_id}).")
