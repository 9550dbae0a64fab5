"""Posting to the ledger and reading balances.

`post_transaction` is the only way money moves: one balanced, immutable
transaction per call, idempotent on its key. The named movements in
services.py are small functions over it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from backend.core.bulk import insert_rows, update_column
from backend.core.exceptions import DomainError
from backend.core.money import from_minor, to_minor
from backend.core.observability import record_ledger_posting

from .accounts import account_spec, is_hot, vendor_available, vendor_deposit, vendor_pending
from .error_codes import FinanceErrorCode
from .models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction, TransactionKind

EntryInput = tuple[str, Money | Decimal]

# What a caller may send as an idempotency key (the stored key adds the owner's prefix).
CALLER_KEY_MAX_LENGTH = 100


def owner_scoped_key(owner: str, key: str, *, field: str = "idempotencyKey") -> str:
    """A caller's idempotency key inside its owner's namespace: `<owner>:request:<key>`.

    Owners are `vendor:<id>` or `user:<id>`. No key derived by the platform starts like this
    (derived keys are `vendor:<id>:fee:...`, `manual:vendor:...`, `checkout:...`), so a key
    one caller sends can never return, or block, another owner's payment, payout or ledger
    movement, nor a movement the platform derives for the same owner.
    """
    key = (key or "").strip()
    if not key or len(key) > CALLER_KEY_MAX_LENGTH or not key.isprintable():
        raise DomainError(
            FinanceErrorCode.INVALID,
            f"An idempotency key is 1 to {CALLER_KEY_MAX_LENGTH} printable characters.",
            field=field,
        )
    return f"{owner}:request:{key}"


def _to_minor_entries(entries: Iterable[EntryInput], currency: str | None) -> dict[tuple[str, str], int]:
    """Net amount per (account, currency) in minor units; zero lines dropped."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    for code, amount in entries:
        if isinstance(amount, Money):
            entry_currency, value = amount.currency.code, amount.amount
        elif isinstance(amount, Decimal):
            entry_currency, value = currency or settings.DEFAULT_CURRENCY, amount
        else:
            raise DomainError(
                FinanceErrorCode.INVALID, f"{code}: amounts are Money or Decimal, not {type(amount).__name__}."
            )
        try:
            net[(code, entry_currency)] += to_minor(value, entry_currency)
        except ValueError as exc:
            raise DomainError(FinanceErrorCode.INVALID, f"{code}: {exc}.", field="amount") from exc
    return {key: amount for key, amount in sorted(net.items()) if amount}


def _fingerprint(kind: str, lines: dict[tuple[str, str], int], request: object | None) -> str:
    basis = {"kind": kind}
    if request is None:
        basis["entries"] = [[code, currency, amount] for (code, currency), amount in lines.items()]
    else:
        basis["request"] = request
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def fingerprint_of(
    *, kind: str, entries: Sequence[EntryInput], currency: str | None = None, request: object | None = None
) -> str:
    """The fingerprint post_transaction stores for these arguments."""
    return _fingerprint(kind, _to_minor_entries(entries, currency), request)


def _existing(key: str, fingerprint: str) -> LedgerTransaction | None:
    existing = LedgerTransaction.objects.filter(idempotency_key=key).first()
    if existing is not None and existing.fingerprint != fingerprint:
        raise DomainError(
            FinanceErrorCode.IDEMPOTENCY_CONFLICT,
            f"The idempotency key {key!r} was already used for a different movement.",
            field="idempotency_key",
        )
    return existing


