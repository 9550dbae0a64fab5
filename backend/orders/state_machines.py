"""Allowed order status changes, written down as data."""

from backend.core.state_machine import StateMachine

from .error_codes import OrderErrorCode
from .models import OrderStatus as S

ORDER_STATUS = StateMachine(
    "order",
    {
        # Nothing was paid, so nothing can be refunded: an unpaid order is paid or cancelled.
        S.UNPAID: {S.PAID, S.CANCELLED},
        # Cancelled before shipment (vendor or shopper): the money comes back out of escrow.
        # Refunded in full before shipment (a dispute, e.g. NOT_RECEIVED, granted in full): the
        # money comes back out of escrow too, and since the goods never left, so does the stock.
        S.PAID: {S.SHIPPED, S.CANCELLED, S.REFUNDED},
        # Completed straight from shipped when no delivery event comes (or the shopper confirms first).
        # Refunded in full on the way or after delivery (a lost parcel, a return): out of escrow, no stock back.
        S.SHIPPED: {S.DELIVERED, S.COMPLETED, S.REFUNDED},
        S.DELIVERED: {S.COMPLETED, S.REFUNDED},
        # A full refund after release (disputes and returns) comes from the vendor's balance.
        S.COMPLETED: {S.REFUNDED},
        # Final. A cancelled order's money is settled by the cancellation itself (its refund keeps it
        # cancelled); a partial refund never changes the status: the order goes on and its remainder
        # is released as usual.
        S.CANCELLED: set(),
        S.REFUNDED: set(),
    },
    OrderErrorCode.INVALID_TRANSITION,
)
