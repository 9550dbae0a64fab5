"""Named money movements: each is one balanced ledger transaction over post_transaction.

Every movement builds its idempotency key from its inputs, so calling it again
for the same order, refund, payout or fee posts nothing new; the same key with
different amounts is IDEMPOTENCY_CONFLICT. Amounts are Money and positive.

| movement            | key                               | entries (+ adds to the account)                              |
| ------------------- | --------------------------------- | ------------------------------------------------------------ |
| escrow_hold         | escrow_hold:payment:<payment>     | gateway -paid; vendor:<v>:pending +split per vendor;          |
|                     |                                   | escrow +(paid - splits)                                      |
| escrow_release      | escrow_release:order:<order>      | vendor:<v>:pending -gross; platform:commission +commission;  |
|                     |                                   | vendor:<v>:available +(gross - commission)                   |
| refund_from_escrow  | refund_from_escrow:<refund>       | vendor:<v>:pending (or escrow) -amount; buyer:<b>:refunds +   |
| refund_from_vendor  | refund_from_vendor:<refund>       | platform:commission -returned; vendor:<v>:available -a;      |
|                     |                                   | vendor:<v>:deposit -d; buyer:<b>:refunds +amount             |
|                     |                                   | (available first, then deposit, then available below zero)   |
| payout_reserve      | payout_reserve:<payout>           | vendor:<v>:available -amount; payouts +amount                |
| payout_settle       | payout_outcome:<payout>           | payouts -amount; gateway +amount                             |
| payout_fail         | payout_outcome:<payout>           | payouts -amount; vendor:<v>:available +amount                |
| payout_reverse      | payout_reverse:<payout>           | gateway -amount; vendor:<v>:available +amount                |
| fee_charge          | fee_charge:<fee>                  | gateway or vendor:<v>:available -amount; platform:fees +     |
| fee_rebate          | fee_rebate:<rebate>               | platform:fees -amount; vendor:<v>:available +amount          |
| deposit_top_up      | deposit_top_up:<ref>              | gateway or vendor:<v>:available -amount; vendor:<v>:deposit + |
| deposit_deduct      | deposit_deduct:<ref>              | vendor:<v>:deposit -amount; platform:fees or                 |
|                     |                                   | buyer:<b>:refunds +amount                                    |
| deposit_release     | deposit_release:<ref>             | vendor:<v>:deposit -amount; vendor:<v>:available +amount     |

A payout's settle and fail share one key, so a payout has one outcome only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from moneyed import Money

from backend.core.exceptions import DomainError
from backend.core.money import from_minor, to_minor
from backend.notifications.services import notify
from backend.vendors.models import Vendor

from . import accounts
from .error_codes import FinanceErrorCode
from .ledger import Posting, _lock_accounts, fingerprint_of, post, post_transaction
from .models import LedgerTransaction, TransactionKind

GATEWAY_SOURCE = "gateway"
AVAILABLE_SOURCE = "available"


@dataclass(frozen=True)
class EscrowSplit:
    """The part of a shopper's payment that belongs to one vendor order."""

    order_ref: str
    vendor_id: int
    amount: Money


def _id(obj) -> int | None:
    if obj is None:
        return None
    return int(getattr(obj, "pk", obj))


def _positive(amount: Money, field: str = "amount") -> Money:
    if not isinstance(amount, Money):
        raise DomainError(FinanceErrorCode.INVALID, f"{field} must be Money.", field=field)
    if amount.amount <= 0:
        raise DomainError(FinanceErrorCode.INVALID, f"{field} must be positive.", field=field)
    return amount


def _text(money: Money) -> str:
    return f"{money.amount} {money.currency.code}"