def _lock_accounts(currencies: dict[str, str], debited: Iterable[str] = ()) -> dict[str, LedgerAccount]:
    """Create missing accounts, then lock those whose row a posting reads or moves, in code order
    (no deadlocks between postings).

    Cached accounts are always locked. Hot accounts (accounts.is_hot) are read without a lock,
    except a non-negative one that is `debited`: it is locked (never updated) and its in-memory
    balance is the sum of its entries read under that lock, for the overdraft check. Credits to
    hot accounts never wait: two postings on the gateway run at once.
    """
    codes = sorted(currencies)
    found = {a.code: a for a in LedgerAccount.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in found]
    if missing:
        specs = {code: account_spec(code) for code in missing}
        # ON CONFLICT DO NOTHING: two postings creating the same account both succeed.
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(
                    code=code,
                    kind=specs[code].kind,
                    currency=currencies[code],
                    vendor_id=specs[code].vendor_id,
                    user_id=specs[code].user_id,
                    non_negative=specs[code].non_negative,
                )
                for code in missing
            ],
            ignore_conflicts=True,
        )
        missing_hot = [code for code in missing if is_hot(specs[code].kind)]
        if missing_hot:
            found.update({a.code: a for a in LedgerAccount.objects.filter(code__in=missing_hot)})
    debited = set(debited)
    to_lock = [
        code
        for code in codes
        if code not in found or not is_hot(found[code].kind) or (code in debited and found[code].non_negative)
    ]
    if to_lock:
        found.update(
            {a.code: a for a in LedgerAccount.objects.select_for_update().filter(code__in=to_lock).order_by("code")}
        )
    derived = [a.pk for code, a in found.items() if is_hot(a.kind) and code in debited and a.non_negative]
    if derived:
        sums = dict(
            LedgerEntry.objects.filter(account_id__in=derived)
            .values("account_id")
            .annotate(total=Sum("amount"))
            .values_list("account_id", "total")
            .order_by()
        )
        for account in found.values():
            if account.pk in derived:
                account.balance = sums.get(account.pk, 0)
    for account in found.values():
        if is_hot(account.kind) and account.pk not in derived:
            # Not read: a hot account's row holds no balance (credits need no check).
            account.balance = 0
    return found


def _debits(lines: dict[tuple[str, str], int]) -> set[str]:
    net: dict[str, int] = defaultdict(int)
    for (code, _currency), amount in lines.items():
        net[code] += amount
    return {code for code, amount in net.items() if amount < 0}


def _cached(accounts: dict[str, LedgerAccount], codes: Iterable[str]) -> list[LedgerAccount]:
    """The accounts whose row holds a cached balance to write back (hot accounts are never written)."""
    return [accounts[code] for code in dict.fromkeys(codes) if not is_hot(accounts[code].kind)]


_KINDS = frozenset(TransactionKind.values)
# The columns _Prepared.row_values gives, in its order.
_TRANSACTION_COLUMNS = ["idempotency_key", "kind", "description", "reference_type", "reference_id", "metadata", "fingerprint", "created_at"]


@dataclass(frozen=True)
class Posting:
    """One transaction to post: the arguments of post_transaction, for post_transactions."""

    idempotency_key: str
    kind: str
    entries: Sequence[EntryInput]
    description: str = ""
    reference: tuple[str, object] | None = None
    metadata: dict | None = None
    currency: str | None = None
    allow_negative: Iterable[str] = ()
    request: object | None = None


@dataclass
class _Prepared:
    posting: Posting
    lines: dict[tuple[str, str], int]
    currencies: dict[str, str]
    allow_negative: set[str]
    fingerprint: str

    def row_values(self, created_at) -> tuple:
        """The columns insert_rows writes for this transaction (those of new_row, in post_transactions' order)."""
        posting = self.posting
        ref_type, ref_id = posting.reference if posting.reference else ("", "")
        return (
            posting.idempotency_key, posting.kind, posting.description, str(ref_type), str(ref_id),
            posting.metadata or {}, self.fingerprint, created_at,
        )

    def new_row(self) -> LedgerTransaction:
        ref_type, ref_id = self.posting.reference if self.posting.reference else ("", "")
        return LedgerTransaction(
            idempotency_key=self.posting.idempotency_key,
            kind=self.posting.kind,
            description=self.posting.description,
            reference_type=str(ref_type),
            reference_id=str(ref_id),
            metadata=self.posting.metadata or {},
            fingerprint=self.fingerprint,
        )


def _prepare(posting: Posting) -> _Prepared:
    """Everything checked before the database is touched: key, kind, balance, currencies."""
    if not posting.idempotency_key:
        raise DomainError(FinanceErrorCode.REQUIRED, "An idempotency key is required.", field="idempotency_key")
    if posting.kind not in _KINDS:
        raise DomainError(FinanceErrorCode.INVALID, f"{posting.kind!r} is not a ledger transaction kind.", field="kind")
    lines = _to_minor_entries(posting.entries, posting.currency)
    if not lines:
        raise DomainError(FinanceErrorCode.INVALID, "A transaction needs at least one non-zero entry.")
    totals: dict[str, int] = defaultdict(int)
    for (_code, entry_currency), amount in lines.items():
        totals[entry_currency] += amount
    unbalanced = {c: t for c, t in totals.items() if t}
    if unbalanced:
        raise DomainError(
            FinanceErrorCode.UNBALANCED,
            "Entries must sum to zero in each currency; off by "
            + ", ".join(f"{from_minor(t, c)} {c}" for c, t in sorted(unbalanced.items()))
            + ".",
        )
    currencies: dict[str, str] = {}
    for code, entry_currency in lines:
        if currencies.setdefault(code, entry_currency) != entry_currency:
            raise DomainError(FinanceErrorCode.CURRENCY_MISMATCH, f"{code} gets entries in two currencies.")
    allow_negative = set(posting.allow_negative)
    for code in allow_negative:
        if account_spec(code).kind != AccountKind.VENDOR_AVAILABLE:
            raise DomainError(FinanceErrorCode.INVALID, f"{code} may never go negative.", field="allow_negative")
    return _Prepared(posting, lines, currencies, allow_negative, _fingerprint(posting.kind, lines, posting.request))


