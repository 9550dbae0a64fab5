"""Allowed order status changes, written down as data."""

from backend.core.state_machine import StateMachine

from .error_codes import OrderErrorCode
from .models import OrderStatus as S

ORDER_STATUS = StateMachine(
    "order",
    {
        S.UNPAID: {S.PAID, S.CANCELLED},
        # Cancelled before shipment: the money comes back out of escrow.
        S.PAID: {S.SHIPPED, S.CANCELLED},
        # Completed straight from shipped when no delivery event comes (or the shopper confirms first).
        S.SHIPPED: {S.DELIVERED, S.COMPLETED, S.REFUNDED},
        S.DELIVERED: {S.COMPLETED, S.REFUNDED},
        # A refund after release (disputes and returns) comes from the vendor's balance.
        S.COMPLETED: {S.REFUNDED},
        S.CANCELLED: set(),
        S.REFUNDED: set(),
    },
    OrderErrorCode.INVALID_TRANSITION,
)
