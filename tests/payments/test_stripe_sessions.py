"""Stripe payment sessions against localstripe (a stateful fake Stripe from PyPI) on loopback.

The checkout asks for a PaymentIntent with manual capture, the shopper's browser confirms it with
the client_secret (3-D Secure included), checkoutComplete or the webhook verifies it with Stripe
and places the orders once, and the platform captures it. Refunds and cancellations go to
localstripe too. localstripe has no Connect: vendor transfers stay tested against the in-repo
stub (tests/payments/stripe_stub.py, test_stripe.py). localstripe ignores Idempotency-Key and
cannot fail on demand, so tests/localstripe_server.py puts a proxy in front that does both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import stripe

from backend.checkout import services as checkout
from backend.checkout.error_codes import CheckoutErrorCode
from backend.checkout.models import CheckoutPaymentAttempt
from backend.checkout.sessions import PaymentSessionState
from backend.core.exceptions import DomainError
from backend.core.money import Money
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.orders import services as orders
from backend.orders.models import Order, OrderStatus
from backend.payments import services as payments
from backend.payments.models import Payment, PaymentStatus, RefundStatus, WebhookEvent
from plugins.models import PluginConfiguration

from .. import localstripe_server
from ..checkout.guarded import GUARDED_STRIPE, GuardedStripeGateway
from ..checkout.helpers import PLUGINS, listing, logistics_data, ready_checkout, store  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db(transaction=True)
S = PaymentSessionState
WEBHOOK_SECRET = "whsec_localstripe"


@pytest.fixture(scope="session")
def localstripe():
    server = localstripe_server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_on(settings, localstripe):
    settings.PLUGINS = [*PLUGINS, GUARDED_STRIPE]
    GuardedStripeGateway.reset()
    PluginConfiguration.objects.update_or_create(
        identifier="stripe",
        defaults={
            "active": True,
            "configuration": {
                "secret_key": localstripe_server.SECRET_KEY, "api_base": localstripe.url,
                "webhook_secret": WEBHOOK_SECRET, "timeout_seconds": 5,
            },
        },
    )
    localstripe.faults.clear()
    localstripe.requests.clear()
    yield localstripe
    assert GuardedStripeGateway.violations == []


@pytest.fixture
def browser(localstripe):
    return localstripe_server.Browser(localstripe)


@pytest.fixture
def tea(db):
    vendor, _ = store("Tea House")
    return listing(vendor, price="30.00", stock=5)


def start(c):
    return checkout.checkout_payment_create(checkout=c, user=None, gateway="stripe")


def complete(c, session):
    return checkout.checkout_complete(checkout=c, user=None, payment_session=session.reference)


def signed(event: dict) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


def deliver(client, event: dict):
    payload, header = signed(event)
    return client.post("/webhooks/payments/stripe/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def event(kind: str, obj: dict, event_id: str) -> dict:
    return {"id": event_id, "object": "event", "type": kind, "created": int(time.time()), "data": {"object": obj}}


def test_a_client_confirmed_payment_intent_places_the_orders_once_and_is_captured(stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 2)])
    session = start(c)
    intent = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")
    assert intent["capture_method"] == "manual" and intent["metadata"]["reference"] == session.reference
    assert intent["amount"] == int(session.amount * 100) and intent["currency"] == "cny"
    assert session.client_data["client_secret"] == intent["client_secret"]
    assert stripe_on.keys_for("POST", "/v1/payment_intents") == [session.idempotency_key]

    with pytest.raises(DomainError) as waiting:
        complete(c, session)
    assert waiting.value.code == CheckoutErrorCode.PAYMENT_NOT_CONFIRMED

    assert browser.confirm(session.client_data["client_secret"])["status"] == "requires_capture"
    done = complete(c, session)
    again = complete(c, session)
    assert len(done.orders) == 1 and [o.pk for o in again.orders] == [o.pk for o in done.orders]
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.CAPTURED and payment.psp_reference == session.psp_reference
    assert Order.objects.get().status == OrderStatus.PAID
    assert stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")["status"] == "succeeded"
    assert GuardedStripeGateway.calls.count("capture_payment") == 1


def test_three_d_secure_waits_for_the_shoppers_authentication(stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    secret = session.client_data["client_secret"]
    assert browser.confirm(secret, card="4000002500003155")["status"] == "requires_action"
    with pytest.raises(DomainError) as waiting:
        complete(c, session)
    assert waiting.value.code == CheckoutErrorCode.PAYMENT_NOT_CONFIRMED
    assert browser.authenticate(secret)["status"] == "requires_capture"
    assert len(complete(c, session).orders) == 1


def test_the_webhook_first_then_checkout_complete_and_replays_change_nothing(client, stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    intent = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")
    authorized = event("payment_intent.amount_capturable_updated", intent, "evt_auth_1")
    answer = deliver(client, authorized)
    assert answer.status_code == 200 and answer.json() == {"applied": 1, "duplicates": 0}
    session.refresh_from_db()
    assert session.state == S.COMPLETED
    assert deliver(client, authorized).json() == {"applied": 0, "duplicates": 1}
    assert len(complete(c, session).orders) == 1
    # Stripe's capture webhook arrives after the platform captured: nothing moves twice.
    captured = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")
    assert deliver(client, event("payment_intent.succeeded", captured, "evt_succ_1")).status_code == 200
    assert Order.objects.count() == 1 and Payment.objects.get().status == PaymentStatus.CAPTURED
    assert GuardedStripeGateway.calls.count("capture_payment") == 1


def test_an_unsigned_or_forged_webhook_is_refused(client, stripe_on, tea):
    body = json.dumps(event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"}, "evt_forged"))
    refused = client.post("/webhooks/payments/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00")
    assert refused.status_code == 400 and not WebhookEvent.objects.exists()


def test_a_failed_payment_event_closes_nothing_the_shopper_may_still_pay(client, stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"], card="4000000000000341")
    intent = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")
    assert intent["status"] == "requires_payment_method"
    assert deliver(client, event("payment_intent.payment_failed", intent, "evt_fail_1")).status_code == 200
    session.refresh_from_db()
    # Stripe lets the shopper try another card on the same PaymentIntent.
    assert session.state == S.PENDING and not Order.objects.exists()


def test_refunds_full_and_partial_and_the_refund_webhook_is_applied_once(client, stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 2)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    (order,) = complete(c, session).orders
    part = orders.order_refund(order=order, amount=Money("10.00", "CNY"), idempotency_key="refund-part", actor=None)
    assert part.payment_refund.status == RefundStatus.SUCCEEDED and part.payment_refund.psp_reference.startswith("re_")
    again = orders.order_refund(order=order, amount=Money("10.00", "CNY"), idempotency_key="refund-part", actor=None)
    assert again.pk == part.pk
    order.refresh_from_db()
    rest = order.total - order.refunded
    orders.order_refund(order=order, amount=rest, idempotency_key="refund-rest", actor=None)
    order.refresh_from_db()
    payment = Payment.objects.get()
    assert order.status == OrderStatus.REFUNDED and payment.status == PaymentStatus.REFUNDED
    charge_id = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")["latest_charge"]["id"]
    refunds = stripe_on.api("GET", f"/v1/refunds?charge={charge_id}")["data"]
    assert sorted(r["amount"] for r in refunds) == sorted([1000, int((rest.amount) * 100)])
    charge = stripe_on.api("GET", f"/v1/charges/{charge_id}")
    charge["refunds"] = {"data": refunds}
    first = deliver(client, event("charge.refunded", charge, "evt_refunded_1"))
    assert first.status_code == 200
    assert deliver(client, event("charge.refunded", charge, "evt_refunded_1")).json()["applied"] == 0
    payment.refresh_from_db()
    assert payment.refunded_amount == payment.captured_amount  # not counted twice


def test_a_dispute_freezes_the_orders_release(client, stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    complete(c, session)
    dispute = {"id": "dp_1", "object": "dispute", "amount": 3000, "currency": "cny", "payment_intent": session.psp_reference}
    assert deliver(client, event("charge.dispute.created", dispute, "evt_dispute_1")).status_code == 200
    assert Order.objects.get().release_frozen is True


def test_a_changed_checkout_voids_the_authorization(stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    c.lines.update(quantity=2)
    with pytest.raises(DomainError) as changed:
        complete(c, session)
    assert changed.value.code == CheckoutErrorCode.CHECKOUT_CHANGED
    assert stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")["status"] == "canceled"
    assert not Order.objects.exists()


def test_faults_at_create_query_and_capture_lose_and_double_nothing(stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 1)])
    # 5xx at create: recorded; the retry asks under the same key.
    stripe_on.fail_next("POST", "/v1/payment_intents", "500")
    with pytest.raises(DomainError) as failed:
        start(c)
    assert failed.value.code == CheckoutErrorCode.PAYMENT_ERROR
    # The answer lost after Stripe created it (a timeout): the retry gets the same PaymentIntent.
    stripe_on.fail_next("POST", "/v1/payment_intents", "drop")
    with pytest.raises(DomainError) as timeout:
        start(c)
    assert timeout.value.code == CheckoutErrorCode.PAYMENT_TIMEOUT
    session = start(c)
    assert session.state == S.PENDING and session.attempts == 3
    keys = stripe_on.keys_for("POST", "/v1/payment_intents")
    assert keys == [session.idempotency_key] * 3
    assert [a.error_code for a in CheckoutPaymentAttempt.objects.order_by("pk")] == ["error", "timeout"]
    listed = stripe_on.api("GET", "/v1/payment_intents")["data"]
    assert len([i for i in listed if i["metadata"].get("reference") == session.reference]) == 1

    browser.confirm(session.client_data["client_secret"])
    stripe_on.fail_next("GET", f"/v1/payment_intents/{session.psp_reference}", "500")
    with pytest.raises(DomainError):
        complete(c, session)
    assert not Order.objects.exists()
    # The capture's answer is lost and Stripe cannot be asked either: the orders are placed once,
    # unpaid; completing again captures under the same key (Stripe answers with the first
    # capture) and pays them.
    stripe_on.fail_next("POST", f"/v1/payment_intents/{session.psp_reference}/capture", "drop")
    stripe_on.fail_next("GET", f"/v1/payment_intents/{session.psp_reference}", "500", skip=1)
    first = complete(c, session)
    assert [o.status for o in first.orders] == [OrderStatus.UNPAID]
    assert Payment.objects.get().status == PaymentStatus.AUTHORIZED
    second = complete(c, session)
    assert [o.pk for o in second.orders] == [o.pk for o in first.orders]
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.CAPTURED and Order.objects.get().status == OrderStatus.PAID
    capture_keys = stripe_on.keys_for("POST", f"/v1/payment_intents/{session.psp_reference}/capture")
    assert capture_keys == [f"{payment.idempotency_key}:capture"] * 2


def test_stripe_is_not_paid_with_a_token_at_completion(stripe_on, tea):
    c = ready_checkout(lines=[(tea, 1)])
    with pytest.raises(DomainError) as refused:
        checkout.checkout_complete(checkout=c, user=None, gateway="stripe", token="pm_card_visa")
    assert refused.value.code == CheckoutErrorCode.REQUIRED and refused.value.field == "paymentSession"
    assert stripe_on.requests == [] and not Order.objects.exists()


def test_availability_rules_per_currency_and_amount(stripe_on, tea):
    manager = payments.get_plugins_manager()
    ids = lambda amount: [g.id for g in payments.available_payment_gateways(manager=manager, amount=amount)]  # noqa: E731
    assert ids(Money("30.00", "CNY")) == ["dummy", "stripe"]
    assert ids(Money("3.00", "CNY")) == ["dummy"]  # below Stripe's minimum charge
    assert "stripe" not in ids(Money("1000000.00", "CNY"))
    plugin = manager.get_plugin("stripe")
    assert plugin.payment_available("XAF", Money("100", "XAF").amount, previous_value=None) is False
    assert isinstance(stripe.StripeClient, type)


def test_a_refund_whose_answer_is_lost_or_fails_is_made_once_on_retry(stripe_on, browser, tea):
    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    (order,) = complete(c, session).orders
    stripe_on.fail_next("POST", "/v1/refunds", "500")
    with pytest.raises(DomainError):
        orders.order_refund(order=order, amount=Money("7.00", "CNY"), idempotency_key="r-lost", actor=None)
    stripe_on.fail_next("POST", "/v1/refunds", "drop")
    with pytest.raises(DomainError):
        orders.order_refund(order=order, amount=Money("7.00", "CNY"), idempotency_key="r-lost", actor=None)
    done = orders.order_refund(order=order, amount=Money("7.00", "CNY"), idempotency_key="r-lost", actor=None)
    assert done.payment_refund.status == RefundStatus.SUCCEEDED
    assert stripe_on.keys_for("POST", "/v1/refunds") == ["r-lost"] * 3
    charge_id = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")["latest_charge"]["id"]
    assert [r["amount"] for r in stripe_on.api("GET", f"/v1/refunds?charge={charge_id}")["data"]] == [700]
    order.refresh_from_db()
    assert order.refunded_amount == 7


def test_cancelling_an_order_whose_capture_failed_voids_the_payment_intent_outside_any_transaction(stripe_on, browser):
    vendor, owner = store("Tea Garden")
    variant = listing(vendor, price="30.00", stock=5)
    c = ready_checkout(lines=[(variant, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    stripe_on.fail_next("POST", f"/v1/payment_intents/{session.psp_reference}/capture", "500")
    (order,) = complete(c, session).orders
    assert Payment.objects.get().status == PaymentStatus.AUTHORIZED
    cancelled = orders.order_cancel(actor=owner, order=order, reason="Out of stock after all.")
    assert cancelled.status == OrderStatus.CANCELLED
    assert Payment.objects.get().status == PaymentStatus.CANCELLED
    assert stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")["status"] == "canceled"
    assert GuardedStripeGateway.calls.count("void_payment") == 1  # and not under the cancellation's locks
    variant.refresh_from_db()
    assert variant.stock == 5


def confirmed(browser, tea):
    """A checkout of one tea whose PaymentIntent the shopper's browser confirmed (authorized)."""
    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    return c, session


