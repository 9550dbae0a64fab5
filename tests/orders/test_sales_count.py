"""Product.sales_count moves when an order completes (escrow released), never on placement,
cancellation or refund; the storefront's SALES sort reads it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core.money import Money
from backend.orders import services
from backend.orders.models import OrderStatus

from ..checkout.helpers import HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user

pytestmark = pytest.mark.django_db

SALES = """
query { products(first: 10, sortBy: {field: SALES}) { edges { node { name salesCount } } } }
"""


@pytest.fixture
def tea_house():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    green = listing(vendor, price="30.00", stock=20, name="Green tea")
    black = listing(vendor, price="40.00", stock=20, name="Black tea")
    return vendor, owner, green, black


def place(owner, lines, shopper=None):
    shopper = shopper or make_user()
    (order,) = complete(ready_checkout(shopper, lines), user=shopper).orders
    return order, shopper


def sold(variant) -> int:
    variant.product.refresh_from_db()
    return variant.product.sales_count


def test_confirmed_receipt_counts_each_line_quantity(tea_house):
    _vendor, owner, green, black = tea_house
    order, shopper = place(owner, [(green, 3), (black, 1)])
    assert (sold(green), sold(black)) == (0, 0)  # placed and paid is not yet sold
    services.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    assert sold(green) == 0
    services.order_confirm_receipt(actor=shopper, order=order)
    assert (sold(green), sold(black)) == (3, 1)


def test_automatic_confirmation_counts_once_when_run_twice(tea_house):
    _vendor, owner, green, _black = tea_house
    order, _shopper = place(owner, [(green, 2)])
    services.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    far = timezone.now() + timedelta(days=60)
    assert services.orders_auto_confirm(now=far) == 1
    assert services.orders_auto_confirm(now=far) == 0
    assert sold(green) == 2


def test_cancelled_and_refunded_orders_are_not_sales(tea_house):
    _vendor, owner, green, _black = tea_house
    cancelled, shopper = place(owner, [(green, 4)])
    services.order_cancel(actor=owner, order=cancelled, reason="out of stock")
    refunded, _ = place(owner, [(green, 5)])
    services.order_refund(
        order=refunded, amount=Money(refunded.total_amount, refunded.currency), idempotency_key="r-before", actor=None
    )
    refunded.refresh_from_db()
    assert refunded.status == OrderStatus.REFUNDED
    assert sold(green) == 0
    # Refunded in full after completion: the sale is taken back.
    later, later_shopper = place(owner, [(green, 2)])
    services.order_ship(actor=owner, order=later, carrier=TABLE_RATE)
    services.order_confirm_receipt(actor=later_shopper, order=later)
    assert sold(green) == 2
    services.order_refund(
        order=later, amount=Money(later.total_amount, later.currency), idempotency_key="r-after", actor=None
    )
    assert sold(green) == 0


def test_storefront_sales_sort_follows_completed_orders(storefront_api, tea_house):
    _vendor, owner, green, black = tea_house
    for lines in ([(black, 1)], [(green, 2)], [(green, 1)]):
        order, shopper = place(owner, lines)
        services.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
        services.order_confirm_receipt(actor=shopper, order=order)
    nodes = [edge["node"] for edge in storefront_api.execute(SALES)["products"]["edges"]]
    assert nodes == [{"name": "Green tea", "salesCount": 3}, {"name": "Black tea", "salesCount": 1}]
