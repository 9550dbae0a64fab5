"""order_refund, the one place money goes back to a shopper: before release out of escrow, after
release from the vendor with commission back; the refunded transitions it adds, one by one, and the
ones still refused."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.core.audit import audit_trail
from backend.core.exceptions import DomainError
from backend.core.money import Money
from backend.finance import accounts
from backend.finance.ledger import escrow_total, ledger_problems
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.logistics import services as logistics
from backend.logistics.models import ShipmentStatus
from backend.orders import services
from backend.orders.models import Order, OrderRefund, OrderStatus, PaymentStatus
from backend.payments.models import PaymentStatus as ChargeStatus
from backend.payments.models import Refund
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


def cny(amount) -> Money:
    return Money(Decimal(amount), "CNY")


def refund(order, amount, key="refund-1", actor=None):
    return services.order_refund(order=order, amount=cny(amount), idempotency_key=key, actor=actor, reason="Test")


def code(exc_info) -> str:
    return exc_info.value.code.name


def fresh(order) -> Order:
    return Order.objects.get(pk=order.pk)


def ship(world, name="tea"):
    return services.order_ship(actor=world[f"{name}_owner"], order=world[f"{name}_order"], carrier=TABLE_RATE)


def deliver(order):
    order.refresh_from_db()
    logistics.tracking_event_record(
        carrier_id=order.shipment.carrier_id,
        event=TrackingEventData(
            event_id=f"delivered-{order.pk}", tracking_number=order.shipment.tracking_number,
            status=ShipmentStatus.DELIVERED, occurred_at=timezone.now(),
        ),
    )


# --- paid -> refunded (new) ----------------------------------------------------------------


def test_paid_to_refunded_a_full_refund_before_shipment_returns_the_stock(world):
    order, payment = world["tea_order"], world["payment"]
    world["green"].refresh_from_db()
    assert world["green"].stock == 7
    record = refund(order, order.total_amount, actor=world["tea_owner"])
    order = record.order
    assert (order.status, order.payment_status, order.refunded_amount) == (S.REFUNDED, "refunded", order.total_amount)
    assert (record.after_release, record.commission_returned_amount, record.money) == (False, 0, order.total)
    # The goods never left: they are back on sale.
    world["green"].refresh_from_db()
    assert world["green"].stock == 10
    # Out of escrow: the tea house's pending share, not the silk road's.
    assert (pending(world["tea"]), pending(world["silk"])) == (0, world["silk_order"].total_amount)
    assert balance(accounts.buyer_refunds(world["shopper"].pk)) == order.total_amount
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (ChargeStatus.PARTIALLY_REFUNDED, order.total_amount)
    entry = audit_trail(order).get(action="order.refund")
    assert (entry.actor, entry.data["status"], entry.data["after_release"]) == (world["tea_owner"], "refunded", False)
    # Refunded is final: it is not shipped, cancelled or refunded again.
    with pytest.raises(DomainError) as exc_info:
        ship(world)
    assert code(exc_info) == "INVALID_TRANSITION"
    with pytest.raises(DomainError) as exc_info:
        services.order_cancel(actor=world["tea_owner"], order=order)
    assert code(exc_info) == "INVALID_TRANSITION"
    with pytest.raises(DomainError) as exc_info:
        refund(order, "0.01", key="refund-2")
    assert code(exc_info) == "AMOUNT_TOO_HIGH"
    assert fresh(order).status == S.REFUNDED
    assert ledger_problems() == []


def test_a_partial_refund_before_shipment_keeps_the_order_going_and_releases_the_rest(world):
    order = world["tea_order"]
    total = order.total_amount
    record = refund(order, "20.00")
    assert (record.order.status, record.order.payment_status) == (S.PAID, PaymentStatus.PARTIALLY_REFUNDED)
    world["green"].refresh_from_db()
    assert world["green"].stock == 7  # nothing comes back for a partial refund
    ship(world)
    order = services.order_confirm_receipt(actor=world["shopper"], order=order)
    assert order.status == S.COMPLETED and order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    # The rest is released; the commission (5.00 on the whole) is taken only on what was kept.
    assert Decimal("0") < order.commission_amount < Decimal("5.00")
    assert available(world["tea"]) + commission_account() == total - Decimal("20.00")
    assert pending(world["tea"]) == 0
    assert ledger_problems() == []


# --- shipped / delivered / completed -> refunded ----------------------------------------------


def test_shipped_to_refunded_keeps_the_stock_and_ends_the_confirmation_clock(world):
    ship(world)
    order = refund(world["tea_order"], world["tea_order"].total_amount).order
    assert (order.status, order.auto_confirm_at) == (S.REFUNDED, None)
    world["green"].refresh_from_db()
    assert world["green"].stock == 7  # the parcel left: no stock comes back by itself
    assert services.orders_auto_confirm(now=timezone.now() + timedelta(days=60)) == 0
    assert pending(world["tea"]) == 0
    assert ledger_problems() == []


def test_delivered_to_refunded(world):
    ship(world)
    deliver(world["tea_order"])
    assert fresh(world["tea_order"]).status == S.DELIVERED
    order = refund(world["tea_order"], world["tea_order"].total_amount).order
    assert order.status == S.REFUNDED and order.payment_status == "refunded"
    assert escrow_total().amount == world["silk_order"].total_amount


def test_completed_to_refunded_comes_from_the_vendor_with_the_whole_commission_back(world):
    ship(world)
    order = services.order_confirm_receipt(actor=world["shopper"], order=world["tea_order"])
    assert (order.commission_amount, commission_account()) == (Decimal("5.00"), Decimal("5.00"))
    first = refund(order, "10.00", key="after-1")
    assert (first.after_release, first.order.status) == (True, S.COMPLETED)
    second = refund(order, order.total_amount - Decimal("10.00"), key="after-2")
    assert second.order.status == S.REFUNDED
    # Cumulative pro rata: the two returns add up to exactly the commission taken.
    assert first.commission_returned_amount + second.commission_returned_amount == Decimal("5.00")
    assert (available(world["tea"]), commission_account()) == (0, 0)
    kinds = LedgerTransaction.objects.filter(idempotency_key__startswith="refund_from_vendor:after-").count()
    assert kinds == 2
    assert ledger_problems() == []


# --- still refused ------------------------------------------------------------------------


def test_an_unpaid_order_has_nothing_to_refund(world, settings):
    from ..payments.gateways import PATH, ScriptedGateway

    settings.PLUGINS = [*settings.PLUGINS, PATH]
    ScriptedGateway.reset("pending")
    result = complete(ready_checkout(world["shopper"], [(world["green"], 1)]), user=world["shopper"],
                      gateway="scripted", token="tok")
    (order,) = result.orders
    with pytest.raises(DomainError) as exc_info:
        refund(order, "1.00")
    assert code(exc_info) == "NOTHING_TO_REFUND"
    assert fresh(order).status == S.UNPAID


def test_a_cancelled_order_stays_cancelled_and_is_not_refunded_twice(world):
    order = services.order_cancel(actor=world["tea_owner"], order=world["tea_order"], reason="Sold out")
    assert (order.status, order.refunded_amount) == (S.CANCELLED, order.total_amount)
    assert OrderRefund.objects.get(order=order).idempotency_key == f"order:{order.pk}:cancel"
    with pytest.raises(DomainError) as exc_info:
        refund(order, "1.00")
    assert code(exc_info) == "AMOUNT_TOO_HIGH"
    assert fresh(order).status == S.CANCELLED


def test_a_cancellation_after_a_partial_refund_refunds_the_rest_once(world):
    order = world["tea_order"]
    refund(order, "20.00")
    order = services.order_cancel(actor=world["shopper"], order=order, reason="Changed my mind")
    assert (order.status, order.refunded_amount) == (S.CANCELLED, order.total_amount)
    assert sorted(r.amount for r in OrderRefund.objects.filter(order=order)) == sorted(
        [Decimal("20.00"), order.total_amount - Decimal("20.00")]
    )
    world["green"].refresh_from_db()
    assert world["green"].stock == 10  # returned once, by the cancellation
    assert pending(world["tea"]) == 0
    assert ledger_problems() == []


def test_more_than_is_left_or_a_bad_amount_moves_nothing(world):
    order = world["tea_order"]
    for amount, expected in ((order.total_amount + Decimal("0.01"), "AMOUNT_TOO_HIGH"), ("0", "INVALID"),
                             ("1.001", "INVALID")):
        with pytest.raises(DomainError) as exc_info:
            refund(order, amount)
        assert code(exc_info) == expected
    with pytest.raises(DomainError) as exc_info:
        services.order_refund(order=order, amount=Money(Decimal("1.00"), "USD"), idempotency_key="usd", actor=None)
    assert code(exc_info) == "INVALID"
    assert not Refund.objects.exists() and not OrderRefund.objects.exists()
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_FROM_ESCROW).exists()
    assert fresh(order).refunded_amount == 0


def test_a_retry_after_release_moves_nothing_twice(world):
    ship(world)
    order = services.order_confirm_receipt(actor=world["shopper"], order=world["tea_order"])
    first = refund(order, "30.00", key="dispute-like")
    again = refund(order, "30.00", key="dispute-like")
    assert first.pk == again.pk and again.order.refunded_amount == Decimal("30.00")
    assert Refund.objects.filter(idempotency_key="dispute-like").count() == 1
    assert LedgerTransaction.objects.filter(idempotency_key="refund_from_vendor:dispute-like").count() == 1
    with pytest.raises(DomainError) as exc_info:
        refund(world["silk_order"], "30.00", key="dispute-like")
    assert code(exc_info) == "IDEMPOTENCY_CONFLICT"