def test_a_capture_refused_because_another_request_captured_first_marks_the_payment_captured(stripe_on, browser, tea):
    """checkoutComplete and the webhook capture at once: the loser's capture is refused by Stripe
    (already captured); Stripe's own state, asked next, says captured, so both answers show paid."""
    c, session = confirmed(browser, tea)
    # Stripe fails the first capture (nothing captured, still requires_capture when asked).
    stripe_on.fail_next("POST", f"/v1/payment_intents/{session.psp_reference}/capture", "500")
    first = complete(c, session)
    assert [o.status for o in first.orders] == [OrderStatus.UNPAID]
    # The other request's capture, under its own key, reaches Stripe first.
    assert stripe_on.api("POST", f"/v1/payment_intents/{session.psp_reference}/capture")["status"] == "succeeded"
    payment = payments.payment_capture_unlocked(payment=Payment.objects.get())
    assert payment.status == PaymentStatus.CAPTURED and payment.captured_amount == payment.amount
    assert Order.objects.get().status == OrderStatus.PAID
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_HOLD).count() == 1


def test_the_lost_answer_of_a_capture_is_found_by_asking_stripe(stripe_on, browser, tea):
    c, session = confirmed(browser, tea)
    stripe_on.fail_next("POST", f"/v1/payment_intents/{session.psp_reference}/capture", "drop")
    done = complete(c, session)
    assert [o.status for o in done.orders] == [OrderStatus.PAID]
    assert Payment.objects.get().status == PaymentStatus.CAPTURED
    assert len(stripe_on.keys_for("POST", f"/v1/payment_intents/{session.psp_reference}/capture")) == 1


