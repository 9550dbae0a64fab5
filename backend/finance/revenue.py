"""The platform's revenue by category and month, for finance staff.

Commission comes from the ledger's platform:commission account (taken at
release, given back pro rata on refunds after release); each movement is
split over its order's categories in proportion to the commission of the
order's lines (largest remainder, so the parts add up to the cent). Fees and
deposit penalties (platform:fees) belong to no category. The rows add up to
the net change of both platform accounts over the range.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.conf import settings
from django.utils import timezone
from moneyed import Money

from backend.core.money import from_minor, to_minor

from . import accounts
from .commission import commission_for
from .models import LedgerEntry
from .statements import _bounds


@dataclass(frozen=True)
class RevenueRow:
    month: date
    category_id: int | None
    commission: Money
    fees: Money

    @property
    def total(self) -> Money:
        return self.commission + self.fees


def allocate(amount: int, weights: dict) -> dict:
    """Split integer `amount` over keys in proportion to non-negative integer weights (largest remainder)."""
    total = sum(weights.values())
    if not weights or total <= 0:
        return {None: amount}
    sign = -1 if amount < 0 else 1
    magnitude = abs(amount)
    shares = {key: magnitude * weight // total for key, weight in weights.items()}
    rest = magnitude - sum(shares.values())
    by_remainder = sorted(weights, key=lambda key: (-(magnitude * weights[key] % total), str(key)))
    for key in by_remainder[:rest]:
        shares[key] += 1
    return {key: sign * share for key, share in shares.items()}


def _order_weights(order_ids: set[int]) -> dict[int, dict]:
    """Per order, each category's commission in minor units, as the lines were placed."""
    if not order_ids:
        return {}
    OrderLine = apps.get_model("orders", "OrderLine")
    weights: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for line in OrderLine.objects.filter(order_id__in=order_ids).only(
        "order_id", "category_id", "unit_price_amount", "quantity", "currency", "commission_rate"
    ):
        commission = commission_for(line.total, line.commission_rate)
        weights[line.order_id][line.category_id] += to_minor(commission.amount, commission.currency.code)
    return weights


def platform_revenue(date_from: date, date_to: date) -> list[RevenueRow]:
    start, end = _bounds(date_from, date_to)
    currency = settings.DEFAULT_CURRENCY
    entries = list(
        LedgerEntry.objects.filter(
            account__code__in=[accounts.PLATFORM_COMMISSION, accounts.PLATFORM_FEES],
            currency=currency,
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
        )
        .select_related("transaction", "account")
        .order_by("id")
    )
    order_ids = {
        int(e.transaction.reference_id)
        for e in entries
        if e.account.code == accounts.PLATFORM_COMMISSION
        and e.transaction.reference_type == "order"
        and e.transaction.reference_id.isdigit()
    }
    weights = _order_weights(order_ids)
    commission: dict[tuple, int] = defaultdict(int)
    fees: dict[tuple, int] = defaultdict(int)
    for entry in entries:
        month = timezone.localdate(entry.transaction.created_at).replace(day=1)
        if entry.account.code == accounts.PLATFORM_FEES:
            fees[(month, None)] += entry.amount
            continue
        reference = entry.transaction.reference_id
        order_weights = weights.get(int(reference)) if reference.isdigit() else None
        for category_id, part in allocate(entry.amount, dict(order_weights or {})).items():
            commission[(month, category_id)] += part

    def money(minor: int) -> Money:
        return Money(from_minor(minor, currency), currency)

    keys = sorted(set(commission) | set(fees), key=lambda k: (k[0], k[1] is None, k[1] or 0))
    return [RevenueRow(month=m, category_id=c, commission=money(commission[(m, c)]), fees=money(fees[(m, c)])) for m, c in keys]
