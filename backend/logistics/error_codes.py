from enum import Enum


class LogisticsErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    UNKNOWN_REGION = "unknown_region"
    CARRIER_NOT_FOUND = "carrier_not_found"
    SERVICE_NOT_AVAILABLE = "service_not_available"
    CAPACITY_EXHAUSTED = "capacity_exhausted"
    CARRIER_TIMEOUT = "carrier_timeout"
    CARRIER_UNAVAILABLE = "carrier_unavailable"
    CARRIER_REJECTED = "carrier_rejected"
    CARRIER_ERROR = "carrier_error"
    # Another attempt is calling the carrier about this shipment right now (booking or cancelling).
    CARRIER_CALL_IN_PROGRESS = "carrier_call_in_progress"
    INVALID_SIGNATURE = "invalid_signature"
    WEBHOOK_NOT_CONFIGURED = "webhook_not_configured"
