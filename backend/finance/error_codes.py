from enum import Enum


class FinanceErrorCode(Enum):
    GRAPHQL_ERROR = "graphql_error"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "invalid_transition"
    # A ledger transaction whose entries do not sum to zero in each currency.
    UNBALANCED = "unbalanced"
    # The same idempotency key was used again for a different movement.
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    # The movement would take an account that may not go negative below zero.
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CURRENCY_MISMATCH = "currency_mismatch"
    # Ledger rows are written once and never changed or deleted.
    IMMUTABLE = "immutable"
