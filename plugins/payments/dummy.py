"""The embedded default gateway: no network, the token says what happens.

Tokens: "success" charges, "decline" is declined, "timeout" gets no answer.
Payment sessions have no client step: a session is authorized as soon as the
gateway creates it, unless the `session_outcome` setting says otherwise
("pending": never confirmed, "declined": refused at creation, "timeout": no
answer). Refunds, captures and voids always succeed; transfers succeed unless the
`fail_transfers` setting is on (to try payout failures). Webhooks are signed
with HMAC-SHA256 of the body under `webhook_secret` (header
X-Dummy-Signature); with no secret configured every webhook is refused.

For reconciliation the dummy's books are what it answered, which is what the
marketplace stored (its references derive from the idempotency keys), so its
gateway_records are built from the stored payments, refunds and transfers.
Tests play a gateway that disagrees through DISAGREEMENTS.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation

from plugins.base import BasePlugin, ConfigField, ConfigType

from .interface import (
    GatewayErrorCode,
    GatewayEvent,
    GatewayEventType,
    GatewayRecord,
    GatewayResponse,
    GatewayStatus,
    WebhookVerificationError,
)

SIGNATURE_HEADER = "X-Dummy-Signature"


def _reference(prefix: str, key: str) -> str:
    # Derived from the idempotency key, so a retried call answers with the same reference.
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:20]}"


# (kind, psp_reference) -> the record the dummy reports instead of its own (None: it has none).
# Keys not among its own are reported as extra records. Process-wide; for tests only.
DISAGREEMENTS: dict[tuple[str, str], GatewayRecord | None] = {}


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class DummyGatewayPlugin(BasePlugin):
    PLUGIN_ID = "dummy"
    PLUGIN_NAME = "Dummy gateway"
    DESCRIPTION = "Test gateway without network: token success, decline or timeout."
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {
        "fail_transfers": ConfigField(ConfigType.BOOLEAN, False, "Refuse every transfer to a vendor."),
        "webhook_secret": ConfigField(ConfigType.SECRET, "", "Key that signs test webhooks; empty refuses them."),
        "session_outcome": ConfigField(
            ConfigType.STRING, "authorized", "What a payment session does: authorized, pending, declined or timeout.",
            choices=("authorized", "pending", "declined", "timeout"),
        ),
    }

    # --- payment sessions ---

    def payment_available(self, currency, amount, *, previous_value):
        return amount > 0

    def _session_failure(self):
        outcome = self.get("session_outcome", "authorized")
        if outcome == "timeout":
            return GatewayResponse(
                success=False, error_code=GatewayErrorCode.TIMEOUT, error_message="The gateway did not answer."
            )
        if outcome == "declined":
            return GatewayResponse(
                success=False, error_code=GatewayErrorCode.DECLINED, error_message="The payment was declined."
            )
        return None

    def create_payment_session(self, session_data, *, previous_value):
        failure = self._session_failure()
        if failure is not None:
            return failure
        reference = _reference("dummy_session", session_data.idempotency_key)
        pending = self.get("session_outcome") == "pending"
        return GatewayResponse(
            success=True,
            psp_reference=reference,
            status=GatewayStatus.ACTION_REQUIRED if pending else GatewayStatus.AUTHORIZED,
            amount=session_data.amount,
            currency=session_data.currency,
            client_data={"session": reference, "confirmed": not pending},
        )

    def query_payment_session(self, session_query, *, previous_value):
        outcome = self.get("session_outcome", "authorized")
        if outcome == "timeout":
            return self._session_failure()
        if outcome == "pending":
            return GatewayResponse(success=True, psp_reference=session_query.psp_reference, status=GatewayStatus.ACTION_REQUIRED)
        if outcome == "declined":
            return GatewayResponse(
                success=False, psp_reference=session_query.psp_reference, status=GatewayStatus.FAILED,
                error_code=GatewayErrorCode.DECLINED, error_message="The payment was declined.",
            )
        return GatewayResponse(
            success=True,
            psp_reference=session_query.psp_reference,
            status=GatewayStatus.AUTHORIZED,
            amount=session_query.amount,
            currency=session_query.currency,
        )

    def close_payment_session(self, session_query, *, previous_value):
        return GatewayResponse(success=True, psp_reference=session_query.psp_reference, status=GatewayStatus.CANCELLED)

    def process_payment(self, payment_data, *, previous_value):
        token = payment_data.token.strip().lower()
        if token == "success":
            return GatewayResponse(
                success=True,
                psp_reference=_reference("dummy_pay", payment_data.idempotency_key),
                status=GatewayStatus.CAPTURED if payment_data.capture else GatewayStatus.AUTHORIZED,
                amount=payment_data.amount,
                currency=payment_data.currency,
            )
        if token == "decline":
            return GatewayResponse(
                success=False, error_code=GatewayErrorCode.DECLINED, error_message="The card was declined."
            )
        if token == "timeout":
            return GatewayResponse(
                success=False, error_code=GatewayErrorCode.TIMEOUT, error_message="The gateway did not answer."
            )
        return GatewayResponse(
            success=False,
            error_code=GatewayErrorCode.INVALID_REQUEST,
            error_message="The dummy gateway takes the tokens success, decline and timeout.",
        )

    def capture_payment(self, capture_data, *, previous_value):
        return GatewayResponse(
            success=True,
            psp_reference=capture_data.psp_reference,
            status=GatewayStatus.CAPTURED,
            amount=capture_data.amount,
            currency=capture_data.currency,
        )

    def void_payment(self, capture_data, *, previous_value):
        return GatewayResponse(
            success=True, psp_reference=capture_data.psp_reference, status=GatewayStatus.CANCELLED
        )

    def refund_payment(self, refund_data, *, previous_value):
        return GatewayResponse(
            success=True,
            psp_reference=_reference("dummy_refund", refund_data.idempotency_key),
            status=GatewayStatus.REFUNDED,
            amount=refund_data.amount,
            currency=refund_data.currency,
        )

    def create_transfer(self, transfer_data, *, previous_value):
        reference = _reference("dummy_transfer", transfer_data.idempotency_key)
        if self.get("fail_transfers"):
            return GatewayResponse(
                success=False,
                psp_reference=reference,
                error_code=GatewayErrorCode.DECLINED,
                error_message="Transfers are switched off on the dummy gateway.",
            )
        return GatewayResponse(
            success=True,
            psp_reference=reference,
            status=GatewayStatus.PAID,
            amount=transfer_data.amount,
            currency=transfer_data.currency,
        )

    def parse_webhook(self, request, *, previous_value):
        """Body: {"id", "type" (a GatewayEventType value), "psp_reference", "amount", "currency"}."""
        secret = self.get("webhook_secret")
        if not secret:
            raise WebhookVerificationError("The dummy gateway has no webhook secret configured.")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(signature, sign(secret, request.body)):
            raise WebhookVerificationError("Bad signature.")
        try:
            body = json.loads(request.body)
            amount = body.get("amount")
            return [
                GatewayEvent(
                    event_id=str(body["id"]),
                    type=GatewayEventType(body["type"]),
                    psp_reference=str(body.get("psp_reference", "")),
                    amount=None if amount is None else Decimal(str(amount)),
                    currency=str(body.get("currency", "")).upper(),
                    raw=body,
                )
            ]
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise WebhookVerificationError(f"Malformed event: {exc}") from exc

    def gateway_records(self, start, end, *, previous_value):
        """The dummy's payments, refunds and transfers of [start, end), as stored, changed by DISAGREEMENTS."""
        from backend.payments.selectors import gateway_movements

        records = {(r.kind, r.psp_reference): r for r in gateway_movements(self.PLUGIN_ID, start, end)}
        for key, record in DISAGREEMENTS.items():
            if record is None:
                records.pop(key, None)
            else:
                records[key] = record
        return list(records.values())
