"""The Stripe plugin offline: request shapes against a local stub, webhook signatures with our secret."""

import hashlib
import hmac
import json
import time

import pytest

from backend.core.exceptions import DomainError
from backend.finance import services as movements
from backend.finance.ledger import vendor_balance
from backend.payments import services
from backend.payments.error_codes import PaymentErrorCode
from backend.payments.models import Payment, PaymentStatus, TransferStatus, VendorGatewayAccount, WebhookEvent

from ..finance.helpers import captured_payment, cny
from . import stripe_stub

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "whsec_test_secret"
URL = "/webhooks/payments/stripe/"


@pytest.fixture
def stub():
    server = stripe_stub.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def stripe_on(configure_plugin, stub):
    configure_plugin("stripe", active=True, secret_key="sk_test_123", api_base=stub.url, webhook_secret=WEBHOOK_SECRET)
    return stub


def pay(token="pm_card_visa", key="checkout-1", amount="12.34", **kwargs):
    return services.payment_process(gateway="stripe", token=token, amount=cny(amount), idempotency_key=key, **kwargs)


def one(values: list) -> str:
    assert len(values) == 1, values
    return values[0]


def test_payment_intent_with_manual_capture_and_idempotency_keys(stripe_on):
    payment = pay(customer_email="ann@example.com")
    create, capture = stripe_on.posts("/v1/payment_intents")
    assert create.path == "/v1/payment_intents"
    assert create.headers["idempotency-key"] == "checkout-1"
    assert create.headers["authorization"] == "Bearer sk_test_123"
    form = create.form
    assert one(form["amount"]) == "1234"  # minor units
    assert one(form["currency"]) == "cny"
    assert one(form["capture_method"]) == "manual"
    assert one(form["confirm"]) == "true"
    assert one(form["payment_method"]) == "pm_card_visa"
    assert one(form["payment_method_types[0]"]) == "card"
    assert one(form["metadata[payment_id]"]) == str(payment.pk)
    assert one(form["receipt_email"]) == "ann@example.com"
    assert capture.path == "/v1/payment_intents/pi_test_1/capture"
    assert capture.headers["idempotency-key"] == "checkout-1:capture"
    assert (payment.status, payment.psp_reference, payment.captured) == (PaymentStatus.CAPTURED, "pi_test_1", cny("12.34"))


def test_authorize_only_then_capture_later(stripe_on):
    payment = pay(capture=False)
    assert payment.status == PaymentStatus.AUTHORIZED
    assert len(stripe_on.posts("/v1/payment_intents")) == 1
    services.payment_capture(payment=payment, amount=cny("10.00"))
    capture = stripe_on.posts("/v1/payment_intents/pi_test_1/capture")[0]
    assert one(capture.form["amount_to_capture"]) == "1000"
    assert capture.headers["idempotency-key"] == "checkout-1:capture"
    payment.refresh_from_db()
    assert (payment.status, payment.captured) == (PaymentStatus.CAPTURED, cny(10))


def test_void_cancels_the_intent(stripe_on):
    payment = services.payment_void(payment=pay(capture=False))
    assert payment.status == PaymentStatus.CANCELLED
    assert stripe_on.posts("/v1/payment_intents/pi_test_1/cancel")[0].headers["idempotency-key"] == "checkout-1:void"


def test_card_decline_and_no_answer(stripe_on):
    with pytest.raises(DomainError) as exc:
        pay(token="pm_card_chargeDeclined")
    assert exc.value.code == PaymentErrorCode.PAYMENT_DECLINED
    assert exc.value.message == "Your card was declined."
    with pytest.raises(DomainError) as exc:
        pay(token="pm_card_hangup", key="checkout-2")
    assert exc.value.code == PaymentErrorCode.PAYMENT_TIMEOUT
    statuses = dict(Payment.objects.values_list("idempotency_key", "status"))
    assert statuses == {"checkout-1": PaymentStatus.FAILED, "checkout-2": PaymentStatus.PENDING}


def test_refund_request(stripe_on):
    payment = pay()
    refund = services.payment_refund(payment=payment, amount=cny("2.00"), idempotency_key="refund-9")
    request = one(stripe_on.posts("/v1/refunds"))
    assert request.headers["idempotency-key"] == "refund-9"
    assert one(request.form["payment_intent"]) == "pi_test_1"
    assert one(request.form["amount"]) == "200"
    assert refund.psp_reference == "re_test_1"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED


@pytest.fixture
def earned(vendor):
    payment = captured_payment("100.00")
    movements.escrow_hold(payment=payment, splits=[movements.EscrowSplit("o1", vendor.pk, cny(100))])
    movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny(100), commission=cny(0))
    return vendor


