"""A two-store checkout with a platform voucher and a store voucher, through the services: what
each order keeps, what the ledger moves at payment, release and refunds, and who pays what."""

from decimal import Decimal

import pytest

from backend.finance import accounts
from backend.finance.ledger import escrow_total, ledger_problems
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.orders import services as orders_services
from backend.promotions import services
from backend.promotions.models import OrderDiscount, Voucher

from ..checkout.helpers import GUANGZHOU, HANGZHOU, available, balance, commission_account, complete
from ..checkout.helpers import listing, pending, ready_checkout, store
from ..conftest import make_user
from .helpers import cny, platform_voucher, release, store_voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    shopper = make_user()
    green = listing(tea, price="100.00", stock=10)
    scarf = listing(silk, price="200.00", stock=10)
    return {"tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner, "shopper": shopper,
            "green": green, "scarf": scarf}


def test_platform_and_store_vouchers_split_by_funder_and_store(world):
    w = world
    platform = platform_voucher(code="FESTIVAL", value="30", min_spend="250")
    tea10 = store_voucher(w["tea_owner"], code="TEA10", value="10", min_spend="100")
    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="tea10")
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="FESTIVAL")
    summary = orders_summary = None
    from backend.checkout.services import checkout_summary

    summary = checkout_summary(checkout)
    tea_pkg, silk_pkg = sorted(summary.packages, key=lambda p: p.vendor.pk)
    # Store voucher first (10 off the tea), then the platform's 30 over what is left: 90 and 200, pro rata.
    assert tea_pkg.pricing.store_funded == cny("10.00")
    assert tea_pkg.pricing.platform_funded + silk_pkg.pricing.platform_funded == cny("30.00")
    assert tea_pkg.pricing.platform_funded == cny("9.31")  # 30 * 90/290 = 9.3103..
    assert silk_pkg.pricing.platform_funded == cny("20.69")  # the cent left goes to the larger remainder
    shown = summary.total

    result = complete(checkout, user=w["shopper"])
    tea_order, silk_order = sorted(result.orders, key=lambda o: o.vendor_id)
    assert result.payment.amount == shown.amount
    assert tea_order.total_amount == Decimal("100.00") + tea_order.shipping_amount - Decimal("19.31")
    assert tea_order.discount_amount == Decimal("19.31") and tea_order.subsidy_amount == Decimal("9.31")
    assert silk_order.discount_amount == Decimal("20.69") and silk_order.subsidy_amount == Decimal("20.69")
    lines = OrderDiscount.objects.filter(order=tea_order)
    assert sorted((d.funder, d.amount, d.voucher.code) for d in lines) == [
        ("platform", Decimal("9.31"), "FESTIVAL"), ("store", Decimal("10.00"), "TEA10"),
    ]
    assert Voucher.objects.get(pk=platform.pk).used_count == 1
    assert Voucher.objects.get(pk=tea10.pk).used_count == 1
    # Escrow holds what the shopper paid, no more.
    assert pending(w["tea"]) == tea_order.total_amount and pending(w["silk"]) == silk_order.total_amount
    assert escrow_total().amount == result.payment.amount

    commission_before = commission_account()
    release(tea_order, w["tea_owner"], w["shopper"])
    tea_order.refresh_from_db()
    # Commission on what the shopper paid plus the platform's subsidy: 100 - 10 (the store's own) = 90 at the rate.
    line = tea_order.lines.get()
    expected = (Decimal("90.00") * line.commission_rate).quantize(Decimal("0.01"))
    assert tea_order.commission_amount == expected
    assert commission_account() - commission_before == expected
    # The store gets the shopper's money and the platform's 9.31, less commission.
    assert available(w["tea"]) == tea_order.total_amount + Decimal("9.31") - expected
    assert pending(w["tea"]) == 0
    assert balance(accounts.PLATFORM_PROMOTIONS) == Decimal("-9.31")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PROMOTION_SUBSIDY).count() == 1
    assert ledger_problems() == []


