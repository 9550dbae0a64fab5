"""Statements reconcile with the ledger to the cent; CSV and PDF downloads; who may see them."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from moneyed import Money

from backend.finance import accounts, statements
from backend.finance import services as movements
from backend.finance.models import LedgerEntry
from backend.finance.payouts import payout_create
from backend.finance.services import EscrowSplit

from ..conftest import make_user
from ..factories import vendor_with_owner
from ..finance.helpers import captured_payment
from .conftest import api_for, gid

pytestmark = pytest.mark.django_db

STATEMENT = """
query($vendor: ID!, $from: Date!, $to: Date!) {
  vendorStatement(vendor: $vendor, from: $from, to: $to) {
    from to
    openingBalance { amount } closingBalance { amount } openingDeposit { amount } closingDeposit { amount }
    lines { kind balance { amount } deposit { amount } external { amount } transactionIds }
    items { transactionId kind line balance { amount } }
    csvUrl pdfUrl
  }
}"""
MONTHLY = """
query($id: ID!) { vendor(id: $id) { statements(year: 2026) {
  from to openingBalance { amount } closingBalance { amount }
} } }"""


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def at(day: str):
    return freeze_time(datetime.fromisoformat(day).replace(tzinfo=timezone.get_current_timezone()))


@pytest.fixture
def history(settings):
    """Two months of a vendor's money: fee and deposit, three sales, commission, a refund, a payout, a penalty."""
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("10.00")
    with at("2026-01-02 09:00"):
        vendor, owner = vendor_with_owner()
    shopper = make_user()
    with at("2026-01-05 10:00"):
        movements.fee_charge(fee_ref="f1", vendor=vendor, amount=cny("6000.00"))
        movements.deposit_top_up(ref="d1", vendor=vendor, amount=cny("10000.00"))
    with at("2026-01-10 12:00"):
        payment = captured_payment("333.33", customer=shopper)
        movements.escrow_hold(
            payment=payment,
            splits=[EscrowSplit("o1", vendor.pk, cny("99.90")), EscrowSplit("o2", vendor.pk, cny("233.43"))],
        )
    with at("2026-01-20 09:00"):
        movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny("99.90"), commission=cny("5.00"))
    with at("2026-01-31 23:59:59"):
        movements.escrow_release(order_ref="o2", vendor=vendor, gross=cny("233.43"), commission=cny("11.67"))
    with at("2026-02-01 00:00:00"):
        movements.refund_from_vendor(
            refund_ref="r1", order_ref="o1", vendor=vendor, buyer=shopper, amount=cny("20.00"),
            commission_returned=cny("1.00"),
        )
    with at("2026-02-15 08:00"):
        payout_create(actor=owner, vendor=vendor)
        movements.deposit_deduct(ref="p1", vendor=vendor, amount=cny("500.00"), reason="Late shipment.")
    with at("2026-03-02 08:00"):
        other, _ = vendor_with_owner()
        movements.deposit_top_up(ref="d-other", vendor=other, amount=cny("1.00"))
    return vendor, owner


def ledger_sum(vendor, codes, before):
    return sum(
        LedgerEntry.objects.filter(account__code__in=codes, transaction__created_at__lt=before).values_list(
            "amount", flat=True
        )
    )


def test_statements_reconcile_with_the_ledger_to_the_cent(history):
    vendor, _owner = history
    months = [statements.month_range(2026, m) for m in (1, 2, 3)]
    january, february, march = statements.vendor_statements(vendor, months)
    balance_codes = [accounts.vendor_pending(vendor.pk), accounts.vendor_available(vendor.pk)]
    deposit_codes = [accounts.vendor_deposit(vendor.pk)]
    zone = timezone.get_current_timezone()
    for statement in (january, february, march):
        start = datetime.combine(statement.date_from, datetime.min.time()).replace(tzinfo=zone)
        end = start.replace(day=1) + timedelta(days=32)
        end = end.replace(day=1)
        # Opening and closing are the ledger's balances at the edges...
        assert statement.opening_balance.amount * 100 == ledger_sum(vendor, balance_codes, start)
        assert statement.closing_balance.amount * 100 == ledger_sum(vendor, balance_codes, end)
        assert statement.opening_deposit.amount * 100 == ledger_sum(vendor, deposit_codes, start)
        assert statement.closing_deposit.amount * 100 == ledger_sum(vendor, deposit_codes, end)
        # ...the lines add up to the difference...
        lines = statement.lines
        assert statement.opening_balance + sum((line.balance for line in lines), cny(0)) == statement.closing_balance
        assert statement.opening_deposit + sum((line.deposit for line in lines), cny(0)) == statement.closing_deposit
        # ...and each line is exactly its transactions' entries on the vendor's accounts.
        for line in lines:
            entries = LedgerEntry.objects.filter(transaction_id__in=line.transaction_ids)
            assert line.balance.amount * 100 == sum(e.amount for e in entries if e.account.code in balance_codes)
            assert line.deposit.amount * 100 == sum(e.amount for e in entries if e.account.code in deposit_codes)
    assert february.opening_balance == january.closing_balance
    assert january.line("sales").balance == cny("333.33")
    assert january.line("commissions").balance == cny("-16.67")
    assert january.line("fees").external == cny("6000.00")  # paid through the gateway
    assert january.line("deposit").deposit == cny("10000.00") and january.line("deposit").external == cny("10000.00")
    assert january.closing_balance == cny("316.66")
    # The refund at midnight on 1 February belongs to February.
    assert february.line("refunds").balance == cny("-19.00")
    assert february.line("payouts").balance == cny("-297.66")
    assert february.line("deposit").deposit == cny("-500.00")
    assert february.closing_balance == cny("0.00")
    assert march.lines and all(line.transaction_ids == [] for line in march.lines)
    # Any range: January and February together.
    both = statements.vendor_statement(vendor, date(2026, 1, 1), date(2026, 2, 28))
    assert (both.opening_balance, both.closing_balance) == (january.opening_balance, february.closing_balance)
    assert sorted(i.transaction_id for i in both.items) == sorted(
        i.transaction_id for i in january.items + february.items
    )


