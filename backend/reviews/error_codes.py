from enum import Enum


class ReviewErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # Reviews come only after receipt: the order must be completed.
    ORDER_NOT_COMPLETED = "order_not_completed"
    # One review per order line.
    ALREADY_REVIEWED = "already_reviewed"
