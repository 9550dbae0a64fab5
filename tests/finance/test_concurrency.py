"""Concurrent postings on PostgreSQL: row locks and the unique key keep the ledger right.

Each thread has its own database connection and transaction; a barrier lines
them up so they really race.
"""

from backend.core.exceptions import DomainError
from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.error_codes import FinanceErrorCode
from backend.finance.ledger import account_balance, ledger_problems, post_transaction
from backend.finance.models import LedgerAccount, LedgerTransaction, TransactionKind

from ..concurrency import POSTGRESQL_RACE, race
from .helpers import cny

pytestmark = POSTGRESQL_RACE

THREADS = 8


def fund_escrow(amount):
    post_transaction(
        idempotency_key="fund",
        kind=TransactionKind.ADJUSTMENT,
        entries=[(accounts.GATEWAY, -cny(amount)), (accounts.ESCROW, cny(amount))],
    )


def test_concurrent_duplicates_post_once():
    results = race(
        lambda i: post_transaction(
            idempotency_key="same",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -cny(10)), (accounts.ESCROW, cny(10))],
        ).pk,
        THREADS,
    )
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert LedgerTransaction.objects.count() == 1
    assert account_balance(accounts.ESCROW) == cny(10)
    assert ledger_problems() == []


def test_concurrent_refunds_never_take_escrow_below_zero():
    fund_escrow(100)
    results = race(
        lambda i: post_transaction(
            idempotency_key=f"refund-{i}",
            kind=TransactionKind.REFUND_FROM_ESCROW,
            entries=[(accounts.ESCROW, -cny(30)), (accounts.buyer_refunds(None), cny(30))],
        ),
        THREADS,
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == THREADS - 3, results
    assert {r.code for r in refused} == {FinanceErrorCode.INSUFFICIENT_FUNDS}
    assert account_balance(accounts.ESCROW) == cny(10)
    assert ledger_problems() == []


def test_concurrent_first_postings_create_an_account_once(vendor):
    fund_escrow(80)
    results = race(
        lambda i: post_transaction(
            idempotency_key=f"credit-{i}",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.ESCROW, -cny(10)), (accounts.vendor_available(vendor.pk), cny(10))],
        ),
        THREADS,
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert LedgerAccount.objects.filter(code=accounts.vendor_available(vendor.pk)).count() == 1
    assert account_balance(accounts.vendor_available(vendor.pk)) == cny(80)
    assert ledger_problems() == []


def test_concurrent_refunds_from_one_vendor_share_its_balance_correctly(vendor, shopper):
    post_transaction(
        idempotency_key="setup",
        kind=TransactionKind.ADJUSTMENT,
        entries=[
            (accounts.GATEWAY, -cny(60)),
            (accounts.vendor_available(vendor.pk), cny(40)),
            (accounts.vendor_deposit(vendor.pk), cny(20)),
        ],
    )
    results = race(
        lambda i: movements.refund_from_vendor(
            refund_ref=f"r{i % 4}", order_ref="o", vendor=vendor.pk, buyer=shopper.pk, amount=cny(10)
        ).pk,
        THREADS,
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    # Four distinct refunds (each sent twice): 40 from available, nothing from the deposit.
    assert LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_FROM_VENDOR).count() == 4
    assert account_balance(accounts.vendor_available(vendor.pk)) == cny(0)
    assert account_balance(accounts.vendor_deposit(vendor.pk)) == cny(20)
    assert ledger_problems() == []


def test_two_postings_on_the_gateway_hold_their_transactions_open_at_once(vendor, other_vendor):
    """The gateway is hot: a posting neither locks nor updates its row, so two checkouts'
    escrow holds run side by side instead of queueing on it. Each thread posts and then waits,
    its transaction still open, until the other has posted too: if the second waited on the
    first's lock on the gateway row, the barrier would time out."""
    import threading

    from django.db import transaction

    both_posted = threading.Barrier(2)
    # The accounts exist beforehand (creating one is an insert that a second creator waits on).
    for v in (vendor, other_vendor):
        post_transaction(
            idempotency_key=f"open-{v.pk}",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -cny(1)), (accounts.vendor_pending(v.pk), cny(1))],
        )

    def work(i):
        with transaction.atomic():
            post_transaction(
                idempotency_key=f"hold-{i}",
                kind=TransactionKind.ESCROW_HOLD,
                entries=[
                    (accounts.GATEWAY, -cny(10 + i)),
                    (accounts.vendor_pending((vendor, other_vendor)[i].pk), cny(10 + i)),
                ],
            )
            both_posted.wait(timeout=10)
        return "posted"

    results = race(work, 2, timeout=30)
    assert results == ["posted", "posted"], results
    assert account_balance(accounts.GATEWAY) == cny(-23)
    assert LedgerAccount.objects.get(code=accounts.GATEWAY).balance == 0
    assert ledger_problems() == []


def test_concurrent_debits_of_platform_revenue_never_take_it_below_zero(vendor):
    post_transaction(
        idempotency_key="fees",
        kind=TransactionKind.FEE_CHARGE,
        entries=[(accounts.GATEWAY, -cny(25)), (accounts.PLATFORM_FEES, cny(25))],
    )
    results = race(
        lambda i: post_transaction(
            idempotency_key=f"rebate-{i}",
            kind=TransactionKind.FEE_REBATE,
            entries=[(accounts.PLATFORM_FEES, -cny(10)), (accounts.vendor_available(vendor.pk), cny(10))],
        ),
        THREADS,
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == THREADS - 2, results
    assert {r.code for r in refused} == {FinanceErrorCode.INSUFFICIENT_FUNDS}
    assert account_balance(accounts.PLATFORM_FEES) == cny(5)
    assert ledger_problems() == []
