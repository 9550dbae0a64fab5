"""Allowed shipment status changes, written down as data."""

from backend.core.state_machine import StateMachine

from .error_codes import LogisticsErrorCode
from .models import ShipmentStatus as S

SHIPMENT_STATUS = StateMachine(
    "shipment",
    {
        # Booked (the carrier's tracking number recorded), or given up (the order went away meanwhile).
        S.BOOKING: {S.INFO_RECEIVED, S.CANCELLED},
        S.INFO_RECEIVED: {S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION, S.RETURNED, S.CANCELLED},
        S.PICKED_UP: {S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION, S.RETURNED},
        S.IN_TRANSIT: {S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION, S.RETURNED},
        # A failed delivery attempt goes back to the depot.
        S.OUT_FOR_DELIVERY: {S.IN_TRANSIT, S.DELIVERED, S.EXCEPTION, S.RETURNED},
        S.EXCEPTION: {S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNED},
        # Final: a return after delivery is a new flow (disputes and returns), not a status.
        S.DELIVERED: set(),
        S.RETURNED: set(),
        S.CANCELLED: set(),
    },
    LogisticsErrorCode.INVALID_TRANSITION,
)
