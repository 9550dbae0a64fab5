"""Who may see which figures (the one place it is decided) and the figures of a date range."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import DecimalField, Exists, IntegerField, JSONField, OuterRef, Q, Value
from django.db.models.functions import Cast, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import DomainError
from backend.core.money import Money, _quantum, quantize
from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.selectors import vendor_id_of

from .aggregation import compute_day
from .error_codes import AnalyticsErrorCode
from .models import DailyMetrics, PeriodMetrics
from .rollups import AMOUNTS, COUNTS, LISTS, NUMBERS, ROLLUPS, Fold, cover  # the figures' names: one list

ANALYTICS_PERMISSION = "analytics.view_analytics"
MAX_DAYS = 800
PERIODS = ("day", "week", "month")


def can_see_all_analytics(user) -> bool:
    """Platform staff with MANAGE_FINANCE or the analytics permission see the platform and every store."""
    if has_permission(user, PlatformPermission.MANAGE_FINANCE):
        return True
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff
                and user.has_perm(ANALYTICS_PERMISSION))


def can_see_analytics(user, vendor_id: int | None) -> bool:
    """vendor_id None: the platform's figures. A store's staff see their own store's only."""
    if can_see_all_analytics(user):
        return True
    return vendor_id is not None and user is not None and user.is_authenticated and vendor_id_of(user) == int(vendor_id)


def _rate(part, whole) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


@dataclass
class Figures:
    """The figures of a day, a week, a month or a whole range (sums of the days)."""

    date: date
    currency: str
    counts: Counter = field(default_factory=Counter)
    amounts: dict = field(default_factory=lambda: {name: Decimal("0") for name in AMOUNTS})

    def add(self, row: DailyMetrics) -> None:
        self.add_numbers([getattr(row, name) for name in NUMBERS])

    def add_numbers(self, numbers) -> None:
        """A day's figures given as the values of NUMBERS, in that order."""
        counts, amounts = self.counts, self.amounts
        for name, value in zip(COUNTS, numbers):
            counts[name] += value
        for name, value in zip(AMOUNTS, numbers[len(COUNTS):]):
            amounts[name] += value

    def merge(self, other: "Figures") -> None:
        self.counts.update(other.counts)
        for name, value in other.amounts.items():
            self.amounts[name] += value

    def __getattr__(self, name):
        if name in COUNTS:
            return self.counts[name]
        if name in AMOUNTS:
            return Money(quantize(self.amounts[name], self.currency), self.currency)
        raise AttributeError(name)

    @property
    def platform_revenue(self) -> Money:
        total = self.amounts["commission"] + self.amounts["fees"] + self.amounts["deposits_forfeited"]
        return Money(quantize(total, self.currency), self.currency)

    @property
    def average_order_value(self) -> Money | None:
        if not self.counts["orders"]:
            return None
        return Money(quantize(self.amounts["gmv"] / self.counts["orders"], self.currency), self.currency)

    @property
    def conversion_rate(self):
        return _rate(self.counts["ordering_visitors"], self.counts["visitors"])

    @property
    def refund_rate(self):
        return _rate(self.counts["refunds"], self.counts["orders"])

    @property
    def dispute_rate(self):
        return _rate(self.counts["disputes"], self.counts["orders"])

    @property
    def repurchase_rate(self):
        return _rate(self.counts["returning_shoppers"], self.counts["shoppers"])

    @property
    def take_rate(self):
        """Platform revenue / GMV."""
        gmv = self.amounts["gmv"]
        total = self.amounts["commission"] + self.amounts["fees"] + self.amounts["deposits_forfeited"]
        return (total / gmv).quantize(Decimal("0.0001")) if gmv else None

    def values(self) -> list:
        """Every figure of METRICS, in that order, as `value` gives them (one pass: a CSV line)."""
        counts, amounts = self.counts, self.amounts
        quantum = _quantum(self.currency)
        amount_values = [Decimal(amounts[name]).quantize(quantum, rounding=ROUND_HALF_UP) for name in AMOUNTS]
        revenue = amounts["commission"] + amounts["fees"] + amounts["deposits_forfeited"]
        orders, gmv = counts["orders"], amounts["gmv"]
        return [
            *(counts[name] for name in COUNTS),
            *amount_values,
            Decimal(revenue).quantize(quantum, rounding=ROUND_HALF_UP),
            Decimal(gmv / orders).quantize(quantum, rounding=ROUND_HALF_UP) if orders else None,
            _rate(counts["ordering_visitors"], counts["visitors"]),
            _rate(counts["refunds"], orders),
            _rate(counts["disputes"], orders),
            _rate(counts["returning_shoppers"], counts["shoppers"]),
            (revenue / gmv).quantize(Decimal("0.0001")) if gmv else None,
        ]

    def value(self, metric: str):
        """One figure as a number (Decimal or int; None where a rate has no base), for charts and CSV."""
        if metric in COUNTS:
            return self.counts[metric]
        if metric in AMOUNTS:
            return quantize(self.amounts[metric], self.currency)
        found = getattr(self, metric)
        return found.amount if isinstance(found, Money) else found


