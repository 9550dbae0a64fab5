"""The year-end fee rebate, platform revenue by category and month, and constant query counts."""

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from moneyed import Money

from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.entry_fees import fee_rebates_pay, rebate_for
from backend.finance.ledger import account_balance, ledger_problems
from backend.finance.models import FeePeriod, LedgerTransaction, TransactionKind
from backend.finance.revenue import allocate, platform_revenue
from backend.finance.services import EscrowSplit
from backend.orders.models import Order, OrderLine, OrderStatus

from ..conftest import make_user
from ..factories import VendorFactory
from ..finance.helpers import captured_payment
from .conftest import api_for
from .test_standing import pay_up

pytestmark = pytest.mark.django_db

RULES = [{"threshold": "1200000.00", "fraction": "0.5"}, {"threshold": "3600000.00", "fraction": "1"}]


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


@pytest.mark.parametrize(
    ("sales", "rebate"),
    [("0", "0.00"), ("1199999.99", "0.00"), ("1200000.00", "30000.00"), ("3599999.99", "30000.00"),
     ("3600000.00", "60000.00"), ("9000000.00", "60000.00")],
)
def test_rebate_follows_the_highest_threshold_reached(sales, rebate):
    assert rebate_for(paid=cny("60000.00"), sales=cny(sales), rules=RULES)[0] == cny(rebate)


def test_rebate_rounds_half_up_to_the_cent():
    assert rebate_for(paid=cny("333.33"), sales=cny(10), rules=[{"threshold": "1", "fraction": "0.5"}])[0] == cny("166.67")


def sell(vendor, gross: str, ref: str) -> None:
    payment = captured_payment(gross)
    movements.escrow_hold(payment=payment, splits=[EscrowSplit(ref, vendor.pk, cny(gross))])
    movements.escrow_release(order_ref=ref, vendor=vendor, gross=cny(gross), commission=cny(0))


def test_year_end_rebate_is_paid_once_through_the_ledger(merchant):
    vendor, owner = merchant
    pay_up(vendor, owner)
    period = FeePeriod.objects.get(vendor=vendor)
    sell(vendor, "1000000.00", "r1")
    sell(vendor, "250000.00", "r2")
    # Not before the fee year ends.
    assert fee_rebates_pay() == 0
    with freeze_time(period.ends_at + timedelta(days=1)):
        sell(vendor, "5000000.00", "next-year")  # the next year's sales do not count
        available_before = account_balance(accounts.vendor_available(vendor.pk))
        assert fee_rebates_pay() == 1
        assert fee_rebates_pay() == 0
    period.refresh_from_db()
    assert (period.sales_amount, period.rebate_amount) == (Decimal("1250000.00"), Decimal("30000.00"))
    assert account_balance(accounts.vendor_available(vendor.pk)) == available_before + cny("30000.00")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.FEE_REBATE).count() == 1
    assert account_balance(accounts.PLATFORM_FEES) == cny("30000.00")
    assert ledger_problems() == []


def test_allocation_adds_up_to_the_cent():
    assert allocate(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert sum(allocate(-7, {"a": 2, "b": 5}).values()) == -7
    assert allocate(5, {}) == {None: 5}


def placed_order(vendor, lines, *, user=None) -> Order:
    """An order straight in the database: lines of (category, amount, rate)."""
    total = sum((Decimal(amount) for _category, amount, _rate in lines), Decimal(0))
    order = Order.objects.create(
        checkout_token=uuid.uuid4(), vendor=vendor, user=user, email="buyer@example.com", currency="CNY",
        status=OrderStatus.PAID, subtotal_amount=total, shipping_amount=0, total_amount=total,
        shipping_carrier_id="logistics.table_rate", shipping_service_code="economy", shipping_region="310000",
        shipping_origin="330100",
    )
    for category, amount, rate in lines:
        OrderLine.objects.create(
            order=order, category=category, product_name="Item", variant_sku=f"SKU-{uuid.uuid4().hex[:6]}",
            quantity=1, unit_price_amount=Decimal(amount), currency="CNY", commission_rate=Decimal(rate),
        )
    return order


def test_platform_revenue_by_category_and_month(plans, finance_staff):
    vendor = VendorFactory()
    shopper = make_user()
    zone = timezone.get_current_timezone()
    with freeze_time(datetime(2026, 1, 15, 12, tzinfo=zone)):
        order = placed_order(vendor, [(plans["phones"], "100.00", "0.05"), (plans["food"], "50.00", "0.02")], user=shopper)
        movements.escrow_hold(payment=captured_payment("150.00", customer=shopper),
                              splits=[EscrowSplit(str(order.pk), vendor.pk, cny("150.00"))])
        movements.escrow_release(order_ref=str(order.pk), vendor=vendor, gross=cny("150.00"), commission=cny("6.00"))
        movements.fee_charge(fee_ref="fee-1", vendor=vendor, amount=cny("6000.00"))
    with freeze_time(datetime(2026, 2, 3, 12, tzinfo=zone)):
        movements.refund_from_vendor(refund_ref="refund-1", order_ref=str(order.pk), vendor=vendor, buyer=shopper,
                                     amount=cny("15.00"), commission_returned=cny("0.60"))
    rows = platform_revenue(date(2026, 1, 1), date(2026, 2, 28))
    table = {(r.month, r.category_id): (r.commission, r.fees) for r in rows}
    assert table == {
        (date(2026, 1, 1), plans["phones"].pk): (cny("5.00"), cny("0.00")),
        (date(2026, 1, 1), plans["food"].pk): (cny("1.00"), cny("0.00")),
        (date(2026, 1, 1), None): (cny("0.00"), cny("6000.00")),
        (date(2026, 2, 1), plans["phones"].pk): (cny("-0.50"), cny("0.00")),
        (date(2026, 2, 1), plans["food"].pk): (cny("-0.10"), cny("0.00")),
    }
    # The rows add up to what the platform's accounts gained.
    total = sum((r.total for r in rows), cny(0))
    assert total == account_balance(accounts.PLATFORM_COMMISSION) + account_balance(accounts.PLATFORM_FEES)

    query = """query { platformRevenue(from: "2026-01-01", to: "2026-01-31") {
        month category { slug } commission { amount } fees { amount } total { amount } } }"""
    shown = api_for(finance_staff).execute(query)["platformRevenue"]
    assert {(r["category"] or {}).get("slug"): r["total"]["amount"] for r in shown} == {
        "phones": "5.00", "food": "1.00", None: "6000.00"
    }
    assert api_for(make_user()).execute(query)["platformRevenue"] is None


VENDORS = """
query { vendors(first: 50) { edges { node { name balance { available { amount } deposit { amount }
  depositRequired { amount } } } } } }"""


def test_vendor_list_with_balances_takes_the_same_queries_for_any_page_size(finance_staff, plans):
    api = api_for(finance_staff)

    def count(n):
        while VendorFactory._meta.model.objects.count() < n:
            vendor = VendorFactory()
            vendor.categories.set([plans["phones"] if vendor.pk % 2 else plans["food"]])
            movements.deposit_top_up(ref=f"q{vendor.pk}", vendor=vendor, amount=cny("10.00"))
        with CaptureQueriesContext(connection) as queries:
            data = api.execute(VENDORS)
        assert len(data["vendors"]["edges"]) == n
        return len(queries)

    small, large = count(2), count(9)
    assert small == large
    deposits = {e["node"]["balance"]["depositRequired"]["amount"] for e in api.execute(VENDORS)["vendors"]["edges"]}
    assert deposits == {"50000.00", "10000.00"}
