"""Payouts: minimum, schedule, failed transfers, idempotency, permissions; the run_payouts command."""

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from moneyed import Money

from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.ledger import account_balance, ledger_problems
from backend.finance.models import LedgerTransaction, Payout, PayoutTrigger, TransactionKind
from backend.finance.payouts import payout_day, payouts_run_scheduled
from backend.payments.models import Transfer, TransferStatus
from backend.vendors.models import Vendor, VendorStatus
from plugins.models import PluginConfiguration

from ..factories import vendor_with_owner
from ..graphql_client import error_codes
from .conftest import api_for, gid

pytestmark = pytest.mark.django_db

PAYOUT = """
mutation($vendor: ID!, $amount: Decimal, $key: String) {
  payoutCreate(vendor: $vendor, amount: $amount, idempotencyKey: $key) {
    payout { id status trigger amount { amount currency } pspReference vendor { slug } }
    errors { field code message }
  }
}"""
PAYOUTS = """
query($filter: PayoutFilterInput) {
  payouts(first: 20, filter: $filter) { totalCount edges { node { amount { amount } status vendor { slug } } } }
}"""


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def earn(vendor, amount: str, ref: str) -> None:
    """Money in the vendor's available balance, as released sales would put it there."""
    movements.deposit_top_up(ref=f"earn-{ref}", vendor=vendor, amount=cny(amount))
    movements.deposit_release(ref=f"earn-{ref}", vendor=vendor, amount=cny(amount))


def available(vendor) -> Money:
    return account_balance(accounts.vendor_available(vendor.pk))


@pytest.fixture
def seller(settings):
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("100.00")
    vendor, owner = vendor_with_owner()
    earn(vendor, "350.00", "1")
    return vendor, owner


def test_payout_moves_the_available_balance_out_through_the_gateway(seller):
    vendor, owner = seller
    payload = api_for(owner).mutate(PAYOUT, {"vendor": gid("Vendor", vendor)})
    assert payload["errors"] == []
    payout = payload["payout"]
    assert payout["status"] == "PAID" and payout["trigger"] == "MANUAL"
    assert payout["amount"] == {"amount": "350.00", "currency": "CNY"}
    assert payout["pspReference"].startswith("dummy_transfer_")
    # The dummy gateway recorded the transfer; the ledger reserved and settled it.
    transfer = Transfer.objects.get(vendor=vendor)
    assert transfer.status == TransferStatus.PAID and transfer.amount == Decimal("350.00")
    assert available(vendor) == cny("0.00")
    kinds = set(LedgerTransaction.objects.filter(reference_type="payout").values_list("kind", flat=True))
    assert kinds == {TransactionKind.PAYOUT_RESERVE, TransactionKind.PAYOUT_SETTLE}
    # A double submit pays once: nothing is left above the minimum.
    again = api_for(owner).mutate(PAYOUT, {"vendor": gid("Vendor", vendor)})
    assert error_codes(again) == ["BELOW_MINIMUM"]
    assert Payout.objects.count() == 1
    assert ledger_problems() == []


def test_minimum_and_available_limits(seller, settings):
    vendor, owner = seller
    api = api_for(owner)
    low = api.mutate(PAYOUT, {"vendor": gid("Vendor", vendor), "amount": "99.99"})
    assert [(e["code"], e["field"]) for e in low["errors"]] == [("BELOW_MINIMUM", "amount")]
    high = api.mutate(PAYOUT, {"vendor": gid("Vendor", vendor), "amount": "350.01"})
    assert [(e["code"], e["field"]) for e in high["errors"]] == [("INSUFFICIENT_FUNDS", "amount")]
    part = api.mutate(PAYOUT, {"vendor": gid("Vendor", vendor), "amount": "100.00"})
    assert part["payout"]["amount"]["amount"] == "100.00"
    assert available(vendor) == cny("250.00")
    assert not Payout.objects.filter(amount__in=[Decimal("99.99"), Decimal("350.01")]).exists()


def test_the_same_idempotency_key_returns_the_same_payout(seller):
    vendor, owner = seller
    variables = {"vendor": gid("Vendor", vendor), "amount": "150.00", "key": "payout-2026-03-01"}
    first = api_for(owner).mutate(PAYOUT, variables)
    second = api_for(owner).mutate(PAYOUT, variables)
    assert first["payout"]["id"] == second["payout"]["id"]
    assert available(vendor) == cny("200.00")
    conflict = api_for(owner).mutate(PAYOUT, {**variables, "amount": "120.00"})
    assert error_codes(conflict) == ["IDEMPOTENCY_CONFLICT"]


