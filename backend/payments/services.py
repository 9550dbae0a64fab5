"""Payments through gateway plugins: charge, capture, void, refund, pay vendors out, take webhooks.

Every call is idempotent on a key: a retried request finds the first record
and does not ask the gateway to move money again (and the key is passed to
the gateway, which dedupes on its side too). The record is locked while the
gateway is asked, so a concurrent duplicate waits and then sees the outcome.

Call these outside a surrounding transaction.atomic() where possible: a
declined or timed-out attempt is then committed with its error before the
DomainError is raised. Inside one, the record rolls back with the caller's
work, and a retry with the same key asks the gateway again under that key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from moneyed import Money

from backend.core.exceptions import DomainError
from backend.core.money import quantize
from backend.core.periodic import record_processed
from backend.finance import services as ledger
from plugins.base import BasePlugin
from plugins.manager import PluginsManager, get_plugins_manager
from plugins.payments.interface import (
    CaptureData,
    GatewayErrorCode,
    GatewayEvent,
    GatewayEventType,
    GatewayResponse,
    GatewayStatus,
    GatewayTimeout,
    PaymentData,
    RefundData,
    SessionQuery,
    TransferData,
)

from .error_codes import PaymentErrorCode
from .models import (
    Payment,
    PaymentPurpose,
    PaymentStatus,
    Refund,
    RefundStatus,
    Transfer,
    TransferStatus,
    VendorGatewayAccount,
    WebhookEvent,
)
from .states import payment_machine, refund_machine, transfer_machine

logger = logging.getLogger(__name__)

# Called with each payment that a gateway webhook moves to captured, failed or cancelled,
# inside the same transaction (a gateway that answered pending or authorized at checkout).
# The orders issue appends its handler (hold the money in escrow, mark the orders paid).
PAYMENT_CAPTURED_HANDLERS: list[Callable[[Payment], None]] = []
PAYMENT_FAILED_HANDLERS: list[Callable[[Payment], None]] = []
# Called with (payment, GatewayEvent) when the shopper disputes a captured payment with their bank,
# inside the webhook's transaction. The orders issue appends its handler (freeze the orders' release).
PAYMENT_DISPUTED_HANDLERS: list[Callable[[Payment, GatewayEvent], None]] = []
# Called with (gateway_id, GatewayEvent, manager) for each new verified payment event, OUTSIDE any
# transaction and before the event is recorded (so a handler that fails makes the gateway send it
# again). The checkout appends its handler: a payment session paid at the gateway places its orders.
SESSION_EVENT_HANDLERS: list[Callable[[str, GatewayEvent, PluginsManager], None]] = []


@dataclass(frozen=True)
class PaymentGatewayInfo:
    id: str
    name: str


def _is_gateway(plugin: BasePlugin) -> bool:
    return type(plugin).process_payment is not BasePlugin.process_payment


def _takes(plugin: BasePlugin, amount: Money | None) -> bool:
    """The plugin's payment_available rule (currency and amount); a plugin without one takes anything."""
    if amount is None:
        return True
    answer = plugin.payment_available(amount.currency.code, amount.amount, previous_value=True)
    return True if answer is NotImplemented else bool(answer)


def available_payment_gateways(
    *, manager: PluginsManager | None = None, amount: Money | None = None
) -> list[PaymentGatewayInfo]:
    """Active gateway plugins, in the configured order, that take `amount` (when given)."""
    manager = manager or get_plugins_manager()
    return [
        PaymentGatewayInfo(id=plugin.PLUGIN_ID, name=plugin.PLUGIN_NAME)
        for plugin in manager.active_plugins
        if _is_gateway(plugin) and _takes(plugin, amount)
    ]


def session_gateway(manager: PluginsManager, gateway_id: str, amount: Money) -> BasePlugin:
    """The active gateway that takes payment sessions for `amount`, or GATEWAY_NOT_AVAILABLE."""
    plugin = _gateway(manager, gateway_id)
    if type(plugin).create_payment_session is BasePlugin.create_payment_session or not _takes(plugin, amount):
        raise DomainError(
            PaymentErrorCode.GATEWAY_NOT_AVAILABLE,
            _("%(gateway)s cannot take %(amount)s %(currency)s.")
            % {"gateway": gateway_id, "amount": amount.amount, "currency": amount.currency.code},
            field="gateway",
        )
    return plugin


def gateway_call(manager: PluginsManager, gateway_id: str, hook: str, data) -> GatewayResponse:
    """Ask a gateway (a session hook); timeouts become failed responses. Never call it under row locks."""
    return _call(manager, gateway_id, hook, data)


def _gateway(manager: PluginsManager, gateway_id: str) -> BasePlugin:
    plugin = manager.get_plugin(gateway_id)
    if plugin is None or not _is_gateway(plugin):
        raise DomainError(
            PaymentErrorCode.GATEWAY_NOT_AVAILABLE,
            _("No active payment gateway %(gateway)s.") % {"gateway": repr(gateway_id)},
            field="gateway",
        )
    return plugin


