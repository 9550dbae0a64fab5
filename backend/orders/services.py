"""Order lifecycle: placement, payment into escrow, shipping, delivery, receipt
confirmation and release, cancellation with refund.

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

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import Money, quantize
from backend.finance import services as ledger
from backend.finance.commission import commission_for, commission_return_for
from backend.logistics import services as logistics
from backend.logistics.models import Shipment
from backend.payments import services as payments
from plugins.logistics.interface import ContactAddress, Parcel, ShipmentRequest
from plugins.manager import PluginsManager

from .commission import commission_rate_for
from .error_codes import OrderErrorCode
from .models import CompletionSource, Order, OrderLine, OrderStatus
from .selectors import is_order_owner, may_manage_order, vendor_shipping_origin
from .state_machines import ORDER_STATUS
from .stock import stock_return

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
) -> list[Order]:
    """Create one unpaid order per vendor package with its lines as a snapshot.

    Stock is the caller's (checkout locks and takes it before placing).
    """
    at = at or timezone.now()
    orders = []
    for package in packages:
        subtotal = sum((line.unit_price.amount * line.quantity for line in package.lines), Decimal(0))
        subtotal = quantize(subtotal, currency)
        shipping = quantize(package.shipping.price.amount, currency)
        order = Order.objects.create(
            checkout_token=checkout_token,
            vendor=package.vendor,
            user=user if user is not None and user.is_authenticated else None,
            email=email,
            currency=currency,
            subtotal_amount=subtotal,
            shipping_amount=shipping,
            total_amount=subtotal + shipping,
            shipping_carrier_id=package.shipping.carrier,
            shipping_service_code=package.shipping.service_code,
            shipping_service_name=package.shipping.service_name,
            shipping_promised_days=package.shipping.promised_days,
            shipping_region=shipping_region,
            shipping_address=shipping_address,
            shipping_origin=package.origin,
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
                    commission_rate=commission_rate_for(package.vendor, line.variant.product.category, at),
                    weight_kg=line.variant.weight_kg,
                )
                for line in package.lines
            ]
        )
        orders.append(order)
    return orders


def orders_mark_paid(*, orders: list[Order], payment) -> list[Order]:
    """A captured payment covers these orders: hold it in escrow, one split per order, and mark them paid.

    Also the hook for a payment captured later (a gateway that answered pending):
    call it with the payment's unpaid orders.
    """
    orders = [o for o in orders if o.status == OrderStatus.UNPAID]
    if not orders:
        return []
    ledger.escrow_hold(
        payment=payment,
        splits=[ledger.EscrowSplit(order_ref=str(o.pk), vendor_id=o.vendor_id, amount=o.total) for o in orders],
    )
    now = timezone.now()
    for order in orders:
        order.payment = payment
        order.paid_at = now
        order.reserved_until = None
        ORDER_STATUS.apply(order, OrderStatus.PAID, update_fields=["payment", "paid_at", "reserved_until"])
    return orders


def orders_reserve(*, orders: list[Order], payment, until: datetime) -> None:
    """The payment is not captured yet: the orders hold their stock until `until`, then expire."""
    for order in orders:
        order.payment = payment
        order.reserved_until = until
        order.save(update_fields=["payment", "reserved_until", "updated_at"])


def order_payment_captured(*, payment) -> list[Order]:
    """A payment that was pending at checkout is now captured (called from the payment's webhook)."""
    with transaction.atomic():
        orders = list(Order.objects.select_for_update().filter(payment=payment, status=OrderStatus.UNPAID).order_by("pk"))
        return orders_mark_paid(orders=orders, payment=payment)


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
        raise DomainError(OrderErrorCode.NOT_FOUND, "No such order.", field="id")


def _require_owner(actor, order: Order) -> None:
    if not is_order_owner(actor, order):
        raise DomainError(OrderErrorCode.NOT_FOUND, "No such order.", field="id")


# --- Shipping and delivery -----------------------------------------------------------


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
    """
    with transaction.atomic():
        order = _locked(order)
        _require_manager(actor, order)
        ORDER_STATUS.check(order.status, OrderStatus.SHIPPED)
        carrier = (carrier or "").strip()
        if not carrier:
            raise DomainError(OrderErrorCode.REQUIRED, "Name the carrier.", field="carrier")
        service_code = (service_code or "").strip() or (
            order.shipping_service_code if carrier == order.shipping_carrier_id else ""
        )
        if not service_code:
            raise DomainError(OrderErrorCode.REQUIRED, "Name the carrier's service.", field="serviceCode")
        address = order.shipping_address or {}
        request = ShipmentRequest(
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
        try:
            if tracking_number and tracking_number.strip():
                shipment = logistics.shipment_register(request=request, tracking_number=tracking_number, manager=manager)
            else:
                shipment = logistics.shipment_create(request=request, manager=manager)
        except DomainError as error:
            raise translate_error(error, OrderErrorCode, OrderErrorCode.CARRIER_ERROR) from error
        order.shipment = shipment
        order.shipped_at = timezone.now()
        order.auto_confirm_at = _deadline(order)
        ORDER_STATUS.apply(order, OrderStatus.SHIPPED, update_fields=["shipment", "shipped_at", "auto_confirm_at"])
        audit_log(
            actor=actor, action="order.ship", target=order,
            carrier=carrier, service_code=service_code, tracking_number=shipment.tracking_number,
        )
    return order


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


# --- Completion and release ----------------------------------------------------------


def order_commission(order: Order) -> Money:
    """Line rate x line amount, each rounded half up; less the share of anything refunded before release."""
    full = sum(
        (commission_for(line.total, line.commission_rate) for line in order.lines.all()),
        Money(0, order.currency),
    )
    full = order.money(full.amount)
    if order.refunded_amount > 0:
        back = commission_return_for(
            gross=order.total, commission=full, refunded_before=order.money(0), refund=order.refunded
        )
        full = full - back
    return full


def _complete(order: Order, *, actor, source: str) -> Order:
    """Under the order's row lock: completed, and its escrow released (commission to the platform)."""
    if order.release_frozen:
        raise DomainError(
            OrderErrorCode.RELEASE_FROZEN, "A dispute holds this order's money; it is released when resolved."
        )
    ORDER_STATUS.check(order.status, OrderStatus.COMPLETED)
    gross = order.total - order.refunded
    commission = order_commission(order)
    if gross.amount > 0:
        ledger.escrow_release(order_ref=str(order.pk), vendor=order.vendor_id, gross=gross, commission=commission)
    now = timezone.now()
    order.commission_amount = commission.amount
    order.completed_at = now
    order.released_at = now
    order.completion_source = source
    order.auto_confirm_at = None
    ORDER_STATUS.apply(
        order,
        OrderStatus.COMPLETED,
        update_fields=["commission_amount", "completed_at", "released_at", "completion_source", "auto_confirm_at"],
    )
    audit_log(
        actor=actor, action="order.complete", target=order, source=source,
        gross=str(gross.amount), commission=str(commission.amount),
    )
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
                OrderErrorCode.INVALID_TRANSITION, "Only a shipped or delivered order has a confirmation deadline."
            )
        if order.confirmation_extended:
            raise DomainError(OrderErrorCode.ALREADY_EXTENDED, "The confirmation deadline was already extended once.")
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


