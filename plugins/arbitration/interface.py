"""The contract between the disputes domain and arbitration plugins, as plain dataclasses.

Plugins see a DisputeFacts snapshot, never the models, and answer with
timedeltas, Rulings, Suggestions and DepositPenalties. State and outcome names
are the values the disputes domain stores (backend.disputes.models).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.core.money import Money


class DisputeState:
    OPEN = "open"
    AWAITING_VENDOR = "awaiting_vendor"
    AWAITING_BUYER = "awaiting_buyer"
    UNDER_ARBITRATION = "under_arbitration"
    AWAITING_RETURN = "awaiting_return"
    RETURN_SHIPPED = "return_shipped"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Outcome:
    REFUND_FULL = "refund_full"  # the shopper's requested amount
    REFUND_PARTIAL = "refund_partial"  # a smaller amount
    REJECT = "reject"  # in the vendor's favour
    # Only as an automatic ruling: hand the dispute to staff instead of deciding.
    ESCALATE = "escalate"


@dataclass(frozen=True)
class DisputeFacts:
    id: int
    status: str
    kind: str  # refund_only | return_and_refund
    reason: str  # not_received | not_as_described | damaged | no_reason_return
    requested: Money
    refundable: Money  # the most this dispute may refund
    vendor_id: int
    opened_at: datetime
    order_released: bool  # the order's money already left escrow
    shopper_evidence: int  # evidence images the shopper attached
    vendor_evidence: int
    vendor_responded: bool  # the vendor answered (accepted or rejected)
    return_shipped: bool
    return_delivered: bool
    ruled_amount: Money | None = None  # what a ruling granted so far (return leg)


@dataclass(frozen=True)
class Ruling:
    outcome: str  # an Outcome
    amount: Money | None = None  # for REFUND_PARTIAL; REFUND_FULL means the requested amount
    note: str = ""


@dataclass(frozen=True)
class Suggestion:
    outcome: str | None  # an Outcome, or None when the policy has no view
    amount: Money | None = None
    deposit_penalty: Money | None = None
    reason: str = ""


@dataclass(frozen=True)
class DepositPenalty:
    amount: Money
    to_buyer: bool = True  # compensation to the shopper; False: a fine to the platform
    reason: str = ""
