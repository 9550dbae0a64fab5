"""Weekly and monthly rollups: a report read from them equals the same report read day by day (and a
plain sum of the days), a day recomputed after its week and month were rolled up is in them, missing
rollups are read as days, and a report is one SQL query whatever the range, the period or the rollups."""

import random
from collections import Counter
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from backend.analytics import aggregation, rollups, selectors
from backend.analytics.models import DailyMetrics, PeriodMetrics
from backend.core.permissions import PlatformPermission
from backend.orders.models import Order

from ..checkout.helpers import complete, ready_checkout
from ..conftest import make_user
from ..factories import VendorFactory
from .test_analytics_api import ANALYTICS
from .world import generate

pytestmark = pytest.mark.django_db


def test_cover_is_whole_months_then_whole_weeks_then_days():
    first, last = datetime(2026, 1, 28).date(), datetime(2026, 4, 9).date()  # a Wednesday, a Thursday
    pieces = rollups.cover(first, last, "month")
    assert pieces == [
        ("day", datetime(2026, 1, 28).date()), ("day", datetime(2026, 1, 29).date()),
        ("day", datetime(2026, 1, 30).date()), ("day", datetime(2026, 1, 31).date()),
        ("month", datetime(2026, 2, 1).date()), ("month", datetime(2026, 3, 1).date()),
        *[("day", datetime(2026, 4, d).date()) for d in range(1, 10)],  # April 6-12 is not inside
    ]
    by_week = rollups.cover(first, last, "week")
    assert by_week[:6] == [("day", datetime(2026, 1, 28).date() + timedelta(days=n)) for n in range(5)] + [
        ("week", datetime(2026, 2, 2).date())
    ]
    # Every day once, whatever the cover.
    for period in ("week", "month"):
        covered = []
        for kind, start in rollups.cover(first, last, period):
            end = rollups.period_end(start, kind)
            covered += [start + timedelta(days=n) for n in range((end - start).days + 1)]
        assert covered == [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert ("week", datetime(2026, 3, 9).date()) in rollups.cover(datetime(2026, 3, 5).date(), datetime(2026, 3, 20).date(), "month")


def _random_rows(days: int, vendors: list, seed: int = 3) -> list[DailyMetrics]:
    """Stored days ending yesterday with every figure and list filled at random (the platform's too)."""
    rng = random.Random(seed)
    yesterday = timezone.localdate() - timedelta(days=1)
    made = []
    for back in range(days):
        day = yesterday - timedelta(days=back)
        for vendor in [None, *vendors]:
            if vendor is not None and rng.random() < 0.15:
                continue  # a store without a row that day
            row = DailyMetrics(day=day, vendor=vendor, currency="CNY")
            for name in selectors.COUNTS:
                setattr(row, name, rng.randint(0, 50))
            for name in selectors.AMOUNTS:
                setattr(row, name, Decimal(rng.randint(0, 500_000)) / 100)
            row.top_products = [
                {"id": pid, "name": f"Listing {pid}", "orders": rng.randint(1, 9), "quantity": rng.randint(1, 20),
                 "gmv": str(Decimal(rng.randint(1, 90_000)) / 100)}
                for pid in rng.sample(range(1, 40), 10)
            ]
            row.top_categories = [
                {"id": cid, "orders": rng.randint(1, 9), "quantity": rng.randint(1, 20),
                 "gmv": str(Decimal(rng.randint(1, 90_000)) / 100)}
                for cid in rng.sample([None, 1, 2, 3, 4, 5, 6], 4)
            ]
            row.traffic_sources = {s: rng.randint(1, 30) for s in rng.sample(["direct", "weibo", "baidu.com", "mail"], 3)}
            if vendor is None:
                row.take_by_category = {str(k): rng.randint(-500, 9000) for k in rng.sample(["None", "1", "2", "3"], 3)}
                row.take_by_store = {str(v.pk): rng.randint(0, 9000) for v in vendors}
                row.no_result_terms = {t: rng.randint(1, 5) for t in rng.sample(["kombucha", "茶", "zzz", "x"], 2)}
            made.append(row)
    DailyMetrics.objects.bulk_create(made)
    return made


def _key(pair):
    return (pair[0] is not None, pair[0] or 0, pair[1])


def _reference(rows, vendor_id, date_from, date_to, period, first=10):
    """The report as the sum of the days, every day read (what the selector did before rollups)."""
    mine = sorted((r for r in rows if r.vendor_id == vendor_id and date_from <= r.day <= date_to), key=lambda r: r.day)
    periods: dict = {}
    for start in selectors._buckets(date_from, date_to, period):
        periods[start] = Counter()
    totals: Counter = Counter()
    products, categories, sources, take_category, take_store, terms = {}, {}, Counter(), Counter(), Counter(), Counter()
    for row in mine:
        for name in selectors.NUMBERS:
            periods[selectors.bucket_start(row.day, period)][name] += getattr(row, name)
            totals[name] += getattr(row, name)
        for merged, items in ((products, row.top_products), (categories, row.top_categories)):
            for item in items:
                found = merged.setdefault(item["id"], {**item, "orders": 0, "quantity": 0, "gmv": Decimal("0")})
                found["orders"] += item["orders"]
                found["quantity"] += item["quantity"]
                found["gmv"] += Decimal(item["gmv"])
        sources.update(row.traffic_sources)
        take_category.update(row.take_by_category)
        take_store.update(row.take_by_store)
        terms.update(row.no_result_terms)

    def ranked(merged):
        items = sorted(merged.values(), key=lambda i: (-i["gmv"], i["id"] or 0))[:first]
        return [{**i, "gmv": str(i["gmv"])} for i in items]

    return {
        "periods": [(start, dict(c)) for start, c in periods.items()],
        "totals": dict(totals),
        "top_products": ranked(products),
        "top_categories": ranked(categories),
        "traffic_sources": sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])),
        "take_by_category": sorted((((None if k == "None" else int(k)), v) for k, v in take_category.items()), key=_key),
        "take_by_store": sorted((((None if k == "None" else int(k)), v) for k, v in take_store.items()), key=_key),
        "searches_without_results": sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:first],
    }