def escrow_hold(*, payment, splits: Sequence[EscrowSplit]) -> LedgerTransaction:
    """Put a captured payment into escrow, split per vendor order.

    payment needs pk, currency, captured_amount and customer_id (a
    backend.payments Payment). Splits may not exceed the captured amount;
    any rest stays in `escrow`, assigned to no vendor.
    """
    paid = _positive(Money(payment.captured_amount, payment.currency), "payment")
    if not splits:
        raise DomainError(FinanceErrorCode.REQUIRED, "An escrow hold needs at least one split.", field="splits")
    per_vendor: dict[int, Money] = defaultdict(lambda: Money(0, payment.currency))
    for split in splits:
        per_vendor[int(split.vendor_id)] += _positive(split.amount, "splits")
    assigned = sum(per_vendor.values(), Money(0, payment.currency))
    if assigned.amount > paid.amount:
        raise DomainError(
            FinanceErrorCode.INVALID,
            f"Splits add up to {_text(assigned)}, more than the {_text(paid)} paid.",
            field="splits",
        )
    entries = [(accounts.GATEWAY, -paid)]
    entries += [(accounts.vendor_pending(v), amount) for v, amount in sorted(per_vendor.items())]
    entries.append((accounts.ESCROW, paid - assigned))
    return post_transaction(
        idempotency_key=f"escrow_hold:payment:{payment.pk}",
        kind=TransactionKind.ESCROW_HOLD,
        entries=entries,
        description=f"Payment {payment.pk} held in escrow",
        reference=("payment", payment.pk),
        metadata={
            "buyer": payment.customer_id,
            "splits": [
                {"order": str(s.order_ref), "vendor": int(s.vendor_id), "amount": str(s.amount.amount)}
                for s in splits
            ],
        },
    )


def escrow_release_posting(*, order_ref, vendor, gross: Money, commission: Money) -> Posting:
    """The release of one order's money, for escrow_release or a batch (ledger.post_transactions)."""
    _positive(gross, "gross")
    if commission.amount < 0 or commission.amount > gross.amount:
        raise DomainError(FinanceErrorCode.INVALID, "Commission must be between zero and the gross.", field="commission")
    vendor_id = _id(vendor)
    return Posting(
        idempotency_key=f"escrow_release:order:{order_ref}",
        kind=TransactionKind.ESCROW_RELEASE,
        entries=[
            (accounts.vendor_pending(vendor_id), -gross),
            (accounts.PLATFORM_COMMISSION, commission),
            (accounts.vendor_available(vendor_id), gross - commission),
        ],
        description=f"Order {order_ref} released: {_text(gross)}, commission {_text(commission)}",
        reference=("order", order_ref),
        metadata={"vendor": vendor_id},
    )


def escrow_release(*, order_ref, vendor, gross: Money, commission: Money) -> LedgerTransaction:
    """Receipt confirmed: the order's money leaves escrow, commission to the platform, the rest to the vendor."""
    return post(escrow_release_posting(order_ref=order_ref, vendor=vendor, gross=gross, commission=commission))


def refund_from_escrow(*, refund_ref, order_ref, vendor, buyer, amount: Money) -> LedgerTransaction:
    """Refund before release: out of the vendor's pending share (or unassigned escrow when vendor is None)."""
    _positive(amount)
    vendor_id = _id(vendor)
    source = accounts.ESCROW if vendor_id is None else accounts.vendor_pending(vendor_id)
    return post_transaction(
        idempotency_key=f"refund_from_escrow:{refund_ref}",
        kind=TransactionKind.REFUND_FROM_ESCROW,
        entries=[(source, -amount), (accounts.buyer_refunds(_id(buyer)), amount)],
        description=f"Refund {refund_ref} of order {order_ref} from escrow",
        reference=("order", order_ref),
        metadata={"vendor": vendor_id, "refund": str(refund_ref)},
    )