def test_a_refund_returns_each_share_to_whoever_paid_it(world):
    w = world
    platform_voucher(code="FESTIVAL", value="30", min_spend="300")
    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="FESTIVAL")
    result = complete(checkout, user=w["shopper"])
    tea_order, silk_order = sorted(result.orders, key=lambda o: o.vendor_id)
    subsidy_tea = tea_order.subsidy_amount

    # Before release: half of the tea order back out of escrow; half the subsidy is never paid.
    half = (tea_order.total_amount / 2).quantize(Decimal("0.01"))
    orders_services.order_refund(order=tea_order, amount=cny(half), idempotency_key="r1", actor=None)
    tea_order.refresh_from_db()
    release(tea_order, w["tea_owner"], w["shopper"])
    tea_order.refresh_from_db()
    paid_subsidy = -balance(accounts.PLATFORM_PROMOTIONS)
    share = (subsidy_tea * half / (tea_order.total_amount)).quantize(Decimal("0.01"))
    assert paid_subsidy == subsidy_tea - share

    # After release: the rest back; the store returns the platform's remaining subsidy share too.
    rest = tea_order.total_amount - tea_order.refunded_amount
    orders_services.order_refund(order=tea_order, amount=cny(rest), idempotency_key="r2", actor=None)
    tea_order.refresh_from_db()
    assert balance(accounts.PLATFORM_PROMOTIONS) == 0  # the platform got its whole subsidy back
    assert available(w["tea"]) == 0  # the store is left with nothing, and owes nothing
    assert commission_account() == 0
    assert balance(accounts.buyer_refunds(w["shopper"].pk)) == tea_order.total_amount
    # Retried: nothing moves twice.
    orders_services.order_refund(order=tea_order, amount=cny(rest), idempotency_key="r2", actor=None)
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PROMOTION_SUBSIDY_RETURN).count() == 1
    assert ledger_problems() == []


def test_a_store_voucher_is_paid_by_the_store_alone(world):
    w = world
    store_voucher(w["tea_owner"], code="TEA20", kind="percentage", value="20", max_discount="15")
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="TEA20")
    (order,) = complete(checkout, user=w["shopper"]).orders
    assert order.discount_amount == Decimal("15.00")  # 20% of 100 capped at 15
    assert order.subsidy_amount == 0
    release(order, w["tea_owner"], w["shopper"])
    order.refresh_from_db()
    assert balance(accounts.PLATFORM_PROMOTIONS) == 0
    assert order.commission_amount == (Decimal("85.00") * order.lines.get().commission_rate).quantize(Decimal("0.01"))
    assert available(w["tea"]) == order.total_amount - order.commission_amount
    assert ledger_problems() == []


STATEMENT = """query($vendor: ID!, $from: Date!, $to: Date!) {
  vendorStatement(vendor: $vendor, from: $from, to: $to) {
    openingBalance { amount } closingBalance { amount }
    lines { kind balance { amount } transactionIds discounts { funder amount { amount } } }
    csvUrl
  }
}"""


def test_the_statement_shows_the_discounts_by_funder_and_the_subsidy_line(world, core_api):
    """Sales: what the shopper paid, with the store's and the platform's discounts beside it; the
    promotions line: the platform's subsidy paid at release less what a refund took back; opening
    plus the lines is the closing balance."""
    from datetime import date

    from graphql_relay import to_global_id

    w = world
    platform_voucher(code="FESTIVAL", value="30", min_spend="250")
    store_voucher(w["tea_owner"], code="TEA10", value="10", min_spend="100")
    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="TEA10")
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="FESTIVAL")
    result = complete(checkout, user=w["shopper"])
    tea_order = min(result.orders, key=lambda o: o.vendor_id)
    release(tea_order, w["tea_owner"], w["shopper"])
    tea_order.refresh_from_db()
    orders_services.order_refund(order=tea_order, amount=cny("40.00"), idempotency_key="tea-part", actor=None)
    taken_back = LedgerTransaction.objects.get(kind=TransactionKind.PROMOTION_SUBSIDY_RETURN).entries.get(
        account__code=accounts.PLATFORM_PROMOTIONS
    ).amount

    today = date.today().isoformat()
    statement = core_api.login(w["tea_owner"]).execute(
        STATEMENT, {"vendor": to_global_id("Vendor", w["tea"].pk), "from": today, "to": today}
    )["vendorStatement"]
    lines = {line["kind"]: line for line in statement["lines"]}
    assert lines["SALES"]["balance"] == {"amount": str(tea_order.total_amount)}
    assert lines["SALES"]["discounts"] == [
        {"funder": "PLATFORM", "amount": {"amount": "9.31"}}, {"funder": "STORE", "amount": {"amount": "10.00"}},
    ]
    subsidy = Decimal("9.31") - Decimal(taken_back) / 100
    assert lines["PROMOTIONS"]["balance"] == {"amount": str(subsidy)}
    assert len(lines["PROMOTIONS"]["transactionIds"]) == 2  # paid at release, part taken back on the refund
    assert lines["ADJUSTMENTS"]["transactionIds"] == []
    assert all(line["discounts"] == [] for kind, line in lines.items() if kind != "SALES")
    total = sum(Decimal(line["balance"]["amount"]) for line in statement["lines"])
    assert Decimal(statement["openingBalance"]["amount"]) + total == Decimal(statement["closingBalance"]["amount"])
    assert available(w["tea"]) + pending(w["tea"]) == Decimal(statement["closingBalance"]["amount"])
    from django.test import Client

    rows = Client().get(statement["csvUrl"]).content.decode().splitlines()
    assert "sales: discounts funded by the platform,9.31,,,CNY," in rows
    assert "sales: discounts funded by the store,10.00,,,CNY," in rows
