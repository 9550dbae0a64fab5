"""The periodic release in batches: each due order completed and released once, the SQL of a batch
constant whatever its size, one bad order not holding back the others, locked orders skipped."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.core.audit import audit_trail
from backend.core.models import AuditLogEntry
from backend.finance.ledger import escrow_total, ledger_problems, vendor_balance
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.orders import services as orders_services
from backend.orders.models import CompletionSource, Order, OrderStatus

from ..checkout.helpers import HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..concurrency import postgresql_race

pytestmark = pytest.mark.django_db


def shipped_orders(count: int, *, stores: int = 2) -> list[Order]:
    made = []
    sellers = [store(f"Shop {s}", origin=HANGZHOU) for s in range(stores)]
    variants = [listing(vendor, price="50.00", stock=count + 5) for vendor, _ in sellers]
    for i in range(count):
        (vendor, owner), variant = sellers[i % stores], variants[i % stores]
        order = complete(ready_checkout(None, [(variant, 1)], email=f"s{i}@example.com")).orders[0]
        made.append(orders_services.order_ship(actor=owner, order=order, carrier=TABLE_RATE))
    return made


def due_time():
    return timezone.now() + timedelta(days=settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT, minutes=1)


def test_batches_complete_and_release_every_due_order_once():
    orders = shipped_orders(7)

    assert orders_services.orders_auto_confirm(now=due_time(), batch_size=3) == 7

    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED}
    assert set(Order.objects.values_list("completion_source", flat=True)) == {CompletionSource.AUTOMATIC}
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count() == 7
    assert AuditLogEntry.objects.filter(action="order.complete").count() == 7
    order = Order.objects.get(pk=orders[0].pk)
    [entry] = audit_trail(order).filter(action="order.complete")
    assert entry.actor is None and entry.created_at is not None
    assert entry.data == {"source": "automatic", "gross": str(order.total_amount), "commission": str(order.commission_amount)}
    assert order.commission_amount is not None and order.released_at and order.auto_confirm_at is None
    for listing_product in {line.product for o in Order.objects.all() for line in o.lines.all()}:
        listing_product.refresh_from_db()
        assert listing_product.sales_count in (3, 4)
    # The vendors were paid their share less commission, and nothing is left in escrow.
    assert sum(vendor_balance(o.vendor_id).available.amount for o in orders[:2]) > 0
    assert escrow_total().amount == 0 and ledger_problems() == []
    # Nothing is released twice.
    assert orders_services.orders_auto_confirm(now=due_time(), batch_size=3) == 0
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count() == 7


def test_the_sql_of_a_batch_does_not_grow_with_its_size():
    shipped_orders(12)
    due = due_time()
    # The first batch also creates the ledger accounts; count the batches after it.
    orders_services.orders_auto_confirm(now=due, limit=2, batch_size=2)

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            assert orders_services.orders_auto_confirm(now=due, limit=count, batch_size=count) == count
        return len(captured)

    assert queries(2) == queries(8)


def test_orders_not_due_frozen_or_not_shipped_are_left_alone():
    orders = shipped_orders(4)
    frozen = orders_services.order_release_freeze(order=orders[1], reason="dispute")
    later = orders[2]
    Order.objects.filter(pk=later.pk).update(auto_confirm_at=due_time() + timedelta(days=3))

    assert orders_services.orders_auto_confirm(now=due_time(), batch_size=10) == 2

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses[frozen.pk] == OrderStatus.SHIPPED and statuses[later.pk] == OrderStatus.SHIPPED
    assert statuses[orders[0].pk] == statuses[orders[3].pk] == OrderStatus.COMPLETED


def test_one_bad_order_does_not_hold_back_the_rest_of_its_batch(monkeypatch):
    orders = shipped_orders(5)
    bad = orders[2]
    mark_completed = orders_services._mark_completed

    def refuse_the_bad_one(order, **kwargs):
        if order.pk == bad.pk:
            raise RuntimeError("corrupt order")
        return mark_completed(order, **kwargs)

    monkeypatch.setattr(orders_services, "_mark_completed", refuse_the_bad_one)
    with pytest.raises(RuntimeError, match="corrupt order"):
        orders_services.orders_auto_confirm(now=due_time(), batch_size=10)

    statuses = dict(Order.objects.values_list("pk", "status"))
    # Gone through one by one after the batch failed: those before the bad one are released.
    assert [statuses[o.pk] for o in orders[:3]] == [OrderStatus.COMPLETED, OrderStatus.COMPLETED, OrderStatus.SHIPPED]
    monkeypatch.setattr(orders_services, "_mark_completed", mark_completed)
    assert orders_services.orders_auto_confirm(now=due_time(), batch_size=10) == 3
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count() == 5
    assert ledger_problems() == []


@postgresql_race
def test_an_order_locked_by_someone_else_is_skipped_and_released_later():
    orders = shipped_orders(4)
    held = orders[1]
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(30)
    try:
        assert orders_services.orders_auto_confirm(now=due_time(), batch_size=10) == 3
    finally:
        release.set()
        holder.join(30)
    assert Order.objects.get(pk=held.pk).status == OrderStatus.SHIPPED
    assert orders_services.orders_auto_confirm(now=due_time(), batch_size=10) == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count() == 4
    assert ledger_problems() == []
