from enum import Enum


class OrderErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # The order is held for its group (group buying): it ships once the group fills.
    AWAITING_GROUP = "awaiting_group"
    # A dispute froze the release of this order's money.
    RELEASE_FROZEN = "release_frozen"
    # The shopper may extend the confirmation deadline once.
    ALREADY_EXTENDED = "already_extended"
    # Carrier problems when shipping (from backend.logistics).
    CARRIER_NOT_FOUND = "carrier_not_found"
    SERVICE_NOT_AVAILABLE = "service_not_available"
    CAPACITY_EXHAUSTED = "capacity_exhausted"
    UNKNOWN_REGION = "unknown_region"
    CARRIER_ERROR = "carrier_error"
    CARRIER_TIMEOUT = "carrier_timeout"
    CARRIER_UNAVAILABLE = "carrier_unavailable"
    CARRIER_REJECTED = "carrier_rejected"
    # The order's parcel is being booked (another request is calling the carrier), or a booking
    # with another carrier is unfinished: ship again with that carrier to finish it.
    CARRIER_CALL_IN_PROGRESS = "carrier_call_in_progress"
    # Money problems when cancelling or refunding (from backend.payments and backend.finance).
    REFUND_FAILED = "refund_failed"
    PAYMENT_ERROR = "payment_error"
    PAYMENT_TIMEOUT = "payment_timeout"
    GATEWAY_ERROR = "gateway_error"
    # Refunds (order_refund): nothing paid, more than is left, or a key reused for another refund.
    NOTHING_TO_REFUND = "nothing_to_refund"
    AMOUNT_TOO_HIGH = "amount_too_high"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