def _call(manager: PluginsManager, gateway_id: str, hook: str, data) -> GatewayResponse:
    """Ask the gateway; a timeout or a plugin that does not answer becomes a failed GatewayResponse."""
    try:
        response = manager.run_plugin_hook(gateway_id, hook, None, data)
    except GatewayTimeout as exc:
        return GatewayResponse(success=False, error_code=GatewayErrorCode.TIMEOUT, error_message=str(exc))
    if response is None:
        return GatewayResponse(
            success=False, error_code=GatewayErrorCode.ERROR, error_message=f"{gateway_id} cannot {hook}."
        )
    return response


def _positive(amount: Money, field: str = "amount") -> Money:
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise DomainError(PaymentErrorCode.INVALID, _("The amount must be positive."), field=field)
    currency = amount.currency.code
    if quantize(amount.amount, currency) != amount.amount:
        raise DomainError(
            PaymentErrorCode.INVALID, _("Too many decimal places for %(currency)s.") % {"currency": currency}, field=field
        )
    return amount


def _fingerprint(**request) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _conflict(kind: str, key: str) -> DomainError:
    return DomainError(
        PaymentErrorCode.IDEMPOTENCY_CONFLICT,
        _("The idempotency key %(key)s was already used for a different %(kind)s.") % {"key": repr(key), "kind": kind},
        field="idempotency_key",
    )


def _claim(model, key: str, defaults: dict):
    """The row for this key, locked; created (pending) if new. Returns (row, created)."""
    row = model.objects.select_for_update().filter(idempotency_key=key).first()
    if row is not None:
        return row, False
    try:
        with transaction.atomic():
            return model.objects.create(idempotency_key=key, **defaults), True
    except IntegrityError:
        # A concurrent request with this key won; wait for it and take its row.
        return model.objects.select_for_update().get(idempotency_key=key), False


def _failure(response: GatewayResponse, declined_code: PaymentErrorCode) -> DomainError:
    if response.error_code == GatewayErrorCode.TIMEOUT:
        return DomainError(
            PaymentErrorCode.PAYMENT_TIMEOUT,
            _("The payment gateway did not answer in time; try again with the same request."),
        )
    if response.error_code == GatewayErrorCode.INVALID_REQUEST:
        return DomainError(PaymentErrorCode.INVALID, response.error_message or _("The gateway refused the request."))
    if response.error_code == GatewayErrorCode.DECLINED:
        return DomainError(declined_code, response.error_message or _("The payment was declined."))
    return DomainError(PaymentErrorCode.GATEWAY_ERROR, response.error_message or _("The payment gateway failed."))


_SUCCESS_STATUS = {
    GatewayStatus.AUTHORIZED: PaymentStatus.AUTHORIZED,
    GatewayStatus.CAPTURED: PaymentStatus.CAPTURED,
    GatewayStatus.ACTION_REQUIRED: PaymentStatus.ACTION_REQUIRED,
    GatewayStatus.PENDING: PaymentStatus.PENDING,
}


def payment_process(
    *,
    gateway: str,
    token: str,
    amount: Money,
    idempotency_key: str,
    customer=None,
    customer_email: str = "",
    purpose: str = PaymentPurpose.CHECKOUT,
    vendor=None,
    capture: bool = True,
    description: str = "",
    metadata: dict | None = None,
    manager: PluginsManager | None = None,
) -> Payment:
    """Charge `amount` through the gateway and return the Payment (captured, or authorized
    when capture=False). A decline raises PAYMENT_DECLINED, no answer PAYMENT_TIMEOUT.

    The key names the attempt: a checkout retrying after a decline with another
    card uses a new key; the same key with different arguments is IDEMPOTENCY_CONFLICT.
    """
    if not idempotency_key:
        raise DomainError(PaymentErrorCode.REQUIRED, _("An idempotency key is required."), field="idempotency_key")
    if not token:
        raise DomainError(PaymentErrorCode.REQUIRED, _("A payment token is required."), field="token")
    _positive(amount)
    manager = manager or get_plugins_manager()
    _gateway(manager, gateway)
    currency = amount.currency.code
    fingerprint = _fingerprint(
        gateway=gateway,
        token=hashlib.sha256(token.encode()).hexdigest(),
        amount=str(amount.amount),
        currency=currency,
        purpose=str(purpose),
        customer=getattr(customer, "pk", None),
        vendor=getattr(vendor, "pk", None),
        capture=capture,
    )
    failure = None
    with transaction.atomic():
        payment, created = _claim(
            Payment,
            idempotency_key,
            {
                "gateway": gateway,
                "request_fingerprint": fingerprint,
                "purpose": purpose,
                "customer": customer if customer is not None and customer.is_authenticated else None,
                "customer_email": customer_email or getattr(customer, "email", "") or "",
                "vendor": vendor,
                "amount": amount.amount,
                "currency": currency,
                "metadata": metadata or {},
            },
        )
        if not created:
            if payment.request_fingerprint != fingerprint:
                raise _conflict("payment", idempotency_key)
            if payment.status == PaymentStatus.FAILED:
                # The same answer as the first time, without asking the gateway again.
                known = {c.value for c in GatewayErrorCode}
                recorded = GatewayErrorCode(payment.error_code) if payment.error_code in known else GatewayErrorCode.DECLINED
                raise _failure(
                    GatewayResponse(success=False, error_code=recorded, error_message=payment.error_message),
                    PaymentErrorCode.PAYMENT_DECLINED,
                )
            if payment.status == PaymentStatus.CANCELLED:
                raise DomainError(PaymentErrorCode.INVALID_TRANSITION, _("This payment was cancelled."))
            if payment.status != PaymentStatus.PENDING:
                return payment
        # New, or pending after a timeout: ask (again) under the same key.
        response = _call(
            manager,
            gateway,
            "process_payment",
            PaymentData(
                amount=amount.amount,
                currency=currency,
                token=token,
                idempotency_key=idempotency_key,
                capture=capture,
                payment_id=payment.pk,
                customer_email=payment.customer_email,
                description=description,
                metadata={"payment_id": str(payment.pk), **{k: str(v) for k, v in (metadata or {}).items()}},
            ),
        )
        if response.success:
            target = _SUCCESS_STATUS.get(response.status, PaymentStatus.CAPTURED)
            payment.psp_reference = response.psp_reference
            payment.error_code, payment.error_message = "", ""
            if target == PaymentStatus.CAPTURED:
                payment.captured_amount = response.amount if response.amount is not None else amount.amount
            if target != payment.status:
                payment_machine.apply(
                    payment, target, update_fields=["psp_reference", "captured_amount", "error_code", "error_message"]
                )
            else:
                payment.save(update_fields=["psp_reference", "error_code", "error_message", "updated_at"])
        else:
            failure = _failure(response, PaymentErrorCode.PAYMENT_DECLINED)
            payment.error_code = response.error_code.value if response.error_code else "error"
            payment.error_message = response.error_message
            payment.psp_reference = response.psp_reference or payment.psp_reference
            if response.error_code in (GatewayErrorCode.TIMEOUT, GatewayErrorCode.ERROR):
                # Unknown outcome: stay pending so a retry asks the gateway again.
                payment.save(update_fields=["error_code", "error_message", "psp_reference", "updated_at"])
            else:
                payment_machine.apply(payment, PaymentStatus.FAILED, update_fields=["error_code", "error_message", "psp_reference"])
    if failure is not None:
        raise failure
    return payment


