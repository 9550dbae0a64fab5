"""Stripe: PaymentIntents with manual capture, refunds, Connect transfers, signed webhooks.

Off by default; staff activate it and give the secret key and the webhook
signing secret (or set STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET). Every call
that moves money passes our idempotency key to Stripe. STRIPE_API_BASE (or
the api_base setting) points the client elsewhere, e.g. a local stub in tests.
A vendor's connected account id comes from its VendorGatewayAccount row, or
from the `connected_accounts` setting ({"<vendor id>": "acct_..."}).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import stripe
from django.conf import settings

from backend.core.money import from_minor, to_minor
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

INTENT_STATUS = {
    "requires_capture": GatewayStatus.AUTHORIZED,
    "succeeded": GatewayStatus.CAPTURED,
    "requires_action": GatewayStatus.ACTION_REQUIRED,
    "requires_confirmation": GatewayStatus.ACTION_REQUIRED,
    "processing": GatewayStatus.PENDING,
    "canceled": GatewayStatus.CANCELLED,
    "requires_payment_method": GatewayStatus.FAILED,
}

PAYMENT_EVENTS = {
    "payment_intent.amount_capturable_updated": GatewayEventType.PAYMENT_AUTHORIZED,
    "payment_intent.succeeded": GatewayEventType.PAYMENT_CAPTURED,
    "payment_intent.payment_failed": GatewayEventType.PAYMENT_FAILED,
    "payment_intent.canceled": GatewayEventType.PAYMENT_CANCELLED,
}
REFUND_EVENTS = {"refund.created", "refund.updated", "charge.refund.updated"}

# A PaymentIntent of a payment session, as the session flow sees it: waiting for the shopper's
# client (a card, 3-D Secure), authorized (manual capture), captured, or cancelled.
SESSION_STATUS = {
    "requires_payment_method": GatewayStatus.ACTION_REQUIRED,
    "requires_confirmation": GatewayStatus.ACTION_REQUIRED,
    "requires_action": GatewayStatus.ACTION_REQUIRED,
    "processing": GatewayStatus.PENDING,
    "requires_capture": GatewayStatus.AUTHORIZED,
    "succeeded": GatewayStatus.CAPTURED,
    "canceled": GatewayStatus.CANCELLED,
}
DEFAULT_CURRENCIES = "CNY,HKD,USD,EUR,GBP,JPY,SGD"
# Stripe's minimum charge amounts (in major units) for the default currencies.
DEFAULT_MINIMUMS = {"CNY": "4.00", "HKD": "4.00", "USD": "0.50", "EUR": "0.50", "GBP": "0.30", "JPY": "50", "SGD": "0.50"}
MAX_MINOR_UNITS = 99_999_999  # Stripe's largest amount: eight digits in minor units
PAGE_SIZE = 100  # Stripe's largest list page
REFUND_STATUS = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}
# Which of a PaymentIntent's charges stands for it: the one that moved money first.
CHARGE_RANK = {"succeeded": 0, "authorized": 1, "pending": 2, "cancelled": 3, "failed": 4}


def _plain(obj) -> dict:
    """A Stripe object as plain dicts (newer libraries' objects are not dicts)."""
    if not isinstance(obj, stripe.StripeObject):
        return dict(obj)
    try:
        return obj.to_dict(recursive=True)
    except TypeError:  # libraries before recursive to_dict
        return obj.to_dict_recursive()


def _error(exc: stripe.StripeError) -> GatewayResponse:
    message = getattr(exc, "user_message", None) or str(exc)
    if isinstance(exc, stripe.CardError):
        code = GatewayErrorCode.DECLINED
    elif isinstance(exc, stripe.APIConnectionError):
        # The request may or may not have reached Stripe; the same idempotency key makes a retry safe.
        code = GatewayErrorCode.TIMEOUT
    elif isinstance(exc, stripe.InvalidRequestError):
        code = GatewayErrorCode.INVALID_REQUEST
    else:
        code = GatewayErrorCode.ERROR
    return GatewayResponse(success=False, error_code=code, error_message=message, raw=getattr(exc, "json_body", None) or {})


class StripeGatewayPlugin(BasePlugin):
    PLUGIN_ID = "stripe"
    PLUGIN_NAME = "Stripe"
    DESCRIPTION = "Cards through Stripe PaymentIntents; vendor payouts through Stripe Connect transfers."
    DEFAULT_ACTIVE = False
    CONFIG_STRUCTURE = {
        "secret_key": ConfigField(ConfigType.SECRET, None, "Secret API key; defaults to STRIPE_SECRET_KEY."),
        "webhook_secret": ConfigField(ConfigType.SECRET, None, "Webhook signing secret; defaults to STRIPE_WEBHOOK_SECRET."),
        "api_base": ConfigField(ConfigType.STRING, None, "API address; defaults to STRIPE_API_BASE or Stripe's."),
        "connected_accounts": ConfigField(ConfigType.JSON, {}, "Vendor id -> connected account id (acct_...)."),
        "timeout_seconds": ConfigField(ConfigType.INTEGER, 30, "How long to wait for Stripe."),
        "currencies": ConfigField(ConfigType.STRING, DEFAULT_CURRENCIES, "Currencies offered, comma-separated ISO codes."),
        "minimum_amounts": ConfigField(ConfigType.JSON, DEFAULT_MINIMUMS, "Smallest amount per currency, e.g. {\"CNY\": \"4.00\"}."),
    }

    # --- client ---

    def client(self) -> stripe.StripeClient:
        api_base = self.get("api_base") or settings.STRIPE_API_BASE
        return stripe.StripeClient(
            self.get("secret_key") or settings.STRIPE_SECRET_KEY or "sk_not_configured",
            base_addresses={"api": api_base} if api_base else None,
            # Retries are the caller's, under the same idempotency key.
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=self.get("timeout_seconds", 30)),
        )

    @staticmethod
    def _v1(client: stripe.StripeClient):
        return getattr(client, "v1", client)

    # --- payments ---

    @staticmethod
    def _intent_response(intent) -> GatewayResponse:
        intent = _plain(intent)
        status = INTENT_STATUS.get(intent["status"], GatewayStatus.PENDING)
        currency = intent["currency"].upper()
        minor = (intent.get("amount_received") or intent.get("amount")) if status == GatewayStatus.CAPTURED else intent.get("amount")
        if status == GatewayStatus.FAILED:
            error = intent.get("last_payment_error") or {}
            return GatewayResponse(
                success=False,
                psp_reference=intent["id"],
                status=status,
                error_code=GatewayErrorCode.DECLINED,
                error_message=error.get("message", "The payment was declined."),
                raw=intent,
            )
        return GatewayResponse(
            success=True,
            psp_reference=intent["id"],
            status=status,
            amount=from_minor(minor or 0, currency),
            currency=currency,
            raw=intent,
        )

    def process_payment(self, payment_data, *, previous_value):
        intents = self._v1(self.client()).payment_intents
        params = {
            "amount": to_minor(payment_data.amount, payment_data.currency),
            "currency": payment_data.currency.lower(),
            "payment_method": payment_data.token,
            "payment_method_types": ["card"],
            "confirm": True,
            # Authorize first; the platform captures when it has accepted the order.
            "capture_method": "manual",
            "metadata": dict(payment_data.metadata),
        }
        if payment_data.description:
            params["description"] = payment_data.description
        if payment_data.customer_email:
            params["receipt_email"] = payment_data.customer_email
        try:
            intent = intents.create(params=params, options={"idempotency_key": payment_data.idempotency_key})
            if payment_data.capture and intent["status"] == "requires_capture":
                intent = intents.capture(
                    intent["id"], options={"idempotency_key": f"{payment_data.idempotency_key}:capture"}
                )
        except stripe.StripeError as exc:
            return _error(exc)
        return self._intent_response(intent)

    # --- payment sessions: the shopper's client confirms the PaymentIntent (3-D Secure included) ---

    def payment_available(self, currency, amount, *, previous_value):
        currencies = {c.strip().upper() for c in str(self.get("currencies") or DEFAULT_CURRENCIES).split(",") if c.strip()}
        code = str(currency).upper()
        if code not in currencies or amount <= 0:
            return False
        minimum = Decimal(str((self.get("minimum_amounts") or {}).get(code, "0")))
        return amount >= minimum and to_minor(amount, code) <= MAX_MINOR_UNITS

    @staticmethod
    def _session_response(intent) -> GatewayResponse:
        intent = _plain(intent)
        status = SESSION_STATUS.get(intent["status"], GatewayStatus.PENDING)
        currency = intent["currency"].upper()
        if status == GatewayStatus.CAPTURED:
            minor = intent.get("amount_received") or intent.get("amount")
        elif status == GatewayStatus.AUTHORIZED:
            minor = intent.get("amount_capturable") or intent.get("amount")
        else:
            minor = intent.get("amount")
        error = intent.get("last_payment_error") or {}
        return GatewayResponse(
            success=True,
            psp_reference=intent["id"],
            status=status,
            amount=from_minor(minor or 0, currency),
            currency=currency,
            error_message=error.get("message", "") if status == GatewayStatus.CANCELLED else "",
            raw=intent,
            client_data={"client_secret": intent.get("client_secret", ""), "payment_intent": intent["id"]},
        )

    def create_payment_session(self, session_data, *, previous_value):
        params = {
            "amount": to_minor(session_data.amount, session_data.currency),
            "currency": session_data.currency.lower(),
            # Authorized on the client, captured by the platform when the orders are placed.
            "capture_method": "automatic" if session_data.capture else "manual",
            "metadata": {**dict(session_data.metadata), "reference": session_data.reference},
        }
        try:
            intent = self._v1(self.client()).payment_intents.create(
                params=params, options={"idempotency_key": session_data.idempotency_key}
            )
        except stripe.StripeError as exc:
            return _error(exc)
        return self._session_response(intent)

    def query_payment_session(self, session_query, *, previous_value):
        try:
            intent = self._v1(self.client()).payment_intents.retrieve(session_query.psp_reference)
        except stripe.StripeError as exc:
            return _error(exc)
        return self._session_response(intent)

    def close_payment_session(self, session_query, *, previous_value):
        """Cancel the PaymentIntent (voids an authorization); one already cancelled is closed too."""
        intents = self._v1(self.client()).payment_intents
        try:
            intent = _plain(intents.retrieve(session_query.psp_reference))
            if intent["status"] == "canceled":
                return self._session_response(intent)
            if intent["status"] in ("succeeded", "processing"):
                return GatewayResponse(
                    success=False, psp_reference=intent["id"], error_code=GatewayErrorCode.INVALID_REQUEST,
                    error_message=f"The payment is {intent['status']}; it is refunded, not cancelled.", raw=intent,
                )
            intent = intents.cancel(
                session_query.psp_reference,
                options={"idempotency_key": session_query.idempotency_key or f"close:{session_query.reference}"},
            )
        except stripe.StripeError as exc:
            return _error(exc)
        return self._session_response(intent)

    def capture_payment(self, capture_data, *, previous_value):
        try:
            intent = self._v1(self.client()).payment_intents.capture(
                capture_data.psp_reference,
                params={"amount_to_capture": to_minor(capture_data.amount, capture_data.currency)},
                options={"idempotency_key": capture_data.idempotency_key},
            )
        except stripe.StripeError as exc:
            return _error(exc)
        return self._intent_response(intent)

    def void_payment(self, capture_data, *, previous_value):
        try:
            intent = self._v1(self.client()).payment_intents.cancel(
                capture_data.psp_reference, options={"idempotency_key": capture_data.idempotency_key}
            )
        except stripe.StripeError as exc:
            return _error(exc)
        return self._intent_response(intent)

    def refund_payment(self, refund_data, *, previous_value):
        try:
            refund = self._v1(self.client()).refunds.create(
                params={
                    "payment_intent": refund_data.psp_reference,
                    "amount": to_minor(refund_data.amount, refund_data.currency),
                    "metadata": {"payment_id": str(refund_data.payment_id or "")},
                },
                options={"idempotency_key": refund_data.idempotency_key},
            )
        except stripe.StripeError as exc:
            return _error(exc)
        refund = _plain(refund)
        status = refund["status"]
        if status in ("failed", "canceled"):
            return GatewayResponse(
                success=False,
                psp_reference=refund["id"],
                error_code=GatewayErrorCode.DECLINED,
                error_message=refund.get("failure_reason") or "The refund failed.",
            )
        return GatewayResponse(
            success=True,
            psp_reference=refund["id"],
            status=GatewayStatus.REFUNDED if status == "succeeded" else GatewayStatus.PENDING,
            amount=from_minor(refund["amount"], refund["currency"].upper()),
            currency=refund["currency"].upper(),
        )

    # --- payouts ---

    def destination_for(self, transfer_data) -> str:
        if transfer_data.destination:
            return transfer_data.destination
        accounts = self.get("connected_accounts") or {}
        return str(accounts.get(str(transfer_data.vendor_id), ""))

    def create_transfer(self, transfer_data, *, previous_value):
        destination = self.destination_for(transfer_data)
        if not destination:
            return GatewayResponse(
                success=False,
                error_code=GatewayErrorCode.INVALID_REQUEST,
                error_message=f"Vendor {transfer_data.vendor_id} has no Stripe connected account.",
            )
        try:
            transfer = self._v1(self.client()).transfers.create(
                params={
                    "amount": to_minor(transfer_data.amount, transfer_data.currency),
                    "currency": transfer_data.currency.lower(),
                    "destination": destination,
                    "description": transfer_data.description,
                    "metadata": dict(transfer_data.metadata),
                },
                options={"idempotency_key": transfer_data.idempotency_key},
            )
        except stripe.StripeError as exc:
            return _error(exc)
        transfer = _plain(transfer)
        # A Connect transfer moves money between Stripe balances at once; a later reversal arrives by webhook.
        return GatewayResponse(
            success=True,
            psp_reference=transfer["id"],
            status=GatewayStatus.PAID,
            amount=from_minor(transfer["amount"], transfer["currency"].upper()),
            currency=transfer["currency"].upper(),
        )

    # --- webhooks ---

    def parse_webhook(self, request, *, previous_value):
        secret = self.get("webhook_secret") or settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookVerificationError("No Stripe webhook signing secret is configured.")
        try:
            event = stripe.Webhook.construct_event(
                request.body.decode("utf-8"), request.headers.get("Stripe-Signature", ""), secret
            )
        except (ValueError, UnicodeDecodeError, stripe.SignatureVerificationError) as exc:
            raise WebhookVerificationError(str(exc)) from exc
        return self._events(event)

    @classmethod
    def _events(cls, event) -> list[GatewayEvent]:
        raw = _plain(event)
        obj = raw["data"]["object"]
        currency = str(obj.get("currency") or "").upper()
        if raw["type"] == "charge.refunded":
            # One event for the charge; each of its refunds is matched on its own (by refund id).
            refunds = (obj.get("refunds") or {}).get("data") or []
            return [
                GatewayEvent(
                    event_id=f"{raw['id']}:{refund['id']}",
                    type=GatewayEventType.REFUND_SUCCEEDED if refund.get("status") == "succeeded" else GatewayEventType.IGNORED,
                    psp_reference=str(refund["id"]),
                    amount=from_minor(refund["amount"], currency) if currency else None,
                    currency=currency,
                    raw=raw,
                )
                for refund in refunds
            ] or [GatewayEvent(event_id=raw["id"], type=GatewayEventType.IGNORED, raw=raw)]
        if raw["type"] == "charge.dispute.created":
            return [
                GatewayEvent(
                    event_id=raw["id"],
                    type=GatewayEventType.PAYMENT_DISPUTED,
                    psp_reference=str(obj.get("payment_intent") or ""),
                    amount=from_minor(obj["amount"], currency) if currency and obj.get("amount") is not None else None,
                    currency=currency,
                    raw=raw,
                )
            ]
        return [cls._event(event)]

    @staticmethod
    def _event(event) -> GatewayEvent:
        raw = _plain(event)
        obj = raw["data"]["object"]
        currency = str(obj.get("currency") or "").upper()

        def amount(field: str) -> Decimal | None:
            value = obj.get(field)
            return None if value is None or not currency else from_minor(value, currency)

        event_type = raw["type"]
        kind = GatewayEventType.IGNORED
        value = None
        if event_type in PAYMENT_EVENTS:
            kind = PAYMENT_EVENTS[event_type]
            value = amount("amount_received" if kind == GatewayEventType.PAYMENT_CAPTURED else "amount")
        elif event_type in REFUND_EVENTS and obj.get("object") == "refund":
            status = obj.get("status")
            if status == "succeeded":
                kind = GatewayEventType.REFUND_SUCCEEDED
            elif status in ("failed", "canceled"):
                kind = GatewayEventType.REFUND_FAILED
            value = amount("amount")
        elif event_type == "transfer.reversed":
            kind = GatewayEventType.TRANSFER_REVERSED
            value = amount("amount_reversed")
        metadata = obj.get("metadata") or {}
        return GatewayEvent(
            event_id=raw["id"],
            type=kind,
            psp_reference=str(obj.get("id", "")),
            amount=value,
            currency=currency,
            raw=raw,
            reference=str(metadata.get("reference", "")) if isinstance(metadata, dict) else "",
        )

    # --- reconciliation ---

    def _listed(self, service, start, end):
        """Every object of a Stripe list created in [start, end), page after page."""
        params = {"created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())}, "limit": PAGE_SIZE}
        return (_plain(obj) for obj in service.list(params=params).auto_paging_iter())

    @staticmethod
    def _at(timestamp) -> datetime | None:
        return datetime.fromtimestamp(int(timestamp), UTC) if timestamp else None

    @classmethod
    def _charge_record(cls, charge: dict) -> GatewayRecord:
        """A charge as the PaymentIntent it belongs to (our psp_reference), with its captured amount."""
        currency = charge["currency"].upper()
        if charge.get("status") == "failed":
            status, minor = "failed", charge["amount"]
        elif charge.get("status") == "pending":
            status, minor = "pending", charge["amount"]
        elif charge.get("captured"):
            # amount_captured stays what was captured when the charge is later refunded.
            status, minor = "succeeded", charge.get("amount_captured", charge["amount"])
        elif charge.get("refunded"):
            status, minor = "cancelled", charge["amount"]  # an authorization released uncaptured
        else:
            status, minor = "authorized", charge["amount"]
        return GatewayRecord(
            kind="charge",
            psp_reference=str(charge.get("payment_intent") or charge["id"]),
            amount=from_minor(minor, currency),
            currency=currency,
            occurred_at=cls._at(charge.get("created")),
            status=status,
            raw=charge,
        )

    @classmethod
    def _charge_records(cls, charges) -> list[GatewayRecord]:
        """One record per PaymentIntent: of its charges (failed attempts too), the one that moved money."""
        chosen: dict[str, GatewayRecord] = {}
        for charge in charges:
            record = cls._charge_record(charge)
            known = chosen.get(record.psp_reference)
            if known is None or CHARGE_RANK[record.status] < CHARGE_RANK[known.status]:
                chosen[record.psp_reference] = record
        return list(chosen.values())

    def gateway_records(self, start, end, *, previous_value):
        """Stripe's charges, refunds and Connect transfers created in [start, end).

        Listed with Stripe's `created` range and paged through (auto_paging_iter). A
        PaymentIntent's failed attempts are charges too: it is reported once, by the charge
        that moved money. Raises when Stripe does not answer, so that the run is retried.
        """
        v1 = self._v1(self.client())
        try:
            records = self._charge_records(self._listed(v1.charges, start, end))
            for refund in self._listed(v1.refunds, start, end):
                currency = refund["currency"].upper()
                records.append(
                    GatewayRecord(
                        kind="refund",
                        psp_reference=str(refund["id"]),
                        amount=from_minor(refund["amount"], currency),
                        currency=currency,
                        occurred_at=self._at(refund.get("created")),
                        status=REFUND_STATUS.get(refund.get("status") or "", "failed"),
                        raw=refund,
                    )
                )
            for transfer in self._listed(v1.transfers, start, end):
                currency = transfer["currency"].upper()
                records.append(
                    GatewayRecord(
                        kind="transfer",
                        psp_reference=str(transfer["id"]),
                        amount=from_minor(transfer["amount"], currency),
                        currency=currency,
                        occurred_at=self._at(transfer.get("created")),
                        status="reversed" if transfer.get("reversed") else "paid",
                        raw=transfer,
                    )
                )
        except stripe.StripeError as exc:
            raise RuntimeError(f"Stripe did not list its records: {exc}") from exc
        return records