def orders_auto_confirm(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Complete every order whose confirmation deadline passed; returns how many were completed.

    Each order in its own transaction under its row lock, re-checked there, so two
    runs at once (or one after another) complete and release each order once.
    """
    now = now or timezone.now()
    ids = list(orders_due_for_confirmation(now=now).values_list("pk", flat=True)[:limit])
    completed = 0
    for pk in ids:
        with transaction.atomic():
            order = Order.objects.select_for_update(of=("self",)).filter(pk=pk).first()
            if (
                order is None
                or order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
                or order.release_frozen
                or order.auto_confirm_at is None
                or order.auto_confirm_at > now
            ):
                continue
            _complete(order, actor=None, source=CompletionSource.AUTOMATIC)
            completed += 1
    return completed


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


# --- Cancellation ------------------------------------------------------------------


CANCELLABLE = (OrderStatus.UNPAID, OrderStatus.PAID)


def _refund_paid_order(order: Order, *, reason: str, manager: PluginsManager | None) -> Money | None:
    """Give the shopper this order's part of the shared payment back, out of escrow."""
    amount = order.total - order.refunded
    if amount.amount <= 0 or order.payment_id is None:
        return None
    key = f"order:{order.pk}:cancel"
    try:
        refund = payments.payment_refund(
            payment=order.payment, amount=amount, idempotency_key=key, reason=reason, manager=manager
        )
    except DomainError as error:
        raise translate_error(error, OrderErrorCode, OrderErrorCode.REFUND_FAILED) from error
    ledger.refund_from_escrow(
        refund_ref=key, order_ref=str(order.pk), vendor=order.vendor_id, buyer=order.user_id, amount=amount
    )
    logger.info("Order %s cancelled: refund %s of %s", order.pk, refund.pk, amount)
    return amount


def _cancel(order: Order, *, actor, by: str, reason: str, manager: PluginsManager | None) -> Order:
    """Under the order's row lock."""
    if order.status not in CANCELLABLE:
        raise DomainError(
            OrderErrorCode.INVALID_TRANSITION,
            "Only an order that has not been shipped can be cancelled; after shipment, open a dispute.",
            field="status",
        )
    # Stock first: variants are always locked before payments and the ledger (no deadlocks).
    stock_return(list(order.lines.all()))
    refunded = None
    if order.status == OrderStatus.PAID:
        refunded = _refund_paid_order(order, reason=reason, manager=manager)
        if refunded is not None:
            order.refunded_amount += refunded.amount
    order.cancel_reason = reason or ""
    order.cancelled_at = timezone.now()
    order.auto_confirm_at = None
    order.reserved_until = None
    ORDER_STATUS.apply(
        order,
        OrderStatus.CANCELLED,
        update_fields=["refunded_amount", "cancel_reason", "cancelled_at", "auto_confirm_at", "reserved_until"],
    )
    audit_log(
        actor=actor, action="order.cancel", target=order, reason=reason, by=by,
        refunded=str(refunded.amount) if refunded is not None else "0",
    )
    return order


def order_cancel(*, actor, order: Order, reason: str = "", manager: PluginsManager | None = None) -> Order:
    """Cancel before shipment, by the vendor (or order staff) or by the shopper who placed it.

    The stock comes back; a paid order's money is refunded out of escrow through the gateway.
    """
    with transaction.atomic():
        order = _locked(order)
        if may_manage_order(actor, order):
            by = "vendor"
        elif is_order_owner(actor, order):
            by = "shopper"
        else:
            raise DomainError(OrderErrorCode.NOT_FOUND, "No such order.", field="id")
        return _cancel(order, actor=actor, by=by, reason=reason, manager=manager)


def orders_expire_unpaid(*, now: datetime | None = None) -> int:
    """Cancel unpaid orders whose stock reservation ran out; returns how many."""
    now = now or timezone.now()
    ids = list(
        Order.objects.filter(status=OrderStatus.UNPAID, reserved_until__lte=now).values_list("pk", flat=True)
    )
    cancelled = 0
    for pk in ids:
        with transaction.atomic():
            order = Order.objects.select_for_update(of=("self",)).filter(pk=pk).first()
            # Re-checked under the lock: a payment may have arrived meanwhile.
            if order is None or order.status != OrderStatus.UNPAID or not order.reserved_until or order.reserved_until > now:
                continue
            _cancel(order, actor=None, by="platform", reason="The payment did not arrive in time.", manager=None)
            cancelled += 1
    return cancelled


# --- Hooks for payments settled later by the gateway's webhook ------------------------------


def on_payment_captured(payment) -> None:
    """payments' PAYMENT_CAPTURED_HANDLERS: a payment pending at checkout was captured."""
    order_payment_captured(payment=payment)


def on_payment_failed(payment) -> None:
    """payments' PAYMENT_FAILED_HANDLERS: a payment pending at checkout failed; its orders give their stock back."""
    with transaction.atomic():
        for order in Order.objects.select_for_update(of=("self",)).filter(payment=payment, status=OrderStatus.UNPAID).order_by("pk"):
            _cancel(order, actor=None, by="platform", reason="The payment failed.", manager=None)
