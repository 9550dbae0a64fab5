"""bench/data.py writes orders as prepared rows: they read back as the models' orders, the sequences
continue after them, and the escrow of those still held balances the ledger."""

from decimal import Decimal

import pytest

from bench import data

pytestmark = pytest.mark.django_db


def test_orders_written_as_rows_read_back_as_orders(monkeypatch):
    from backend.finance.ledger import escrow_total, ledger_problems
    from backend.orders.models import Order, OrderLine, OrderStatus
    from backend.vendors.models import Vendor

    monkeypatch.setattr(data, "ORDER_BATCH", 70)  # several batches
    sizes = data.Sizes(vendors=4, suspended=1, listings=40, variants_per_listing=2, orders=300, due=20)
    data.seed(sizes, progress=False)
    assert Order.objects.count() == 300 and OrderLine.objects.count() == 300
    orders = list(Order.objects.select_related("vendor").prefetch_related("lines"))
    active = set(Vendor.objects.filter(slug__startswith="bench-store-", status="active").values_list("pk", flat=True))
    for order in orders:
        (line,) = order.lines.all()
        assert order.vendor_id in active and line.product.vendor_id == order.vendor_id
        assert order.subtotal_amount == line.unit_price_amount * line.quantity
        assert order.total_amount == order.subtotal_amount + Decimal("10.00")
        assert order.created_at <= order.updated_at and order.shipping_address == {}
        assert order.checkout_token is not None and line.variant_attributes == {}
    states = {o.status for o in orders}
    assert {OrderStatus.COMPLETED, OrderStatus.SHIPPED} <= states
    from django.utils import timezone

    due = [o for o in orders if o.status == OrderStatus.SHIPPED and o.auto_confirm_at < timezone.now()]
    assert len(due) == 20
    held = sum(o.total_amount for o in orders if o.status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED))
    assert escrow_total().amount == held and ledger_problems() == []
    # The sequences were moved past the explicit keys: the ORM's next order gets a fresh one.
    highest = max(o.pk for o in orders)
    template = Order.objects.get(pk=orders[0].pk)
    template.pk = None
    template.checkout_token = template.checkout_token.__class__(int=1)
    template.save()
    assert template.pk > highest
    # A second run adds nothing.
    assert data.seed_orders(sizes, progress=False) == 0