def _as_reference(report):
    def numbers(figures):
        return {name: figures.counts[name] if name in selectors.COUNTS else figures.amounts[name]
                for name in selectors.NUMBERS}

    def minor(items):
        return sorted(((key, int(money.amount * 100)) for key, money in items), key=_key)

    return {
        "periods": [(bucket.date, {k: v for k, v in numbers(bucket).items()}) for bucket in report.periods],
        "totals": numbers(report.totals),
        "top_products": [{**i} for i in report.top_products],
        "top_categories": [{**i} for i in report.top_categories],
        "traffic_sources": report.traffic_sources,
        "take_by_category": minor(report.take_by_category),
        "take_by_store": minor(report.take_by_store),
        "searches_without_results": report.searches_without_results,
    }


def _normalised(found):
    """Zero figures of empty periods compare equal to figures never added."""
    found = dict(found)
    found["periods"] = [(start, {k: v for k, v in c.items() if v}) for start, c in found["periods"]]
    found["totals"] = {k: v for k, v in found["totals"].items() if v}
    return found


def test_a_report_from_rollups_equals_the_sum_of_its_days():
    vendors = [VendorFactory(), VendorFactory()]
    rows = _random_rows(130, vendors)
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    yesterday = timezone.localdate() - timedelta(days=1)
    assert rollups.rebuild_range(yesterday - timedelta(days=129), yesterday) > 0
    platform_month = PeriodMetrics.objects.filter(vendor=None, period="month").order_by("start")[1]
    days = DailyMetrics.objects.filter(
        vendor=None, day__gte=platform_month.start, day__lte=rollups.period_end(platform_month.start, "month")
    )
    assert platform_month.days == days.count() and platform_month.orders == days.aggregate(n=Sum("orders"))["n"]
    assert platform_month.gmv == days.aggregate(s=Sum("gmv"))["s"]
    ranges = [(1, 0), (30, 0), (45, 3), (100, 0), (130, 0), (61, 17)]
    for vendor_id in (None, vendors[0].pk, vendors[1].pk):
        for span, end_back in ranges:
            date_to = yesterday - timedelta(days=end_back)
            date_from = date_to - timedelta(days=span - 1)
            for period in selectors.PERIODS:
                report = selectors.analytics_report(
                    user=staff, vendor_id=vendor_id, date_from=date_from, date_to=date_to, period=period
                )
                expected = _reference(rows, vendor_id, date_from, date_to, period)
                if vendor_id is not None:
                    expected["take_by_category"] = expected["take_by_store"] = []
                assert _normalised(_as_reference(report)) == _normalised(expected), (vendor_id, span, period)
    # The CSV's one-pass line is every figure as `value` gives it.
    report = selectors.analytics_report(
        user=staff, vendor_id=None, date_from=yesterday - timedelta(days=60), date_to=yesterday, period="week"
    )
    for figures in [*report.periods, report.totals]:
        assert figures.values() == [figures.value(metric) for metric in selectors.METRICS]
    # Without rollups (days stored before they existed), the same figures from the days.
    with_rollups = _as_reference(selectors.analytics_report(
        user=staff, vendor_id=None, date_from=yesterday - timedelta(days=120), date_to=yesterday, period="month"
    ))
    PeriodMetrics.objects.filter(period="month").delete()
    assert _as_reference(selectors.analytics_report(
        user=staff, vendor_id=None, date_from=yesterday - timedelta(days=120), date_to=yesterday, period="month"
    )) == with_rollups
    PeriodMetrics.objects.all().delete()
    assert _as_reference(selectors.analytics_report(
        user=staff, vendor_id=None, date_from=yesterday - timedelta(days=120), date_to=yesterday, period="month"
    )) == with_rollups


