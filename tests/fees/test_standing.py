"""Entry fee and deposit through the API, activation, restriction, suspension and reinstatement."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time
from moneyed import Money

from backend.catalog.selectors import storefront_products
from backend.catalog.vendor_rules import vendor_can_list, vendor_is_sellable, vendor_is_shown
from backend.core.audit import audit_trail
from backend.finance import accounts, fees, standing
from backend.finance import services as movements
from backend.finance.ledger import account_balance, ledger_problems
from backend.finance.models import FeePeriod, LedgerTransaction, RestrictionStatus, TransactionKind, VendorRestriction
from backend.payments.models import Payment, PaymentStatus
from backend.vendors.models import Vendor, VendorStatus

from ..factories import ProductFactory, vendor_with_owner
from ..graphql_client import error_codes
from .conftest import api_for, gid

pytestmark = pytest.mark.django_db

FEE_PAY = """
mutation($vendor: ID!, $token: String) {
  vendorEntryFeePay(vendor: $vendor, token: $token) {
    payment { id status purpose amount { amount currency } }
    vendor { status }
    errors { field code message }
  }
}"""
TOP_UP = """
mutation($vendor: ID!, $amount: Decimal, $token: String) {
  vendorDepositTopUp(vendor: $vendor, amount: $amount, token: $token) {
    payment { id status amount { amount } }
    vendor { status balance { deposit { amount } depositRequired { amount } } }
    errors { field code message }
  }
}"""
DEDUCT = """
mutation($vendor: ID!, $amount: Decimal!, $reason: String!, $dispute: ID) {
  vendorDepositDeduct(vendor: $vendor, amount: $amount, reason: $reason, dispute: $dispute) {
    vendor { status standing { depositShortfall { amount } topUpDeadline restrictionReasons restrictionStatus } }
    transaction { id kind }
    errors { field code message }
  }
}"""
STANDING = """
query($id: ID!) { vendor(id: $id) { status standing {
  feeOwed { amount } feePaid { amount } feeOutstanding { amount } feeYearStart feeYearEnd
  depositRequired { amount } deposit { amount } depositShortfall { amount } paidUp topUpDeadline
} } }"""
ACTIVATE = "mutation($id: ID!) { vendorActivate(id: $id) { vendor { status } errors { code message } } }"


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def deposit_of(vendor) -> Decimal:
    return account_balance(accounts.vendor_deposit(vendor.pk)).amount


def status_of(vendor) -> str:
    return Vendor.objects.get(pk=vendor.pk).status


def pay_up(vendor, owner):
    api = api_for(owner)
    assert api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})["errors"] == []
    assert api.mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})["errors"] == []
    assert status_of(vendor) == VendorStatus.ACTIVE


def test_a_new_merchant_cannot_sell_until_fee_and_deposit_are_paid(merchant, vendors_staff):
    vendor, owner = merchant
    product = ProductFactory(vendor=vendor, status="published")
    assert not vendor_can_list(vendor) and not vendor_is_sellable(vendor)
    assert not storefront_products().filter(pk=product.pk).exists()
    # Staff cannot open it by hand while it is unpaid.
    refused = api_for(vendors_staff).mutate(ACTIVATE, {"id": gid("Vendor", vendor)})
    assert error_codes(refused) == ["ENTRY_FEE_UNPAID"]
    api = api_for(owner)

    paid = api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})
    assert paid["errors"] == []
    assert paid["payment"]["status"] == "CAPTURED" and paid["payment"]["purpose"] == "VENDOR_FEE"
    assert paid["payment"]["amount"] == {"amount": "60000.00", "currency": "CNY"}
    assert paid["vendor"]["status"] == "ONBOARDING"  # the deposit is still missing
    assert account_balance(accounts.PLATFORM_FEES) == cny("60000.00")
    assert error_codes(api_for(vendors_staff).mutate(ACTIVATE, {"id": gid("Vendor", vendor)})) == ["DEPOSIT_SHORT"]

    # Part of the deposit is not enough...
    part = api.mutate(TOP_UP, {"vendor": gid("Vendor", vendor), "amount": "20000.00"})
    assert part["errors"] == [] and part["vendor"]["status"] == "ONBOARDING"
    # ...the rest (what is short, when no amount is given) activates the store.
    rest = api.mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})
    assert rest["payment"]["amount"] == {"amount": "30000.00"}
    assert rest["vendor"] == {
        "status": "ACTIVE",
        "balance": {"deposit": {"amount": "50000.00"}, "depositRequired": {"amount": "50000.00"}},
    }
    vendor.refresh_from_db()
    assert vendor_can_list(vendor) and vendor_is_sellable(vendor)
    assert storefront_products().filter(pk=product.pk).exists()
    assert "vendor.activate" in [e.action for e in audit_trail(vendor)]

    shown = api.execute(STANDING, {"id": gid("Vendor", vendor)})["vendor"]["standing"]
    assert shown["feePaid"] == {"amount": "60000.00"} and shown["feeOutstanding"] == {"amount": "0.00"}
    assert shown["paidUp"] is True and shown["topUpDeadline"] is None
    assert shown["feeYearStart"] and shown["feeYearEnd"]
    assert ledger_problems() == []


def test_payments_are_idempotent_and_declines_change_nothing(merchant):
    vendor, owner = merchant
    api = api_for(owner)
    declined = api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor), "token": "decline"})
    assert error_codes(declined) == ["PAYMENT_DECLINED"]
    # The declined attempt is recorded (outside the mutation's transaction); no money moved.
    assert Payment.objects.get(vendor=vendor).status == PaymentStatus.FAILED
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.FEE_CHARGE).exists()
    timeout = api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor), "token": "timeout"})
    assert error_codes(timeout) == ["PAYMENT_TIMEOUT"]

    first = api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})
    again = api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})
    assert first["payment"]["id"] == again["payment"]["id"]
    assert Payment.objects.filter(vendor=vendor, status=PaymentStatus.CAPTURED).count() == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.FEE_CHARGE).count() == 1
    assert FeePeriod.objects.get(vendor=vendor).paid_amount == Decimal("60000.00")

    top = api.mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})
    top_again = api.mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})
    assert top["payment"]["id"] == top_again["payment"]["id"]
    assert deposit_of(vendor) == Decimal("50000.00")
    # The captured handler (a gateway's late webhook) applies a payment once.
    from backend.finance.entry_fees import on_vendor_payment_captured

    for payment in Payment.objects.filter(vendor=vendor, status=PaymentStatus.CAPTURED):
        on_vendor_payment_captured(payment)
    assert deposit_of(vendor) == Decimal("50000.00")
    assert account_balance(accounts.PLATFORM_FEES) == cny("60000.00")


def test_only_the_vendors_managers_or_finance_staff_pay(merchant, finance_staff, user_factory):
    vendor, _owner = merchant
    _other_vendor, stranger = vendor_with_owner()
    assert error_codes(api_for(stranger).mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})) == ["NOT_FOUND"]
    assert error_codes(api_for(user_factory()).mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})) == ["NOT_FOUND"]
    assert api_for(finance_staff).mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})["errors"] == []
    negative = api_for(finance_staff).mutate(TOP_UP, {"vendor": gid("Vendor", vendor), "amount": "-5"})
    assert error_codes(negative) == ["INVALID"]


def test_the_fee_is_the_highest_among_categories(merchant, plans, finance_staff):
    vendor, _owner = merchant
    vendor.categories.set([plans["food"], plans["phones"]])
    current = standing.vendor_standing(vendor)
    assert (current.fee_owed, current.deposit_required) == (cny("60000.00"), cny("50000.00"))
    vendor.categories.set([plans["food"]])
    current = standing.vendor_standing(vendor)
    assert (current.fee_owed, current.deposit_required) == (cny("6000.00"), cny("10000.00"))


def test_a_deduction_restricts_then_the_deadline_suspends(merchant, finance_staff, settings):
    vendor, owner = merchant
    pay_up(vendor, owner)
    product = ProductFactory(vendor=vendor, status="published")
    settings.VENDOR_TOP_UP_DAYS = 15
    staff_api = api_for(finance_staff)

    # A deduction that leaves the deposit short restricts the store, with a deadline.
    payload = staff_api.mutate(
        DEDUCT, {"vendor": gid("Vendor", vendor), "amount": "8000.00", "reason": "Counterfeit listing penalty."}
    )
    assert payload["errors"] == []
    assert payload["transaction"]["kind"] == "DEPOSIT_DEDUCT"
    assert payload["vendor"]["status"] == "RESTRICTED"
    shown = payload["vendor"]["standing"]
    assert shown["depositShortfall"] == {"amount": "8000.00"}
    assert shown["restrictionReasons"] == ["deposit_short"] and shown["restrictionStatus"] == "OPEN"
    deduction = audit_trail(vendor).filter(action="vendor.deposit_deduct").get()
    assert deduction.reason == "Counterfeit listing penalty." and deduction.actor == finance_staff
    assert account_balance(accounts.PLATFORM_FEES) == cny("68000.00")

    # Restricted: not buyable; listings visible or hidden as configured; no new listings.
    vendor.refresh_from_db()
    assert not vendor_is_sellable(vendor) and not vendor_can_list(vendor)
    settings.VENDOR_RESTRICTED_LISTINGS = "visible"
    assert vendor_is_shown(vendor) and storefront_products().filter(pk=product.pk).exists()
    settings.VENDOR_RESTRICTED_LISTINGS = "hidden"
    assert not vendor_is_shown(vendor) and not storefront_products().filter(pk=product.pk).exists()

    restriction = VendorRestriction.objects.get(vendor=vendor)
    # Before the deadline the periodic check changes nothing; after it, it suspends, once.
    assert standing.vendor_restrictions_expire(now=restriction.deadline - timedelta(seconds=1)) == 0
    with freeze_time(restriction.deadline + timedelta(hours=1)):
        assert standing.vendor_standing_check() == {"changed": 0, "suspended": 1}
        assert standing.vendor_standing_check() == {"changed": 0, "suspended": 0}
    assert status_of(vendor) == VendorStatus.SUSPENDED
    restriction.refresh_from_db()
    assert restriction.status == RestrictionStatus.SUSPENDED
    assert audit_trail(vendor).filter(action="vendor.suspend_overdue").count() == 1

    # Topping up after the deadline ends a suspension that the deadline caused.
    again = api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})
    assert again["errors"] == [] and again["vendor"]["status"] == "ACTIVE"
    restriction.refresh_from_db()
    assert restriction.status == RestrictionStatus.LIFTED


def test_topping_up_before_the_deadline_restores_the_store(merchant, finance_staff):
    vendor, owner = merchant
    pay_up(vendor, owner)
    movements.deposit_deduct(ref="penalty-1", vendor=vendor, amount=cny("100.00"), reason="Late shipment.")
    assert status_of(vendor) == VendorStatus.RESTRICTED
    assert api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})["vendor"]["status"] == "ACTIVE"
    assert VendorRestriction.objects.get(vendor=vendor).status == RestrictionStatus.LIFTED
    # The expired deadline of a lifted restriction suspends nobody.
    assert standing.vendor_restrictions_expire(now=timezone.now() + timedelta(days=60)) == 0
    assert status_of(vendor) == VendorStatus.ACTIVE


def test_a_staff_suspension_is_not_lifted_by_paying(merchant, vendors_staff):
    from backend.vendors import services as vendor_services

    vendor, owner = merchant
    pay_up(vendor, owner)
    vendor_services.vendor_suspend(actor=vendors_staff, vendor=vendor, reason="Fake reviews.")
    movements.deposit_deduct(ref="penalty-2", vendor=vendor, amount=cny("100.00"), reason="Fake reviews.")
    api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})
    assert status_of(vendor) == VendorStatus.SUSPENDED
    # Reinstating is refused while the store is short, allowed once paid up.
    movements.deposit_deduct(ref="penalty-3", vendor=vendor, amount=cny("100.00"), reason="Again.")
    reinstate = "mutation($id: ID!) { vendorReinstate(id: $id) { vendor { status } errors { code } } }"
    assert error_codes(api_for(vendors_staff).mutate(reinstate, {"id": gid("Vendor", vendor)})) == ["DEPOSIT_SHORT"]
    api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})
    assert api_for(vendors_staff).mutate(reinstate, {"id": gid("Vendor", vendor)})["vendor"]["status"] == "ACTIVE"


def test_a_category_with_a_higher_requirement_restricts(food_merchant, plans):
    vendor, owner = food_merchant
    pay_up(vendor, owner)
    assert deposit_of(vendor) == Decimal("10000.00")
    vendor.categories.add(plans["phones"])  # 3C: fee 60000, deposit 50000
    assert standing.vendor_standing_check() == {"changed": 1, "suspended": 0}
    restriction = VendorRestriction.objects.get(vendor=vendor)
    assert sorted(restriction.reasons) == ["deposit_short", "fee_unpaid"]
    assert status_of(vendor) == VendorStatus.RESTRICTED
    # The fee year's difference and the deposit's shortfall, then active again.
    fee = api_for(owner).mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})
    assert fee["payment"]["amount"]["amount"] == "54000.00" and fee["vendor"]["status"] == "RESTRICTED"
    assert api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})["vendor"]["status"] == "ACTIVE"
    assert FeePeriod.objects.get(vendor=vendor).paid_amount == Decimal("60000.00")


def test_the_fee_year_runs_out(food_merchant):
    vendor, owner = food_merchant
    pay_up(vendor, owner)
    period = FeePeriod.objects.get(vendor=vendor)
    assert period.ends_at.year == period.starts_at.year + 1
    with freeze_time(period.ends_at + timedelta(minutes=1)):
        standing.vendor_standing_check()
        assert status_of(vendor) == VendorStatus.RESTRICTED
        assert VendorRestriction.objects.get(vendor=vendor).reasons == ["fee_unpaid"]
        renewed = api_for(owner).mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})
        assert renewed["vendor"]["status"] == "ACTIVE"
    assert FeePeriod.objects.filter(vendor=vendor).count() == 2


def test_restriction_and_activation_transitions_are_the_machines(merchant):
    """Every transition the standing rule takes, and those it must not."""
    vendor, owner = merchant
    # onboarding stays onboarding while unpaid (no restriction for a store that never traded).
    standing.vendor_standing_refresh(vendor=vendor)
    assert status_of(vendor) == VendorStatus.ONBOARDING and not VendorRestriction.objects.exists()
    pay_up(vendor, owner)
    # closing and closed stores are left alone by the rule.
    for status in (VendorStatus.CLOSING, VendorStatus.CLOSED):
        Vendor.objects.filter(pk=vendor.pk).update(status=status)
        movements.deposit_deduct(ref=f"p-{status}", vendor=vendor, amount=cny("1.00"), reason="x")
        assert status_of(vendor) == status
    # A closing store pays nothing more.
    Vendor.objects.filter(pk=vendor.pk).update(status=VendorStatus.CLOSING)
    assert error_codes(api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})) == ["VENDOR_NOT_ELIGIBLE"]


def test_deduction_needs_finance_staff_a_reason_and_the_money(merchant, finance_staff, vendors_staff):
    vendor, owner = merchant
    pay_up(vendor, owner)
    variables = {"vendor": gid("Vendor", vendor), "amount": "10.00", "reason": "Penalty."}
    assert error_codes(api_for(owner).mutate(DEDUCT, variables)) == ["PERMISSION_DENIED"]
    assert error_codes(api_for(vendors_staff).mutate(DEDUCT, variables)) == ["PERMISSION_DENIED"]
    assert error_codes(api_for(finance_staff).mutate(DEDUCT, {**variables, "reason": " "})) == ["REQUIRED"]
    too_much = api_for(finance_staff).mutate(DEDUCT, {**variables, "amount": "50000.01"})
    assert error_codes(too_much) == ["INSUFFICIENT_FUNDS"]
    assert deposit_of(vendor) == Decimal("50000.00")
    assert status_of(vendor) == VendorStatus.ACTIVE


def test_the_highest_requirement_is_not_confused_by_plan_changes_for_others(merchant, plans, finance_staff):
    vendor, owner = merchant
    pay_up(vendor, owner)
    # A higher Food deposit does not concern a phones store.
    fees.category_fee_plan_update(actor=finance_staff, category=plans["food"], deposit_amount=Decimal("90000.00"))
    standing.vendor_standing_check()
    assert status_of(vendor) == VendorStatus.ACTIVE
    # A higher 3C deposit does, from when it takes effect.
    fees.category_fee_plan_update(actor=finance_staff, category=plans["digital"], deposit_amount=Decimal("80000.00"))
    standing.vendor_standing_check()
    assert status_of(vendor) == VendorStatus.RESTRICTED
    assert standing.vendor_standing(vendor).deposit_shortfall == cny("30000.00")
    assert api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor)})["vendor"]["status"] == "ACTIVE"
