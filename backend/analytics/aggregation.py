"""Daily figures per store and for the platform, computed from the events, the orders and the ledger.

A day (in TIME_ZONE) is always recomputed as a whole and replaced in one transaction, so running
it twice, or two runs at once, gives the same rows; the weekly and monthly rollups of the day are
rebuilt from the stored days in the same transaction (rollups.py). Definitions (also in the README):

- visitors: distinct visitor ids with an event of the store (platform: any event) that day;
- orders and GMV: orders placed that day and paid (cancelled or refunded later included), GMV the
  sum of their goods (`subtotal`, no shipping); average order value = GMV / orders;
- conversion: visitors who placed an order / visitors;
- refunds: orders refunded (in part or in full) that day; disputes: opened that day; the rates
  divide them by the orders of the same period;
- shoppers (by e-mail, guests too): new when it is their first paid order (at the store; on the
  platform: anywhere), else returning; repurchase rate = returning / shoppers;
- commission, fees, deposits forfeited: the net change of the platform's ledger accounts that day
  (commission split over categories and stores by the orders' lines, as platformRevenue does);
- new stores: created that day; active stores: with a paid order that day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Subquery, Sum
from django.utils import timezone

from backend.core.money import from_minor
from backend.core.periodic import record_processed

from .models import DailyMetrics, Event, EventKind
from .rollups import rebuild_for_days

TOP = 10


def day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


class _Rows(dict):
    """vendor id (None: platform) -> the day's DailyMetrics, made on first use."""

    def __init__(self, day: date, currency: str):
        super().__init__()
        self.day, self.currency = day, currency

    def __missing__(self, vendor_id):
        row = self[vendor_id] = DailyMetrics(day=self.day, vendor_id=vendor_id, currency=self.currency)
        return row


def _events(rows: _Rows, start, end) -> None:
    events = Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    platform = rows[None]
    counted = {
        EventKind.PRODUCT_VIEW: "product_views",
        EventKind.STORE_VIEW: "store_views",
        EventKind.ADD_TO_CART: "add_to_carts",
        EventKind.SEARCH: "searches",
    }
    for vendor_id, kind, n in events.values("vendor_id", "kind").annotate(n=Count("id")).values_list(
        "vendor_id", "kind", "n"
    ):
        if kind in counted:
            if vendor_id is not None:
                setattr(rows[vendor_id], counted[kind], getattr(rows[vendor_id], counted[kind]) + n)
            setattr(platform, counted[kind], getattr(platform, counted[kind]) + n)
    for vendor_id, n in events.exclude(vendor_id=None).values("vendor_id").annotate(
        n=Count("visitor_id", distinct=True)
    ).values_list("vendor_id", "n"):
        rows[vendor_id].visitors = n
    platform.visitors = events.aggregate(n=Count("visitor_id", distinct=True))["n"] or 0
    placed = events.filter(kind=EventKind.ORDER_PLACED)
    for vendor_id, n in placed.exclude(vendor_id=None).values("vendor_id").annotate(
        n=Count("visitor_id", distinct=True)
    ).values_list("vendor_id", "n"):
        rows[vendor_id].ordering_visitors = n
    platform.ordering_visitors = placed.aggregate(n=Count("visitor_id", distinct=True))["n"] or 0
    # Checkouts started: a checkout spans stores; a store's are those with one of its listings in the cart.
    started = events.filter(kind=EventKind.CHECKOUT_STARTED)
    platform.checkouts_started = started.aggregate(n=Count("checkout_token", distinct=True))["n"] or 0
    for vendor_id, n in (
        Event.objects.filter(kind=EventKind.ADD_TO_CART, checkout_token__in=Subquery(started.values("checkout_token")))
        .exclude(vendor_id=None).values("vendor_id").annotate(n=Count("checkout_token", distinct=True))
        .values_list("vendor_id", "n")
    ):
        rows[vendor_id].checkouts_started = n
    sources: dict = defaultdict(dict)
    for vendor_id, source, n in events.values("vendor_id", "source").annotate(
        n=Count("visitor_id", distinct=True)
    ).values_list("vendor_id", "source", "n"):
        if vendor_id is not None:
            sources[vendor_id][source or "direct"] = n
    for vendor_id, by_source in sources.items():
        rows[vendor_id].traffic_sources = by_source
    platform.traffic_sources = {
        source or "direct": n
        for source, n in events.values("source").annotate(n=Count("visitor_id", distinct=True)).values_list("source", "n")
    }
    searches = events.filter(kind=EventKind.SEARCH, search_results=0)
    platform.no_result_terms = {
        term: n
        for term, n in searches.values("search_term").annotate(n=Count("id")).order_by("-n", "search_term")
        .values_list("search_term", "n")[:50]
    }
    platform.searches_without_results = searches.count()


