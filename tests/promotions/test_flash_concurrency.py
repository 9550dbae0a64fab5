"""Flash sales under concurrent checkouts on PostgreSQL: threads completing at once never sell more
units at the event price than the promotional quantity, nor more than a shopper's limit. A
completion with a token prices when it runs (the variant's row lock orders them): those who come
too late pay the regular price, as the completion's answer shows; a payment session's amount holds
the event price, so a late one is refused instead (tests/served/test_promotions_served.py)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from backend.finance.ledger import ledger_problems
from backend.orders.models import Order
from backend.promotions.flash_sales import FlashSaleInput, flash_sale_create
from backend.promotions.models import FlashSale, FlashSalePurchase

from ..checkout.helpers import HANGZHOU, complete, listing, ready_checkout, store
from ..concurrency import POSTGRESQL_RACE, race
from ..conftest import make_user

pytestmark = POSTGRESQL_RACE


def _sale(owner, variant, **fields):
    now = timezone.now()
    return flash_sale_create(actor=owner, variant_id=variant.pk, data=FlashSaleInput(
        price="1.00", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1), **fields))


def test_ten_shoppers_race_for_three_units_at_the_event_price():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, price="100.00", stock=50)
    sale = _sale(owner, variant, quantity=3)
    shoppers = [make_user() for _ in range(10)]
    checkouts = [ready_checkout(s, [(variant, 1)]) for s in shoppers]

    results = race(lambda i: complete(checkouts[i], user=shoppers[i]), 10)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert FlashSale.objects.get(pk=sale.pk).sold_count == 3
    assert FlashSalePurchase.objects.aggregate(units=Sum("quantity"))["units"] == 3
    assert sorted(Order.objects.values_list("discount_amount", flat=True)) == [Decimal("0.00")] * 7 + [Decimal("99.00")] * 3
    # Each paid what its order says: the event price for three, the regular one for the rest.
    assert sorted(r.payment.amount for r in results) == sorted(r.orders[0].total_amount for r in results)
    assert ledger_problems() == []


def test_one_shopper_in_several_tabs_gets_the_limit_and_no_more():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, price="100.00", stock=50)
    sale = _sale(owner, variant, quantity=20, per_shopper_limit=2)
    shopper = make_user()
    checkouts = [ready_checkout(shopper, [(variant, 2)]) for _ in range(5)]

    results = race(lambda i: complete(checkouts[i], user=shopper), 5)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert FlashSale.objects.get(pk=sale.pk).sold_count == 2
    assert sorted(Order.objects.values_list("discount_amount", flat=True)) == [Decimal("0.00")] * 4 + [Decimal("198.00")]
    assert ledger_problems() == []
