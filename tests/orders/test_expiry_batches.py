"""Unpaid orders' expiry in batches: each order cancelled once and each payment voided once, also
when a payment's orders straddle two batches, when one order of a batch fails, and with two runs
at once (PostgreSQL)."""

import functools
from datetime import timedelta

import pytest

from backend.core.models import AuditLogEntry
from backend.finance.models import LedgerTransaction
from backend.orders import services, stock
from backend.orders.models import Order, OrderStatus
from backend.payments import services as payments
from backend.payments.models import Payment, PaymentStatus
from plugins.payments.dummy import DummyGatewayPlugin

from ..checkout.helpers import GUANGZHOU, HANGZHOU, complete, listing, ready_checkout, store
from ..concurrency import postgresql_race, race
from ..conftest import make_user

pytestmark = pytest.mark.django_db
S = OrderStatus


@pytest.fixture
def voids(monkeypatch):
    """Checkouts only authorize; the dummy gateway's voids are recorded (by payment amount)."""
    calls = []
    monkeypatch.setattr(payments, "payment_process", functools.partial(payments.payment_process, capture=False))
    original = DummyGatewayPlugin.void_payment

    def spy(self, data, *, previous_value):
        calls.append(data.idempotency_key)
        return original(self, data, previous_value=previous_value)

    monkeypatch.setattr(DummyGatewayPlugin, "void_payment", spy)
    return calls


@pytest.fixture
def unpaid(voids):
    """Four checkouts, each paid by one authorized payment: two with an order from each of two
    stores, two with one order; six unpaid orders holding their stock."""
    tea, _ = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    green = listing(tea, price="30.00", stock=10)
    scarf = listing(silk, price="120.00", stock=10)
    results = [
        complete(ready_checkout(shopper, lines), user=shopper)
        for shopper, lines in [
            (make_user(), [(green, 2), (scarf, 1)]),
            (make_user(), [(green, 1)]),
            (make_user(), [(green, 1), (scarf, 2)]),
            (make_user(), [(scarf, 1)]),
        ]
    ]
    orders = [order for result in results for order in result.orders]
    assert len(orders) == 6 and {o.status for o in orders} == {S.UNPAID}
    later = max(o.reserved_until for o in orders) + timedelta(seconds=1)
    return {"green": green, "scarf": scarf, "orders": orders, "later": later, "payments": [r.payment for r in results]}


def stocks(world) -> tuple[int, int]:
    world["green"].refresh_from_db(), world["scarf"].refresh_from_db()
    return world["green"].stock, world["scarf"].stock


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_each_order_is_cancelled_and_each_payment_voided_once_whatever_the_batch(unpaid, voids, batch_size):
    assert services.orders_expire_unpaid(now=unpaid["later"], batch_size=batch_size) == 6
    assert services.orders_expire_unpaid(now=unpaid["later"], batch_size=batch_size) == 0
    assert set(Order.objects.values_list("status", flat=True)) == {S.CANCELLED}
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.CANCELLED}
    assert sorted(voids) == sorted(f"{p.idempotency_key}:void" for p in unpaid["payments"])
    assert stocks(unpaid) == (10, 10)
    cancels = AuditLogEntry.objects.filter(action="order.cancel")
    assert cancels.count() == 6 and {e.data["by"] for e in cancels} == {"platform"}
    assert not LedgerTransaction.objects.exists()


def test_orders_not_due_yet_are_left_alone(unpaid, voids):
    early = min(o.reserved_until for o in unpaid["orders"]) - timedelta(seconds=1)
    assert services.orders_expire_unpaid(now=early, batch_size=2) == 0
    assert voids == [] and stocks(unpaid) == (6, 6)


def test_a_failing_order_does_not_hold_back_the_rest_of_its_batch(unpaid, voids, monkeypatch):
    bad = unpaid["orders"][2]  # the second checkout's only order (green tea)
    original = stock.stock_return

    def broken(lines):
        lines = list(lines)
        if any(line.order_id == bad.pk for line in lines):
            raise RuntimeError("this order's lines cannot be given back")
        return original(lines)

    monkeypatch.setattr(services, "stock_return", broken)
    assert services.orders_expire_unpaid(now=unpaid["later"], batch_size=100) == 5
    assert Order.objects.get(pk=bad.pk).status == S.UNPAID
    assert Order.objects.filter(status=S.CANCELLED).count() == 5
    assert len(voids) == 3 and stocks(unpaid) == (9, 10)
    monkeypatch.setattr(services, "stock_return", original)
    assert services.orders_expire_unpaid(now=unpaid["later"], batch_size=100) == 1
    assert len(voids) == 4 and stocks(unpaid) == (10, 10)


@postgresql_race
def test_two_runs_at_once_in_small_batches_cancel_each_order_and_void_each_payment_once(unpaid, voids):
    results = race(lambda _i: services.orders_expire_unpaid(now=unpaid["later"], batch_size=1), 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 6
    assert set(Order.objects.values_list("status", flat=True)) == {S.CANCELLED}
    assert len(voids) == len(set(voids)) == 4
    assert stocks(unpaid) == (10, 10)
    assert AuditLogEntry.objects.filter(action="order.cancel").count() == 6
