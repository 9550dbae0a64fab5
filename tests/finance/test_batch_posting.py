"""post_transactions: many postings in one write, each with post_transaction's guarantees."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.core.exceptions import DomainError
from backend.finance import accounts
from backend.finance.error_codes import FinanceErrorCode
from backend.finance.ledger import Posting, account_balance, ledger_problems, post_transaction, post_transactions
from backend.finance.models import LedgerEntry, LedgerTransaction, TransactionKind

from .helpers import cny

pytestmark = pytest.mark.django_db


def move(key, amount, source=accounts.GATEWAY, target=accounts.ESCROW):
    return Posting(
        idempotency_key=key, kind=TransactionKind.ADJUSTMENT, entries=[(source, -cny(amount)), (target, cny(amount))]
    )


def test_a_batch_posts_each_transaction_balanced_in_one_write():
    posted = post_transactions([move(f"batch-{i}", "10.00") for i in range(5)])

    rows = LedgerTransaction.objects.in_bulk(posted)
    assert [rows[pk].idempotency_key for pk in posted] == [f"batch-{i}" for i in range(5)]
    assert all(rows[pk].kind == TransactionKind.ADJUSTMENT and rows[pk].created_at for pk in posted)
    assert LedgerEntry.objects.filter(transaction__in=posted).count() == 10
    assert account_balance(accounts.ESCROW) == cny("50.00")
    assert ledger_problems() == []


def test_the_queries_of_a_batch_do_not_grow_with_its_size():
    post_transactions([move("warm", "1.00")])  # the accounts exist

    def queries(prefix, count):
        with CaptureQueriesContext(connection) as captured:
            post_transactions([move(f"{prefix}-{i}", "1.00") for i in range(count)])
        return len(captured)

    assert queries("small", 3) == queries("large", 60)


def test_a_retried_batch_returns_what_was_posted_and_moves_nothing_twice():
    first = post_transactions([move("a", "5.00"), move("b", "7.00")])
    again = post_transactions([move("a", "5.00"), move("b", "7.00"), move("c", "1.00")])

    assert again[:2] == first
    assert LedgerTransaction.objects.count() == 3
    assert account_balance(accounts.ESCROW) == cny("13.00")
    # And a key posted one at a time is recognised by the batch, and the other way round.
    single = post_transaction(idempotency_key="d", kind=TransactionKind.ADJUSTMENT, entries=move("d", "2.00").entries)
    assert post_transactions([move("d", "2.00")]) == [single.pk]
    assert post_transaction(idempotency_key="c", kind=TransactionKind.ADJUSTMENT, entries=move("c", "1.00").entries).pk == again[2]


def test_a_key_used_for_another_movement_refuses_the_whole_batch():
    post_transactions([move("taken", "5.00")])

    with pytest.raises(DomainError) as error:
        post_transactions([move("fresh", "1.00"), move("taken", "6.00")])

    assert error.value.code == FinanceErrorCode.IDEMPOTENCY_CONFLICT
    assert not LedgerTransaction.objects.filter(idempotency_key="fresh").exists()


def test_one_key_twice_in_a_batch_is_refused():
    with pytest.raises(DomainError) as error:
        post_transactions([move("twice", "1.00"), move("twice", "1.00")])
    assert error.value.code == FinanceErrorCode.INVALID
    assert LedgerTransaction.objects.count() == 0


def test_each_overdraft_check_sees_the_postings_before_it_and_an_overdraft_writes_nothing():
    post_transactions([move("fund", "10.00")])
    out = lambda key, amount: move(key, amount, source=accounts.ESCROW, target=accounts.PLATFORM_COMMISSION)  # noqa: E731

    with pytest.raises(DomainError) as error:
        post_transactions([out("out-1", "6.00"), out("out-2", "6.00")])

    assert error.value.code == FinanceErrorCode.INSUFFICIENT_FUNDS
    assert account_balance(accounts.ESCROW) == cny("10.00")
    assert not LedgerTransaction.objects.filter(idempotency_key__startswith="out-").exists()
    post_transactions([out("out-1", "6.00"), out("out-2", "4.00")])
    assert account_balance(accounts.ESCROW) == cny("0.00")
    assert ledger_problems() == []


def test_an_unbalanced_posting_refuses_the_batch_before_anything_is_written():
    bad = Posting(idempotency_key="bad", kind=TransactionKind.ADJUSTMENT, entries=[(accounts.ESCROW, cny("1.00"))])
    with pytest.raises(DomainError) as error:
        post_transactions([move("good", "1.00"), bad])
    assert error.value.code == FinanceErrorCode.UNBALANCED
    assert LedgerTransaction.objects.count() == 0


def test_an_empty_batch_posts_nothing():
    with CaptureQueriesContext(connection) as captured:
        assert post_transactions([]) == []
    assert len(captured) == 0
