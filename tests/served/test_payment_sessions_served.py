"""Payment sessions on gunicorn: checkoutComplete and the gateway's webhook racing for one checkout.

Two requests released at the same moment on two workers with real transactions (SQLite's
IMMEDIATE write transactions or PostgreSQL's row locks): the orders are placed once and the
money is held in escrow once, whichever wins. Once with the dummy gateway, once with Stripe
through localstripe (tests/localstripe_server.py), whose PaymentIntent the test confirms the
way the shopper's browser does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from .. import localstripe_server
from . import journey as j

DUMMY_SECRET = "served-gateway-secret"
STRIPE_WEBHOOK_SECRET = "whsec_served"
PLUGIN_UPDATE = """mutation Configure($id: ID!, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, input: $input) { errors { field code message } } }"""
PAYMENT_CREATE = """mutation Start($id: ID!, $gateway: String!) {
  checkoutPaymentCreate(id: $id, gateway: $gateway) {
    paymentSession { id gateway state clientData amount { amount currency } }
    errors { field code message } } }"""
COMPLETE = """mutation Complete($id: ID!, $session: String!) {
  checkoutComplete(id: $id, paymentSession: $session) {
    orders { id status paymentStatus payments { gateway status } }
    errors { field code message } } }"""
CHECKOUT = """query Checkout($id: ID!) { checkout(id: $id) { completedAt availablePaymentGateways { id } orders { id } } }"""


def configure(served, staff, plugin_id: str, active: bool | None = None, **values) -> None:
    data = {"configuration": [{"name": name, "value": value} for name, value in values.items()]}
    if active is not None:
        data["active"] = active
    j.mutate(served, PLUGIN_UPDATE, {"id": plugin_id, "input": data}, token=staff)


def escrow_holds(served, staff, vendor_id) -> list[dict]:
    return j.kinds(j.ledger(served, staff, vendor_id), "ESCROW_HOLD")


def race_complete_and_webhook(served, token, checkout_id, session_id, webhook) -> list:
    def action(index):
        if index == 0:
            return ("complete", served.graphql(COMPLETE, {"id": checkout_id, "session": session_id}, endpoint="storefront", token=token))
        return ("webhook", webhook())

    return j.race(2, action)


def _check_once(served, staff, store, token, checkout_id, session_id, answers):
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
    (complete,) = [a[1] for a in answers if a[0] == "complete"]
    (webhook,) = [a[1] for a in answers if a[0] == "webhook"]
    status, body = complete
    assert status == 200 and "errors" not in body, body
    payload = body["data"]["checkoutComplete"]
    assert payload["errors"] == [], payload
    assert webhook[0] == 200, webhook
    (order,) = payload["orders"]
    assert order["status"] == "PAID" and order["payments"][0]["status"] == "CAPTURED"
    checkout = j.call(served, CHECKOUT, {"id": checkout_id}, endpoint="storefront", token=token)["checkout"]
    assert checkout["completedAt"] and [o["id"] for o in checkout["orders"]] == [order["id"]]
    again = j.mutate(served, COMPLETE, {"id": checkout_id, "session": session_id}, endpoint="storefront", token=token)
    assert [o["id"] for o in again["orders"]] == [order["id"]]
    return order, escrow_holds(served, staff, store.vendor_id)


def test_checkout_complete_and_the_dummy_webhook_race_and_place_the_orders_once(served, marketplace):
    staff, tea = marketplace["staff"], marketplace["tea"]
    configure(served, staff, "dummy", webhook_secret=DUMMY_SECRET)
    token, email = j.shopper(served)
    checkout = j.ready_checkout(served, token, email, [(tea.variants[0], 1)])
    before = len(escrow_holds(served, staff, tea.vendor_id))
    session = j.mutate(served, PAYMENT_CREATE, {"id": checkout["id"], "gateway": "dummy"}, endpoint="storefront", token=token)[
        "paymentSession"
    ]
    assert session["state"] == "PENDING"
    psp = session["clientData"]["session"]
    body = json.dumps({"id": j.unique("evt"), "type": "payment_authorized", "psp_reference": psp}).encode()
    headers = {"Content-Type": "application/json", "X-Dummy-Signature": hmac.new(DUMMY_SECRET.encode(), body, hashlib.sha256).hexdigest()}
    answers = race_complete_and_webhook(
        served, token, checkout["id"], session["id"], lambda: served.post("/webhooks/payments/dummy/", body, headers)
    )
    order, _holds = _check_once(served, staff, tea, token, checkout["id"], session["id"], answers)
    assert len(escrow_holds(served, staff, tea.vendor_id)) == before + 1
    # The same webhook again: acknowledged, nothing moves.
    status, _h, content = served.post("/webhooks/payments/dummy/", body, headers)
    assert status == 200 and json.loads(content) == {"applied": 0, "duplicates": 1}
    assert len(escrow_holds(served, staff, tea.vendor_id)) == before + 1


@pytest.fixture(scope="module")
def localstripe():
    server = localstripe_server.start()
    yield server
    server.stop()


def test_a_payment_intent_confirmed_by_the_browser_completes_once_when_the_webhook_races(served, marketplace, localstripe):
    staff, silk = marketplace["staff"], marketplace["silk"]
    configure(
        served, staff, "stripe", active=True, secret_key=localstripe_server.SECRET_KEY, api_base=localstripe.url,
        webhook_secret=STRIPE_WEBHOOK_SECRET,
    )
    try:
        token, email = j.shopper(served)
        checkout = j.ready_checkout(served, token, email, [(silk.variants[0], 2)])
        gateways = j.call(served, CHECKOUT, {"id": checkout["id"]}, endpoint="storefront", token=token)["checkout"]
        assert {"id": "stripe"} in gateways["availablePaymentGateways"]
        before = len(escrow_holds(served, staff, silk.vendor_id))
        session = j.mutate(
            served, PAYMENT_CREATE, {"id": checkout["id"], "gateway": "stripe"}, endpoint="storefront", token=token
        )["paymentSession"]
        secret = session["clientData"]["client_secret"]
        intent = localstripe_server.Browser(localstripe).confirm(secret)
        assert intent["status"] == "requires_capture" and intent["amount"] == int(Decimal(session["amount"]["amount"]) * 100)
        # What Stripe sends when the authorization succeeded, signed with the endpoint's secret.
        event = {
            "id": j.unique("evt"), "object": "event", "type": "payment_intent.amount_capturable_updated",
            "created": int(time.time()), "data": {"object": intent},
        }
        payload = json.dumps(event).encode()
        stamp = int(time.time())
        signature = hmac.new(STRIPE_WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={signature}"}
        answers = race_complete_and_webhook(
            served, token, checkout["id"], session["id"], lambda: served.post("/webhooks/payments/stripe/", payload, headers)
        )
        _check_once(served, staff, silk, token, checkout["id"], session["id"], answers)
        assert len(escrow_holds(served, staff, silk.vendor_id)) == before + 1
        assert localstripe.api("GET", f"/v1/payment_intents/{intent['id']}")["status"] == "succeeded"
        # Captured once at Stripe, whoever asked: every capture request carried the same key.
        captures = localstripe.keys_for("POST", f"/v1/payment_intents/{intent['id']}/capture")
        assert captures and len(set(captures)) == 1
    finally:
        configure(served, staff, "stripe", active=False)


RUN_EXPIRY_LATER = """
import json
from datetime import timedelta
from django.utils import timezone
from backend.checkout.services import payment_sessions_expire
print(json.dumps(payment_sessions_expire(now=timezone.now() + timedelta(minutes=31))))
"""


def test_an_unpaid_session_holds_the_last_item_until_two_expiry_runs_at_once_free_it(served, marketplace):
    """The periodic expiry in `manage.py shell` processes with the clock moved past the session's time."""
    staff, category = marketplace["staff"], marketplace["category"]
    lantern = j.open_store(served, staff, category, "Lantern Shop")
    variant = j.list_product(served, staff, lantern, category, name="Paper Lantern", price="45.00", stock=1)
    configure(served, staff, "dummy", session_outcome="pending")
    try:
        first, first_email = j.shopper(served)
        checkout = j.ready_checkout(served, first, first_email, [(variant, 1)])
        session = j.mutate(served, PAYMENT_CREATE, {"id": checkout["id"], "gateway": "dummy"}, endpoint="storefront", token=first)[
            "paymentSession"
        ]
        assert session["state"] == "PENDING" and session["clientData"]["confirmed"] is False
        second, second_email = j.shopper(served)
        other = j.ready_checkout(served, second, second_email, [(variant, 1)])
        _status, body = served.graphql(PAYMENT_CREATE, {"id": other["id"], "gateway": "dummy"}, endpoint="storefront", token=second)
        assert [e["code"] for e in body["data"]["checkoutPaymentCreate"]["errors"]] == ["INSUFFICIENT_STOCK"]

        runs = j.race(2, lambda _i: served.manage("shell", "-c", RUN_EXPIRY_LATER))
        for run in runs:
            assert not isinstance(run, BaseException), run
            assert run.returncode == 0, run.stderr
        # Expired once between the two runs (the only open session on this instance).
        assert sum(json.loads(run.stdout.strip().splitlines()[-1]) for run in runs) == 1

        retried = j.mutate(served, PAYMENT_CREATE, {"id": other["id"], "gateway": "dummy"}, endpoint="storefront", token=second)
        assert retried["paymentSession"]["state"] == "PENDING"
        _status, body = served.graphql(COMPLETE, {"id": checkout["id"], "session": session["id"]}, endpoint="storefront", token=first)
        assert [e["code"] for e in body["data"]["checkoutComplete"]["errors"]] == ["PAYMENT_SESSION_CLOSED"]
    finally:
        configure(served, staff, "dummy", session_outcome="authorized")
