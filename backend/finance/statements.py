"""Vendor statements for a month or any date range, built from the ledger alone.

A statement covers the vendor's balance (pending + available) and, beside it,
its deposit. Every ledger transaction that touched either in the range is one
item; items are summed into lines by kind (sales, commissions, refunds, fees,
deposit, payouts, adjustments), and each line lists its transaction ids, so
opening + the lines = closing, to the cent, by construction and checkable
against the ledger. Money the vendor paid from outside (an entry fee or a
deposit top-up through the gateway) shows as `external` on its line.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import MINYEAR, date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from backend.core.exceptions import DomainError
from backend.core.money import from_minor, to_minor

from . import accounts
from .error_codes import FinanceErrorCode
from .models import LedgerEntry, TransactionKind

K = TransactionKind
LINE_OF_KIND = {
    K.ESCROW_HOLD: "sales",
    K.ESCROW_RELEASE: "commissions",
    K.REFUND_FROM_ESCROW: "refunds",
    K.REFUND_FROM_VENDOR: "refunds",
    K.FEE_CHARGE: "fees",
    K.FEE_REBATE: "fees",
    K.DEPOSIT_TOP_UP: "deposit",
    K.DEPOSIT_DEDUCT: "deposit",
    K.DEPOSIT_RELEASE: "deposit",
    K.PAYOUT_RESERVE: "payouts",
    K.PAYOUT_SETTLE: "payouts",
    K.PAYOUT_FAIL: "payouts",
    K.PAYOUT_REVERSE: "payouts",
    K.ADJUSTMENT: "adjustments",
    K.PROMOTION_SUBSIDY: "promotions",
    K.PROMOTION_SUBSIDY_RETURN: "promotions",
}
LINE_KINDS = ["sales", "commissions", "promotions", "refunds", "fees", "deposit", "payouts", "adjustments"]
LINE_LABELS = {
    "sales": "Sales (paid into escrow)",
    "commissions": "Commissions (taken at release)",
    "promotions": "Platform voucher subsidies (paid at release, taken back on refunds)",
    "refunds": "Refunds",
    "fees": "Fees and rebates",
    "deposit": "Deposit movements",
    "payouts": "Payouts",
    "adjustments": "Adjustments",
}
# Paid by the vendor from outside the platform, through the gateway.
EXTERNAL_KINDS = (K.FEE_CHARGE, K.DEPOSIT_TOP_UP)
LINK_SALT = "finance.statement"


@dataclass
class StatementItem:
    """One ledger transaction as it touched the vendor."""

    transaction_id: int
    created_at: datetime
    kind: str
    line: str
    description: str
    reference: str
    balance: int = 0  # minor units, pending + available
    deposit: int = 0
    external: int = 0
    orders: list[int] = field(default_factory=list)  # a sale's orders of this vendor


@dataclass(frozen=True)
class DiscountShare:
    """Discounts given on a line's orders, by who funded them (memo: the store's own discounts
    already lowered its sales; the platform's reach the store on the promotions line)."""

    funder: str
    amount: Money


@dataclass
class StatementLine:
    kind: str
    balance: Money
    deposit: Money
    external: Money
    transaction_ids: list[int]
    discounts: list[DiscountShare] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LINE_LABELS[self.kind]


