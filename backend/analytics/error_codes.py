from enum import Enum


class AnalyticsErrorCode(Enum):
    PERMISSION_DENIED = "permission_denied"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