_NUMBER_FIELDS = [IntegerField() for _ in COUNTS] + [DecimalField(max_digits=16, decimal_places=2) for _ in AMOUNTS]
METRICS = (*COUNTS, *AMOUNTS, "platform_revenue", "average_order_value", "conversion_rate", "refund_rate",
           "dispute_rate", "repurchase_rate", "take_rate")


@dataclass
class Report:
    vendor_id: int | None
    date_from: date
    date_to: date
    period: str
    currency: str
    totals: Figures
    periods: list[Figures]
    top_products: list[dict]
    top_categories: list[dict]
    traffic_sources: list[tuple[str, int]]
    take_by_category: list[tuple[int | None, Decimal]]
    take_by_store: list[tuple[int | None, Decimal]]
    searches_without_results: list[tuple[str, int]]

    def series(self, metric: str) -> list[tuple[date, object]]:
        return [(bucket.date, bucket.value(metric)) for bucket in self.periods]


def bucket_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _buckets(date_from: date, date_to: date, period: str) -> list[date]:
    starts, day = [], bucket_start(date_from, period)
    while day <= date_to:
        starts.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1) if period == "month" else (
            day + timedelta(days=7 if period == "week" else 1)
        )
    return starts


def live_day(day: date) -> list[DailyMetrics]:
    """Today's rows, computed from the live data at most every ANALYTICS_LIVE_CACHE_SECONDS."""
    key = f"analytics:live:{day.isoformat()}"
    rows = cache.get(key)
    if rows is None:
        rows = compute_day(day)
        cache.set(key, rows, settings.ANALYTICS_LIVE_CACHE_SECONDS)
    return rows


def _stored_rows(vendor_id: int | None, first: date, last: date, period: str) -> list[tuple]:
    """The stored figures of [first, last] in one query: (numbers?, lists?, start, *NUMBERS, *LISTS) rows.

    The range is covered by whole months, weeks and days (rollups.cover); a month or week is read from
    its rollup when it is stored, else (a store without that rollup, days stored before rollups existed)
    from its days, which the query decides itself (NOT EXISTS of the day's piece). By day every
    day's numbers are read, without the ranked lists (the heavy part), which come from the cover."""
    if first > last:
        return []
    pieces = cover(first, last, "week" if period == "week" else "month")
    scope = Q(vendor__isnull=True) if vendor_id is None else Q(vendor_id=vendor_id)
    rollups = {kind: [start for found, start in pieces if found == kind] for kind in ROLLUPS}
    wanted, covered = Q(), Q()
    for kind in ROLLUPS:
        if rollups[kind]:
            wanted |= Q(period=kind, start__in=rollups[kind])
            covered |= Q(period=kind, start__in=rollups[kind], start=OuterRef(f"{kind}_start"))
    by_day = period == "day"
    # Typed NULLs: PostgreSQL gives two untyped NULLs of a UNION the type text.
    numbers = [Cast(Value(None), field) for field in _NUMBER_FIELDS] if by_day else list(NUMBERS)
    days = DailyMetrics.objects.filter(scope, day__gte=first, day__lte=last).order_by()
    parts = []
    if by_day:
        # First: the columns of a union's first part say how every row is converted; plain fields, as
        # here, need none on PostgreSQL (the NULL placeholders of the other parts would, each value).
        no_lists = [Cast(Value(None), JSONField()) for _ in LISTS]
        parts.append(days.values_list(Value(True), Value(False), "day", *NUMBERS, *no_lists))
    if wanted:
        parts.append(
            PeriodMetrics.objects.filter(scope, wanted).order_by()
            .values_list(Value(not by_day), Value(True), "start", *numbers, *LISTS)
        )
    # A day is read with its lists unless it lies in a month or week of the cover whose rollup is stored.
    listed = days
    if wanted:
        listed = days.annotate(week_start=TruncWeek("day"), month_start=TruncMonth("day")).filter(
            ~Exists(PeriodMetrics.objects.filter(scope, covered))
        )
    parts.append(listed.values_list(Value(not by_day), Value(True), "day", *numbers, *LISTS))
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    # In date order, so a listing's name is the first one seen, as when every day was read.
    return sorted(query, key=lambda row: row[2])


