"""The daily figures reconcile with the orders and the ledger, on generated trading; recomputing a day
changes nothing; old events go."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from backend.analytics import aggregation
from backend.analytics.models import DailyMetrics, Event
from backend.core.money import from_minor
from backend.finance import accounts
from backend.finance.models import LedgerEntry
from backend.finance.revenue import platform_revenue
from backend.orders.models import Order, OrderRefund

from .world import generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return generate()


def platform_row(day):
    return DailyMetrics.objects.get(day=day, vendor__isnull=True)


def test_gmv_is_the_goods_of_the_paid_orders_and_take_is_the_platforms_ledger(world):
    today = timezone.localdate()
    aggregation.aggregate_day(today)
    platform = platform_row(today)
    paid = Order.objects.filter(paid_at__isnull=False)
    assert platform.orders == paid.count() == len(world["orders"])
    assert platform.gmv == paid.aggregate(s=Sum("subtotal_amount"))["s"]
    stores = DailyMetrics.objects.filter(day=today, vendor__isnull=False)
    assert sum(r.gmv for r in stores) == platform.gmv
    for row in stores:
        assert row.gmv == paid.filter(vendor_id=row.vendor_id).aggregate(s=Sum("subtotal_amount"))["s"]

    # The platform's revenue is the net change of its ledger accounts, split three ways.
    net = {
        code: LedgerEntry.objects.filter(account__code=code).aggregate(s=Sum("amount"))["s"] or 0
        for code in (accounts.PLATFORM_COMMISSION, accounts.PLATFORM_FEES)
    }
    assert platform.commission == from_minor(net[accounts.PLATFORM_COMMISSION], "CNY") > 0
    assert platform.fees == Decimal("3000.00") and platform.deposits_forfeited == Decimal("120.00")
    assert platform.fees + platform.deposits_forfeited == from_minor(net[accounts.PLATFORM_FEES], "CNY")
    # ... equal to platformRevenue of the same day, and to its splits by category and by store.
    revenue = platform_revenue(today, today)
    assert sum(r.total.amount for r in revenue) == platform.commission + platform.fees + platform.deposits_forfeited
    by_category = {(None if k == "None" else int(k)): v for k, v in platform.take_by_category.items()}
    for row in revenue:
        if row.category_id is not None:
            assert from_minor(by_category[row.category_id], "CNY") == row.commission.amount
    assert sum(platform.take_by_category.values()) == sum(net.values())
    assert sum(platform.take_by_store.values()) == sum(net.values())
    assert sum(r.commission + r.fees + r.deposits_forfeited for r in stores) == from_minor(sum(net.values()), "CNY")

    # Refunds, shoppers, traffic.
    assert platform.refunds == OrderRefund.objects.values("order").distinct().count() == 2
    assert platform.refunded == OrderRefund.objects.aggregate(s=Sum("amount"))["s"]
    assert platform.shoppers == paid.values("email").distinct().count()
    assert platform.new_shoppers == platform.shoppers and platform.returning_shoppers == 0
    assert platform.visitors == Event.objects.values("visitor_id").distinct().count()
    assert platform.ordering_visitors == len({o.user_id for o in world["orders"]})
    assert platform.searches_without_results == 1 and platform.no_result_terms == {"kombucha": 1}
    assert platform.active_stores == 2 and platform.new_stores == 2
    assert sum(platform.traffic_sources.values()) >= platform.visitors
    top = platform.top_products
    assert [p["gmv"] for p in top] == sorted((p["gmv"] for p in top), key=Decimal, reverse=True)
    assert sum(Decimal(c["gmv"]) for c in platform.top_categories) == platform.gmv


def test_recomputing_a_day_gives_the_same_rows(world):
    today = timezone.localdate()
    fields = [f.name for f in DailyMetrics._meta.fields if f.name not in ("id", "computed_at")]
    aggregation.aggregate_day(today)
    first = list(DailyMetrics.objects.order_by("vendor_id").values(*fields))
    aggregation.aggregate_day(today)
    assert list(DailyMetrics.objects.order_by("vendor_id").values(*fields)) == first
    # Today's rows again, and the two days before (a platform row each, nothing else happened then).
    assert aggregation.aggregate_recent(today=today, days=2) == len(first) + 2


def test_a_shopper_who_bought_before_is_returning(world):
    today = timezone.localdate()
    # A shopper with two checkouts today (8 checkouts by 4 shoppers): move the first one to yesterday.
    orders = sorted(world["orders"], key=lambda o: o.pk)
    tokens_by_email = {}
    for order in orders:
        tokens_by_email.setdefault(order.email, []).append(order.checkout_token)
    email, tokens = next((e, list(dict.fromkeys(t))) for e, t in tokens_by_email.items() if len(set(t)) > 1)
    Order.objects.filter(checkout_token=tokens[0]).update(created_at=timezone.now() - timedelta(days=1))
    aggregation.aggregate_day(today)
    platform = platform_row(today)
    assert platform.returning_shoppers == 1
    assert platform.new_shoppers + platform.returning_shoppers == platform.shoppers
    returning = DailyMetrics.objects.filter(day=today, returning_shoppers__gt=0)
    moved_vendors = set(Order.objects.filter(checkout_token=tokens[0]).values_list("vendor_id", flat=True))
    today_vendors = set(Order.objects.filter(checkout_token__in=tokens[1:]).values_list("vendor_id", flat=True))
    assert set(returning.exclude(vendor=None).values_list("vendor_id", flat=True)) == moved_vendors & today_vendors


def test_old_events_are_deleted(settings):
    settings.ANALYTICS_RETENTION_DAYS = 30
    now = timezone.now()
    Event.objects.create(kind="search", occurred_at=now - timedelta(days=31), visitor_id="v-old-0000")
    Event.objects.create(kind="search", occurred_at=now - timedelta(days=29), visitor_id="v-new-0000")
    assert aggregation.delete_old_events(now=now) == 1
    assert list(Event.objects.values_list("visitor_id", flat=True)) == ["v-new-0000"]
