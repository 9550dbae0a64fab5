"""Store closure with the deposit returned after the cooling-off period; deductions that compensate a shopper."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time
from moneyed import Money

from backend.catalog.vendor_rules import vendor_is_sellable
from backend.core.audit import audit_trail
from backend.disputes import services as disputes
from backend.finance import accounts, closure
from backend.finance.ledger import account_balance, ledger_problems
from backend.finance.models import ClosureStatus, Payout, PayoutTrigger, VendorClosure
from backend.vendors.models import Vendor, VendorStatus

from ..disputes.helpers import make_world, open_dispute, release, top_up_deposit
from ..factories import vendor_with_owner
from ..graphql_client import error_codes
from .conftest import api_for, gid

pytestmark = pytest.mark.django_db

CLOSE = "mutation($id: ID!) { vendorClose(id: $id) { vendor { status } errors { code } } }"
COMPLETE = "mutation($id: ID!) { vendorCloseComplete(id: $id) { vendor { status } errors { code message } } }"
DEDUCT = """
mutation($vendor: ID!, $amount: Decimal!, $reason: String!, $dispute: ID) {
  vendorDepositDeduct(vendor: $vendor, amount: $amount, reason: $reason, dispute: $dispute) {
    vendor { status } transaction { id } errors { field code message }
  }
}"""


def balance(code) -> Decimal:
    return account_balance(code).amount


def test_closure_returns_the_deposit_after_cooling_off_and_keeps_the_fee(vendors_staff, settings, django_capture_on_commit_callbacks):
    settings.VENDOR_CLOSURE_COOLING_OFF_DAYS = 90
    world = make_world()
    vendor, owner = world.vendor, world.owner
    top_up_deposit(vendor, "5000.00")
    fees_before = balance(accounts.PLATFORM_FEES)

    closing = api_for(owner).mutate(CLOSE, {"id": gid("Vendor", vendor)})
    assert closing["vendor"]["status"] == "CLOSING"
    vendor.refresh_from_db()
    assert not vendor_is_sellable(vendor)  # no new orders
    record = VendorClosure.objects.get(vendor=vendor)
    assert record.deposit_release_after - record.requested_at == timedelta(days=90)

    # Before the cooling-off period ends nothing is returned, by the task or by staff.
    assert closure.closures_settle() == 0
    refused = api_for(vendors_staff).mutate(COMPLETE, {"id": gid("Vendor", vendor)})
    assert error_codes(refused) == ["NOT_SETTLED"] and "cooling-off" in refused["errors"][0]["message"]

    later = record.deposit_release_after + timedelta(hours=1)
    with freeze_time(later):
        # The order is still in escrow: not settled.
        assert closure.closures_settle() == 0
        assert "not released" in " ".join(closure.closure_blockers(vendor))
    release(world)  # shipped, delivered, confirmed: money released to the vendor
    dispute = open_dispute(world)
    with freeze_time(later):
        assert closure.closures_settle() == 0
        assert "dispute" in " ".join(closure.closure_blockers(vendor))
    disputes.dispute_withdraw(actor=world.shopper, dispute=dispute)

    available_before = balance(accounts.vendor_available(vendor.pk))
    assert available_before > 0
    # The payout is asked for once the settlement committed (no gateway call under its locks).
    with freeze_time(later), django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert closure.closures_settle() == 1
        assert closure.closures_settle() == 0  # safe to run twice
    assert [c.func for c in callbacks if getattr(c, "func", None) is closure.closure_payout] == [closure.closure_payout]
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.CLOSED
    record.refresh_from_db()
    assert record.status == ClosureStatus.SETTLED and record.deposit_returned == Decimal("5000.00")
    # Deposit back through available, and everything paid out through the gateway, no minimum.
    assert balance(accounts.vendor_deposit(vendor.pk)) == 0
    assert balance(accounts.vendor_available(vendor.pk)) == 0
    payout = Payout.objects.get(vendor=vendor)
    assert payout.trigger == PayoutTrigger.CLOSURE and payout.status == "paid"
    assert payout.amount == available_before + Decimal("5000.00")
    # The fee is not refunded.
    assert balance(accounts.PLATFORM_FEES) == fees_before
    assert ledger_problems() == []


def test_staff_complete_a_settled_closure(vendors_staff):
    vendor, owner = vendor_with_owner()
    top_up_deposit(vendor, "100.00")
    api_for(owner).mutate(CLOSE, {"id": gid("Vendor", vendor)})
    VendorClosure.objects.filter(vendor=vendor).update(deposit_release_after=timezone.now())
    done = api_for(vendors_staff).mutate(COMPLETE, {"id": gid("Vendor", vendor)})
    assert done["errors"] == [] and done["vendor"]["status"] == "CLOSED"
    assert balance(accounts.vendor_deposit(vendor.pk)) == 0


def test_a_store_that_never_traded_gets_its_deposit_back_at_once(django_capture_on_commit_callbacks):
    vendor, owner = vendor_with_owner(status=VendorStatus.ONBOARDING)
    top_up_deposit(vendor, "300.00")
    with django_capture_on_commit_callbacks(execute=True):
        closed = api_for(owner).mutate(CLOSE, {"id": gid("Vendor", vendor)})
    assert closed["vendor"]["status"] == "CLOSED"
    assert balance(accounts.vendor_deposit(vendor.pk)) == 0
    assert Payout.objects.get(vendor=vendor).amount == Decimal("300.00")


def test_a_deduction_for_a_dispute_compensates_its_shopper(finance_staff):
    world = make_world()
    top_up_deposit(world.vendor, "1000.00")
    dispute = open_dispute(world)
    before = balance(accounts.buyer_refunds(world.shopper.pk))
    payload = api_for(finance_staff).mutate(
        DEDUCT,
        {
            "vendor": gid("Vendor", world.vendor),
            "amount": "120.00",
            "reason": "Compensation: goods not as described.",
            "dispute": gid("Dispute", dispute),
        },
    )
    assert payload["errors"] == []
    assert balance(accounts.buyer_refunds(world.shopper.pk)) == before + Decimal("120.00")
    assert balance(accounts.vendor_deposit(world.vendor.pk)) == Decimal("880.00")
    logged = audit_trail(world.vendor).get(action="vendor.deposit_deduct")
    assert logged.data["dispute"] == dispute.pk and logged.data["to_buyer"] is True
    # A dispute of another vendor is refused; an unknown one is not found.
    other, _owner = vendor_with_owner()
    top_up_deposit(other, "50.00")
    wrong = api_for(finance_staff).mutate(
        DEDUCT, {"vendor": gid("Vendor", other), "amount": "1.00", "reason": "x", "dispute": gid("Dispute", dispute)}
    )
    assert [(e["code"], e["field"]) for e in wrong["errors"]] == [("INVALID", "dispute")]
    missing = api_for(finance_staff).mutate(
        DEDUCT, {"vendor": gid("Vendor", other), "amount": "1.00", "reason": "x", "dispute": "RGlzcHV0ZTo5OTk5OQ=="}
    )
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("NOT_FOUND", "dispute")]
    assert ledger_problems() == []


def test_an_arbitrator_deducts_only_for_a_dispute(staff_factory):
    from backend.core.permissions import PlatformPermission

    world = make_world()
    top_up_deposit(world.vendor, "500.00")
    dispute = open_dispute(world)
    arbitrator = staff_factory(PlatformPermission.ARBITRATE_DISPUTES)
    plain = {"vendor": gid("Vendor", world.vendor), "amount": "10.00", "reason": "Penalty."}
    assert error_codes(api_for(arbitrator).mutate(DEDUCT, plain)) == ["PERMISSION_DENIED"]
    assert api_for(arbitrator).mutate(DEDUCT, {**plain, "dispute": gid("Dispute", dispute)})["errors"] == []
    assert Vendor.objects.get(pk=world.vendor.pk).status == VendorStatus.ACTIVE
    assert account_balance(accounts.vendor_deposit(world.vendor.pk)) == Money(Decimal("490.00"), "CNY")