def _capture_amount(payment: Payment, amount: Money | None) -> Money:
    amount = _positive(amount) if amount is not None else payment.total
    if amount.amount > payment.amount or amount.currency.code != payment.currency:
        raise DomainError(PaymentErrorCode.INVALID, _("Cannot capture more than was authorized."), field="amount")
    return amount


def _gateway_capture(manager: PluginsManager, payment: Payment, amount: Money) -> GatewayResponse:
    """Ask the gateway to capture `amount` of the authorization, under the payment's capture key."""
    return _call(
        manager,
        payment.gateway,
        "capture_payment",
        CaptureData(
            psp_reference=payment.psp_reference,
            amount=amount.amount,
            currency=payment.currency,
            idempotency_key=f"{payment.idempotency_key}:capture",
            payment_id=payment.pk,
        ),
    )


def payment_capture(*, payment: Payment, amount: Money | None = None, manager: PluginsManager | None = None) -> Payment:
    """Capture an authorized payment (all of it unless `amount` says less), under its row lock.

    The gateway is asked while the payment's row is locked: for a payment nothing else waits
    on. Orders' payments are captured with payment_capture_unlocked.
    """
    manager = manager or get_plugins_manager()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.CAPTURED:
            return payment
        payment_machine.check(payment.status, PaymentStatus.CAPTURED)
        amount = _capture_amount(payment, amount)
        response = _gateway_capture(manager, payment, amount)
        if not response.success:
            raise _failure(response, PaymentErrorCode.GATEWAY_ERROR)
        payment.captured_amount = response.amount if response.amount is not None else amount.amount
        payment_machine.apply(payment, PaymentStatus.CAPTURED, update_fields=["captured_amount"])
    return payment


def _gateway_void(manager: PluginsManager, payment: Payment) -> None:
    """Ask the gateway to void the payment's authorization, under its void key (a retry voids once)."""
    if not payment.psp_reference:
        return
    response = _call(
        manager,
        payment.gateway,
        "void_payment",
        CaptureData(
            psp_reference=payment.psp_reference,
            amount=payment.amount,
            currency=payment.currency,
            idempotency_key=f"{payment.idempotency_key}:void",
            payment_id=payment.pk,
        ),
    )
    if not response.success:
        raise _failure(response, PaymentErrorCode.GATEWAY_ERROR)


def payment_void(*, payment: Payment, manager: PluginsManager | None = None) -> Payment:
    """Cancel an authorization that was not captured: nothing is charged."""
    manager = manager or get_plugins_manager()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.CANCELLED:
            return payment
        payment_machine.check(payment.status, PaymentStatus.CANCELLED)
        _gateway_void(manager, payment)
        payment_machine.apply(payment, PaymentStatus.CANCELLED)
    return payment