def _apply(prepared: _Prepared, accounts: dict[str, LedgerAccount]) -> dict[str, Decimal]:
    """Move the locked accounts' cached balances (refusing an overdraft); returns the amount moved per currency."""
    deltas: dict[str, int] = defaultdict(int)
    for (code, entry_currency), amount in prepared.lines.items():
        account = accounts[code]
        if account.currency != entry_currency:
            raise DomainError(
                FinanceErrorCode.CURRENCY_MISMATCH,
                f"{code} is kept in {account.currency}, not {entry_currency}.",
                field="currency",
            )
        deltas[code] += amount
    for code, delta in deltas.items():
        account = accounts[code]
        new_balance = account.balance + delta
        if delta < 0 and new_balance < 0 and account.non_negative and code not in prepared.allow_negative:
            raise DomainError(
                FinanceErrorCode.INSUFFICIENT_FUNDS,
                f"{code} holds {from_minor(account.balance, account.currency)} {account.currency}, "
                f"less than the {from_minor(-delta, account.currency)} this movement takes.",
                field="amount",
            )
        account.balance = new_balance
    moved: dict[str, Decimal] = defaultdict(Decimal)
    for (_code, entry_currency), amount in prepared.lines.items():
        if amount > 0:
            moved[entry_currency] += from_minor(amount, entry_currency)
    return moved


def _entries(prepared: _Prepared, posted: LedgerTransaction, accounts: dict[str, LedgerAccount]) -> list[LedgerEntry]:
    return [
        LedgerEntry(transaction=posted, account=accounts[code], amount=amount, currency=entry_currency)
        for (code, entry_currency), amount in prepared.lines.items()
    ]


