"""Idempotency keys belong to their owner: a key sent by one store (or shopper) never returns,
nor blocks, another owner's payout, payment or ledger movement, nor one the platform derives.

The attack of issue 11: vendor B creates a payout with the key vendor A's payoutCreate will
derive (`manual:vendor:<A>:<last transaction>`); A must still be paid and see only its own payout.
"""

from decimal import Decimal

import pytest
from django.utils import timezone

from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.entry_fees import _token_digest
from backend.finance.ledger import account_balance, last_transaction_id, ledger_problems
from backend.finance.models import LedgerTransaction, Payout, TransactionKind
from backend.payments.models import Payment
from backend.vendors.models import VendorStatus

from ..checkout.helpers import complete, listing, ready_checkout
from ..factories import vendor_with_owner
from ..graphql_client import error_codes
from .conftest import api_for, gid
from .test_payouts import available, cny, earn

pytestmark = pytest.mark.django_db

PAYOUT = """
mutation Payout($vendor: ID!, $amount: Decimal, $key: String) {
  payoutCreate(vendor: $vendor, amount: $amount, idempotencyKey: $key) {
    payout { id amount { amount } status vendor { slug } }
    errors { field code message }
  }
}"""
PAYOUTS = "query Payouts { payouts(first: 20) { totalCount edges { node { id amount { amount } vendor { slug } } } } }"
FEE_PAY = """
mutation Fee($vendor: ID!, $key: String) {
  vendorEntryFeePay(vendor: $vendor, idempotencyKey: $key) {
    payment { id status amount { amount } }
    vendor { slug }
    errors { field code message }
  }
}"""
TOP_UP = """
mutation TopUp($vendor: ID!, $amount: Decimal, $key: String) {
  vendorDepositTopUp(vendor: $vendor, amount: $amount, idempotencyKey: $key) {
    payment { id status amount { amount } }
    errors { field code message }
  }
}"""
DEDUCT = """
mutation Deduct($vendor: ID!, $amount: Decimal!, $key: String) {
  vendorDepositDeduct(vendor: $vendor, amount: $amount, reason: "Fake goods", idempotencyKey: $key) {
    transaction { id }
    errors { field code message }
  }
}"""


@pytest.fixture
def two_stores(settings):
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("100.00")
    a, a_owner = vendor_with_owner()
    b, b_owner = vendor_with_owner()
    earn(a, "350.00", "a")
    earn(b, "120.00", "b")
    return (a, a_owner), (b, b_owner)


def test_a_squatted_derived_payout_key_still_pays_its_vendor(two_stores):
    (a, a_owner), (b, b_owner) = two_stores
    a_key = f"manual:vendor:{a.pk}:{last_transaction_id(accounts.vendor_available(a.pk))}"
    squat = api_for(b_owner).mutate(PAYOUT, {"vendor": gid("Vendor", b), "key": a_key})
    assert squat["errors"] == [] and squat["payout"]["vendor"]["slug"] == b.slug

    paid = api_for(a_owner).mutate(PAYOUT, {"vendor": gid("Vendor", a)})
    assert paid["errors"] == []
    assert paid["payout"]["vendor"]["slug"] == a.slug
    assert paid["payout"]["amount"]["amount"] == "350.00" and paid["payout"]["status"] == "PAID"
    assert paid["payout"]["id"] != squat["payout"]["id"]
    assert available(a) == cny("0.00") and available(b) == cny("0.00")
    # Each sees its own payout only.
    own = api_for(a_owner).execute(PAYOUTS)["payouts"]
    assert [edge["node"]["vendor"]["slug"] for edge in own["edges"]] == [a.slug]
    theirs = api_for(b_owner).execute(PAYOUTS)["payouts"]
    assert [edge["node"]["id"] for edge in theirs["edges"]] == [squat["payout"]["id"]]
    assert ledger_problems() == []


def test_the_same_caller_key_in_two_stores_is_two_payouts(two_stores):
    (a, a_owner), (b, b_owner) = two_stores
    first = api_for(a_owner).mutate(PAYOUT, {"vendor": gid("Vendor", a), "amount": "100.00", "key": "march"})
    second = api_for(b_owner).mutate(PAYOUT, {"vendor": gid("Vendor", b), "amount": "110.00", "key": "march"})
    assert first["errors"] == [] and second["errors"] == []
    assert first["payout"]["vendor"]["slug"] == a.slug and second["payout"]["vendor"]["slug"] == b.slug
    # A retry in each store still finds that store's payout; another amount is a conflict in that store only.
    again = api_for(a_owner).mutate(PAYOUT, {"vendor": gid("Vendor", a), "amount": "100.00", "key": "march"})
    assert again["payout"]["id"] == first["payout"]["id"]
    conflict = api_for(b_owner).mutate(PAYOUT, {"vendor": gid("Vendor", b), "amount": "111.00", "key": "march"})
    assert error_codes(conflict) == ["IDEMPOTENCY_CONFLICT"]
    assert Payout.objects.count() == 2
    assert set(Payout.objects.values_list("idempotency_key", flat=True)) == {
        f"vendor:{a.pk}:request:march",
        f"vendor:{b.pk}:request:march",
    }