def payment_record_session(
    *,
    gateway: str,
    psp_reference: str,
    amount: Money,
    captured: bool,
    idempotency_key: str,
    customer=None,
    customer_email: str = "",
    metadata: dict | None = None,
) -> Payment:
    """The Payment of a session the shopper paid at the gateway (verified by the caller), once per key.

    Authorized, or captured when the gateway captured at once. No gateway call: call it in the
    transaction that places the orders.
    """
    payment, created = _claim(
        Payment,
        idempotency_key,
        {
            "gateway": gateway,
            "psp_reference": psp_reference,
            "request_fingerprint": _fingerprint(gateway=gateway, psp_reference=psp_reference, amount=str(amount.amount)),
            "purpose": PaymentPurpose.CHECKOUT,
            "customer": customer,
            "customer_email": customer_email,
            "amount": amount.amount,
            "currency": amount.currency.code,
            "metadata": {k: str(v) for k, v in (metadata or {}).items()},
        },
    )
    if not created:
        if payment.psp_reference != psp_reference or payment.total != amount:
            raise _conflict("payment", idempotency_key)
        return payment
    target = PaymentStatus.CAPTURED if captured else PaymentStatus.AUTHORIZED
    if target == PaymentStatus.CAPTURED:
        payment.captured_amount = amount.amount
    payment_machine.apply(payment, target, update_fields=["captured_amount"])
    return payment


def payment_capture_unlocked(
    *, payment: Payment, amount: Money | None = None, manager: PluginsManager | None = None
) -> Payment:
    """Capture an authorized payment (all of it unless `amount` says less) without holding any
    lock while the gateway is asked.

    The capture is made under the payment's capture key, so concurrent or retried calls
    capture once at the gateway; the result is applied under the payment's row lock, with
    PAYMENT_CAPTURED_HANDLERS (the orders are held in escrow and marked paid), unless a
    webhook applied it first. A timeout leaves the payment authorized and raises PAYMENT_TIMEOUT.
    """
    manager = manager or get_plugins_manager()
    payment = Payment.objects.get(pk=payment.pk)
    if payment.status != PaymentStatus.AUTHORIZED:
        return payment
    amount = _capture_amount(payment, amount)
    response = _gateway_capture(manager, payment, amount)
    if not response.success and amount == payment.total:
        # A concurrent capture under the same key (checkoutComplete and the webhook) may have
        # taken the money while this one was refused: the gateway's own state decides.
        response = _captured_elsewhere(manager, payment) or response
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if not response.success:
            payment.error_code = response.error_code.value if response.error_code else "error"
            payment.error_message = response.error_message
            payment.save(update_fields=["error_code", "error_message", "updated_at"])
        elif payment_machine.can(payment.status, PaymentStatus.CAPTURED):
            payment.captured_amount = response.amount if response.amount is not None else amount.amount
            payment.error_code, payment.error_message = "", ""
            payment_machine.apply(payment, PaymentStatus.CAPTURED, update_fields=["captured_amount", "error_code", "error_message"])
            for handler in list(PAYMENT_CAPTURED_HANDLERS):
                handler(payment)
    if not response.success:
        raise _failure(response, PaymentErrorCode.GATEWAY_ERROR)
    return payment


def _captured_elsewhere(manager: PluginsManager, payment: Payment) -> GatewayResponse | None:
    """The gateway's answer when it says this payment is captured in full, else None."""
    answer = _call(
        manager,
        payment.gateway,
        "query_payment_session",
        SessionQuery(
            psp_reference=payment.psp_reference, reference=(payment.metadata or {}).get("session", ""),
            amount=payment.amount, currency=payment.currency,
        ),
    )
    if answer.success and answer.status == GatewayStatus.CAPTURED and answer.amount == payment.amount:
        return answer
    return None


def payment_void_unlocked(*, payment: Payment, manager: PluginsManager | None = None) -> Payment:
    """Cancel an uncaptured authorization without holding any lock while the gateway is asked.

    The void is asked under the payment's void key (a retry voids once) and applied under the
    payment's row lock if nothing moved it meanwhile (a capture webhook wins: the capture then
    refunds what it should not have taken). A refusal raises, with nothing changed.
    """
    manager = manager or get_plugins_manager()
    payment = Payment.objects.get(pk=payment.pk)
    if payment.status == PaymentStatus.CANCELLED or not payment_machine.can(payment.status, PaymentStatus.CANCELLED):
        return payment
    _gateway_void(manager, payment)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment_machine.can(payment.status, PaymentStatus.CANCELLED):
            payment_machine.apply(payment, PaymentStatus.CANCELLED)
    return payment


def payments_void_unlocked(*, payment_ids, manager: PluginsManager | None = None) -> list[int]:
    """payment_void_unlocked for many payments (the periodic expiry): each is asked at the gateway
    under its void key, with no transaction open; those the gateway voided are then cancelled in one
    transaction, under their row locks, if nothing moved them meanwhile. Returns the ids cancelled;
    a refusal is logged and leaves its payment as it was (as payment_void_unlocked's raise would)."""
    manager = manager or get_plugins_manager()
    voided = []
    cancellable = [state for state in PaymentStatus.values if payment_machine.can(state, PaymentStatus.CANCELLED)]
    for payment in Payment.objects.filter(pk__in=list(payment_ids), status__in=cancellable).order_by("pk"):
        try:
            _gateway_void(manager, payment)
        except DomainError as error:
            logger.warning("Payment %s: void refused (%s)", payment.pk, error.message)
            continue
        voided.append(payment.pk)
    if not voided:
        return []
    with transaction.atomic():
        ids = list(
            Payment.objects.select_for_update().filter(pk__in=voided, status__in=cancellable)
            .order_by("pk").values_list("pk", flat=True)
        )
        now = timezone.now()
        for start in range(0, len(ids), 500):
            Payment.objects.filter(pk__in=ids[start : start + 500]).update(status=PaymentStatus.CANCELLED, updated_at=now)
    return ids