def post_transaction(
    *,
    idempotency_key: str,
    kind: str,
    entries: Sequence[EntryInput],
    description: str = "",
    reference: tuple[str, object] | None = None,
    metadata: dict | None = None,
    currency: str | None = None,
    allow_negative: Iterable[str] = (),
    request: object | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction, or return the one already posted under this key.

    entries: (account code, Money or Decimal) pairs; Decimal amounts are in
    `currency` (default settings.DEFAULT_CURRENCY). Lines on the same account
    are netted and zero lines dropped. A retry with the same key and the same
    entries (or the same `request`, for movements whose entries depend on
    balances at posting time) returns the first transaction; anything else
    under that key is IDEMPOTENCY_CONFLICT. allow_negative names vendor
    available accounts a recovery may take below zero.

    The transaction row is inserted first: it claims the key (a concurrent
    duplicate waits on the unique index and then finds the winner) and, on
    SQLite, takes the write lock before any balance is read.
    """
    prepared = _prepare(
        Posting(
            idempotency_key=idempotency_key, kind=kind, entries=entries, description=description,
            reference=reference, metadata=metadata, currency=currency, allow_negative=allow_negative,
            request=request,
        )
    )
    with transaction.atomic():
        # The insert claims the key, or finds it taken (ON CONFLICT DO NOTHING: a concurrent
        # duplicate waits on the unique index until the first commits, then returns no row).
        stamp = timezone.now()
        returned = insert_rows(
            LedgerTransaction, _TRANSACTION_COLUMNS, [prepared.row_values(stamp)], returning=("id",), ignore_conflicts=True
        )
        if not returned:
            existing = _existing(idempotency_key, prepared.fingerprint)
            if existing is None:
                raise IntegrityError(f"ledger transaction {idempotency_key!r} conflicts but was not found")
            return existing
        posted = prepared.new_row()
        posted.pk, posted.created_at = returned[0][0], stamp
        posted._state.adding, posted._state.db = False, "default"

        accounts = _lock_accounts(prepared.currencies, _debits(prepared.lines))
        moved = _apply(prepared, accounts)
        LedgerEntry.objects.bulk_create(_entries(prepared, posted, accounts))
        cached = _cached(accounts, (code for code, _c in prepared.lines))
        if cached:
            LedgerAccount.objects.bulk_update(cached, ["balance"])
        # Counted once the posting commits (a rolled-back posting moved nothing).
        transaction.on_commit(partial(record_ledger_posting, kind=kind, moved=dict(moved)))
    return posted


def post(posting: Posting) -> LedgerTransaction:
    """post_transaction for a prepared Posting."""
    return post_transaction(**{f.name: getattr(posting, f.name) for f in fields(posting)})


def post_transactions(postings: Sequence[Posting]) -> list[int]:
    """Post many transactions at once, with the guarantees of post_transaction for each; returns
    the ids of the transactions, in the order of the postings (those posted before included).

    For periodic work over thousands of objects (releasing due orders): one query finds the keys
    already posted (those are returned as they are, after the same fingerprint check), one insert
    claims the new keys, every account involved is locked once (in code order, like a single
    posting), the postings are applied in the given order (each overdraft check sees the ones
    before it), and the entries and balances are written with one insert and one update. All or
    nothing: the caller's transaction commits the batch or none of it. Keys must be distinct.
    """
    prepared = [_prepare(posting) for posting in postings]
    keys = [p.posting.idempotency_key for p in prepared]
    if len(set(keys)) != len(keys):
        raise DomainError(FinanceErrorCode.INVALID, "A batch cannot post one idempotency key twice.", field="idempotency_key")
    if not prepared:
        return []
    with transaction.atomic():
        found = {
            key: (pk, fingerprint)
            for key, pk, fingerprint in LedgerTransaction.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", "pk", "fingerprint"
            )
        }
        results: dict[str, int] = {}
        new: list[_Prepared] = []
        for p in prepared:
            key = p.posting.idempotency_key
            if key not in found:
                new.append(p)
                continue
            pk, fingerprint = found[key]
            if fingerprint != p.fingerprint:
                raise DomainError(
                    FinanceErrorCode.IDEMPOTENCY_CONFLICT,
                    f"The idempotency key {key!r} was already used for a different movement.",
                    field="idempotency_key",
                )
            results[key] = pk
        if new:
            # A concurrent poster of one of these keys makes this insert fail on the unique index:
            # the whole batch rolls back and the caller's next run finds what was posted. Rows are
            # written without model instances (thousands per batch), with the columns of new_row().
            stamp = timezone.now()
            returned = insert_rows(
                LedgerTransaction,
                _TRANSACTION_COLUMNS,
                [p.row_values(stamp) for p in new],
                returning=("id", "idempotency_key"),
            )
            ids = {key: pk for pk, key in returned}
            currencies: dict[str, str] = {}
            for p in new:
                for code, code_currency in p.currencies.items():
                    if currencies.setdefault(code, code_currency) != code_currency:
                        raise DomainError(FinanceErrorCode.CURRENCY_MISMATCH, f"{code} gets entries in two currencies.")
            accounts = _lock_accounts(currencies, set().union(*(_debits(p.lines) for p in new)))
            entries: list[tuple] = []
            moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
            counted: dict[tuple[str, str], int] = defaultdict(int)
            for p in new:
                for money_currency, amount in _apply(p, accounts).items():
                    moved[(p.posting.kind, money_currency)] += amount
                    counted[(p.posting.kind, money_currency)] += 1
                pk = ids[p.posting.idempotency_key]
                entries += [
                    (pk, accounts[code].pk, amount, entry_currency) for (code, entry_currency), amount in p.lines.items()
                ]
                results[p.posting.idempotency_key] = pk
            insert_rows(LedgerEntry, ["transaction_id", "account_id", "amount", "currency"], entries)
            cached = _cached(accounts, accounts)
            if cached:
                update_column(LedgerAccount, "balance", {account.pk: account.balance for account in cached})
            for (kind, money_currency), amount in moved.items():
                transaction.on_commit(
                    partial(record_ledger_posting, kind=kind, moved={money_currency: amount}, count=counted[(kind, money_currency)])
                )
    return [results[key] for key in keys]


# --- Balances, derived from the entries ---


def _money(minor: int, currency: str) -> Money:
    return Money(from_minor(minor, currency), currency)


def account_balances(codes: Sequence[str], *, currency: str | None = None) -> dict[str, Money]:
    """Sum of the entries of each account, in one query; unknown accounts are zero."""
    currency = currency or settings.DEFAULT_CURRENCY
    rows = (
        LedgerEntry.objects.filter(account__code__in=codes)
        .values("account__code", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    found = {row["account__code"]: _money(row["total"], row["currency"]) for row in rows}
    return {code: found.get(code, _money(0, currency)) for code in codes}


def account_balance(code: str, *, currency: str | None = None) -> Money:
    return account_balances([code], currency=currency)[code]


def last_transaction_id(code: str) -> int:
    """The newest transaction that moved the account (0 if none): part of derived idempotency keys,
    so a retried request repeats its key while a new one after any change of the account does not."""
    return (
        LedgerEntry.objects.filter(account__code=code).order_by("-id").values_list("transaction_id", flat=True).first()
        or 0
    )


def escrow_total(*, currency: str | None = None) -> Money:
    """All money held in escrow: unassigned escrow plus every vendor's pending share."""
    currency = currency or settings.DEFAULT_CURRENCY
    total = (
        LedgerEntry.objects.filter(
            account__kind__in=[AccountKind.ESCROW, AccountKind.VENDOR_PENDING], currency=currency
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return _money(total, currency)


@dataclass(frozen=True)
class VendorBalance:
    vendor_id: int
    pending: Money
    available: Money
    deposit: Money
    deposit_required: Money


def deposit_required(vendor) -> Money:
    """The security deposit the vendor must keep: the highest among its categories' fee plans."""
    from .fees import deposit_required as required

    return required(vendor)


def vendor_balance(vendor) -> VendorBalance:
    """Pending, available and deposit of a vendor (a Vendor or its id)."""
    return vendor_balances([int(getattr(vendor, "pk", vendor))])[int(getattr(vendor, "pk", vendor))]


def vendor_balances(vendor_ids: Sequence[int]) -> dict[int, VendorBalance]:
    """vendor_balance of several vendors in a fixed number of queries (a list page)."""
    from .fees import deposits_required

    vendor_ids = [int(v) for v in vendor_ids]
    codes = {v: (vendor_pending(v), vendor_available(v), vendor_deposit(v)) for v in vendor_ids}
    balances = account_balances([code for trio in codes.values() for code in trio])
    required = deposits_required(vendor_ids)
    return {
        v: VendorBalance(
            vendor_id=v,
            pending=balances[codes[v][0]],
            available=balances[codes[v][1]],
            deposit=balances[codes[v][2]],
            deposit_required=required[v],
        )
        for v in vendor_ids
    }


def ledger_problems() -> list[str]:
    """Every broken invariant found, for tests and a periodic check: unbalanced
    transactions, cached balances that differ from the entries, a non-zero
    grand total per currency, and negative balances where none are allowed.

    Cached accounts must cache the sum of their entries; hot accounts (accounts.is_hot), whose
    balance is that sum, must have a row that no posting wrote (balance 0)."""
    problems = []
    unbalanced = (
        LedgerEntry.objects.values("transaction_id", "currency")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .order_by()
    )
    problems += [f"transaction {row['transaction_id']} is off by {row['total']} {row['currency']}" for row in unbalanced]
    totals = LedgerEntry.objects.values("currency").annotate(total=Sum("amount")).exclude(total=0).order_by()
    problems += [f"all accounts sum to {row['total']} {row['currency']}" for row in totals]
    sums = dict(LedgerEntry.objects.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total"))
    for account in LedgerAccount.objects.all():
        derived = sums.get(account.pk, 0)
        if is_hot(account.kind):
            # Its balance is the entries' sum; a posting never writes its row.
            if account.balance != 0:
                problems.append(f"{account.code} is derived from its entries, yet its row caches {account.balance}")
        elif account.balance != derived:
            problems.append(f"{account.code} caches {account.balance}, entries sum to {derived}")
        if account.non_negative and derived < 0 and account.kind != AccountKind.VENDOR_AVAILABLE:
            problems.append(f"{account.code} is negative: {derived}")
    return problems


__all__ = [
    "VendorBalance",
    "account_balance",
    "account_balances",
    "deposit_required",
    "escrow_total",
    "fingerprint_of",
    "ledger_problems",
    "Posting",
    "post",
    "post_transaction",
    "post_transactions",
    "vendor_balance",
    "vendor_balances",
]
