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
    # Fees, deposits and payouts.
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_TIMEOUT = "payment_timeout"
    GATEWAY_NOT_AVAILABLE = "gateway_not_available"
    GATEWAY_ERROR = "gateway_error"
    NOTHING_TO_PAY = "nothing_to_pay"
    # A payout below settings.PAYOUT_MINIMUM_AMOUNT.
    BELOW_MINIMUM = "below_minimum"
    # The vendor's status does not allow this (a suspended store's payouts, a closed store's fees).
    VENDOR_NOT_ELIGIBLE = "vendor_not_eligible"
    # A closing store still has unreleased orders, an open dispute or days of cooling-off left.
    NOT_SETTLED = "not_settled"