def test_statements_through_the_api_and_downloads(history):
    vendor, owner = history
    api = api_for(owner)
    statement = api.execute(STATEMENT, {"vendor": gid("Vendor", vendor), "from": "2026-01-01", "to": "2026-01-31"})[
        "vendorStatement"
    ]
    assert statement["from"] == "2026-01-01" and statement["closingBalance"] == {"amount": "316.66"}
    sales = next(line for line in statement["lines"] if line["kind"] == "SALES")
    assert sales["balance"] == {"amount": "333.33"} and len(sales["transactionIds"]) == 1
    # The ids are the ledger's transactions, readable through the API.
    node = api.execute("query($id: ID!) { node(id: $id) { ... on LedgerTransaction { kind } } }",
                       {"id": sales["transactionIds"][0]})["node"]
    assert node == {"kind": "ESCROW_HOLD"}

    with freeze_time(timezone.now()):
        client = Client()
        response = client.get(statement["csvUrl"])
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        summary = {row[0]: row for row in rows[2:rows.index([])]}
        assert summary["opening"][1] == "0.00" and summary["closing"][1] == "316.66"
        assert summary["sales"][1] == "333.33" and summary["fees"][3] == "6000.00"
        pdf = client.get(statement["pdfUrl"])
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        # A tampered link is refused.
        assert client.get(statement["csvUrl"].replace(".csv", "x.csv")).status_code == 404
    # Links expire.
    with freeze_time(timezone.now() + timedelta(hours=1)):
        assert Client().get(statement["csvUrl"]).status_code == 404

    monthly = api.execute(MONTHLY, {"id": gid("Vendor", vendor)})["vendor"]["statements"]
    assert [m["from"] for m in monthly][:3] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert monthly[1]["openingBalance"] == monthly[0]["closingBalance"]


@freeze_time("2026-04-10 10:00:00")
def test_merchants_see_only_their_own_statements(history, finance_staff):
    vendor, owner = history
    other, stranger = vendor_with_owner()
    variables = {"vendor": gid("Vendor", vendor), "from": "2026-01-01", "to": "2026-01-31"}
    assert api_for(stranger).execute(STATEMENT, variables)["vendorStatement"] is None
    assert api_for(make_user()).execute(STATEMENT, variables)["vendorStatement"] is None
    assert api_for(finance_staff).execute(STATEMENT, variables)["vendorStatement"]["closingBalance"] == {"amount": "316.66"}
    balance = "query($v: ID!) { vendorBalance(vendor: $v) { available { amount } } }"
    assert api_for(stranger).execute(balance, {"v": gid("Vendor", vendor)})["vendorBalance"] is None
    # A link made for someone who loses access stops working.
    url = api_for(owner).execute(STATEMENT, variables)["vendorStatement"]["csvUrl"]
    owner.vendor_membership.delete()
    assert Client().get(url).status_code == 404
    # A link names its statement: swapping in another vendor's is impossible without the signature.
    token = statements.statement_link_token(
        user=stranger, vendor_id=vendor.pk, date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)
    )
    assert Client().get(f"/finance/statements/{token}.csv").status_code == 404
    bad_range = api_for(finance_staff).execute(STATEMENT, {**variables, "from": "2026-02-01"})
    assert bad_range["vendorStatement"] is None