def _refund_succeeded(refund: Refund, payment: Payment) -> None:
    refund_machine.apply(refund, RefundStatus.SUCCEEDED, update_fields=["psp_reference", "error_message"])
    payment.refunded_amount += refund.amount
    target = PaymentStatus.REFUNDED if payment.refunded_amount >= payment.captured_amount else PaymentStatus.PARTIALLY_REFUNDED
    if target != payment.status:
        payment_machine.apply(payment, target, update_fields=["refunded_amount"])
    else:
        payment.save(update_fields=["refunded_amount", "updated_at"])


# --- Refunds, in three phases: claimed (locks), asked (no transaction), recorded (locks) ---
#
# payment_refund_claim records the refund REQUESTED under its key in the caller's transaction and
# counts it against what is left to refund, so a concurrent refund cannot take it twice;
# payment_refund_call asks the gateway under the refund's key with no transaction open;
# payment_refund_record applies the answer under the refund's and the payment's row locks, once:
# accepted (succeeded, or pending until the gateway's webhook), refused (failed: nothing is
# counted any more), or no answer (still REQUESTED, with the gateway's reference when it gave one).
# A REQUESTED refund is asked again under the same key by a retry or by the periodic
# payments.complete_refunds, so the gateway refunds once.

# A refund whose owner moves money of its own (the orders domain: the ledger) is finished by it.
# Called by payments.complete_refunds with (now, manager); each returns how many it finished, and
# finishes the REQUESTED refunds it claimed (and those a webhook answered) whose last attempt is over.
REFUND_COMPLETERS: list[Callable[[datetime, PluginsManager], int]] = []
# Called with a refund's id after a gateway webhook answered a refund still REQUESTED (its call
# had timed out), after that webhook's transaction commits: its owner records what it moves.
REFUND_ANSWERED_HANDLERS: list[Callable[[int], None]] = []

ANSWERED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
_UNKNOWN = (GatewayErrorCode.TIMEOUT, GatewayErrorCode.ERROR)


def payment_refund_claim(*, payment: Payment, amount: Money, idempotency_key: str, reason: str = "") -> Refund:
    """Phase 1, in the caller's transaction: the Refund for this key, REQUESTED and counted against
    what is left to refund (under the payment's row lock). A known key returns its refund."""
    if not idempotency_key:
        raise DomainError(PaymentErrorCode.REQUIRED, _("An idempotency key is required."), field="idempotency_key")
    _positive(amount)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if amount.currency.code != payment.currency:
            raise DomainError(
                PaymentErrorCode.INVALID, _("The payment is in %(currency)s.") % {"currency": payment.currency},
                field="amount",
            )
        refund, created = _claim(
            Refund,
            idempotency_key,
            {"payment": payment, "amount": amount.amount, "currency": payment.currency, "reason": reason},
        )
        if not created:
            if refund.payment_id != payment.pk or refund.amount != amount.amount:
                raise _conflict("refund", idempotency_key)
            return refund
        if payment.status not in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
            raise DomainError(
                PaymentErrorCode.INVALID_TRANSITION,
                _("A %(status)s payment cannot be refunded.") % {"status": payment.get_status_display().lower()},
            )
        committed = sum(
            (r.amount for r in payment.refunds.exclude(pk=refund.pk).exclude(status=RefundStatus.FAILED)), Decimal(0)
        )
        if committed + amount.amount > payment.captured_amount:
            raise DomainError(
                PaymentErrorCode.REFUND_EXCEEDS_CAPTURED,
                _("Only %(amount)s %(currency)s is left to refund.")
                % {"amount": payment.captured_amount - committed, "currency": payment.currency},
                field="amount",
            )
    return refund


def payment_refund_call(*, refund: Refund, manager: PluginsManager | None = None) -> GatewayResponse | None:
    """Phase 2, with no transaction open: ask the gateway to refund under the refund's key.
    None when the refund is no longer REQUESTED (answered meanwhile: nothing to ask)."""
    manager = manager or get_plugins_manager()
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.status != RefundStatus.REQUESTED:
        return None
    payment = refund.payment
    return _call(
        manager,
        payment.gateway,
        "refund_payment",
        RefundData(
            psp_reference=payment.psp_reference,
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=refund.idempotency_key,
            payment_id=payment.pk,
            reason=refund.reason,
        ),
    )


