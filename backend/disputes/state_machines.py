"""Allowed dispute status changes, written down as data.

open -> awaiting_vendor; the vendor accepts (resolved, or awaiting_return for a
return) or rejects (awaiting_buyer); the shopper escalates (under_arbitration)
or withdraws (closed); staff rule (resolved, or awaiting_return); the return
leg is awaiting_return -> return_shipped -> resolved when the vendor confirms
receipt or its deadline passes; resolved -> closed when its time is up.
"""

from backend.core.state_machine import StateMachine

from .error_codes import DisputeErrorCode
from .models import DisputeStatus as S

DISPUTE_STATUS = StateMachine(
    "dispute",
    {
        S.OPEN: {S.AWAITING_VENDOR},
        S.AWAITING_VENDOR: {S.RESOLVED, S.AWAITING_RETURN, S.AWAITING_BUYER, S.UNDER_ARBITRATION, S.CLOSED},
        S.AWAITING_BUYER: {S.UNDER_ARBITRATION, S.CLOSED},
        S.UNDER_ARBITRATION: {S.RESOLVED, S.AWAITING_RETURN, S.CLOSED},
        S.AWAITING_RETURN: {S.RETURN_SHIPPED, S.UNDER_ARBITRATION, S.CLOSED},
        # Goods on their way back: the vendor confirms (or escalates a problem with them).
        S.RETURN_SHIPPED: {S.RESOLVED, S.UNDER_ARBITRATION},
        S.RESOLVED: {S.CLOSED},
        S.CLOSED: set(),
    },
    DisputeErrorCode.INVALID_TRANSITION,
)
