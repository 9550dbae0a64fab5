"""Weekly and monthly rollups of the stored days, and the one fold both they and the reports use.

A rollup (PeriodMetrics) is the sum of its week's or month's stored days, per store and for the
platform, its ranked lists merged whole (never cut to a top, so a report read from rollups equals the
same report read from the days). `aggregation.aggregate_day` rebuilds the week and the month of the day
it recomputed, in the same transaction; `rebuild_range` rebuilds every week and month of a range (the
migration that added rollups, and databases aggregated before it).

Reports cover a range with whole months inside it, then whole weeks inside what is left of each month,
then days (by week: whole weeks, then days), see `cover`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

COUNTS = (
    "visitors", "product_views", "store_views", "searches", "searches_without_results", "add_to_carts",
    "checkouts_started", "ordering_visitors", "orders", "refunds", "disputes", "shoppers", "new_shoppers",
    "returning_shoppers", "new_stores", "active_stores",
)
AMOUNTS = ("gmv", "refunded", "commission", "fees", "deposits_forfeited")
NUMBERS = (*COUNTS, *AMOUNTS)
LISTS = ("top_products", "top_categories", "traffic_sources", "take_by_category", "take_by_store", "no_result_terms")
ROLLUPS = ("week", "month")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def period_start(day: date, period: str) -> date:
    if period == "week":
        return week_start(day)
    if period == "month":
        return month_start(day)
    return day


def period_end(start: date, period: str) -> date:
    """The last day of the period starting on `start`."""
    if period == "week":
        return start + timedelta(days=6)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start


def next_start(start: date, period: str) -> date:
    return period_end(start, period) + timedelta(days=1)


def _weeks_and_days(first: date, last: date) -> list[tuple[str, date]]:
    """Whole weeks inside [first, last], and the days around them."""
    found, day = [], first
    while day <= last:
        if day.weekday() == 0 and day + timedelta(days=6) <= last:
            found.append(("week", day))
            day += timedelta(days=7)
        else:
            found.append(("day", day))
            day += timedelta(days=1)
    return found


def cover(first: date, last: date, period: str) -> list[tuple[str, date]]:
    """Pieces ("month" | "week" | "day", start) that cover [first, last] exactly, each inside one bucket of
    `period`, as few as can be: by month (and by day, for the ranked lists), whole months, then whole
    weeks, then days; by week, whole weeks, then days."""
    if first > last:
        return []
    if period == "week":
        return _weeks_and_days(first, last)
    found, start = [], month_start(first)
    while start <= last:
        end = period_end(start, "month")
        if start >= first and end <= last:
            found.append(("month", start))
        else:
            found += _weeks_and_days(max(start, first), min(end, last))
        start = end + timedelta(days=1)
    return found


class Fold:
    """The ranked lists and breakdowns of many rows merged into one (numbers are summed by the caller)."""

    __slots__ = ("products", "categories", "gmv", "sources", "take_category", "take_store", "terms")

    def __init__(self):
        self.products: dict = {}
        self.categories: dict = {}
        self.gmv: dict = {}  # ("p" | "c", id) -> Decimal, turned into the items' "gmv" strings at the end
        self.sources: Counter = Counter()
        self.take_category: Counter = Counter()
        self.take_store: Counter = Counter()
        self.terms: Counter = Counter()

    def add(self, top_products, top_categories, traffic, by_category, by_store, terms) -> None:
        gmv = self.gmv
        for kind, merged, items in (("p", self.products, top_products), ("c", self.categories, top_categories)):
            for item in items or ():
                key = item["id"]
                found = merged.get(key)
                if found is None:
                    found = merged[key] = {**item, "orders": 0, "quantity": 0}
                    gmv[kind, key] = Decimal("0")
                found["orders"] += item["orders"]
                found["quantity"] += item["quantity"]
                gmv[kind, key] += Decimal(item["gmv"])
        if traffic:
            self.sources.update(traffic)
        if by_category:
            self.take_category.update(by_category)
        if by_store:
            self.take_store.update(by_store)
        if terms:
            self.terms.update(terms)

    def ranked(self, kind: str) -> list[dict]:
        """Every merged listing ("p") or category ("c"), GMV as a string again, by GMV then id."""
        merged = self.products if kind == "p" else self.categories
        for key, found in merged.items():
            found["gmv"] = str(self.gmv[kind, key])
        return sorted(merged.values(), key=lambda i: (-self.gmv[kind, i["id"]], i["id"] or 0))

    def lists(self) -> dict:
        """The merged lists as a rollup row stores them."""
        return {
            "top_products": self.ranked("p"),
            "top_categories": self.ranked("c"),
            "traffic_sources": dict(self.sources),
            "take_by_category": dict(self.take_category),
            "take_by_store": dict(self.take_store),
            "no_result_terms": dict(self.terms),
        }


def build(period: str, start: date, *, daily=None, rollups=None) -> int:
    """Rebuild one week's or month's rollups (every store's and the platform's) from its stored days;
    returns how many rows it has. Models can be passed (a migration's historical models)."""
    if daily is None or rollups is None:
        from .models import DailyMetrics, PeriodMetrics

        daily, rollups = daily or DailyMetrics, rollups or PeriodMetrics
    end = period_end(start, period)
    columns = ("vendor_id", "currency", *NUMBERS, *LISTS)
    numbers: dict = {}
    folds: dict = defaultdict(Fold)
    days: Counter = Counter()
    currencies: dict = {}
    for row in daily.objects.filter(day__gte=start, day__lte=end).order_by("day", "vendor_id").values_list(*columns):
        vendor_id = row[0]
        currencies.setdefault(vendor_id, row[1])
        sums = numbers.get(vendor_id)
        if sums is None:
            sums = numbers[vendor_id] = [0] * len(COUNTS) + [Decimal("0")] * len(AMOUNTS)
        for index, value in enumerate(row[2:2 + len(NUMBERS)]):
            sums[index] += value
        folds[vendor_id].add(*row[2 + len(NUMBERS):])
        days[vendor_id] += 1
    made = [
        rollups(
            period=period, start=start, vendor_id=vendor_id, currency=currencies[vendor_id], days=days[vendor_id],
            **dict(zip(NUMBERS, sums)), **folds[vendor_id].lists(),
        )
        for vendor_id, sums in numbers.items()
    ]
    with transaction.atomic():
        rollups.objects.filter(period=period, start=start).delete()
        rollups.objects.bulk_create(made)
    return len(made)


def rebuild_for_days(days, **models) -> int:
    """Rebuild the weeks and months of these days, each once."""
    buckets = sorted({(period, period_start(day, period)) for day in days for period in ROLLUPS})
    return sum(build(period, start, **models) for period, start in buckets)


def rebuild_range(first: date, last: date, **models) -> int:
    """Rebuild every week and month that has a day in [first, last]."""
    total = 0
    for period in ROLLUPS:
        start = period_start(first, period)
        while start <= last:
            total += build(period, start, **models)
            start = next_start(start, period)
    return total


def rebuild_all(**models) -> int:
    """Rebuild the rollups of every stored day."""
    from django.db.models import Max, Min

    daily = models.get("daily")
    if daily is None:
        from .models import DailyMetrics as daily
    bounds = daily.objects.aggregate(first=Min("day"), last=Max("day"))
    if bounds["first"] is None:
        return 0
    return rebuild_range(bounds["first"], bounds["last"], **models)