def payment_refund_record(*, refund: Refund, response: GatewayResponse | None) -> Refund:
    """Phase 3, in a transaction: apply the gateway's answer to a REQUESTED refund, once."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if response is None or refund.status != RefundStatus.REQUESTED:
            return refund  # answered meanwhile (a webhook, another attempt)
        refund.psp_reference = response.psp_reference or refund.psp_reference
        if response.success:
            refund.error_message = ""
            if response.status == GatewayStatus.PENDING:
                refund_machine.apply(refund, RefundStatus.PENDING, update_fields=["psp_reference", "error_message"])
            else:
                _refund_succeeded(refund, Payment.objects.select_for_update().get(pk=refund.payment_id))
        else:
            refund.error_message = response.error_message or ""
            if response.error_code in _UNKNOWN:
                # No answer: still REQUESTED (with the reference if the gateway gave one), asked again later.
                refund.save(update_fields=["psp_reference", "error_message", "updated_at"])
            else:
                refund_machine.apply(refund, RefundStatus.FAILED, update_fields=["psp_reference", "error_message"])
    return refund


def refund_error(refund: Refund, response: GatewayResponse | None) -> DomainError | None:
    """The error to raise for a refund after phase 3: None when the gateway took it."""
    if refund.status in ANSWERED:
        return None
    if refund.status == RefundStatus.FAILED:
        return DomainError(PaymentErrorCode.REFUND_FAILED, refund.error_message or _("The gateway refused the refund."))
    if response is None or response.error_code == GatewayErrorCode.TIMEOUT:
        return DomainError(
            PaymentErrorCode.PAYMENT_TIMEOUT,
            _("The payment gateway did not answer in time; the refund is finished later, or try again with the same request."),
        )
    return DomainError(
        PaymentErrorCode.GATEWAY_ERROR,
        _("The payment gateway failed; the refund is finished later, or try again with the same request."),
    )


def payment_refund(
    *,
    payment: Payment,
    amount: Money,
    idempotency_key: str,
    reason: str = "",
    manager: PluginsManager | None = None,
) -> Refund:
    """Give (part of) a captured payment back through the gateway, in the three phases above
    (call it with no transaction open). The ledger side (refund_from_escrow or
    refund_from_vendor) is the caller's: it knows the order (backend.orders order_refund)."""
    refund = payment_refund_claim(payment=payment, amount=amount, idempotency_key=idempotency_key, reason=reason)
    response = payment_refund_call(refund=refund, manager=manager)
    refund = payment_refund_record(refund=refund, response=response)
    error = refund_error(refund, response)
    if error is not None:
        raise error
    return refund


def payments_complete_refunds(*, now: datetime | None = None, manager: PluginsManager | None = None) -> int:
    """Finish refunds left REQUESTED (a gateway timeout or 5xx, a crashed worker) whose last attempt
    is over: the gateway is asked again under the same key, so it refunds once. The owners'
    completers (REFUND_COMPLETERS) go first; refunds no owner took are finished here. Returns how many."""
    from backend.core.periodic import record_processed

    now = now or timezone.now()
    manager = manager or get_plugins_manager()
    finished = sum(completer(now, manager) for completer in list(REFUND_COMPLETERS))
    stale = now - timedelta(seconds=settings.PAYMENT_REFUND_RETRY_AFTER)
    for refund in Refund.objects.filter(status=RefundStatus.REQUESTED, updated_at__lte=stale).order_by("pk")[:200]:
        response = payment_refund_call(refund=refund, manager=manager)
        refund = payment_refund_record(refund=refund, response=response)
        if refund.status != RefundStatus.REQUESTED:
            record_processed("refund", refund.pk)
            finished += 1
    return finished


def _refund_answered(refund_id: int) -> None:
    for handler in list(REFUND_ANSWERED_HANDLERS):
        try:
            handler(refund_id)
        except Exception:  # the periodic payments.complete_refunds finishes it
            logger.exception("Refund %s: recording the webhook's answer failed", refund_id)


def _payout_gateway(manager: PluginsManager, gateway: str | None) -> str:
    if gateway:
        plugin = _gateway(manager, gateway)
        return plugin.PLUGIN_ID
    for plugin in manager.active_plugins:
        if type(plugin).create_transfer is not BasePlugin.create_transfer:
            return plugin.PLUGIN_ID
    raise DomainError(PaymentErrorCode.GATEWAY_NOT_AVAILABLE, _("No active gateway can pay vendors out."), field="gateway")


def transfer_create(
    *, vendor, amount: Money, payout_ref: str, gateway: str | None = None, manager: PluginsManager | None = None
) -> Transfer:
    """Pay a vendor out: transfer_claim, then transfer_send (see each). Call it outside any
    transaction: the gateway is asked between the two, with no row lock held."""
    manager = manager or get_plugins_manager()
    transfer = transfer_claim(vendor=vendor, amount=amount, payout_ref=payout_ref, gateway=gateway, manager=manager)
    return transfer_send(transfer, manager=manager)


