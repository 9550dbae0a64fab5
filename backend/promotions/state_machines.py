"""Allowed status changes of promotions' objects, written down as data."""

from backend.core.state_machine import StateMachine

from .error_codes import PromotionErrorCode
from .models import GroupStatus as G

# A group is open until it fills (its N-th member paid) or its window closes unfilled; both are final.
GROUP_STATUS = StateMachine(
    "group",
    {
        G.OPEN: {G.FILLED, G.FAILED},
        G.FILLED: set(),
        G.FAILED: set(),
    },
    PromotionErrorCode.INVALID_TRANSITION,
)
