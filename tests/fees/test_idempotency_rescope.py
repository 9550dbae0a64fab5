"""Caller keys stored before keys were scoped (payments of fees and deposits, deposit deductions)
are moved into their vendor's namespace by data migrations (payments 0002, finance 0005), as
payouts were (finance 0004): a retry with the old key finds its first payment or deduction, and
a key one store sent to squat another's derived key no longer blocks it.

Also the squats of issue 11 on refunds and transfers: their keys are derived from the order,
dispute or payout, never from a caller's key, so no key a store sends can take them.
"""

from decimal import Decimal
from importlib import import_module

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.entry_fees import _token_digest
from backend.finance.ledger import account_balance
from backend.finance.models import LedgerTransaction, Payout, TransactionKind
from backend.orders import services as orders
from backend.orders.models import OrderStatus
from backend.payments.models import Payment, Refund, Transfer
from backend.vendors.models import VendorStatus

from ..checkout.helpers import HANGZHOU, complete, listing, ready_checkout, store
from ..factories import vendor_with_owner
from .conftest import api_for, gid
from .test_idempotency_scope import DEDUCT, FEE_PAY, PAYOUT, TOP_UP
from .test_payouts import cny, earn

pytestmark = pytest.mark.django_db


class _Editor:
    """What a RunPython function uses of the schema editor, without opening one inside the test's transaction."""

    connection = connection

    def execute(self, sql, params=None):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def run_data_migration(app: str, name: str) -> None:
    """The migration's function on the historical models (plain managers, as `migrate` runs it)."""
    module = import_module(f"backend.{app}.migrations.{name}")
    state = MigrationExecutor(connection).loader.project_state((app, name))
    module.scope_caller_keys(state.apps, _Editor())


def stored_unscoped(payment: Payment, key: str) -> None:
    """The payment as the code before scoping stored it: under the caller's key as sent."""
    Payment.objects.filter(pk=payment.pk).update(idempotency_key=key)


def test_a_fee_payment_stored_under_a_raw_key_is_found_again_after_the_migration(merchant):
    vendor, owner = merchant
    api = api_for(owner)
    paid = api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor), "key": "fee-2026"})
    assert paid["errors"] == []
    payment = Payment.objects.get(vendor=vendor)
    stored_unscoped(payment, "fee-2026")

    run_data_migration("payments", "0002_scope_caller_payment_keys")
    payment.refresh_from_db()
    assert payment.idempotency_key == f"vendor:{vendor.pk}:request:fee:fee-2026"
    # The retry finds the first payment: nothing charged twice.
    again = api.mutate(FEE_PAY, {"vendor": gid("Vendor", vendor), "key": "fee-2026"})
    assert again["errors"] == [] and again["payment"]["id"] == paid["payment"]["id"]
    assert Payment.objects.filter(vendor=vendor).count() == 1
    # Running it again changes nothing.
    run_data_migration("payments", "0002_scope_caller_payment_keys")
    payment.refresh_from_db()
    assert payment.idempotency_key == f"vendor:{vendor.pk}:request:fee:fee-2026"


def test_an_old_squat_of_a_derived_fee_key_is_released_by_the_migration(merchant, food_merchant):
    (a, a_owner), (b, b_owner) = merchant, food_merchant
    a_key = f"vendor:{a.pk}:fee:new{timezone.localdate():%Y%m%d}:60000.00:{_token_digest('dummy', 'success')}"
    squat = api_for(b_owner).mutate(FEE_PAY, {"vendor": gid("Vendor", b), "key": "x"})
    assert squat["errors"] == []
    # Before scoping, B's key was stored as sent: A's derived key, taken.
    stored_unscoped(Payment.objects.get(vendor=b), a_key)

    run_data_migration("payments", "0002_scope_caller_payment_keys")
    assert Payment.objects.get(vendor=b).idempotency_key == f"vendor:{b.pk}:request:fee:{a_key}"
    paid = api_for(a_owner).mutate(FEE_PAY, {"vendor": gid("Vendor", a)})
    assert paid["errors"] == [] and paid["payment"]["amount"]["amount"] == "60000.00"
    assert Payment.objects.get(vendor=a).idempotency_key == a_key  # the platform's own key, untouched


def test_derived_and_checkout_payment_keys_are_left_alone(merchant):
    vendor, owner = merchant
    assert api_for(owner).mutate(FEE_PAY, {"vendor": gid("Vendor", vendor)})["errors"] == []
    seller, _ = vendor_with_owner()
    checkout_payment = complete(ready_checkout(lines=[(listing(seller), 1)])).payment
    before = dict(Payment.objects.values_list("pk", "idempotency_key"))
    run_data_migration("payments", "0002_scope_caller_payment_keys")
    assert dict(Payment.objects.values_list("pk", "idempotency_key")) == before
    assert before[checkout_payment.pk].startswith("checkout:")


