"""Concurrent reviews of one product, and of one order line, on PostgreSQL row locks."""

from decimal import Decimal

from backend.core.exceptions import DomainError
from backend.orders import services as orders
from backend.reviews import services
from backend.reviews.models import ProductReview

from ..checkout.helpers import HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..checkout.helpers import logistics_data, marketplace_plugins  # noqa: F401 - autouse: transactional tests flush regions
from ..concurrency import POSTGRESQL_RACE, race
from ..conftest import make_user

pytestmark = POSTGRESQL_RACE


def received(owner, variant):
    shopper = make_user()
    (order,) = complete(ready_checkout(shopper, [(variant, 1)], email=shopper.email), user=shopper).orders
    orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    orders.order_confirm_receipt(actor=shopper, order=order)
    return shopper, order.lines.get()


def test_concurrent_reviews_and_completions_add_up():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    green = listing(vendor, price="30.00", stock=20)
    bought = [received(owner, green) for _ in range(6)]
    ratings = [5, 4, 4, 3, 5, 2]
    results = race(
        lambda i: services.product_review_create(actor=bought[i][0], order_line_id=bought[i][1].pk, rating=ratings[i]), 6
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    green.product.refresh_from_db()
    # 23 / 6 = 3.8333...
    assert (green.product.rating_avg, green.product.rating_count, green.product.sales_count) == (Decimal("3.83"), 6, 6)


def test_one_line_reviewed_twice_at_once_keeps_one():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    green = listing(vendor, price="30.00", stock=5)
    shopper, line = received(owner, green)
    results = race(lambda i: services.product_review_create(actor=shopper, order_line_id=line.pk, rating=5), 4)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 3 and {r.code.name for r in refused} == {"ALREADY_REVIEWED"}, results
    assert ProductReview.objects.count() == 1
    green.product.refresh_from_db()
    assert green.product.rating_count == 1
