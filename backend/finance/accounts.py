"""Ledger account codes and what each code means.

An account is created the first time a posting names its code; the code alone
says its kind, owner and whether it may go negative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.core.exceptions import DomainError

from .error_codes import FinanceErrorCode
from .models import AccountKind

GATEWAY = "gateway"
ESCROW = "escrow"
PLATFORM_COMMISSION = "platform:commission"
PLATFORM_FEES = "platform:fees"
PAYOUTS = "payouts"
# The platform's spending on its own vouchers: goes negative by what it has paid stores for them.
PLATFORM_PROMOTIONS = "platform:promotions"
# Members' points (backend/members): what the platform owes in points, valued at the redemption
# rate, against what issuing them cost it (both may go negative: a refund may take back points
# a shopper has already spent).
POINTS_LIABILITY = "platform:points"
POINTS_EXPENSE = "platform:points_expense"
GUEST = "guest"


def vendor_pending(vendor_id: int) -> str:
    return f"vendor:{int(vendor_id)}:pending"


def vendor_available(vendor_id: int) -> str:
    return f"vendor:{int(vendor_id)}:available"


def vendor_deposit(vendor_id: int) -> str:
    return f"vendor:{int(vendor_id)}:deposit"


def buyer_refunds(user_id: int | None) -> str:
    """Where money refunded to a shopper goes; guests share one account."""
    return f"buyer:{GUEST if user_id is None else int(user_id)}:refunds"


@dataclass(frozen=True)
class AccountSpec:
    code: str
    kind: str
    non_negative: bool
    vendor_id: int | None = None
    user_id: int | None = None


_FIXED = {
    GATEWAY: (AccountKind.GATEWAY, False),
    ESCROW: (AccountKind.ESCROW, True),
    PLATFORM_COMMISSION: (AccountKind.PLATFORM_COMMISSION, True),
    PLATFORM_FEES: (AccountKind.PLATFORM_FEES, True),
    PAYOUTS: (AccountKind.PAYOUTS, True),
    PLATFORM_PROMOTIONS: (AccountKind.PLATFORM_PROMOTIONS, False),
    POINTS_LIABILITY: (AccountKind.POINTS_LIABILITY, False),
    POINTS_EXPENSE: (AccountKind.POINTS_EXPENSE, False),
}
# Hot accounts: every checkout, release or refund moves them, so their row is never locked nor
# updated by a posting; their balance is the sum of their entries (ledger.account_balances), and
# their `balance` column stays 0. Those that may not go negative (platform revenue) lock their row
# only for a debit, and check the sum of the entries under that lock; credits never wait.
# Every other account keeps a cached balance in its row, moved under a row lock by each posting.
HOT_KINDS = frozenset(
    {
        AccountKind.GATEWAY,
        AccountKind.PLATFORM_COMMISSION,
        AccountKind.PLATFORM_FEES,
        AccountKind.PLATFORM_PROMOTIONS,
        AccountKind.POINTS_LIABILITY,
        AccountKind.POINTS_EXPENSE,
    }
)


def is_hot(kind: str) -> bool:
    """Whether an account of this kind is posted without locking or updating its row."""
    return kind in HOT_KINDS


_VENDOR = re.compile(r"^vendor:(\d+):(pending|available|deposit)$")
_BUYER = re.compile(r"^buyer:(\d+|guest):refunds$")
_VENDOR_KINDS = {
    "pending": AccountKind.VENDOR_PENDING,
    "available": AccountKind.VENDOR_AVAILABLE,
    "deposit": AccountKind.VENDOR_DEPOSIT,
}


def account_spec(code: str) -> AccountSpec:
    """Kind, owner and sign rule of an account code; unknown codes are refused.

    Every account except `gateway` (the outside world), `platform:promotions` (an
    expense: what the platform paid for its vouchers) and the shoppers' refund
    accounts (money that left) holds real money and may not go below zero; a
    recovery from a vendor may take its available balance negative only when
    the posting says so explicitly.
    """
    if code in _FIXED:
        kind, non_negative = _FIXED[code]
        return AccountSpec(code=code, kind=kind, non_negative=non_negative)
    match = _VENDOR.match(code)
    if match:
        return AccountSpec(
            code=code, kind=_VENDOR_KINDS[match.group(2)], non_negative=True, vendor_id=int(match.group(1))
        )
    match = _BUYER.match(code)
    if match:
        user_id = None if match.group(1) == GUEST else int(match.group(1))
        return AccountSpec(code=code, kind=AccountKind.BUYER_REFUNDS, non_negative=True, user_id=user_id)
    raise DomainError(FinanceErrorCode.INVALID, f"{code!r} is not a ledger account code.", field="account")
