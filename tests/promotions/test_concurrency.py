"""Voucher limits under concurrent checkouts on PostgreSQL: threads placing at once never use a
voucher more often than its total or per-shopper limit allows."""

from decimal import Decimal

import pytest

from backend.core.exceptions import DomainError, DomainErrors
from backend.finance.ledger import ledger_problems
from backend.orders.models import Order
from backend.promotions import services
from backend.promotions.models import Voucher, VoucherRedemption

from ..checkout.helpers import HANGZHOU, complete, listing, ready_checkout, store
from ..concurrency import POSTGRESQL_RACE, race
from ..conftest import make_user
from .helpers import platform_voucher

pytestmark = POSTGRESQL_RACE


def codes(exc) -> list[str]:
    errors = exc.errors if isinstance(exc, DomainErrors) else [exc]
    return [e.code.name for e in errors]


def test_ten_shoppers_race_for_a_voucher_good_for_three_uses():
    vendor, _ = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, price="100.00", stock=50)
    voucher = platform_voucher(code="THREE", value="10", usage_limit=3)
    shoppers = [make_user() for _ in range(10)]
    checkouts = [ready_checkout(s, [(variant, 1)]) for s in shoppers]
    for checkout, shopper in zip(checkouts, shoppers):
        services.checkout_voucher_apply(checkout=checkout, user=shopper, code="THREE")

    results = race(lambda i: complete(checkouts[i], user=shoppers[i]), 10)

    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(placed) == 3, results
    assert all(isinstance(r, DomainError) and codes(r) == ["VOUCHER_NOT_AVAILABLE"] for r in refused), refused
    assert Voucher.objects.get(pk=voucher.pk).used_count == 3
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 3
    assert sorted(Order.objects.values_list("discount_amount", flat=True)) == [Decimal("10.00")] * 3
    assert ledger_problems() == []


def test_one_shopper_in_several_tabs_uses_a_once_per_shopper_voucher_once():
    vendor, _ = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, price="100.00", stock=50)
    voucher = platform_voucher(code="ONCE", value="10", per_shopper_limit=1)
    shopper = make_user()
    checkouts = [ready_checkout(shopper, [(variant, 1)]) for _ in range(5)]
    for checkout in checkouts:
        services.checkout_voucher_apply(checkout=checkout, user=shopper, code="ONCE")

    results = race(lambda i: complete(checkouts[i], user=shopper), 5)

    placed = [r for r in results if not isinstance(r, Exception)]
    assert len(placed) == 1, results
    assert VoucherRedemption.objects.filter(voucher=voucher, user=shopper).count() == 1
    assert ledger_problems() == []