@dataclass
class Statement:
    vendor_id: int
    vendor_name: str
    date_from: date
    date_to: date
    currency: str
    opening_balance: Money
    closing_balance: Money
    opening_deposit: Money
    closing_deposit: Money
    items: list[StatementItem] = field(default_factory=list)
    # Discount lines of the orders sold (order id -> [(funder, minor units)]), for the sales line.
    order_discounts: dict[int, list[tuple[str, int]]] = field(default_factory=dict)

    def money(self, minor: int) -> Money:
        return Money(from_minor(minor, self.currency), self.currency)

    @property
    def lines(self) -> list[StatementLine]:
        grouped: dict[str, list[StatementItem]] = defaultdict(list)
        for item in self.items:
            grouped[item.line].append(item)
        return [
            StatementLine(
                kind=kind,
                balance=self.money(sum(i.balance for i in grouped[kind])),
                deposit=self.money(sum(i.deposit for i in grouped[kind])),
                external=self.money(sum(i.external for i in grouped[kind])),
                transaction_ids=sorted({i.transaction_id for i in grouped[kind]}),
                discounts=self._discounts(grouped[kind]),
            )
            for kind in LINE_KINDS
        ]

    def _discounts(self, items: list[StatementItem]) -> list[DiscountShare]:
        by_funder: dict[str, int] = defaultdict(int)
        for order_id in sorted({o for item in items for o in item.orders}):
            for funder, minor in self.order_discounts.get(order_id, ()):
                by_funder[funder] += minor
        return [DiscountShare(f, self.money(by_funder[f])) for f in sorted(by_funder)]

    def line(self, kind: str) -> StatementLine:
        return next(line for line in self.lines if line.kind == kind)


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    if date_to < date_from:
        raise DomainError(FinanceErrorCode.INVALID, "The range ends before it starts.", field="to")
    if (date_to - date_from).days > 3700:
        raise DomainError(FinanceErrorCode.INVALID, "A statement covers at most ten years.", field="to")
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), zone)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), zone)
    return start, end


def _vendor_codes(vendor_id: int) -> tuple[str, str, str]:
    return accounts.vendor_pending(vendor_id), accounts.vendor_available(vendor_id), accounts.vendor_deposit(vendor_id)


def _items(vendor_id: int, start: datetime, end: datetime) -> list[StatementItem]:
    """Every transaction touching the vendor's accounts (or paid by it through the gateway) in [start, end)."""
    pending, available, deposit = _vendor_codes(vendor_id)
    entries = (
        LedgerEntry.objects.filter(
            account__code__in=[pending, available, deposit],
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
        )
        .select_related("transaction", "account")
        .order_by("transaction__created_at", "transaction_id", "id")
    )
    external = (
        LedgerEntry.objects.filter(
            account__code=accounts.GATEWAY,
            transaction__kind__in=EXTERNAL_KINDS,
            transaction__metadata__vendor=vendor_id,
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
        )
        .select_related("transaction")
        .order_by("transaction__created_at", "transaction_id", "id")
    )
    items: dict[int, StatementItem] = {}

    def item_for(entry) -> StatementItem:
        txn = entry.transaction
        if txn.pk not in items:
            items[txn.pk] = StatementItem(
                transaction_id=txn.pk,
                created_at=txn.created_at,
                kind=txn.kind,
                line=LINE_OF_KIND.get(txn.kind, "adjustments"),
                description=txn.description,
                reference=f"{txn.reference_type}:{txn.reference_id}" if txn.reference_type else "",
                orders=_sold_orders(txn, vendor_id),
            )
        return items[txn.pk]

    for entry in entries:
        item = item_for(entry)
        if entry.account.code == deposit:
            item.deposit += entry.amount
        else:
            item.balance += entry.amount
    for entry in external:
        item_for(entry).external += -entry.amount
    return sorted(items.values(), key=lambda i: (i.created_at, i.transaction_id))


def _sold_orders(txn, vendor_id: int) -> list[int]:
    """The vendor's orders an escrow hold paid for (its splits name them)."""
    if txn.kind != K.ESCROW_HOLD:
        return []
    splits = (txn.metadata or {}).get("splits") or []
    found = []
    for split in splits:
        try:
            if int(split.get("vendor")) == vendor_id:
                found.append(int(split.get("order")))
        except (TypeError, ValueError):
            continue
    return found


