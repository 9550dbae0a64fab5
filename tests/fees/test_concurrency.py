"""Concurrent payouts, fee payments and deductions on PostgreSQL: each pays once, the ledger stays right."""

from decimal import Decimal

from moneyed import Money

from backend.core.exceptions import DomainError
from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.entry_fees import vendor_entry_fee_pay
from backend.finance.ledger import account_balance, ledger_problems
from backend.finance.models import FeePeriod, Payout
from backend.finance.payouts import payout_create
from backend.payments.models import Payment, PaymentStatus
from backend.vendors.models import Vendor, VendorStatus

from ..concurrency import POSTGRESQL_RACE, race
from ..factories import vendor_with_owner

pytestmark = POSTGRESQL_RACE


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def test_concurrent_payout_requests_pay_once(settings):
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("1.00")
    vendor, owner = vendor_with_owner()
    movements.deposit_top_up(ref="d", vendor=vendor, amount=cny("400.00"))
    movements.deposit_release(ref="d", vendor=vendor, amount=cny("400.00"))
    results = race(lambda i: payout_create(actor=owner, vendor=vendor), count=6)
    paid = [r for r in results if isinstance(r, Payout)]
    assert len({p.pk for p in paid}) == 1, results
    assert all(isinstance(r, (Payout, DomainError)) for r in results), results
    assert account_balance(accounts.vendor_available(vendor.pk)) == cny("0.00")
    assert ledger_problems() == []


def test_concurrent_fee_payments_charge_once(plans):
    vendor, owner = vendor_with_owner(status=VendorStatus.ONBOARDING)
    vendor.categories.set([plans["food"]])
    results = race(lambda i: vendor_entry_fee_pay(actor=owner, vendor=vendor), count=4)
    assert all(isinstance(r, Payment) for r in results), results
    assert Payment.objects.filter(vendor=vendor, status=PaymentStatus.CAPTURED).count() == 1
    assert FeePeriod.objects.get(vendor=vendor).paid_amount == Decimal("6000.00")
    assert account_balance(accounts.PLATFORM_FEES) == cny("6000.00")
    assert ledger_problems() == []


def test_concurrent_deductions_never_overdraw_and_restrict_once(plans):
    vendor, _owner = vendor_with_owner()
    vendor.categories.set([plans["food"]])
    movements.deposit_top_up(ref="d", vendor=vendor, amount=cny("10000.00"))
    results = race(
        lambda i: movements.deposit_deduct(ref=f"p{i}", vendor=vendor, amount=cny("3000.00"), reason="Penalty."),
        count=4,
    )
    failed = [r for r in results if isinstance(r, DomainError)]
    assert len(failed) == 1 and failed[0].code.name == "INSUFFICIENT_FUNDS", results
    assert account_balance(accounts.vendor_deposit(vendor.pk)) == cny("1000.00")
    assert Vendor.objects.get(pk=vendor.pk).status == VendorStatus.RESTRICTED
    assert vendor.restrictions.count() == 1
    assert ledger_problems() == []
