"""The analytics query of the core API: who sees what, by day, week or month, chart series, the CSV
export, and a constant number of SQL queries whatever the range."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.analytics import aggregation
from backend.analytics.models import DailyMetrics
from backend.core.permissions import PlatformPermission

from ..conftest import make_user
from .world import generate

pytestmark = pytest.mark.django_db

ANALYTICS = """
query($vendor: ID, $from: Date!, $to: Date!, $period: AnalyticsPeriod) {
  analytics(vendor: $vendor, from: $from, to: $to, period: $period) {
    vendorId from to period
    totals {
      visitors orderingVisitors conversionRate orders gmv { amount currency } averageOrderValue { amount }
      refunds refundRate disputes disputeRate shoppers newShoppers returningShoppers repurchaseRate
      commission { amount } fees { amount } depositsForfeited { amount } platformRevenue { amount } takeRate
      searchesWithoutResults newStores activeStores productViews storeViews
    }
    periods { date orders gmv { amount } }
    series(metric: GMV) { date value }
    topProducts { id name orders quantity gmv { amount } }
    topCategories { id name gmv { amount } }
    trafficSources { source visitors }
    takeByCategory { id name amount { amount } }
    takeByStore { id name amount { amount } }
    searchesWithoutResults { term count }
    csvUrl
  }
}"""


@pytest.fixture
def world():
    made = generate()
    today = timezone.localdate()
    aggregation.aggregate_day(today)
    # Move today's stored figures to yesterday (stored days end before today; today is live).
    DailyMetrics.objects.filter(day=today).update(day=today - timedelta(days=1))
    return made


def ask(core_api, user, **variables):
    today = timezone.localdate()
    variables = {"from": str(today - timedelta(days=1)), "to": str(today - timedelta(days=1)), **variables}
    return core_api.login(user).execute(ANALYTICS, variables)["analytics"]


def test_a_merchant_sees_its_own_store_and_nothing_else(core_api, world):
    tea = to_global_id("Vendor", world["tea"].pk)
    silk = to_global_id("Vendor", world["silk"].pk)
    own = ask(core_api, world["tea_owner"], vendor=tea)
    assert own["vendorId"] == tea
    stored = DailyMetrics.objects.get(vendor=world["tea"])
    assert Decimal(own["totals"]["gmv"]["amount"]) == stored.gmv > 0
    assert own["takeByStore"] == [] and own["takeByCategory"] == []
    # Without a vendor: its own store, never the platform.
    assert ask(core_api, world["tea_owner"])["vendorId"] == tea
    assert ask(core_api, world["tea_owner"], vendor=silk) is None
    assert ask(core_api, make_user()) is None
    assert ask(core_api, make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_VENDORS])) is None


def test_staff_with_finance_or_the_analytics_permission_see_the_platform_and_every_store(core_api, world):
    finance = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    analyst = make_user(is_staff=True)
    analyst.user_permissions.add(Permission.objects.get(codename="view_analytics", content_type__app_label="analytics"))
    platform = DailyMetrics.objects.get(vendor__isnull=True)
    for user in (finance, analyst):
        found = ask(core_api, user)
        assert found["vendorId"] is None
        totals = found["totals"]
        assert Decimal(totals["gmv"]["amount"]) == platform.gmv
        assert totals["orders"] == platform.orders
        revenue = platform.commission + platform.fees + platform.deposits_forfeited
        assert Decimal(totals["platformRevenue"]["amount"]) == revenue
        assert Decimal(totals["takeRate"]) == (revenue / platform.gmv).quantize(Decimal("0.0001"))
        assert Decimal(totals["averageOrderValue"]["amount"]) == (platform.gmv / platform.orders).quantize(Decimal("0.01"))
        assert sum(Decimal(t["amount"]["amount"]) for t in found["takeByStore"]) == revenue
        assert sum(Decimal(t["amount"]["amount"]) for t in found["takeByCategory"]) == revenue
        assert {t["name"] for t in found["takeByCategory"]} >= {"Drinks", "Clothes"}
        assert found["searchesWithoutResults"] == [{"term": "kombucha", "count": 1}]
        assert ask(core_api, user, vendor=to_global_id("Vendor", world["silk"].pk))["vendorId"]


def test_periods_are_days_weeks_or_months_and_series_are_chart_ready(core_api, world):
    finance = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    today = timezone.localdate()
    start = today - timedelta(days=40)
    by_day = ask(core_api, finance, **{"from": str(start), "to": str(today - timedelta(days=1))})
    assert len(by_day["periods"]) == 40 and len(by_day["series"]) == 40
    assert [p["date"] for p in by_day["series"]] == [str(start + timedelta(days=n)) for n in range(40)]
    yesterday = [p for p in by_day["series"] if p["date"] == str(today - timedelta(days=1))][0]
    assert Decimal(yesterday["value"]) == Decimal(by_day["totals"]["gmv"]["amount"])
    by_week = ask(core_api, finance, period="WEEK", **{"from": str(start), "to": str(today)})
    assert all(timezone.datetime.fromisoformat(p["date"]).weekday() == 0 for p in by_week["periods"])
    by_month = ask(core_api, finance, period="MONTH", **{"from": str(start), "to": str(today)})
    assert all(p["date"].endswith("-01") for p in by_month["periods"])
    # The week and month buckets add up to the same totals (today, live, included).
    assert by_week["totals"] == by_month["totals"]
    assert sum(p["orders"] for p in by_month["periods"]) == by_month["totals"]["orders"]


def test_an_invalid_range_is_null(core_api, world):
    finance = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    today = timezone.localdate()
    assert ask(core_api, finance, **{"from": str(today), "to": str(today - timedelta(days=1))}) is None
    assert ask(core_api, finance, **{"from": str(today - timedelta(days=5000)), "to": str(today)}) is None


def test_today_is_live(core_api, world, settings):
    finance = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    today = timezone.localdate()
    live = ask(core_api, finance, **{"from": str(today), "to": str(today)})
    stored = DailyMetrics.objects.get(vendor__isnull=True)
    assert live["totals"]["orders"] == stored.orders  # the same orders, computed now


def test_the_csv_export_has_every_period_and_the_totals(core_api, world):
    owner = world["tea_owner"]
    found = ask(core_api, owner, vendor=to_global_id("Vendor", world["tea"].pk))
    response = Client().get(found["csvUrl"])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["period_start"] for r in rows] == [found["from"], "total"]
    assert Decimal(rows[-1]["gmv"]) == Decimal(found["totals"]["gmv"]["amount"])
    assert rows[-1]["orders"] == str(found["totals"]["orders"])
    # A tampered link, or one whose holder left the store, downloads nothing.
    assert Client().get(found["csvUrl"].replace(".csv", "x.csv")).status_code == 404
    owner.vendor_membership.delete()
    assert Client().get(found["csvUrl"]).status_code == 404


def test_the_query_count_does_not_grow_with_the_range(core_api, world):
    finance = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    stored = list(DailyMetrics.objects.filter(day=yesterday))
    for back in range(1, 400):
        for row in stored:
            row.pk, row.day = None, yesterday - timedelta(days=back)
        DailyMetrics.objects.bulk_create(stored)
    counts = []
    for days in (1, 60, 400):
        with CaptureQueriesContext(connection) as queries:
            found = ask(core_api, finance, period="DAY", **{"from": str(yesterday - timedelta(days=days - 1)), "to": str(yesterday)})
        counts.append(len(queries))
        assert found["totals"]["orders"] == days * next(r.orders for r in stored if r.vendor_id is None)
    assert counts[0] == counts[1] == counts[2], counts


def test_refusals_are_coded_and_in_the_shoppers_language(world):
    from django.utils import translation

    from backend.analytics import selectors
    from backend.analytics.error_codes import AnalyticsErrorCode
    from backend.core.exceptions import DomainError

    finance = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    today = timezone.localdate()
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        selectors.analytics_report(user=finance, vendor_id=None, date_from=today, date_to=today, period="year")
    assert refused.value.code == AnalyticsErrorCode.INVALID and refused.value.message == "统计周期只能是日、周或月。"
    with translation.override("en"), pytest.raises(DomainError) as refused:
        selectors.analytics_report(user=world["tea_owner"], vendor_id=None, date_from=today, date_to=today)
    assert refused.value.code == AnalyticsErrorCode.PERMISSION_DENIED
    assert refused.value.message == "You may not see these figures."
