from enum import Enum


class NotificationErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # Switching off the reminder of a deadline that moves money needs confirmMoneyDeadline: true.
    CONFIRMATION_REQUIRED = "confirmation_required"
    # A webhook URL that is not http(s), or points at a loopback, private or reserved address.
    FORBIDDEN_TARGET = "forbidden_target"
    # The variant is in stock: nothing to wait for.
    IN_STOCK = "in_stock"
