from enum import Enum


class PaymentErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    PAYMENT_DECLINED = "payment_declined"
    # The gateway did not answer in time; retrying with the same key is safe.
    PAYMENT_TIMEOUT = "payment_timeout"
    GATEWAY_NOT_AVAILABLE = "gateway_not_available"
    GATEWAY_ERROR = "gateway_error"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    REFUND_EXCEEDS_CAPTURED = "refund_exceeds_captured"
    REFUND_FAILED = "refund_failed"
    TRANSFER_FAILED = "transfer_failed"
    # Raised into payments by the ledger (backend.finance) during payouts.
    INSUFFICIENT_FUNDS = "insufficient_funds"
    UNBALANCED = "unbalanced"
    CURRENCY_MISMATCH = "currency_mismatch"
