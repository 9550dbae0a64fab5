"""post_transaction: balanced, immutable, idempotent, never below zero where it must not."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from backend.core.exceptions import DomainError
from backend.finance import accounts
from backend.finance.error_codes import FinanceErrorCode
from backend.finance.ledger import account_balance, escrow_total, ledger_problems, post_transaction, vendor_balance
from backend.finance.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction, TransactionKind

from .helpers import cny

pytestmark = pytest.mark.django_db


def fund_escrow(amount, key="fund"):
    return post_transaction(
        idempotency_key=key,
        kind=TransactionKind.ADJUSTMENT,
        entries=[(accounts.GATEWAY, -cny(amount)), (accounts.ESCROW, cny(amount))],
    )


def code_of(exc_info) -> FinanceErrorCode:
    return exc_info.value.code


def test_balanced_posting_moves_money_and_balances_come_from_entries(vendor):
    posted = post_transaction(
        idempotency_key="t1",
        kind=TransactionKind.ADJUSTMENT,
        entries=[
            (accounts.GATEWAY, -cny("100.00")),
            (accounts.vendor_pending(vendor.pk), cny("60.00")),
            (accounts.ESCROW, Decimal("40.00")),
        ],
        description="test",
        reference=("payment", 9),
        metadata={"why": "test"},
    )
    assert posted.reference_type == "payment" and posted.reference_id == "9"
    assert sorted(posted.entries.values_list("amount", flat=True)) == [-10000, 4000, 6000]
    assert account_balance(accounts.GATEWAY) == cny("-100.00")
    assert account_balance(accounts.ESCROW) == cny("40.00")
    assert vendor_balance(vendor).pending == cny("60.00")
    assert escrow_total() == cny("100.00")
    assert ledger_problems() == []


def test_accounts_are_created_on_demand_with_kind_owner_and_sign_rule(vendor, shopper):
    post_transaction(
        idempotency_key="t1",
        kind=TransactionKind.ADJUSTMENT,
        entries=[
            (accounts.GATEWAY, -cny(3)),
            (accounts.vendor_available(vendor.pk), cny(1)),
            (accounts.vendor_deposit(vendor.pk), cny(1)),
            (accounts.buyer_refunds(shopper.pk), cny(1)),
        ],
    )
    by_code = {a.code: a for a in LedgerAccount.objects.all()}
    assert by_code["gateway"].kind == AccountKind.GATEWAY and not by_code["gateway"].non_negative
    available = by_code[f"vendor:{vendor.pk}:available"]
    assert (available.kind, available.vendor_id, available.non_negative) == (AccountKind.VENDOR_AVAILABLE, vendor.pk, True)
    assert by_code[f"vendor:{vendor.pk}:deposit"].kind == AccountKind.VENDOR_DEPOSIT
    refunds = by_code[f"buyer:{shopper.pk}:refunds"]
    assert (refunds.kind, refunds.user_id) == (AccountKind.BUYER_REFUNDS, shopper.pk)
    assert all(a.currency == "CNY" for a in by_code.values())


def test_unbalanced_transaction_is_refused_and_nothing_is_written():
    with pytest.raises(DomainError) as exc:
        post_transaction(
            idempotency_key="t1",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -cny("10.00")), (accounts.ESCROW, cny("9.99"))],
        )
    assert code_of(exc) == FinanceErrorCode.UNBALANCED
    assert "0.01" in exc.value.message
    assert not LedgerTransaction.objects.exists() and not LedgerEntry.objects.exists()


def test_each_currency_must_balance_on_its_own():
    with pytest.raises(DomainError) as exc:
        post_transaction(
            idempotency_key="t1",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -cny(10)), (accounts.ESCROW, Money(10, "USD"))],
        )
    assert code_of(exc) == FinanceErrorCode.UNBALANCED


def test_an_account_keeps_one_currency():
    fund_escrow(10)
    with pytest.raises(DomainError) as exc:
        post_transaction(
            idempotency_key="t2",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -Money(5, "USD")), (accounts.ESCROW, Money(5, "USD"))],
        )
    assert code_of(exc) == FinanceErrorCode.CURRENCY_MISMATCH


@pytest.mark.parametrize(
    "entries, code",
    [
        ([(accounts.GATEWAY, -cny("0.001")), (accounts.ESCROW, cny("0.001"))], FinanceErrorCode.INVALID),
        ([(accounts.GATEWAY, -1.5), (accounts.ESCROW, 1.5)], FinanceErrorCode.INVALID),
        ([(accounts.GATEWAY, cny(0)), (accounts.ESCROW, cny(0))], FinanceErrorCode.INVALID),
        ([], FinanceErrorCode.INVALID),
        ([("bank", -cny(1)), (accounts.ESCROW, cny(1))], FinanceErrorCode.INVALID),
        ([("vendor:x:pending", -cny(1)), (accounts.ESCROW, cny(1))], FinanceErrorCode.INVALID),
    ],
    ids=["finer-than-minor-unit", "float", "all-zero", "empty", "unknown-account", "malformed-vendor-account"],
)
def test_bad_entries_are_refused(entries, code):
    with pytest.raises(DomainError) as exc:
        post_transaction(idempotency_key="t1", kind=TransactionKind.ADJUSTMENT, entries=entries)
    assert code_of(exc) == code
    assert not LedgerTransaction.objects.exists()


def test_key_and_kind_are_required():
    with pytest.raises(DomainError) as exc:
        post_transaction(idempotency_key="", kind=TransactionKind.ADJUSTMENT, entries=[])
    assert code_of(exc) == FinanceErrorCode.REQUIRED
    with pytest.raises(DomainError) as exc:
        post_transaction(idempotency_key="k", kind="gift", entries=[])
    assert code_of(exc) == FinanceErrorCode.INVALID


def test_lines_on_one_account_are_netted():
    posted = post_transaction(
        idempotency_key="t1",
        kind=TransactionKind.ADJUSTMENT,
        entries=[(accounts.GATEWAY, -cny(10)), (accounts.ESCROW, cny(4)), (accounts.ESCROW, cny(6))],
    )
    assert posted.entries.count() == 2
    assert account_balance(accounts.ESCROW) == cny(10)


# --- Immutability ---


def test_transactions_and_entries_cannot_be_changed_or_deleted():
    posted = fund_escrow(10)
    entry = posted.entries.first()
    posted.description = "rewritten"
    for action in (posted.save, posted.delete, entry.save, entry.delete):
        with pytest.raises(DomainError) as exc:
            action()
        assert code_of(exc) == FinanceErrorCode.IMMUTABLE
    with pytest.raises(DomainError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=0)
    with pytest.raises(DomainError):
        LedgerTransaction.objects.all().delete()
    posted.refresh_from_db()
    assert posted.description == "" and LedgerEntry.objects.count() == 2


@pytest.mark.postgresql
@pytest.mark.skipif(not settings.IS_POSTGRESQL, reason="the row triggers are installed on PostgreSQL only")
def test_postgresql_refuses_raw_updates_and_deletes_of_ledger_rows():
    posted = fund_escrow(10)
    for sql in (
        "UPDATE finance_ledgerentry SET amount = 0",
        "DELETE FROM finance_ledgerentry",
        f"UPDATE finance_ledgertransaction SET description = 'x' WHERE id = {posted.pk}",
    ):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert LedgerEntry.objects.count() == 2


def test_admin_shows_the_ledger_read_only(client, superuser):
    posted = fund_escrow(10)
    client.force_login(superuser)
    url = f"/admin/finance/ledgertransaction/{posted.pk}/change/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"description": "x"}).status_code == 403
    assert client.get("/admin/finance/ledgertransaction/add/").status_code == 403
    assert client.post(f"/admin/finance/ledgertransaction/{posted.pk}/delete/", {"post": "yes"}).status_code == 403
    posted.refresh_from_db()
    assert posted.description == ""


# --- Idempotency ---


def test_same_key_twice_posts_once():
    first = fund_escrow(10)
    again = fund_escrow(10)
    assert again.pk == first.pk
    assert LedgerTransaction.objects.count() == 1
    assert account_balance(accounts.ESCROW) == cny(10)
    assert LedgerAccount.objects.get(code=accounts.ESCROW).balance == 1000


def test_same_key_with_different_entries_or_kind_is_a_conflict():
    fund_escrow(10)
    with pytest.raises(DomainError) as exc:
        fund_escrow(11)
    assert code_of(exc) == FinanceErrorCode.IDEMPOTENCY_CONFLICT
    with pytest.raises(DomainError) as exc:
        post_transaction(
            idempotency_key="fund",
            kind=TransactionKind.ESCROW_HOLD,
            entries=[(accounts.GATEWAY, -cny(10)), (accounts.ESCROW, cny(10))],
        )
    assert code_of(exc) == FinanceErrorCode.IDEMPOTENCY_CONFLICT
    assert account_balance(accounts.ESCROW) == cny(10)


# --- Accounts that may not go negative ---


def test_escrow_never_goes_negative():
    fund_escrow("10.00")
    with pytest.raises(DomainError) as exc:
        post_transaction(
            idempotency_key="too-much",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.ESCROW, -cny("10.01")), (accounts.buyer_refunds(None), cny("10.01"))],
        )
    assert code_of(exc) == FinanceErrorCode.INSUFFICIENT_FUNDS
    assert exc.value.message.startswith("escrow holds 10.00 CNY")
    assert account_balance(accounts.ESCROW) == cny(10)
    assert LedgerTransaction.objects.count() == 1
    # Exactly all of it is fine.
    post_transaction(
        idempotency_key="all",
        kind=TransactionKind.ADJUSTMENT,
        entries=[(accounts.ESCROW, -cny(10)), (accounts.buyer_refunds(None), cny(10))],
    )
    assert account_balance(accounts.ESCROW) == cny(0)


def test_vendor_available_goes_negative_only_when_the_posting_allows_it(vendor):
    entries = [(accounts.vendor_available(vendor.pk), -cny(5)), (accounts.buyer_refunds(None), cny(5))]
    with pytest.raises(DomainError) as exc:
        post_transaction(idempotency_key="r", kind=TransactionKind.ADJUSTMENT, entries=entries)
    assert code_of(exc) == FinanceErrorCode.INSUFFICIENT_FUNDS
    post_transaction(
        idempotency_key="r",
        kind=TransactionKind.ADJUSTMENT,
        entries=entries,
        allow_negative=[accounts.vendor_available(vendor.pk)],
    )
    assert vendor_balance(vendor).available == cny(-5)
    assert ledger_problems() == []


@pytest.mark.parametrize("code", [accounts.ESCROW, "vendor:1:deposit", "vendor:1:pending", accounts.PAYOUTS])
def test_only_vendor_available_may_be_allowed_negative(code):
    with pytest.raises(DomainError) as exc:
        post_transaction(
            idempotency_key="x",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(code, -cny(1)), (accounts.GATEWAY, cny(1))],
            allow_negative=[code],
        )
    assert code_of(exc) == FinanceErrorCode.INVALID


def test_vendor_deposit_never_goes_negative(vendor):
    with pytest.raises(DomainError) as exc:
        post_transaction(
            idempotency_key="x",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.vendor_deposit(vendor.pk), -cny(1)), (accounts.PLATFORM_FEES, cny(1))],
        )
    assert code_of(exc) == FinanceErrorCode.INSUFFICIENT_FUNDS


def test_a_failed_posting_inside_a_callers_transaction_leaves_the_callers_work(vendor):
    fund_escrow(5)
    with transaction.atomic():
        with pytest.raises(DomainError):
            post_transaction(
                idempotency_key="x",
                kind=TransactionKind.ADJUSTMENT,
                entries=[(accounts.ESCROW, -cny(6)), (accounts.GATEWAY, cny(6))],
            )
        fund_escrow(1, key="after")
    assert account_balance(accounts.ESCROW) == cny(6)
    assert ledger_problems() == []


def test_cached_balances_equal_the_sum_of_entries(vendor, other_vendor):
    fund_escrow(100)
    for n, v in enumerate([vendor, other_vendor, vendor]):
        post_transaction(
            idempotency_key=f"m{n}",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.ESCROW, -cny(7)), (accounts.vendor_available(v.pk), cny(7))],
        )
    for account in LedgerAccount.objects.all():
        expected = 0 if accounts.is_hot(account.kind) else account_balance(account.code).amount * 100
        assert account.balance == expected, account.code
    assert LedgerAccount.objects.get(code=accounts.vendor_available(vendor.pk)).balance == 1400
    assert ledger_problems() == []


def test_a_hot_account_is_posted_without_writing_its_row_and_its_balance_is_the_entries_sum(vendor):
    fund_escrow(1)
    gateway = LedgerAccount.objects.get(code=accounts.GATEWAY)
    for n in range(30):
        post_transaction(
            idempotency_key=f"hot-{n}",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -cny("1.25")), (accounts.vendor_pending(vendor.pk), cny("1.25"))],
        )
    entries_sum = LedgerEntry.objects.filter(account=gateway).values_list("amount", flat=True)
    assert sum(entries_sum) == -(100 + 30 * 125)
    assert account_balance(accounts.GATEWAY) == cny("-38.50")
    assert LedgerAccount.objects.get(code=accounts.GATEWAY).balance == 0
    assert LedgerAccount.objects.get(code=accounts.vendor_pending(vendor.pk)).balance == 30 * 125
    assert ledger_problems() == []


def test_a_hot_account_posting_never_locks_its_row(vendor):
    fund_escrow(10)
    with CaptureQueriesContext(connection) as queries:
        post_transaction(
            idempotency_key="hot-lock",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -cny(3)), (accounts.vendor_pending(vendor.pk), cny(3))],
        )
    gateway = LedgerAccount.objects.get(code=accounts.GATEWAY)
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "finance_ledgeraccount" in q["sql"]]
    assert updates, "the vendor's pending account is cached and written"
    for sql in updates:
        assert str(gateway.pk) not in re.findall(r"\d+", sql.rsplit("WHERE", 1)[1]), sql
    # On PostgreSQL the locking read names only the cached account (SQLite has no FOR UPDATE).
    assert not [q["sql"] for q in queries if "FOR UPDATE" in q["sql"] and "'gateway'" in q["sql"]]
    assert gateway.balance == 0


def test_platform_revenue_is_hot_yet_never_debited_below_zero(vendor):
    fund_escrow(10)
    post_transaction(
        idempotency_key="fee",
        kind=TransactionKind.FEE_CHARGE,
        entries=[(accounts.GATEWAY, -cny(4)), (accounts.PLATFORM_FEES, cny(4))],
    )
    with pytest.raises(DomainError) as exc_info:
        post_transaction(
            idempotency_key="rebate-too-much",
            kind=TransactionKind.FEE_REBATE,
            entries=[(accounts.PLATFORM_FEES, -cny(5)), (accounts.vendor_available(vendor.pk), cny(5))],
        )
    assert code_of(exc_info) == FinanceErrorCode.INSUFFICIENT_FUNDS
    post_transaction(
        idempotency_key="rebate",
        kind=TransactionKind.FEE_REBATE,
        entries=[(accounts.PLATFORM_FEES, -cny(4)), (accounts.vendor_available(vendor.pk), cny(4))],
    )
    assert account_balance(accounts.PLATFORM_FEES) == cny(0)
    assert LedgerAccount.objects.get(code=accounts.PLATFORM_FEES).balance == 0
    assert ledger_problems() == []


def test_ledger_problems_detect_a_corrupted_cached_balance_and_a_written_hot_row(vendor):
    fund_escrow(10)
    assert ledger_problems() == []
    # A non-negative account's cache drifting from its entries is reported.
    LedgerAccount.objects.filter(code=accounts.ESCROW).update(balance=999)
    assert ledger_problems() == ["escrow caches 999, entries sum to 1000"]
    LedgerAccount.objects.filter(code=accounts.ESCROW).update(balance=1000)
    # A hot account's row written by anything is reported too (its balance is the entries' sum).
    LedgerAccount.objects.filter(code=accounts.GATEWAY).update(balance=-1000)
    assert ledger_problems() == ["gateway is derived from its entries, yet its row caches -1000"]


def test_deposit_required_defaults_to_zero_and_follows_the_setting(vendor, settings):
    """Without any fee plan the platform default applies (tests/finance/test_fee_plans.py covers plans)."""
    assert vendor_balance(vendor).deposit_required == cny(0)
    settings.FEE_DEFAULT_DEPOSIT = "5000.00"
    assert vendor_balance(vendor).deposit_required == cny(5000)