def test_connect_transfer_to_the_vendors_account(stripe_on, earned):
    VendorGatewayAccount.objects.create(vendor=earned, gateway="stripe", account_id="acct_vendor_1")
    transfer = services.transfer_create(vendor=earned, amount=cny("99.99"), payout_ref="p1", gateway="stripe")
    request = one(stripe_on.posts("/v1/transfers"))
    assert request.headers["idempotency-key"] == "payout:p1"
    assert (one(request.form["amount"]), one(request.form["currency"])) == ("9999", "cny")
    assert one(request.form["destination"]) == "acct_vendor_1"
    assert (transfer.status, transfer.psp_reference) == (TransferStatus.PAID, "tr_test_1")
    assert vendor_balance(earned).available == cny("0.01")


def test_connected_account_from_the_plugin_configuration(stripe_on, configure_plugin, earned):
    configure_plugin(
        "stripe", secret_key="sk_test_123", api_base=stripe_on.url, connected_accounts={str(earned.pk): "acct_from_config"}
    )
    services.transfer_create(vendor=earned, amount=cny(10), payout_ref="p1", gateway="stripe")
    assert one(one(stripe_on.posts("/v1/transfers")).form["destination"]) == "acct_from_config"


def test_transfer_without_a_connected_account_fails_and_returns_the_money(stripe_on, earned):
    transfer = services.transfer_create(vendor=earned, amount=cny(10), payout_ref="p1", gateway="stripe")
    assert transfer.status == TransferStatus.FAILED and "connected account" in transfer.error_message
    assert not stripe_on.posts("/v1/transfers")
    assert vendor_balance(earned).available == cny(100)


def test_api_base_comes_from_settings_when_not_configured(configure_plugin, stub, settings):
    settings.STRIPE_API_BASE = stub.url
    settings.STRIPE_SECRET_KEY = "sk_test_from_env"
    configure_plugin("stripe", active=True)
    pay()
    assert stub.posts("/v1/payment_intents")[0].headers["authorization"] == "Bearer sk_test_from_env"


# --- Webhooks ---


def signed(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def event(event_id: str, event_type: str, obj: dict) -> str:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}})


def deliver(client, payload: str, signature: str):
    return client.post(URL, payload, content_type="application/json", headers={"Stripe-Signature": signature})


def test_signed_webhook_is_verified_and_applied_once(client, stripe_on):
    payment = pay(capture=False)
    payload = event(
        "evt_1",
        "payment_intent.succeeded",
        {"id": "pi_test_1", "object": "payment_intent", "amount": 1234, "amount_received": 1234, "currency": "cny"},
    )
    response = deliver(client, payload, signed(payload))
    assert response.status_code == 200 and response.json() == {"applied": 1, "duplicates": 0}
    payment.refresh_from_db()
    assert (payment.status, payment.captured) == (PaymentStatus.CAPTURED, cny("12.34"))
    assert deliver(client, payload, signed(payload)).json() == {"applied": 0, "duplicates": 1}
    assert WebhookEvent.objects.get().type == "payment_captured"


def test_refund_webhook_completes_a_pending_refund(client, stripe_on):
    payment = pay()
    refund = services.payment_refund(payment=payment, amount=cny(2), idempotency_key="r1")
    assert refund.status == "succeeded"  # the stub answers succeeded at once
    payload = event("evt_2", "refund.updated", {"id": "re_test_1", "object": "refund", "status": "succeeded", "amount": 200, "currency": "cny"})
    assert deliver(client, payload, signed(payload)).status_code == 200
    payment.refresh_from_db()
    assert payment.refunded == cny(2)  # not counted twice


@pytest.mark.parametrize(
    "signature",
    [
        lambda p: signed(p, secret="whsec_someone_else"),
        lambda p: signed(p, timestamp=int(time.time()) - 3600),  # replayed after the tolerance
        lambda p: signed(p.replace("1234", "9999")),  # signed a different body
        lambda p: "",
    ],
    ids=["wrong-secret", "too-old", "tampered", "missing"],
)
def test_badly_signed_webhooks_are_refused(client, stripe_on, signature):
    payment = pay(capture=False)
    payload = event("evt_1", "payment_intent.succeeded", {"id": "pi_test_1", "object": "payment_intent", "amount_received": 1234, "currency": "cny"})
    assert deliver(client, payload, signature(payload)).status_code == 400
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.AUTHORIZED
    assert not WebhookEvent.objects.exists()


def test_webhooks_are_refused_without_a_signing_secret(client, configure_plugin, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    configure_plugin("stripe", active=True)
    payload = event("evt_1", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    assert deliver(client, payload, signed(payload)).status_code == 400


def test_unhandled_event_types_are_acknowledged(client, stripe_on):
    payload = event("evt_9", "customer.created", {"id": "cus_1", "object": "customer"})
    assert deliver(client, payload, signed(payload)).json() == {"applied": 1, "duplicates": 0}
    assert WebhookEvent.objects.get().type == "ignored"
