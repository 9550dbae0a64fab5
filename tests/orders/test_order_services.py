"""Order services: the state machine, shipping, delivery, confirmation and release, cancellation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from backend.core.audit import audit_trail
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.finance import accounts
from backend.finance.ledger import escrow_total, ledger_problems
from backend.logistics import services as logistics
from backend.logistics.models import ShipmentStatus
from backend.orders import services
from backend.orders.models import Order, OrderStatus, PaymentStatus
from backend.orders.state_machines import ORDER_STATUS
from backend.payments.models import PaymentStatus as ChargeStatus
from plugins.logistics.interface import TrackingEventData

from ..checkout.helpers import GUANGZHOU, HANGZHOU, TABLE_RATE, available, balance, commission_account, complete
from ..checkout.helpers import listing, pending, ready_checkout, store
from ..conftest import make_user

pytestmark = pytest.mark.django_db
S = OrderStatus


@pytest.fixture
def world():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    shopper = make_user()
    green = listing(tea, price="33.33", stock=10)
    scarf = listing(silk, price="199.00", stock=5)
    result = complete(ready_checkout(shopper, [(green, 3), (scarf, 1)]), user=shopper)
    tea_order, silk_order = result.orders
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner, "shopper": shopper,
        "green": green, "scarf": scarf, "tea_order": tea_order, "silk_order": silk_order, "payment": result.payment,
    }


def codes(exc_info) -> str:
    return exc_info.value.code.name


ALLOWED = {
    (S.UNPAID, S.PAID), (S.UNPAID, S.CANCELLED), (S.PAID, S.SHIPPED), (S.PAID, S.CANCELLED), (S.PAID, S.REFUNDED),
    (S.SHIPPED, S.DELIVERED), (S.SHIPPED, S.COMPLETED), (S.SHIPPED, S.REFUNDED),
    (S.DELIVERED, S.COMPLETED), (S.DELIVERED, S.REFUNDED), (S.COMPLETED, S.REFUNDED),
}


@pytest.mark.parametrize("source", S.values)
@pytest.mark.parametrize("target", S.values)
def test_state_machine_transition_by_transition(source, target):
    assert ORDER_STATUS.can(source, target) == ((source, target) in ALLOWED)
    if (source, target) not in ALLOWED:
        with pytest.raises(DomainError) as exc_info:
            ORDER_STATUS.check(source, target)
        assert codes(exc_info) == "INVALID_TRANSITION"


def deliver(order, event_id="e-delivered", at=None):
    order.refresh_from_db()
    return logistics.tracking_event_record(
        carrier_id=order.shipment.carrier_id,
        event=TrackingEventData(
            event_id=event_id, tracking_number=order.shipment.tracking_number, status=ShipmentStatus.DELIVERED,
            occurred_at=at or timezone.now(),
        ),
    )


def test_vendor_ships_through_the_carrier_and_delivery_moves_the_order(world, settings):
    order = world["tea_order"]
    with pytest.raises(DomainError) as exc_info:
        services.order_ship(actor=world["silk_owner"], order=order, carrier=TABLE_RATE)
    assert codes(exc_info) == "NOT_FOUND"
    shipped = services.order_ship(actor=world["tea_owner"], order=order, carrier=TABLE_RATE)
    assert shipped.status == S.SHIPPED
    assert shipped.shipment.reference == str(order.pk)
    assert shipped.shipment.service_code == order.shipping_service_code
    assert shipped.shipment.origin_code == HANGZHOU
    assert shipped.auto_confirm_at == shipped.shipped_at + timedelta(days=settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT)
    with pytest.raises(DomainError) as exc_info:
        services.order_ship(actor=world["tea_owner"], order=order, carrier=TABLE_RATE)
    assert codes(exc_info) == "INVALID_TRANSITION"

    record = deliver(order)
    assert record.applied
    order.refresh_from_db()
    assert order.status == S.DELIVERED
    assert order.auto_confirm_at == order.delivered_at + timedelta(days=settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_DELIVERY)
    assert [e.action for e in audit_trail(order)] == ["order.ship"]


def test_ship_with_the_merchants_own_tracking_number(world):
    order = services.order_ship(
        actor=world["silk_owner"], order=world["silk_order"], carrier=TABLE_RATE, service_code="express",
        tracking_number="SF1234567890",
    )
    assert (order.shipment.tracking_number, order.shipment.service_code) == ("SF1234567890", "express")
    with pytest.raises(DomainError) as exc_info:
        services.order_ship(actor=world["tea_owner"], order=world["tea_order"], carrier="nobody")
    assert codes(exc_info) == "REQUIRED"  # another carrier than chosen: name its service
    with pytest.raises(DomainError) as exc_info:
        services.order_ship(actor=world["tea_owner"], order=world["tea_order"], carrier="nobody", service_code="x")
    assert codes(exc_info) == "CARRIER_NOT_FOUND"


def test_confirm_receipt_releases_escrow_minus_commission(world):
    order = world["tea_order"]
    services.order_ship(actor=world["tea_owner"], order=order, carrier=TABLE_RATE)
    with pytest.raises(DomainError) as exc_info:
        services.order_confirm_receipt(actor=make_user(), order=order)
    assert codes(exc_info) == "NOT_FOUND"
    order = services.order_confirm_receipt(actor=world["shopper"], order=order)
    # 3 x 33.33 = 99.99 at 5% = 4.9995, rounded half up to 5.00; shipping pays no commission.
    assert order.commission_amount == Decimal("5.00")
    assert available(world["tea"]) == order.total_amount - Decimal("5.00")
    assert pending(world["tea"]) == 0
    assert commission_account() == Decimal("5.00")
    assert order.payment_status == PaymentStatus.RELEASED and order.completion_source == "shopper"
    with pytest.raises(DomainError) as exc_info:
        services.order_confirm_receipt(actor=world["shopper"], order=order)
    assert codes(exc_info) == "INVALID_TRANSITION"
    assert ledger_problems() == []


def test_a_frozen_release_waits_for_the_dispute(world):
    order = world["tea_order"]
    services.order_ship(actor=world["tea_owner"], order=order, carrier=TABLE_RATE)
    services.order_release_freeze(order=order, reason="dispute 7")
    with pytest.raises(DomainError) as exc_info:
        services.order_confirm_receipt(actor=world["shopper"], order=order)
    assert codes(exc_info) == "RELEASE_FROZEN"
    far = timezone.now() + timedelta(days=60)
    assert services.orders_auto_confirm(now=far) == 0
    services.order_release_unfreeze(order=order)
    assert services.orders_auto_confirm(now=far) == 1
    order.refresh_from_db()
    assert order.status == S.COMPLETED and order.completion_source == "automatic"


def test_auto_confirm_after_delivery_or_shipment_with_a_controlled_clock_run_twice(world, settings):
    tea_order, silk_order = world["tea_order"], world["silk_order"]
    start = timezone.now()
    with freeze_time(start):
        services.order_ship(actor=world["tea_owner"], order=tea_order, carrier=TABLE_RATE)
        services.order_ship(actor=world["silk_owner"], order=silk_order, carrier=TABLE_RATE)
    with freeze_time(start + timedelta(days=2)):
        deliver(tea_order)
    # Delivered on day 2: due on day 12. Never delivered: due on day 15.
    with freeze_time(start + timedelta(days=11, hours=23)):
        assert services.orders_auto_confirm() == 0
    with freeze_time(start + timedelta(days=12, minutes=1)):
        assert services.orders_auto_confirm() == 1
        assert services.orders_auto_confirm() == 0
    with freeze_time(start + timedelta(days=15, minutes=1)):
        from backend.orders.tasks import auto_confirm_receipts

        assert auto_confirm_receipts.delay().get() == 1
        assert auto_confirm_receipts.delay().get() == 0
    tea_order.refresh_from_db(), silk_order.refresh_from_db()
    assert (tea_order.status, silk_order.status) == (S.COMPLETED, S.COMPLETED)
    assert escrow_total().amount == 0
    assert ledger_problems() == []


def test_the_shopper_extends_the_deadline_once(world, settings):
    order = world["tea_order"]
    services.order_ship(actor=world["tea_owner"], order=order, carrier=TABLE_RATE)
    order.refresh_from_db()
    before = order.auto_confirm_at
    order = services.order_extend_confirmation(actor=world["shopper"], order=order)
    assert order.auto_confirm_at == before + timedelta(days=settings.ORDER_CONFIRMATION_EXTENSION_DAYS)
    with pytest.raises(DomainError) as exc_info:
        services.order_extend_confirmation(actor=world["shopper"], order=order)
    assert codes(exc_info) == "ALREADY_EXTENDED"
    # Delivery after the extension keeps it.
    deliver(order)
    order.refresh_from_db()
    assert order.auto_confirm_at == order.delivered_at + timedelta(
        days=settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_DELIVERY + settings.ORDER_CONFIRMATION_EXTENSION_DAYS
    )


def test_vendor_cancels_before_shipment_refunding_its_part_from_escrow(world):
    order, payment = world["tea_order"], world["payment"]
    with pytest.raises(DomainError) as exc_info:
        services.order_cancel(actor=world["silk_owner"], order=order, reason="not mine")
    assert codes(exc_info) == "NOT_FOUND"
    order = services.order_cancel(actor=world["tea_owner"], order=order, reason="Out of this tea")
    assert order.status == S.CANCELLED and order.refunded_amount == order.total_amount
    assert order.payment_status == PaymentStatus.REFUNDED
    payment.refresh_from_db()
    assert payment.status == ChargeStatus.PARTIALLY_REFUNDED and payment.refunded_amount == order.total_amount
    assert pending(world["tea"]) == 0 and pending(world["silk"]) == world["silk_order"].total_amount
    assert balance(accounts.buyer_refunds(world["shopper"].pk)) == order.total_amount
    world["green"].refresh_from_db()
    assert world["green"].stock == 10
    # The cancellation is recorded first; its refund follows once the gateway took it.
    entry, refund = audit_trail(order).order_by("id")
    assert (entry.action, entry.reason, entry.data["by"]) == ("order.cancel", "Out of this tea", "vendor")
    assert (refund.action, refund.data["amount"], refund.data["key"]) == (
        "order.refund", str(order.total_amount), f"order:{order.pk}:cancel"
    )
    with pytest.raises(DomainError) as exc_info:
        services.order_cancel(actor=world["tea_owner"], order=order)
    assert codes(exc_info) == "INVALID_TRANSITION"
    assert ledger_problems() == []


def test_shopper_cancels_before_shipment_but_not_after(world, staff_factory):
    silk_order = services.order_cancel(actor=world["shopper"], order=world["silk_order"], reason="changed my mind")
    assert audit_trail(silk_order).get(action="order.cancel").data["by"] == "shopper"
    services.order_ship(actor=world["tea_owner"], order=world["tea_order"], carrier=TABLE_RATE)
    with pytest.raises(DomainError) as exc_info:
        services.order_cancel(actor=world["shopper"], order=world["tea_order"])
    assert codes(exc_info) == "INVALID_TRANSITION"
    # Platform staff with MANAGE_ORDERS act for any vendor.
    staff = staff_factory(PlatformPermission.MANAGE_ORDERS)
    with pytest.raises(DomainError) as exc_info:
        services.order_cancel(actor=staff, order=world["tea_order"])
    assert codes(exc_info) == "INVALID_TRANSITION"
    payment = world["payment"]
    payment.refresh_from_db()
    assert payment.refunded_amount == silk_order.total_amount
    assert Order.objects.get(pk=world["tea_order"].pk).status == S.SHIPPED