def test_a_report_is_one_query_whatever_the_range_the_period_or_the_rollups():
    vendors = [VendorFactory()]
    _random_rows(400, vendors)
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    yesterday = timezone.localdate() - timedelta(days=1)

    selectors.can_see_analytics(staff, None)  # the staff member's permissions, read once and kept on the user

    def counts():
        found = {}
        for vendor_id in (None, vendors[0].pk):
            for days in (1, 60, 365, 400):
                for period in selectors.PERIODS:
                    with CaptureQueriesContext(connection) as queries:
                        selectors.analytics_report(
                            user=staff, vendor_id=vendor_id, date_from=yesterday - timedelta(days=days - 1),
                            date_to=yesterday, period=period,
                        )
                    found[vendor_id, days, period] = len(queries)
        return found

    without = counts()
    rollups.rebuild_all()
    assert set(without.values()) == {1}, without
    found = counts()
    assert set(found.values()) == {1}, found


def _day_noon(day):
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())


def test_a_day_recomputed_after_its_week_and_month_were_rolled_up_is_in_them(core_api):
    today = timezone.localdate()
    # The 10th of two months back: its week and month lie wholly before today.
    day = (today.replace(day=1) - timedelta(days=40)).replace(day=10)
    with freeze_time(_day_noon(day)):
        world = generate(checkouts=4)
    aggregation.aggregate_day(day)
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    week, month = rollups.week_start(day), rollups.month_start(day)
    assert set(PeriodMetrics.objects.values_list("period", "start", "vendor_id")) == {
        (period, start, vendor_id) for period, start in (("week", week), ("month", month))
        for vendor_id in (None, world["tea"].pk, world["silk"].pk)
    }

    def report(period, vendor_id=None):
        return selectors.analytics_report(
            user=staff, vendor_id=vendor_id, date_from=month - timedelta(days=3), date_to=today - timedelta(days=1),
            period=period,
        )

    def paid(**filters):
        return Order.objects.filter(paid_at__isnull=False, **filters)

    first_orders = paid().count()
    for period in selectors.PERIODS:
        assert report(period).totals.orders == first_orders
    # Another checkout that day, after the rollups were built; the day is recomputed.
    with freeze_time(_day_noon(day) + timedelta(hours=2)):
        shopper = world["shoppers"][0]
        variant = world["tea"].products.first().variants.first()
        complete(ready_checkout(shopper, [(variant, 3)], email=shopper.email), user=shopper)
    assert paid().count() == first_orders + 1
    aggregation.aggregate_day(day)
    assert PeriodMetrics.objects.get(period="month", start=month, vendor=None).orders == first_orders + 1
    gmv = paid().aggregate(s=Sum("subtotal_amount"))["s"]
    tea_gmv = paid(vendor=world["tea"]).aggregate(s=Sum("subtotal_amount"))["s"]
    for period in selectors.PERIODS:
        found = report(period)
        assert found.totals.orders == first_orders + 1 and found.totals.gmv.amount == gmv
        bucket = next(b for b in found.periods if b.date == selectors.bucket_start(day, period))
        assert bucket.orders == first_orders + 1
        tea = report(period, world["tea"].pk)
        assert tea.totals.gmv.amount == tea_gmv
        assert sum(Decimal(p["gmv"]) for p in tea.top_products) == tea_gmv
        assert next(p for p in tea.top_products if p["id"] == variant.product_id)["quantity"] >= 3
    # Through the core API, as the console asks for it.
    for period in ("DAY", "WEEK", "MONTH"):
        found = core_api.login(staff).execute(ANALYTICS, {
            "from": str(month - timedelta(days=3)), "to": str(today), "period": period,
        })["analytics"]
        assert found["totals"]["orders"] == first_orders + 1
        assert Decimal(found["totals"]["gmv"]["amount"]) == gmv
        assert sum(p["orders"] for p in found["periods"]) == first_orders + 1
    # The periodic run recomputes recent days and rebuilds their weeks and months once each.
    aggregation.aggregate_recent(today=today, days=2)
    assert PeriodMetrics.objects.filter(period="month", start=rollups.month_start(today), vendor=None).exists()
    assert PeriodMetrics.objects.get(period="month", start=month, vendor=None).orders == first_orders + 1