def test_a_failed_transfer_returns_the_money_to_available(seller):
    vendor, owner = seller
    PluginConfiguration.objects.update_or_create(
        identifier="dummy", defaults={"active": True, "configuration": {"fail_transfers": True}}
    )
    payload = api_for(owner).mutate(PAYOUT, {"vendor": gid("Vendor", vendor)})
    assert payload["errors"] == [] and payload["payout"]["status"] == "FAILED"
    assert available(vendor) == cny("350.00")
    assert account_balance(accounts.PAYOUTS) == cny("0.00")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_FAIL).count() == 1
    assert ledger_problems() == []


def test_who_may_ask_and_who_sees_payouts(seller, finance_staff):
    vendor, owner = seller
    other, stranger = vendor_with_owner()
    earn(other, "500.00", "2")
    assert error_codes(api_for(stranger).mutate(PAYOUT, {"vendor": gid("Vendor", vendor)})) == ["NOT_FOUND"]
    api_for(owner).mutate(PAYOUT, {"vendor": gid("Vendor", vendor)})
    api_for(finance_staff).mutate(PAYOUT, {"vendor": gid("Vendor", other)})
    own = api_for(owner).execute(PAYOUTS)["payouts"]
    assert own["totalCount"] == 1 and own["edges"][0]["node"]["vendor"]["slug"] == vendor.slug
    assert api_for(finance_staff).execute(PAYOUTS)["payouts"]["totalCount"] == 2
    filtered = api_for(finance_staff).execute(PAYOUTS, {"filter": {"vendor": gid("Vendor", other), "status": "PAID"}})
    assert filtered["payouts"]["totalCount"] == 1
    assert api_for(finance_staff).execute(PAYOUTS, {"filter": {"status": "FAILED"}})["payouts"]["totalCount"] == 0
    # A suspended store's money stays until it is reinstated.
    Vendor.objects.filter(pk=vendor.pk).update(status=VendorStatus.SUSPENDED)
    earn(vendor, "200.00", "3")
    assert error_codes(api_for(owner).mutate(PAYOUT, {"vendor": gid("Vendor", vendor)})) == ["VENDOR_NOT_ELIGIBLE"]


@pytest.mark.parametrize(
    ("schedule", "day", "expected"),
    [
        ("daily", date(2026, 3, 3), True),
        ("weekly", date(2026, 3, 2), True),  # a Monday
        ("weekly", date(2026, 3, 3), False),
        ("monthly", date(2026, 3, 1), True),
        ("monthly", date(2026, 3, 2), False),
        ("manual", date(2026, 3, 2), False),
    ],
)
def test_payout_schedule(schedule, day, expected, settings):
    settings.PAYOUT_WEEKDAY = 0
    settings.PAYOUT_MONTH_DAY = 1
    assert payout_day(day, schedule) is expected


def test_scheduled_payouts_pay_due_vendors_once_a_day(seller, settings):
    vendor, _owner = seller
    small, _ = vendor_with_owner()
    earn(small, "20.00", "small")  # below the minimum: left for later
    settings.PAYOUT_SCHEDULE = "weekly"
    settings.PAYOUT_WEEKDAY = 0
    zone = timezone.get_current_timezone()
    tuesday = datetime(2026, 3, 3, 12, tzinfo=zone)
    monday = datetime(2026, 3, 2, 12, tzinfo=zone)
    assert payouts_run_scheduled(now=tuesday) == {"paid": 0, "failed": 0, "pending": 0, "skipped": 0}
    assert payouts_run_scheduled(now=monday) == {"paid": 1, "failed": 0, "pending": 0, "skipped": 0}
    earn(vendor, "150.00", "later")
    # Running again the same day pays nobody twice, even with new money.
    assert payouts_run_scheduled(now=monday)["paid"] == 1
    assert Payout.objects.filter(trigger=PayoutTrigger.SCHEDULED).count() == 1
    assert available(vendor) == cny("150.00") and available(small) == cny("20.00")


def test_run_payouts_command(seller, settings):
    vendor, _owner = seller
    settings.PAYOUT_SCHEDULE = "manual"
    out = io.StringIO()
    call_command("run_payouts", "--no-progress", stdout=out)
    assert "0 paid" in out.getvalue() and available(vendor) == cny("350.00")
    call_command("run_payouts", "--no-progress", "--force", stdout=out)
    assert "1 paid" in out.getvalue() and available(vendor) == cny("0.00")