def analytics_report(
    *, user, vendor_id: int | None, date_from: date, date_to: date, period: str = "day", first: int = 10
) -> Report:
    """The figures of a store (or the platform, vendor_id None) over a range, both days included."""
    if not can_see_analytics(user, vendor_id):
        raise DomainError(AnalyticsErrorCode.PERMISSION_DENIED, _("You may not see these figures."))
    if period not in PERIODS:
        raise DomainError(AnalyticsErrorCode.INVALID, _("The period is day, week or month."), field="period")
    if date_from > date_to:
        raise DomainError(AnalyticsErrorCode.INVALID, _("The range starts after it ends."), field="from")
    if (date_to - date_from).days >= MAX_DAYS:
        raise DomainError(AnalyticsErrorCode.INVALID, _("A range is at most %(days)d days.") % {"days": MAX_DAYS}, field="to")
    today = timezone.localdate()
    currency = settings.DEFAULT_CURRENCY
    rows = _stored_rows(vendor_id, date_from, min(date_to, today - timedelta(days=1)), period)
    if date_from <= today <= date_to:
        columns = ("day", *NUMBERS, *LISTS)
        rows += [(True, True, *(getattr(r, name) for name in columns)) for r in live_day(today) if r.vendor_id == vendor_id]
    buckets = {start: Figures(date=start, currency=currency) for start in _buckets(date_from, date_to, period)}
    totals = Figures(date=date_from, currency=currency)
    fold = Fold()
    numbers_end = 3 + len(NUMBERS)
    for row in rows:
        if row[0]:
            buckets[bucket_start(row[2], period)].add_numbers(row[3:numbers_end])
        if row[1]:
            fold.add(*row[numbers_end:])
    for bucket in buckets.values():
        totals.merge(bucket)

    def take(counter: Counter) -> list[tuple[int | None, Money]]:
        from backend.core.money import from_minor

        parsed = [(None if key == "None" else int(key), Money(from_minor(v, currency), currency)) for key, v in counter.items()]
        return sorted(parsed, key=lambda kv: (-kv[1].amount, kv[0] or 0))

    return Report(
        vendor_id=vendor_id,
        date_from=date_from,
        date_to=date_to,
        period=period,
        currency=currency,
        totals=totals,
        periods=list(buckets.values()),
        top_products=fold.ranked("p")[:first],
        top_categories=fold.ranked("c")[:first],
        traffic_sources=sorted(fold.sources.items(), key=lambda kv: (-kv[1], kv[0])),
        take_by_category=take(fold.take_category) if vendor_id is None else [],
        take_by_store=take(fold.take_store) if vendor_id is None else [],
        searches_without_results=sorted(fold.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:first],
    )


def report_csv(report: Report) -> str:
    """One line per period with every figure, then the totals."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period_start", *METRICS])

    def cell(value):
        return "" if value is None else str(value)

    for bucket in report.periods:
        writer.writerow([bucket.date.isoformat(), *map(cell, bucket.values())])
    writer.writerow(["total", *map(cell, report.totals.values())])
    return out.getvalue()


def report_link_token(*, user, vendor_id: int | None, date_from: date, date_to: date, period: str) -> str:
    from django.core import signing

    return signing.dumps(
        {"v": vendor_id, "f": date_from.isoformat(), "t": date_to.isoformat(), "p": period, "u": user.pk},
        salt="analytics.report",
        compress=True,
    )


def report_link_load(token: str) -> dict | None:
    from django.core import signing

    try:
        payload = signing.loads(token, salt="analytics.report", max_age=settings.ANALYTICS_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return {
        "vendor_id": payload["v"],
        "date_from": date.fromisoformat(payload["f"]),
        "date_to": date.fromisoformat(payload["t"]),
        "period": payload["p"],
        "user_id": payload["u"],
    }

