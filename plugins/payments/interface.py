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
    # What the shopper's client needs to confirm a payment session with the provider:
    # Stripe {"client_secret": ...}; Alipay {"page_url": ..., "qr_code": ...}; WeChat Pay {"code_url": ...}.
    client_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionData:
    """A payment the shopper confirms on the client (3-D Secure, an Alipay page, a WeChat Pay QR code).

    `reference` is the marketplace's own stable id for the session (used as Alipay's and WeChat
    Pay's out_trade_no, Stripe's metadata); the provider must be asked with `idempotency_key` so
    a retried create returns the same provider object. Amounts are authorized only (Stripe:
    manual capture) where the provider supports it; `capture` says whether to capture at once.
    """

    amount: Decimal
    currency: str
    reference: str
    idempotency_key: str
    capture: bool = False
    description: str = ""
    customer_email: str = ""
    return_url: str = ""
    client_ip: str = ""
    expires_at: Any = None  # an aware datetime after which the provider should refuse to pay
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionQuery:
    """Ask the provider about (or close) a session created with create_payment_session."""

    psp_reference: str
    reference: str
    amount: Decimal
    currency: str
    idempotency_key: str = ""


@dataclass(frozen=True)
class GatewayRecord:
    """One money movement as the provider records it, for reconciliation with the ledger."""

    kind: str  # "charge" | "refund" | "transfer"
    psp_reference: str
    amount: Decimal
    currency: str
    occurred_at: Any  # aware datetime
    status: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class GatewayEventType(str, Enum):
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_CANCELLED = "payment_cancelled"
    # The shopper disputed a captured payment with their bank (a chargeback); psp_reference names the payment.
    PAYMENT_DISPUTED = "payment_disputed"
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
    # The marketplace's session reference when the provider echoes it (out_trade_no, metadata).
    reference: str = ""


class GatewayTimeout(Exception):
    """The provider did not answer in time; the outcome is unknown."""


class WebhookVerificationError(Exception):
    """The webhook is not signed by the provider (or not parseable); answer 400 and act on nothing."""