def _orders(rows: _Rows, start, end) -> None:
    from backend.disputes.models import Dispute
    from backend.orders.models import Order, OrderLine, OrderRefund

    currency = rows.currency
    platform = rows[None]
    paid = Order.objects.filter(created_at__gte=start, created_at__lt=end, paid_at__isnull=False, currency=currency)
    for vendor_id, n, gmv in paid.values("vendor_id").annotate(n=Count("id"), gmv=Sum("subtotal_amount")).values_list(
        "vendor_id", "n", "gmv"
    ):
        row = rows[vendor_id]
        row.orders, row.gmv = n, gmv or Decimal("0")
        platform.orders += n
        platform.gmv += row.gmv
    platform.active_stores = sum(1 for vendor_id, row in rows.items() if vendor_id is not None and row.orders)

    # Shoppers: new or returning, at the store and on the platform.
    pairs = set(paid.values_list("vendor_id", "email").distinct())
    earlier = set(
        Order.objects.filter(
            paid_at__isnull=False, created_at__lt=start, email__in=Subquery(paid.values("email"))
        ).values_list("vendor_id", "email").distinct()
    )
    earlier_emails = {email for _, email in earlier}
    for vendor_id, email in pairs:
        row = rows[vendor_id]
        row.shoppers += 1
        if (vendor_id, email) in earlier:
            row.returning_shoppers += 1
        else:
            row.new_shoppers += 1
    emails = {email for _, email in pairs}
    platform.shoppers = len(emails)
    platform.returning_shoppers = len(emails & earlier_emails)
    platform.new_shoppers = platform.shoppers - platform.returning_shoppers

    for vendor_id, n, amount in (
        OrderRefund.objects.filter(created_at__gte=start, created_at__lt=end, currency=currency)
        .values("order__vendor_id").annotate(n=Count("order_id", distinct=True), amount=Sum("amount"))
        .values_list("order__vendor_id", "n", "amount")
    ):
        rows[vendor_id].refunds, rows[vendor_id].refunded = n, amount or Decimal("0")
        platform.refunds += n
        platform.refunded += amount or Decimal("0")
    for vendor_id, n in (
        Dispute.objects.filter(created_at__gte=start, created_at__lt=end).values("vendor_id")
        .annotate(n=Count("id")).values_list("vendor_id", "n")
    ):
        rows[vendor_id].disputes = n
        platform.disputes += n

    lines = OrderLine.objects.filter(order__in=paid.values("pk"))
    def goods():
        return Sum(F("unit_price_amount") * F("quantity"))
    products: dict = defaultdict(list)
    for vendor_id, product_id, name, quantity, amount, n in (
        lines.values("order__vendor_id", "product_id")
        .annotate(name=Max("product_name"), units=Sum("quantity"), amount=goods(), n=Count("order_id", distinct=True))
        .values_list("order__vendor_id", "product_id", "name", "units", "amount", "n")
    ):
        item = {"id": product_id, "name": name, "orders": n, "quantity": quantity, "gmv": str(Decimal(amount))}
        products[vendor_id].append(item)
        products[None].append(item)
    categories: dict = defaultdict(lambda: defaultdict(lambda: [0, 0, Decimal("0")]))
    for vendor_id, category_id, quantity, amount, n in (
        lines.values("order__vendor_id", "category_id")
        .annotate(units=Sum("quantity"), amount=goods(), n=Count("order_id", distinct=True))
        .values_list("order__vendor_id", "category_id", "units", "amount", "n")
    ):
        for scope in (vendor_id, None):
            figures = categories[scope][category_id]
            figures[0] += n
            figures[1] += quantity
            figures[2] += Decimal(amount)
    for scope, items in products.items():
        rows[scope].top_products = sorted(items, key=lambda i: (-Decimal(i["gmv"]), i["id"] or 0))[:TOP]
    for scope, by_category in categories.items():
        ranked = sorted(by_category.items(), key=lambda kv: (-kv[1][2], kv[0] or 0))[:TOP]
        rows[scope].top_categories = [
            {"id": category_id, "orders": n, "quantity": quantity, "gmv": str(amount)}
            for category_id, (n, quantity, amount) in ranked
        ]