def test_a_stale_rollup_would_show():
    """The test above can fail: a day recomputed without rebuilding its rollups reads the old figures."""
    today = timezone.localdate()
    day = (today.replace(day=1) - timedelta(days=40)).replace(day=10)
    with freeze_time(_day_noon(day)):
        world = generate(checkouts=2)
    aggregation.aggregate_day(day)
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    month = rollups.month_start(day)
    with freeze_time(_day_noon(day) + timedelta(hours=2)):
        shopper = world["shoppers"][0]
        variant = world["silk"].products.first().variants.first()
        complete(ready_checkout(shopper, [(variant, 1)], email=shopper.email), user=shopper)
    aggregation.aggregate_day(day, rollups=False)
    found = selectors.analytics_report(
        user=staff, vendor_id=None, date_from=month, date_to=rollups.period_end(month, "month"), period="month"
    )
    paid = Order.objects.filter(paid_at__isnull=False).count()
    assert found.totals.orders == paid - 1  # the month's rollup, built before the new order
    rollups.rebuild_for_days([day])
    found = selectors.analytics_report(
        user=staff, vendor_id=None, date_from=month, date_to=rollups.period_end(month, "month"), period="month"
    )
    assert found.totals.orders == paid


def test_the_migration_rolls_up_the_days_stored_before_rollups():
    """The data step of the migration that added rollups, with its historical models."""
    import importlib

    from django.db.migrations.executor import MigrationExecutor

    vendors = [VendorFactory()]
    rows = _random_rows(40, vendors)
    migration = importlib.import_module("backend.analytics.migrations.0002_period_rollups")
    apps = MigrationExecutor(connection).loader.project_state(("analytics", "0002_period_rollups")).apps
    migration.build_rollups(apps, None)
    first = min(r.day for r in rows)
    expected = {(period, rollups.period_start(r.day, period), r.vendor_id) for r in rows for period in rollups.ROLLUPS}
    assert set(PeriodMetrics.objects.values_list("period", "start", "vendor_id")) == expected
    month = PeriodMetrics.objects.filter(period="month", vendor=vendors[0]).order_by("start").last()
    mine = [r for r in rows if r.vendor_id == vendors[0].pk and rollups.month_start(r.day) == month.start]
    assert month.days == len(mine) and month.orders == sum(r.orders for r in mine)
    assert month.start >= rollups.month_start(first)