def transfer_claim(
    *, vendor, amount: Money, payout_ref: str, gateway: str | None = None, manager: PluginsManager | None = None
) -> Transfer:
    """The transfer of a payout, claimed under its key, its amount reserved from the vendor's
    available balance (payout_reserve; once per payout however often this runs). May run
    inside the caller's transaction (the payout's); nothing is asked of the gateway here."""
    _positive(amount)
    manager = manager or get_plugins_manager()
    gateway_id = _payout_gateway(manager, gateway)
    key = f"payout:{payout_ref}"
    with transaction.atomic():
        transfer, created = _claim(
            Transfer,
            key,
            {
                "vendor": vendor,
                "gateway": gateway_id,
                "payout_ref": str(payout_ref),
                "amount": amount.amount,
                "currency": amount.currency.code,
            },
        )
        if not created:
            if transfer.vendor_id != vendor.pk or transfer.total != amount:
                raise _conflict("transfer", key)
            if transfer.status != TransferStatus.PENDING or transfer.psp_reference:
                return transfer
        ledger.payout_reserve(payout_ref=payout_ref, vendor=vendor, amount=amount)
        account = VendorGatewayAccount.objects.filter(vendor=vendor, gateway=gateway_id).first()
        destination = account.account_id if account else ""
        if transfer.destination != destination:
            transfer.destination = destination
            transfer.save(update_fields=["destination", "updated_at"])
    return transfer


def transfer_send(transfer: Transfer, *, manager: PluginsManager | None = None) -> Transfer:
    """Ask the gateway for a claimed transfer (no transaction open: the call may take its time),
    then record the answer under the transfer's row lock: paid -> payout_settle, refused ->
    payout_fail (the money back to available), pending or no answer -> still reserved, until
    the gateway's webhook, a retry under the same key or payments.complete_transfers tells."""
    if transfer.status != TransferStatus.PENDING or transfer.psp_reference:
        return transfer
    manager = manager or get_plugins_manager()
    payout_ref = transfer.payout_ref
    response = _call(
        manager,
        transfer.gateway,
        "create_transfer",
        TransferData(
            amount=transfer.amount,
            currency=transfer.currency,
            vendor_id=transfer.vendor_id,
            idempotency_key=transfer.idempotency_key,
            destination=transfer.destination,
            description=f"Payout {payout_ref}",
            metadata={"payout": str(payout_ref), "vendor_id": str(transfer.vendor_id)},
        ),
    )
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update(of=("self",)).select_related("vendor").get(pk=transfer.pk)
        if transfer.status != TransferStatus.PENDING:
            return transfer  # the gateway's webhook told the outcome first
        amount, vendor = transfer.total, transfer.vendor
        transfer.psp_reference = response.psp_reference or transfer.psp_reference
        transfer.error_message = response.error_message
        fields = ["psp_reference", "error_message"]
        if response.success and response.status != GatewayStatus.PENDING:
            transfer_machine.apply(transfer, TransferStatus.PAID, update_fields=fields)
            ledger.payout_settle(payout_ref=payout_ref, vendor=vendor, amount=amount)
        elif not response.success and response.error_code not in (GatewayErrorCode.TIMEOUT, GatewayErrorCode.ERROR):
            transfer_machine.apply(transfer, TransferStatus.FAILED, update_fields=fields)
            ledger.payout_fail(payout_ref=payout_ref, vendor=vendor, amount=amount)
        else:
            # Pending at the gateway, or no answer: the money stays reserved until we know.
            transfer.save(update_fields=[*fields, "updated_at"])
    return transfer


def transfers_complete(*, now=None, older_than=timedelta(minutes=5), manager: PluginsManager | None = None) -> int:
    """The periodic task: ask again, under the same key, for every transfer whose request got
    no answer (pending without a gateway reference) for `older_than`; returns how many settled."""
    now = now or timezone.now()
    manager = manager or get_plugins_manager()
    unanswered = Transfer.objects.filter(
        status=TransferStatus.PENDING, psp_reference="", updated_at__lte=now - older_than
    ).order_by("pk")
    settled = 0
    for transfer in unanswered.iterator():
        try:
            transfer = transfer_send(transfer, manager=manager)
        except DomainError as error:
            logger.warning("Transfer %s: not sent again: %s", transfer.pk, error.message)
            continue
        if transfer.status != TransferStatus.PENDING:
            settled += 1
            record_processed("transfer", transfer.pk)
    return settled


# --- Webhooks ---


@dataclass(frozen=True)
class WebhookResult:
    applied: int
    duplicates: int


def payment_webhook_handle(*, gateway_id: str, request, manager: PluginsManager | None = None) -> WebhookResult:
    """Verify a gateway's webhook through its plugin and apply each event once.

    Raises DomainError(GATEWAY_NOT_AVAILABLE) for an unknown gateway and lets
    the plugin's WebhookVerificationError through for a bad signature.
    """
    manager = manager or get_plugins_manager()
    plugin = _gateway(manager, gateway_id)
    events = plugin.parse_webhook(request, previous_value=None)
    if events is NotImplemented or events is None:
        raise DomainError(PaymentErrorCode.GATEWAY_NOT_AVAILABLE, _("%(gateway)s takes no webhooks.") % {"gateway": gateway_id})
    applied = duplicates = 0
    for event in events:
        if WebhookEvent.objects.filter(gateway=gateway_id, event_id=event.event_id).exists():
            duplicates += 1  # a replay: nothing happens twice
            continue
        if event.type in _PAYMENT_EVENT_TYPES:
            # Outside any transaction: a handler may ask the gateway (it never trusts the event alone).
            for handler in list(SESSION_EVENT_HANDLERS):
                handler(gateway_id, event, manager)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    WebhookEvent.objects.create(
                        gateway=gateway_id, event_id=event.event_id, type=event.type.value, payload=event.raw
                    )
            except IntegrityError:
                duplicates += 1
                continue
            _apply_event(gateway_id, event)
            applied += 1
    return WebhookResult(applied=applied, duplicates=duplicates)


