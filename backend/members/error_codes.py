from enum import Enum


class MemberErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    INVALID_TRANSITION = "invalid_transition"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    REQUIRED = "required"
    # Points are for signed-in shoppers.
    SIGN_IN_REQUIRED = "sign_in_required"
    # The shopper asked for more points than they have (or has spent them meanwhile).
    POINTS_INSUFFICIENT = "points_insufficient"
    # The staff adjustment's idempotency key was already used for a different adjustment.
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
