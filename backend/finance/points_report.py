"""Members' points as the platform's liability and cost, by month, for finance staff.

Computed from the ledger only (never from member rows): each movement of points is one
transaction on `platform:points` (what the platform owes in points, valued at the redemption
rate) whose kind says what it was (see backend/members/services.py); the points themselves are
the transaction's `metadata["points"]`. The platform's cost is the net change of
`platform:points_expense` (which goes negative by what issuing points cost; taking them back, or
their expiry, gives it back), shown as a positive cost.

Each row is one calendar month of the range (the first and last cut to the range), and
reconciles: opening + issued - taken back - redeemed + given back - expired + granted - deducted
(+ other, any other kind of movement on the account, normally zero) = closing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import IntegerField, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone
from moneyed import Money

from backend.core.money import from_minor

from . import accounts
from .models import LedgerEntry, TransactionKind
from .statements import _bounds

# The movements of a row: (name, transaction kind, sign of the movement on platform:points).
MOVEMENTS = (
    ("issued", TransactionKind.POINTS_ISSUE, 1),
    ("taken_back", TransactionKind.POINTS_REVERSE, -1),
    ("redeemed", TransactionKind.POINTS_REDEEM, -1),
    ("given_back", TransactionKind.POINTS_RETURN, 1),
    ("expired", TransactionKind.POINTS_EXPIRE, -1),
    ("granted", TransactionKind.POINTS_GRANT, 1),
    ("deducted", TransactionKind.POINTS_DEDUCT, -1),
)
_BY_KIND = {kind.value: (name, sign) for name, kind, sign in MOVEMENTS}
NAMES = tuple(name for name, _kind, _sign in MOVEMENTS)


@dataclass
class PointsMovement:
    """One kind of movement in a month: its value (always 0 or more) and the points."""

    minor: int = 0
    points: int = 0


@dataclass
class PointsReportRow:
    month: date  # the first day of the calendar month
    starts_at: datetime
    ends_at: datetime  # exclusive
    currency: str
    opening_minor: int = 0
    closing_minor: int = 0
    cost_minor: int = 0  # the platform's cost: minus the net change of platform:points_expense
    other_minor: int = 0  # signed: movements on platform:points of any other kind
    movements: dict[str, PointsMovement] = field(default_factory=lambda: {n: PointsMovement() for n in NAMES})

    def money(self, minor: int) -> Money:
        return Money(from_minor(minor, self.currency), self.currency)

    @property
    def opening(self) -> Money:
        return self.money(self.opening_minor)

    @property
    def closing(self) -> Money:
        return self.money(self.closing_minor)

    @property
    def cost(self) -> Money:
        return self.money(self.cost_minor)

    @property
    def other(self) -> Money:
        return self.money(self.other_minor)

    def amount(self, name: str) -> Money:
        return self.money(self.movements[name].minor)

    def points(self, name: str) -> int:
        return self.movements[name].points

    @property
    def net_change_minor(self) -> int:
        signs = {name: sign for name, _kind, sign in MOVEMENTS}
        return sum(signs[n] * m.minor for n, m in self.movements.items()) + self.other_minor

    @property
    def reconciles(self) -> bool:
        return self.opening_minor + self.net_change_minor == self.closing_minor


def _months(start: datetime, end: datetime) -> list[tuple[date, datetime, datetime]]:
    zone = timezone.get_current_timezone()
    found = []
    day = timezone.localtime(start, zone).date().replace(day=1)
    while True:
        month_start = timezone.make_aware(datetime.combine(day, datetime.min.time()), zone)
        if month_start >= end:
            return found
        following = (day + timedelta(days=32)).replace(day=1)
        month_end = timezone.make_aware(datetime.combine(following, datetime.min.time()), zone)
        found.append((day, max(start, month_start), min(end, month_end)))
        day = following


def liability_at(moment: datetime, currency: str | None = None) -> int:
    """platform:points' balance (minor units) just before `moment`, from its entries."""
    currency = currency or settings.DEFAULT_CURRENCY
    total = LedgerEntry.objects.filter(
        account__code=accounts.POINTS_LIABILITY, currency=currency, transaction__created_at__lt=moment
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def points_report(date_from: date, date_to: date) -> list[PointsReportRow]:
    """The rows of the months of [date_from, date_to] (both days included): two queries, the
    movements summed by the database per month, account and kind."""
    start, end = _bounds(date_from, date_to)
    currency = settings.DEFAULT_CURRENCY
    zone = timezone.get_current_timezone()
    rows = [PointsReportRow(month=m, starts_at=s, ends_at=e, currency=currency) for m, s, e in _months(start, end)]
    by_month = {row.month: row for row in rows}
    opening = liability_at(start, currency)
    sums = (
        LedgerEntry.objects.filter(
            account__code__in=[accounts.POINTS_LIABILITY, accounts.POINTS_EXPENSE],
            currency=currency,
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
        )
        .annotate(month=TruncMonth("transaction__created_at", tzinfo=zone))
        .values("month", "account__code", "transaction__kind")
        .annotate(
            total=Sum("amount"),
            points=Sum(Cast(KeyTextTransform("points", "transaction__metadata"), IntegerField())),
        )
        .order_by()
    )
    change = defaultdict(int)
    for found in sums:
        row = by_month[timezone.localtime(found["month"], zone).date()]  # an aware datetime: the month's start
        amount = int(found["total"] or 0)
        if found["account__code"] == accounts.POINTS_EXPENSE:
            row.cost_minor -= amount
            continue
        change[row.month] += amount
        named = _BY_KIND.get(found["transaction__kind"])
        if named is None:
            row.other_minor += amount
            continue
        name, sign = named
        row.movements[name].minor += sign * amount
        row.movements[name].points += abs(int(found["points"] or 0))
    for row in rows:
        row.opening_minor = opening
        row.closing_minor = opening + change[row.month]
        opening = row.closing_minor
    return rows


def points_cost_total(date_from: date, date_to: date) -> Money:
    """The platform's points cost over the range (what analytics shows beside its revenue)."""
    start, end = _bounds(date_from, date_to)
    currency = settings.DEFAULT_CURRENCY
    total = LedgerEntry.objects.filter(
        account__code=accounts.POINTS_EXPENSE, currency=currency,
        transaction__created_at__gte=start, transaction__created_at__lt=end,
    ).aggregate(total=Sum("amount"))["total"]
    return Money(from_minor(-int(total or 0), currency), currency)