def _ledger(rows: _Rows, start, end) -> None:
    """The platform's revenue of the day from its ledger accounts, by category and store."""
    from backend.finance import accounts
    from backend.finance.models import LedgerEntry, TransactionKind
    from backend.finance.revenue import _order_weights, allocate
    from backend.orders.models import Order

    currency = rows.currency
    entries = list(
        LedgerEntry.objects.filter(
            account__code__in=[accounts.PLATFORM_COMMISSION, accounts.PLATFORM_FEES],
            currency=currency,
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
        ).values_list(
            "amount", "account__code", "transaction_id", "transaction__kind", "transaction__reference_type",
            "transaction__reference_id", "transaction__metadata",
        )
    )
    if not entries:
        return
    order_ids = {
        int(ref) for _, code, _, _, ref_type, ref, _ in entries
        if code == accounts.PLATFORM_COMMISSION and ref_type == "order" and ref.isdigit()
    }
    weights = _order_weights(order_ids)
    order_vendor = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "vendor_id")) if order_ids else {}
    # A fee names its store in the metadata; otherwise the store is the one whose account is on the other side.
    fee_transactions = {
        tx for _, code, tx, _, _, _, meta in entries if code == accounts.PLATFORM_FEES and not (meta or {}).get("vendor")
    }
    tx_vendor = dict(
        LedgerEntry.objects.filter(transaction_id__in=fee_transactions, account__vendor_id__isnull=False)
        .values_list("transaction_id", "account__vendor_id")
    ) if fee_transactions else {}
    platform = rows[None]
    by_category: Counter = Counter()
    by_store: Counter = Counter()
    minor = Counter()  # (vendor id or None, field) -> minor units
    for amount, code, tx, kind, ref_type, ref, meta in entries:
        if code == accounts.PLATFORM_COMMISSION:
            field = "commission"
            vendor_id = order_vendor.get(int(ref)) if ref_type == "order" and ref.isdigit() else None
            order_weights = weights.get(int(ref)) if ref.isdigit() else None
            for category_id, part in allocate(amount, dict(order_weights or {})).items():
                by_category[str(category_id)] += part
        else:
            field = "deposits_forfeited" if kind == TransactionKind.DEPOSIT_DEDUCT else "fees"
            vendor_id = _int((meta or {}).get("vendor")) or tx_vendor.get(tx)
            by_category["None"] += amount
        minor[(None, field)] += amount
        if vendor_id is not None:
            minor[(vendor_id, field)] += amount
        by_store[str(vendor_id)] += amount
    for (vendor_id, field), amount in minor.items():
        setattr(rows[vendor_id], field, from_minor(amount, currency))
    platform.take_by_category = dict(by_category)
    platform.take_by_store = dict(by_store)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def compute_day(day: date) -> list[DailyMetrics]:
    """The day's rows (not saved): one per store with any figure, and the platform's."""
    from backend.vendors.models import Vendor

    start, end = day_bounds(day)
    rows = _Rows(day, settings.DEFAULT_CURRENCY)
    rows[None]  # the platform always has its row
    _events(rows, start, end)
    _orders(rows, start, end)
    _ledger(rows, start, end)
    rows[None].new_stores = Vendor.objects.filter(created_at__gte=start, created_at__lt=end).count()
    return sorted(rows.values(), key=lambda r: (r.vendor_id is not None, r.vendor_id or 0))


def aggregate_day(day: date, *, rollups: bool = True) -> int:
    """Replace the stored figures of a day, and (unless told not to, by a caller that rebuilds them
    itself) the rollups of its week and month in the same transaction; returns how many day rows it has."""
    rows = compute_day(day)
    with transaction.atomic():
        DailyMetrics.objects.filter(day=day).delete()
        DailyMetrics.objects.bulk_create(rows)
        if rollups:
            rebuild_for_days([day])
    record_processed("day", day.isoformat())
    return len(rows)


def aggregate_recent(*, today: date | None = None, days: int | None = None) -> int:
    """The periodic work: the last days again (late refunds and releases land there), and today so far,
    then the weeks and months of those days, each once."""
    today = today or timezone.localdate()
    days = settings.ANALYTICS_RECOMPUTE_DAYS if days is None else days
    recomputed = [today - timedelta(days=n) for n in range(days, -1, -1)]
    with transaction.atomic():
        total = sum(aggregate_day(day, rollups=False) for day in recomputed)
        rebuild_for_days(recomputed)
    return total


def delete_old_events(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    deleted, _ = Event.objects.filter(occurred_at__lt=cutoff).delete()
    return deleted