def test_cancelling_a_paid_order_refunds_it_at_stripe_outside_any_transaction(stripe_on, browser):
    vendor, owner = store("Tea Garden")
    variant = listing(vendor, price="30.00", stock=5)
    c = ready_checkout(lines=[(variant, 2)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    (order,) = complete(c, session).orders
    order = orders.order_cancel(actor=owner, order=order, reason="Out of stock")
    assert order.status == OrderStatus.CANCELLED and order.refunded_amount == order.total_amount
    assert GuardedStripeGateway.calls.count("refund_payment") == 1  # and not under the cancellation's locks
    charge_id = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")["latest_charge"]["id"]
    assert [r["amount"] for r in stripe_on.api("GET", f"/v1/refunds?charge={charge_id}")["data"]] == [int(order.total_amount * 100)]
    assert stripe_on.keys_for("POST", "/v1/refunds") == [f"order:{order.pk}:cancel"]


def test_a_refund_whose_answer_is_lost_is_finished_once_by_the_periodic_task(client, stripe_on, browser, tea):
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from backend.finance.ledger import ledger_problems
    from backend.orders.models import OrderRefund, OrderRefundStatus

    c = ready_checkout(lines=[(tea, 1)])
    session = start(c)
    browser.confirm(session.client_data["client_secret"])
    (order,) = complete(c, session).orders
    stripe_on.fail_next("POST", "/v1/refunds", "drop")
    with pytest.raises(DomainError) as lost:
        orders.order_refund(order=order, amount=Money("12.00", "CNY"), idempotency_key="r-drop", actor=None)
    assert lost.value.code.name == "PAYMENT_TIMEOUT"
    record = OrderRefund.objects.get(idempotency_key="r-drop")
    assert record.status == OrderRefundStatus.REQUESTED
    # Stripe made it; its charge.refunded webhook names a refund we have no reference for: nothing moves.
    charge_id = stripe_on.api("GET", f"/v1/payment_intents/{session.psp_reference}")["latest_charge"]["id"]
    refunds = stripe_on.api("GET", f"/v1/refunds?charge={charge_id}")["data"]
    charge = stripe_on.api("GET", f"/v1/charges/{charge_id}")
    charge["refunds"] = {"data": refunds}
    assert deliver(client, event("charge.refunded", charge, "evt_refunded_lost")).status_code == 200
    order.refresh_from_db()
    assert order.refunded_amount == 0
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_REFUND_RETRY_AFTER + 1)
    assert payments.payments_complete_refunds(now=later) == 1
    assert payments.payments_complete_refunds(now=later) == 0
    order.refresh_from_db()
    assert order.refunded_amount == 12 and Payment.objects.get().refunded_amount == 12
    assert stripe_on.keys_for("POST", "/v1/refunds") == ["r-drop"] * 2
    assert [r["amount"] for r in stripe_on.api("GET", f"/v1/refunds?charge={charge_id}")["data"]] == [1200]
    assert LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_FROM_ESCROW).count() == 1
    assert ledger_problems() == []