def test_a_deduction_posted_under_a_raw_key_is_found_again_after_the_migration(finance_staff):
    a, _ = vendor_with_owner(status=VendorStatus.ACTIVE)
    b, _ = vendor_with_owner(status=VendorStatus.ACTIVE)
    movements.deposit_top_up(ref="seed-a", vendor=a, amount=cny("1000.00"))
    movements.deposit_top_up(ref="seed-b", vendor=b, amount=cny("1000.00"))
    # As the code before scoping posted a deduction with the caller's key "case-7".
    old = movements.deposit_deduct(ref="case-7", vendor=a, amount=cny("100.00"), reason="Fake goods")
    penalty = movements.deposit_deduct(ref="dispute:41:penalty", vendor=a, amount=cny("10.00"), reason="Dispute 41")
    assert old.idempotency_key == "deposit_deduct:case-7"

    run_data_migration("finance", "0005_scope_caller_deduction_keys")
    old.refresh_from_db()
    penalty.refresh_from_db()
    assert old.idempotency_key == f"deposit_deduct:vendor:{a.pk}:request:case-7"
    assert penalty.idempotency_key == "deposit_deduct:dispute:41:penalty"
    api = api_for(finance_staff)
    retry = api.mutate(DEDUCT, {"vendor": gid("Vendor", a), "amount": "100.00", "key": "case-7"})
    assert retry["errors"] == [] and retry["transaction"]["id"] == gid("LedgerTransaction", old)
    assert account_balance(accounts.vendor_deposit(a.pk)) == cny("890.00")
    # The same key for B is B's own deduction.
    other = api.mutate(DEDUCT, {"vendor": gid("Vendor", b), "amount": "100.00", "key": "case-7"})
    assert other["errors"] == [] and account_balance(accounts.vendor_deposit(b.pk)) == cny("900.00")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.DEPOSIT_DEDUCT).count() == 3


def test_a_refund_key_derived_for_one_stores_order_cannot_be_taken_by_another(settings):
    a, a_owner = store("Tea House", origin=HANGZHOU)
    b, b_owner = store("Silk Road", origin=HANGZHOU)
    (order,) = complete(ready_checkout(None, [(listing(a, price="80.00"), 1)])).orders
    earn(b, "500.00", "b")
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("100.00")
    # B sends the keys A's cancellation refund will use, as its own payout and top-up keys.
    derived = f"order:{order.pk}:cancel"
    api = api_for(b_owner)
    assert api.mutate(PAYOUT, {"vendor": gid("Vendor", b), "amount": "100.00", "key": derived})["errors"] == []
    assert api.mutate(TOP_UP, {"vendor": gid("Vendor", b), "amount": "10.00", "key": derived})["errors"] == []

    cancelled = orders.order_cancel(actor=a_owner, order=order, reason="Out of stock.")
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.refunded == cancelled.total  # with shipping
    (refund,) = Refund.objects.all()
    assert refund.idempotency_key == derived and refund.payment_id == order.payment_id
    assert LedgerTransaction.objects.get(idempotency_key=f"refund_from_escrow:{derived}")
    assert Payout.objects.get(vendor=b).idempotency_key == f"vendor:{b.pk}:request:{derived}"


def test_a_transfer_key_derived_for_one_stores_payout_cannot_be_taken_by_another(settings):
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("100.00")
    a, a_owner = vendor_with_owner()
    b, b_owner = vendor_with_owner()
    earn(a, "300.00", "a")
    earn(b, "300.00", "b")
    paid = api_for(a_owner).mutate(PAYOUT, {"vendor": gid("Vendor", a), "amount": "200.00"})
    assert paid["errors"] == [] and paid["payout"]["status"] == "PAID"
    a_payout = Payout.objects.get(vendor=a)
    derived = f"payout:{a_payout.reference}"
    assert Transfer.objects.get(idempotency_key=derived).vendor_id == a.pk
    # B sends the key of A's transfer as its own payout key: B gets a payout and transfer of its own.
    squat = api_for(b_owner).mutate(PAYOUT, {"vendor": gid("Vendor", b), "amount": "100.00", "key": derived})
    assert squat["errors"] == [] and squat["payout"]["vendor"]["slug"] == b.slug
    b_payout = Payout.objects.get(vendor=b)
    assert b_payout.idempotency_key == f"vendor:{b.pk}:request:{derived}"
    assert Transfer.objects.get(vendor=b).idempotency_key == f"payout:{b_payout.reference}" != derived
    transfer = Transfer.objects.get(idempotency_key=derived)
    assert (transfer.vendor_id, transfer.amount) == (a.pk, Decimal("200.00"))
    assert account_balance(accounts.vendor_available(a.pk)) == cny("100.00")
    assert account_balance(accounts.vendor_available(b.pk)) == cny("200.00")
    # And A sending B's derived transfer key is likewise A's own payout.
    again = api_for(a_owner).mutate(
        PAYOUT, {"vendor": gid("Vendor", a), "amount": "100.00", "key": f"payout:{b_payout.reference}"}
    )
    assert again["errors"] == [] and again["payout"]["vendor"]["slug"] == a.slug
    assert Transfer.objects.filter(vendor=a).count() == 2 and Transfer.objects.filter(vendor=b).count() == 1
