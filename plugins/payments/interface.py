"""Contracts between the payments domain and gateway plugins.

Amounts are Decimal in the currency's major unit with the ISO code; a
gateway converts to its own representation (Stripe: integer minor units).
Every call that can move money carries an idempotency key that the plugin
passes on to the provider, so a retried call never charges or pays twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any


class GatewayErrorCode(str, Enum):
    DECLINED = "declined"
    # No answer in time: the outcome is unknown and the same request may be retried with the same key.
    TIMEOUT = "timeout"
    INVALID_REQUEST = "invalid_request"
    ERROR = "error"


class GatewayStatus(str, Enum):
    """What the provider says happened to a payment."""

    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    ACTION_REQUIRED = "action_required"
    PENDING = "pending"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REFUNDED = "refunded"
    PAID = "paid"


@dataclass(frozen=True)
class PaymentData:
    """A charge to make: authorize, and capture at once when `capture` is true."""

    amount: Decimal
    currency: str
    token: str
    idempotency_key: str
    capture: bool = True
    payment_id: int | None = None
    psp_reference: str = ""
    customer_email: str = ""
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CaptureData:
    psp_reference: str
    amount: Decimal
    currency: str
    idempotency_key: str
    payment_id: int | None = None


@dataclass(frozen=True)
class RefundData:
    psp_reference: str
    amount: Decimal
    currency: str
    idempotency_key: str
    payment_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class TransferData:
    """A payout to a vendor's account at the provider (a Stripe Connect transfer)."""

    amount: Decimal
    currency: str
    vendor_id: int
    idempotency_key: str
    destination: str = ""
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayResponse:
    success: bool
    psp_reference: str = ""
    status: GatewayStatus | None = None
    amount: Decimal | None = None
    currency: str = ""
    error_code: GatewayErrorCode | None = None
    error_message: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class GatewayEventType(str, Enum):
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_CANCELLED = "payment_cancelled"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    TRANSFER_PAID = "transfer_paid"
    TRANSFER_FAILED = "transfer_failed"
    TRANSFER_REVERSED = "transfer_reversed"
    # A verified event the marketplace does not act on; recorded and acknowledged.
    IGNORED = "ignored"


@dataclass(frozen=True)
class GatewayEvent:
    """One verified webhook event, in the marketplace's terms."""

    event_id: str
    type: GatewayEventType
    psp_reference: str = ""
    amount: Decimal | None = None
    currency: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class GatewayTimeout(Exception):
    """The provider did not answer in time; the outcome is unknown."""


class WebhookVerificationError(Exception):
    """The webhook is not signed by the provider (or not parseable); answer 400 and act on nothing."""