def _order_discounts(items: list[StatementItem], currency: str) -> dict[int, list[tuple[str, int]]]:
    """Each sold order's discounts by funder, in minor units, in one query."""
    from backend.promotions.selectors import order_discounts_by_funder

    order_ids = sorted({o for item in items for o in item.orders})
    if not order_ids:
        return {}
    return {
        order_id: [(funder, to_minor(amount, currency)) for funder, amount in shares]
        for order_id, shares in order_discounts_by_funder(order_ids).items()
    }


def _sums_before(vendor_id: int, moment: datetime) -> tuple[int, int]:
    """(pending + available, deposit) in minor units just before `moment`."""
    pending, available, deposit = _vendor_codes(vendor_id)
    rows = dict(
        LedgerEntry.objects.filter(
            account__code__in=[pending, available, deposit], transaction__created_at__lt=moment
        )
        .values_list("account__code")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return rows.get(pending, 0) + rows.get(available, 0), rows.get(deposit, 0)


def vendor_statements(vendor, ranges: list[tuple[date, date]]) -> list[Statement]:
    """Statements for consecutive date ranges (months of a year), from one pass over the ledger."""
    if not ranges:
        return []
    vendor_id = int(getattr(vendor, "pk", vendor))
    name = getattr(vendor, "name", "") or str(vendor_id)
    currency = settings.DEFAULT_CURRENCY
    bounds = [_bounds(f, t) for f, t in ranges]
    balance, deposit = _sums_before(vendor_id, bounds[0][0])
    all_items = _items(vendor_id, bounds[0][0], bounds[-1][1])
    discounts = _order_discounts(all_items, currency)
    statements = []
    for (date_from, date_to), (start, end) in zip(ranges, bounds):
        if statements and start != bounds[len(statements) - 1][1]:
            raise DomainError(FinanceErrorCode.INVALID, "Statement ranges must follow each other.", field="to")
        items = [i for i in all_items if start <= i.created_at < end]
        closing_balance = balance + sum(i.balance for i in items)
        closing_deposit = deposit + sum(i.deposit for i in items)
        statement = Statement(
            vendor_id=vendor_id,
            vendor_name=name,
            date_from=date_from,
            date_to=date_to,
            currency=currency,
            opening_balance=Money(from_minor(balance, currency), currency),
            closing_balance=Money(from_minor(closing_balance, currency), currency),
            opening_deposit=Money(from_minor(deposit, currency), currency),
            closing_deposit=Money(from_minor(closing_deposit, currency), currency),
            items=items,
            order_discounts=discounts,
        )
        statements.append(statement)
        balance, deposit = closing_balance, closing_deposit
    return statements


def vendor_statement(vendor, date_from: date, date_to: date) -> Statement:
    return vendor_statements(vendor, [(date_from, date_to)])[0]


def month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def statement_months(vendor, year: int | None = None, *, today: date | None = None) -> list[tuple[date, date]]:
    """The months of `year` (this year) the vendor existed in, up to this month, oldest first."""
    today = today or timezone.localdate()
    year = year or today.year
    if not MINYEAR <= year <= today.year:
        return []  # no month of it can have a statement (and a date cannot hold every GraphQL Int)
    opened = timezone.localdate(vendor.created_at) if getattr(vendor, "created_at", None) else date(year, 1, 1)
    months = []
    for month in range(1, 13):
        first, last = month_range(year, month)
        if first > today or last < opened.replace(day=1):
            continue
        months.append((first, last))
    return months


# --- Downloads ---------------------------------------------------------------------------


def statement_link_token(*, user, vendor_id: int, date_from: date, date_to: date) -> str:
    """A signed token naming the statement and who asked; it expires (settings.STATEMENT_LINK_MAX_AGE)."""
    return signing.dumps(
        {"v": int(vendor_id), "f": date_from.isoformat(), "t": date_to.isoformat(), "u": user.pk},
        salt=LINK_SALT,
        compress=True,
    )


def statement_link_load(token: str) -> dict | None:
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=settings.STATEMENT_LINK_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    return {
        "vendor_id": payload["v"],
        "date_from": date.fromisoformat(payload["f"]),
        "date_to": date.fromisoformat(payload["t"]),
        "user_id": payload["u"],
    }


def _amount(money: Money) -> str:
    return str(money.amount)


def statement_csv(statement: Statement) -> str:
    """The summary (opening, lines, closing) and then every transaction, as CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Statement", statement.vendor_name, statement.date_from.isoformat(), statement.date_to.isoformat()])
    writer.writerow(["line", "balance", "deposit", "paid externally", "currency", "transactions"])
    writer.writerow(["opening", _amount(statement.opening_balance), _amount(statement.opening_deposit), "", statement.currency, ""])
    for line in statement.lines:
        writer.writerow(
            [
                line.kind,
                _amount(line.balance),
                _amount(line.deposit),
                _amount(line.external),
                statement.currency,
                " ".join(str(t) for t in line.transaction_ids),
            ]
        )
    writer.writerow(["closing", _amount(statement.closing_balance), _amount(statement.closing_deposit), "", statement.currency, ""])
    for line in statement.lines:
        for share in line.discounts:
            writer.writerow([f"{line.kind}: discounts funded by the {share.funder}", _amount(share.amount), "", "",
                             statement.currency, ""])
    writer.writerow([])
    writer.writerow(["date", "transaction", "kind", "line", "reference", "description", "balance", "deposit", "paid externally"])
    for item in statement.items:
        writer.writerow(
            [
                timezone.localtime(item.created_at).isoformat(timespec="seconds"),
                item.transaction_id,
                item.kind,
                item.line,
                item.reference,
                item.description,
                _amount(statement.money(item.balance)),
                _amount(statement.money(item.deposit)),
                _amount(statement.money(item.external)),
            ]
        )
    return out.getvalue()


def statement_pdf(statement: Statement) -> bytes:
    """The same statement as a PDF (reportlab; CJK store names through a built-in CID font)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = font
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Statement {statement.vendor_name} {statement.date_from} - {statement.date_to}",
    )
    currency = statement.currency
    summary = [["", f"Balance ({currency})", f"Deposit ({currency})", "Paid externally", "Transactions"]]
    summary.append(["Opening", _amount(statement.opening_balance), _amount(statement.opening_deposit), "", ""])
    for line in statement.lines:
        ids = ", ".join(str(t) for t in line.transaction_ids[:12]) + (" ..." if len(line.transaction_ids) > 12 else "")
        summary.append([line.label, _amount(line.balance), _amount(line.deposit), _amount(line.external), ids])
    summary.append(["Closing", _amount(statement.closing_balance), _amount(statement.closing_deposit), "", ""])
    for line in statement.lines:
        for share in line.discounts:
            summary.append([f"{line.label}: discounts funded by the {share.funder}", _amount(share.amount), "", "", ""])
    details = [["Date", "Txn", "Kind", "Description", "Balance", "Deposit"]]
    for item in statement.items:
        details.append(
            [
                timezone.localtime(item.created_at).strftime("%Y-%m-%d %H:%M"),
                str(item.transaction_id),
                item.kind,
                Paragraph(item.description[:200], styles["BodyText"]),
                _amount(statement.money(item.balance)),
                _amount(statement.money(item.deposit)),
            ]
        )
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    story = [
        Paragraph(f"Statement: {statement.vendor_name}", styles["Title"]),
        Paragraph(f"{statement.date_from.isoformat()} to {statement.date_to.isoformat()}", styles["Normal"]),
        Spacer(1, 6 * mm),
        Table(summary, style=grid, repeatRows=1),
        Spacer(1, 6 * mm),
        Paragraph("Transactions", styles["Heading2"]),
        Table(details, style=grid, repeatRows=1, colWidths=[28 * mm, 12 * mm, 30 * mm, 70 * mm, 20 * mm, 20 * mm]),
    ]
    document.build(story)
    return buffer.getvalue()