def test_a_caller_key_cannot_take_the_schedules_derived_key(two_stores):
    (a, a_owner), _ = two_stores
    from backend.finance.payouts import payouts_run_scheduled

    today = timezone.localdate()
    squat = api_for(a_owner).mutate(
        PAYOUT, {"vendor": gid("Vendor", a), "amount": "100.00", "key": f"scheduled:vendor:{a.pk}:{today:%Y%m%d}"}
    )
    assert squat["errors"] == []
    payouts_run_scheduled(force=True, vendor_ids=[a.pk])
    # The schedule paid the rest: its own key was not taken by the caller's.
    assert available(a) == cny("0.00")
    assert Payout.objects.filter(vendor=a).count() == 2


@pytest.mark.parametrize("key", ["\x01", "x" * 101, "bad\x00key", "tab\tkey"])
def test_unusable_keys_are_refused(two_stores, key):
    (a, a_owner), _ = two_stores
    payload = api_for(a_owner).mutate(PAYOUT, {"vendor": gid("Vendor", a), "key": key})
    assert error_codes(payload) == ["INVALID"]
    assert not Payout.objects.exists()


def test_a_squatted_entry_fee_key_still_charges_its_vendor(merchant, food_merchant):
    (a, a_owner), (b, b_owner) = merchant, food_merchant
    a_key = f"vendor:{a.pk}:fee:new{timezone.localdate():%Y%m%d}:60000.00:{_token_digest('dummy', 'success')}"
    squat = api_for(b_owner).mutate(FEE_PAY, {"vendor": gid("Vendor", b), "key": a_key})
    assert squat["errors"] == [] and squat["payment"]["amount"]["amount"] == "6000.00"

    paid = api_for(a_owner).mutate(FEE_PAY, {"vendor": gid("Vendor", a)})
    assert paid["errors"] == []
    assert paid["vendor"]["slug"] == a.slug
    assert paid["payment"]["amount"]["amount"] == "60000.00" and paid["payment"]["id"] != squat["payment"]["id"]
    assert Payment.objects.get(vendor=a).amount == Decimal("60000.00")
    assert Payment.objects.get(vendor=b).amount == Decimal("6000.00")


def test_the_same_deposit_key_in_two_stores_is_two_top_ups(merchant, food_merchant):
    (a, a_owner), (b, b_owner) = merchant, food_merchant
    first = api_for(a_owner).mutate(TOP_UP, {"vendor": gid("Vendor", a), "amount": "500.00", "key": "dep-1"})
    second = api_for(b_owner).mutate(TOP_UP, {"vendor": gid("Vendor", b), "amount": "700.00", "key": "dep-1"})
    assert first["errors"] == [] and second["errors"] == []
    assert first["payment"]["id"] != second["payment"]["id"]
    assert account_balance(accounts.vendor_deposit(a.pk)) == cny("500.00")
    assert account_balance(accounts.vendor_deposit(b.pk)) == cny("700.00")
    retry = api_for(a_owner).mutate(TOP_UP, {"vendor": gid("Vendor", a), "amount": "500.00", "key": "dep-1"})
    assert retry["payment"]["id"] == first["payment"]["id"]
    assert account_balance(accounts.vendor_deposit(a.pk)) == cny("500.00")


def test_the_same_deduction_key_for_two_stores_is_two_deductions(finance_staff):
    a, _ = vendor_with_owner(status=VendorStatus.ACTIVE)
    b, _ = vendor_with_owner(status=VendorStatus.ACTIVE)
    movements.deposit_top_up(ref="seed-a", vendor=a, amount=cny("1000.00"))
    movements.deposit_top_up(ref="seed-b", vendor=b, amount=cny("1000.00"))
    api = api_for(finance_staff)
    first = api.mutate(DEDUCT, {"vendor": gid("Vendor", a), "amount": "100.00", "key": "case-7"})
    second = api.mutate(DEDUCT, {"vendor": gid("Vendor", b), "amount": "100.00", "key": "case-7"})
    assert first["errors"] == [] and second["errors"] == []
    assert first["transaction"]["id"] != second["transaction"]["id"]
    assert account_balance(accounts.vendor_deposit(a.pk)) == cny("900.00")
    assert account_balance(accounts.vendor_deposit(b.pk)) == cny("900.00")
    # A retry for A moves nothing more.
    assert api.mutate(DEDUCT, {"vendor": gid("Vendor", a), "amount": "100.00", "key": "case-7"})["errors"] == []
    assert account_balance(accounts.vendor_deposit(a.pk)) == cny("900.00")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.DEPOSIT_DEDUCT).count() == 2


def test_a_vendor_key_cannot_block_a_shoppers_checkout_payment(merchant):
    vendor, owner = merchant
    seller, _ = vendor_with_owner()
    variant = listing(seller, price="80.00")
    checkout = ready_checkout(lines=[(variant, 1)])
    # The checkout's payment key is derived from its id; a store sending it as its own key
    # gets a payment of its own, not the shopper's.
    squat = api_for(owner).mutate(TOP_UP, {"vendor": gid("Vendor", vendor), "amount": "10.00",
                                           "key": f"checkout:{checkout.pk}:0"})
    assert squat["errors"] == []
    completion = complete(checkout)
    assert completion.payment.purpose == "checkout" and completion.payment.vendor_id is None
    assert completion.payment.idempotency_key == f"checkout:{checkout.pk}:0"
    assert Payment.objects.filter(vendor=vendor).get().amount == Decimal("10.00")