_PAYMENT_EVENT_TYPES = (
    GatewayEventType.PAYMENT_AUTHORIZED,
    GatewayEventType.PAYMENT_CAPTURED,
    GatewayEventType.PAYMENT_FAILED,
    GatewayEventType.PAYMENT_CANCELLED,
)


def webhook_answer(*, gateway_id: str, result: WebhookResult | None, manager: PluginsManager | None = None):
    """(status, content_type, body) the gateway expects back; `result` None when the webhook was refused."""
    manager = manager or get_plugins_manager()
    plugin = manager.get_plugin(gateway_id)
    answer = NotImplemented
    if plugin is not None:
        answer = plugin.webhook_response(result, previous_value=NotImplemented)
    if answer is NotImplemented or answer is None:
        if result is None:
            return 400, "application/json", json.dumps({"error": "invalid webhook"})
        return 200, "application/json", json.dumps({"applied": result.applied, "duplicates": result.duplicates})
    return answer


def _apply_event(gateway_id: str, event: GatewayEvent) -> None:
    """Move records to what the gateway reports; events about records already there change nothing."""
    kind = event.type
    if kind in (
        GatewayEventType.PAYMENT_AUTHORIZED,
        GatewayEventType.PAYMENT_CAPTURED,
        GatewayEventType.PAYMENT_FAILED,
        GatewayEventType.PAYMENT_CANCELLED,
    ):
        payment = (
            Payment.objects.select_for_update()
            .filter(gateway=gateway_id, psp_reference=event.psp_reference)
            .first()
        )
        if payment is None:
            logger.info("webhook %s: no payment %s", event.event_id, event.psp_reference)
            return
        target = {
            GatewayEventType.PAYMENT_AUTHORIZED: PaymentStatus.AUTHORIZED,
            GatewayEventType.PAYMENT_CAPTURED: PaymentStatus.CAPTURED,
            GatewayEventType.PAYMENT_FAILED: PaymentStatus.FAILED,
            GatewayEventType.PAYMENT_CANCELLED: PaymentStatus.CANCELLED,
        }[kind]
        if not payment_machine.can(payment.status, target):
            return
        if target == PaymentStatus.CAPTURED:
            payment.captured_amount = event.amount if event.amount is not None else payment.amount
        payment_machine.apply(payment, target, update_fields=["captured_amount"])
        if target == PaymentStatus.CAPTURED:
            handlers = PAYMENT_CAPTURED_HANDLERS
        elif target in (PaymentStatus.FAILED, PaymentStatus.CANCELLED):
            handlers = PAYMENT_FAILED_HANDLERS
        else:
            handlers = []
        for handler in list(handlers):
            handler(payment)
    elif kind == GatewayEventType.PAYMENT_DISPUTED:
        payment = (
            Payment.objects.select_for_update()
            .filter(gateway=gateway_id, psp_reference=event.psp_reference)
            .first()
        )
        if payment is None:
            logger.warning("webhook %s: dispute on unknown payment %s", event.event_id, event.psp_reference)
            return
        logger.warning("Payment %s disputed at %s (event %s)", payment.pk, gateway_id, event.event_id)
        for handler in list(PAYMENT_DISPUTED_HANDLERS):
            handler(payment, event)
    elif kind in (GatewayEventType.REFUND_SUCCEEDED, GatewayEventType.REFUND_FAILED):
        refund = (
            Refund.objects.select_for_update()
            .select_related("payment")
            .filter(payment__gateway=gateway_id, psp_reference=event.psp_reference)
            .first()
        )
        if refund is None or refund.status not in (RefundStatus.REQUESTED, RefundStatus.PENDING):
            return
        unanswered = refund.status == RefundStatus.REQUESTED
        if kind == GatewayEventType.REFUND_SUCCEEDED:
            payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
            _refund_succeeded(refund, payment)
        else:
            refund_machine.apply(refund, RefundStatus.FAILED)
        if unanswered:
            # Its call timed out: the owner records the answer after this transaction, outside it.
            transaction.on_commit(partial(_refund_answered, refund.pk), robust=True)
    elif kind in (GatewayEventType.TRANSFER_PAID, GatewayEventType.TRANSFER_FAILED, GatewayEventType.TRANSFER_REVERSED):
        transfer = (
            Transfer.objects.select_for_update()
            .filter(gateway=gateway_id, psp_reference=event.psp_reference)
            .first()
        )
        if transfer is None:
            return
        movement = {
            GatewayEventType.TRANSFER_PAID: (TransferStatus.PAID, ledger.payout_settle),
            GatewayEventType.TRANSFER_FAILED: (TransferStatus.FAILED, ledger.payout_fail),
            GatewayEventType.TRANSFER_REVERSED: (TransferStatus.REVERSED, ledger.payout_reverse),
        }
        target, post = movement[kind]
        if not transfer_machine.can(transfer.status, target):
            return
        transfer_machine.apply(transfer, target)
        post(payout_ref=transfer.payout_ref, vendor=transfer.vendor_id, amount=transfer.total)