def refund_from_vendor(
    *, refund_ref, order_ref, vendor, buyer, amount: Money, commission_returned: Money | None = None
) -> LedgerTransaction:
    """Refund after release: the platform returns its commission share (see
    commission.commission_return_for), the vendor pays the rest from its
    available balance, then its deposit, and what is still missing takes its
    available balance below zero, recovered from later sales."""
    _positive(amount)
    currency = amount.currency.code
    commission_returned = commission_returned or Money(0, currency)
    # The returned commission may exceed the refund: commission is taken on what the shopper paid plus
    # the platform's subsidy, so on an order mostly paid by a platform voucher the commission share of
    # a refund is larger than the refund itself (the store then gets the difference, and gives the
    # subsidy's share back to the platform in the refund's subsidy posting).
    if commission_returned.amount < 0:
        raise DomainError(FinanceErrorCode.INVALID, "Returned commission cannot be negative.", field="commission")
    vendor_id = _id(vendor)
    available, deposit = accounts.vendor_available(vendor_id), accounts.vendor_deposit(vendor_id)
    buyer_account = accounts.buyer_refunds(_id(buyer))
    codes = [available, deposit, buyer_account] + ([accounts.PLATFORM_COMMISSION] if commission_returned.amount else [])
    with transaction.atomic():
        _lock_vendor(vendor_id)
        # Lock every account of the movement, in the same order post_transaction does, before reading balances.
        locked = _lock_accounts(
            {code: currency for code in codes},
            [accounts.PLATFORM_COMMISSION] if commission_returned.amount else (),
        )
        owed = to_minor((amount - commission_returned).amount, currency)
        from_available = min(owed, max(locked[available].balance, 0))
        from_deposit = min(owed - from_available, max(locked[deposit].balance, 0))
        recovery = owed - from_available - from_deposit
        posted = post_transaction(
            idempotency_key=f"refund_from_vendor:{refund_ref}",
            kind=TransactionKind.REFUND_FROM_VENDOR,
            entries=[
                (accounts.PLATFORM_COMMISSION, -commission_returned),
                (available, Money(-from_minor(from_available + recovery, currency), currency)),
                (deposit, Money(-from_minor(from_deposit, currency), currency)),
                (buyer_account, amount),
            ],
            allow_negative=[available],
            description=f"Refund {refund_ref} of order {order_ref} from the vendor",
            reference=("order", order_ref),
            metadata={
                "vendor": vendor_id,
                "refund": str(refund_ref),
                "from_deposit": str(from_minor(from_deposit, currency)),
                "recovery": str(from_minor(recovery, currency)),
            },
            # The split depends on balances at posting time; a retry is recognised by what was asked.
            request={
                "refund": str(refund_ref),
                "order": str(order_ref),
                "vendor": vendor_id,
                "buyer": _id(buyer),
                "amount": _text(amount),
                "commission": _text(commission_returned),
            },
        )
        if from_deposit:
            _deposit_changed(vendor_id)
        return posted


def _reserve_entries(vendor_id: int, amount: Money):
    return [(accounts.vendor_available(vendor_id), -amount), (accounts.PAYOUTS, amount)]


def payout_reserve(*, payout_ref, vendor, amount: Money) -> LedgerTransaction:
    """Set aside a payout from the vendor's available balance while the transfer is made."""
    vendor_id = _id(vendor)
    return post_transaction(
        idempotency_key=f"payout_reserve:{payout_ref}",
        kind=TransactionKind.PAYOUT_RESERVE,
        entries=_reserve_entries(vendor_id, _positive(amount)),
        description=f"Payout {payout_ref} reserved",
        reference=("payout", payout_ref),
        metadata={"vendor": vendor_id},
    )


def _reserved(payout_ref, vendor_id: int, amount: Money) -> None:
    """A payout's outcome must match its reservation: same vendor, same amount."""
    reserve = LedgerTransaction.objects.filter(idempotency_key=f"payout_reserve:{payout_ref}").first()
    if reserve is None:
        raise DomainError(FinanceErrorCode.INVALID_TRANSITION, f"Payout {payout_ref} was never reserved.")
    expected = fingerprint_of(kind=TransactionKind.PAYOUT_RESERVE, entries=_reserve_entries(vendor_id, amount))
    if reserve.fingerprint != expected:
        raise DomainError(
            FinanceErrorCode.IDEMPOTENCY_CONFLICT, f"Payout {payout_ref} was reserved for another vendor or amount."
        )


