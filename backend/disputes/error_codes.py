from enum import Enum


class DisputeErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # Evidence images (backend.core.uploads).
    FILE_TOO_LARGE = "file_too_large"
    UNSUPPORTED_FILE_TYPE = "unsupported_file_type"
    INVALID_IMAGE = "invalid_image"
    IMAGE_TOO_LARGE = "image_too_large"
    TOO_MANY_FILES = "too_many_files"
    # Opening a dispute.
    ORDER_NOT_PAID = "order_not_paid"
    DISPUTE_WINDOW_CLOSED = "dispute_window_closed"
    NO_REASON_RETURN_NOT_ALLOWED = "no_reason_return_not_allowed"
    DISPUTE_ALREADY_OPEN = "dispute_already_open"
    AMOUNT_TOO_HIGH = "amount_too_high"
    NOTHING_TO_REFUND = "nothing_to_refund"
    # Money (backend.payments and backend.finance).
    REFUND_FAILED = "refund_failed"
    PAYMENT_TIMEOUT = "payment_timeout"
    GATEWAY_ERROR = "gateway_error"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    # The return parcel (backend.logistics).
    CARRIER_NOT_FOUND = "carrier_not_found"
    SERVICE_NOT_AVAILABLE = "service_not_available"
    UNKNOWN_REGION = "unknown_region"
    CARRIER_ERROR = "carrier_error"