def payout_settle(*, payout_ref, vendor, amount: Money) -> LedgerTransaction:
    """The transfer went through: the reserved money leaves the platform."""
    vendor_id = _id(vendor)
    _reserved(payout_ref, vendor_id, _positive(amount))
    notify("payout.sent", payout_ref=payout_ref, vendor=vendor_id, amount=amount)
    return post_transaction(
        idempotency_key=f"payout_outcome:{payout_ref}",
        kind=TransactionKind.PAYOUT_SETTLE,
        entries=[(accounts.PAYOUTS, -amount), (accounts.GATEWAY, amount)],
        description=f"Payout {payout_ref} settled",
        reference=("payout", payout_ref),
        metadata={"vendor": vendor_id},
    )


def payout_fail(*, payout_ref, vendor, amount: Money) -> LedgerTransaction:
    """The transfer failed: the reserved money goes back to the vendor's available balance."""
    vendor_id = _id(vendor)
    _reserved(payout_ref, vendor_id, _positive(amount))
    notify("payout.failed", payout_ref=payout_ref, vendor=vendor_id, amount=amount)
    return post_transaction(
        idempotency_key=f"payout_outcome:{payout_ref}",
        kind=TransactionKind.PAYOUT_FAIL,
        entries=[(accounts.PAYOUTS, -amount), (accounts.vendor_available(vendor_id), amount)],
        description=f"Payout {payout_ref} failed",
        reference=("payout", payout_ref),
        metadata={"vendor": vendor_id},
    )


def payout_reverse(*, payout_ref, vendor, amount: Money) -> LedgerTransaction:
    """A settled transfer came back (reversed by the provider): the money is the vendor's again."""
    vendor_id = _id(vendor)
    settled = LedgerTransaction.objects.filter(
        idempotency_key=f"payout_outcome:{payout_ref}", kind=TransactionKind.PAYOUT_SETTLE
    ).exists()
    if not settled:
        raise DomainError(FinanceErrorCode.INVALID_TRANSITION, f"Payout {payout_ref} was not settled.")
    _reserved(payout_ref, vendor_id, _positive(amount))
    return post_transaction(
        idempotency_key=f"payout_reverse:{payout_ref}",
        kind=TransactionKind.PAYOUT_REVERSE,
        entries=[(accounts.GATEWAY, -amount), (accounts.vendor_available(vendor_id), amount)],
        description=f"Payout {payout_ref} reversed",
        reference=("payout", payout_ref),
        metadata={"vendor": vendor_id},
    )


def _source(source: str, vendor_id: int) -> str:
    if source == GATEWAY_SOURCE:
        return accounts.GATEWAY
    if source == AVAILABLE_SOURCE:
        return accounts.vendor_available(vendor_id)
    raise DomainError(FinanceErrorCode.INVALID, f"{source!r} is not gateway or available.", field="source")


def fee_charge(*, fee_ref, vendor, amount: Money, source: str = GATEWAY_SOURCE, description: str = "") -> LedgerTransaction:
    """A platform fee (entry fee, annual fee): paid through the gateway or taken from the available balance."""
    vendor_id = _id(vendor)
    return post_transaction(
        idempotency_key=f"fee_charge:{fee_ref}",
        kind=TransactionKind.FEE_CHARGE,
        entries=[(_source(source, vendor_id), -_positive(amount)), (accounts.PLATFORM_FEES, amount)],
        description=description or f"Fee {fee_ref}",
        reference=("fee", fee_ref),
        metadata={"vendor": vendor_id, "source": source},
    )


def deposit_top_up(*, ref, vendor, amount: Money, source: str = GATEWAY_SOURCE) -> LedgerTransaction:
    """Add to the vendor's security deposit, paid through the gateway or moved from its available balance."""
    vendor_id = _id(vendor)
    return post_transaction(
        idempotency_key=f"deposit_top_up:{ref}",
        kind=TransactionKind.DEPOSIT_TOP_UP,
        entries=[(_source(source, vendor_id), -_positive(amount)), (accounts.vendor_deposit(vendor_id), amount)],
        description=f"Deposit top-up {ref}",
        reference=("deposit", ref),
        metadata={"vendor": vendor_id, "source": source},
    )


def _lock_vendor(vendor_id: int | None) -> None:
    """Movements that may change a vendor's standing lock its row first, before any ledger
    account, the same order every finance service takes (no deadlocks)."""
    if vendor_id is not None:
        list(Vendor.objects.select_for_update().filter(pk=vendor_id).values_list("pk", flat=True))


def _deposit_changed(vendor_id: int) -> None:
    """A deposit that fell below the requirement restricts a trading vendor (finance.standing)."""
    from .standing import vendor_standing_refresh

    if Vendor.objects.filter(pk=vendor_id).exists():
        vendor_standing_refresh(vendor=vendor_id)


def deposit_deduct(*, ref, vendor, amount: Money, buyer=None, to_buyer: bool = False, reason: str = "") -> LedgerTransaction:
    """Take from the deposit: a penalty to platform:fees, or compensation to a shopper (to_buyer).

    A deposit left short of the requirement restricts the vendor, whoever deducted."""
    vendor_id = _id(vendor)
    destination = accounts.buyer_refunds(_id(buyer)) if to_buyer else accounts.PLATFORM_FEES
    with transaction.atomic():
        _lock_vendor(vendor_id)
        posted = post_transaction(
            idempotency_key=f"deposit_deduct:{ref}",
            kind=TransactionKind.DEPOSIT_DEDUCT,
            entries=[(accounts.vendor_deposit(vendor_id), -_positive(amount)), (destination, amount)],
            description=reason or f"Deposit deduction {ref}",
            reference=("deposit", ref),
            metadata={"vendor": vendor_id, "reason": reason, "to_buyer": bool(to_buyer), "buyer": _id(buyer)},
        )
        _deposit_changed(vendor_id)
    return posted


def fee_rebate(*, rebate_ref, vendor, amount: Money, description: str = "") -> LedgerTransaction:
    """Part of a fee year's entry fee paid back (sales thresholds reached): platform:fees -> available."""
    vendor_id = _id(vendor)
    return post_transaction(
        idempotency_key=f"fee_rebate:{rebate_ref}",
        kind=TransactionKind.FEE_REBATE,
        entries=[(accounts.PLATFORM_FEES, -_positive(amount)), (accounts.vendor_available(vendor_id), amount)],
        description=description or f"Fee rebate {rebate_ref}",
        reference=("fee", rebate_ref),
        metadata={"vendor": vendor_id},
    )


def deposit_release(*, ref, vendor, amount: Money) -> LedgerTransaction:
    """Give deposit back to the vendor's available balance (a lower requirement, or closing the store)."""
    vendor_id = _id(vendor)
    return post_transaction(
        idempotency_key=f"deposit_release:{ref}",
        kind=TransactionKind.DEPOSIT_RELEASE,
        entries=[(accounts.vendor_deposit(vendor_id), -_positive(amount)), (accounts.vendor_available(vendor_id), amount)],
        description=f"Deposit released {ref}",
        reference=("deposit", ref),
        metadata={"vendor": vendor_id},
    )


__all__ = [
    "AVAILABLE_SOURCE",
    "GATEWAY_SOURCE",
    "EscrowSplit",
    "deposit_deduct",
    "deposit_release",
    "deposit_top_up",
    "escrow_hold",
    "escrow_release",
    "fee_charge",
    "fee_rebate",
    "payout_fail",
    "payout_reserve",
    "payout_reverse",
    "payout_settle",
    "refund_from_escrow",
    "refund_from_vendor",
]
