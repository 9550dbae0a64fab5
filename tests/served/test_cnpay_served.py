"""Alipay through a real served instance (gunicorn, DEBUG off) and the Alipay fake in this process.

Staff configure the plugin through the core API; a shopper starts an Alipay payment
session for a checkout (checkoutPaymentCreate: QR code and payment page) and pays at the
fake; checkoutComplete and Alipay's notification race on two workers and place the order
once; a lost answer is settled by the late notification; redelivered notifications are
answered "success" however often and concurrently they come, forgeries "fail"; the daily
reconciliation runs as the management command does and reports what differs, once,
through the core API.
"""

from __future__ import annotations

import pytest

from tests.payments.conftest import alipay_configuration
from tests.payments.fakes.alipay_fake import AlipayFake
from tests.payments.fakes.keys import shared_pair

from . import journey

PLUGIN_UPDATE = """
mutation Configure($id: ID!, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, input: $input) { errors { field code message } }
}"""
PAYMENT_CREATE = """mutation Start($id: ID!, $gateway: String!) {
  checkoutPaymentCreate(id: $id, gateway: $gateway) {
    paymentSession { id gateway state clientData amount { amount currency } }
    errors { field code message } } }"""
COMPLETE = """mutation Complete($id: ID!, $session: String!) {
  checkoutComplete(id: $id, paymentSession: $session) {
    orders { id status paymentStatus total { amount currency } payments { gateway status } }
    errors { field code message } } }"""
MISMATCHES = """
query($gateway: String) {
  reconciliationMismatches(gateway: $gateway, first: 20) {
    totalCount
    edges { node { kind problem pspReference ourAmount { amount } gatewayAmount { amount } } }
  }
}"""


def alipay_world(start_served, env: dict):
    """A served instance with Alipay (its loopback fake) active and one tea store with a listing;
    yields (served, fake, staff token, store) and stops the fake afterwards."""
    fake = AlipayFake(
        app_id="2021000000000001",
        app_public_pem=shared_pair("alipay-app").public_pem,
        alipay_pair=shared_pair("alipay"),
        late_seconds=4,
    ).start()
    served = start_served(env)
    staff = journey.staff_token(served)
    configuration = alipay_configuration(fake, notify_url=served.url("/webhooks/payments/alipay/"), timeout_seconds=2)
    configuration["qr_code"] = "true"
    journey.mutate(
        served,
        PLUGIN_UPDATE,
        {
            "id": "alipay",
            "input": {"active": True, "configuration": [{"name": k, "value": str(v)} for k, v in configuration.items()]},
        },
        token=staff,
    )
    category = journey.categories(served)["specialty-food"]
    journey.fee_plans(served, staff, category)
    store = journey.open_store(served, staff, category, "Hangzhou Tea")
    journey.list_product(served, staff, store, category, name="Longjing 250 g", price="128.00")
    yield served, fake, staff, store
    fake.stop()


@pytest.fixture(scope="module")
def alipay_served(start_served):
    yield from alipay_world(start_served, {"RECONCILIATION_LAG_DAYS": "0"})


def paid_session(served, fake, store):
    """A shopper's checkout with an Alipay session, paid at the fake: (token, checkout, session, notification)."""
    token, email = journey.shopper(served)
    ready = journey.ready_checkout(served, token, email, [(store.variants[0], 1)])
    session = journey.mutate(
        served, PAYMENT_CREATE, {"id": ready["id"], "gateway": "alipay"}, endpoint="storefront", token=token
    )["paymentSession"]
    assert session["state"] == "PENDING" and session["clientData"]["qr_code"].startswith("https://qr.alipay.com/")
    assert session["amount"] == {"amount": "137.00", "currency": "CNY"}  # 128.00 and shipping
    notification = fake.pay(session["clientData"]["out_trade_no"])
    return token, ready, session, notification


def complete(served, token, checkout_id, session_id):
    return served.graphql(COMPLETE, {"id": checkout_id, "session": session_id}, endpoint="storefront", token=token)


def test_checkout_complete_and_alipays_notification_race_and_place_the_order_once(alipay_served):
    served, fake, _staff, store = alipay_served
    token, ready, session, notification = paid_session(served, fake, store)

    def action(index):
        if index == 0:
            return complete(served, token, ready["id"], session["id"])
        return fake.post_notification(notification)

    completed, notified = journey.race(2, action)
    assert not isinstance(completed, BaseException) and not isinstance(notified, BaseException)
    assert (notified.status_code, notified.text) == (200, "success")
    status, body = completed
    assert status == 200 and body["data"]["checkoutComplete"]["errors"] == [], body
    (order,) = body["data"]["checkoutComplete"]["orders"]
    assert order["status"] == "PAID" and order["payments"] == [{"gateway": "alipay", "status": "CAPTURED"}]
    assert order["total"] == {"amount": "137.00", "currency": "CNY"}
    # Again, and the notification again: the same order, nothing twice.
    _status, again = complete(served, token, ready["id"], session["id"])
    assert [o["id"] for o in again["data"]["checkoutComplete"]["orders"]] == [order["id"]]
    assert fake.post_notification(notification).text == "success"
    assert len(fake.trades) == len({biz["out_trade_no"] for name, biz in fake.calls if name == "alipay.trade.precreate"})


def test_a_lost_answer_then_the_late_notification_completes_the_checkout_once(alipay_served):
    served, fake, _staff, store = alipay_served
    token, ready, session, notification = paid_session(served, fake, store)
    fake.fail("alipay.trade.query", "timeout")  # the shopper's checkoutComplete: Alipay's answer is lost
    _status, body = complete(served, token, ready["id"], session["id"])
    payload = body["data"]["checkoutComplete"]
    assert payload["orders"] == [] and [e["code"] for e in payload["errors"]] == ["PAYMENT_TIMEOUT"], payload
    # Redelivered notifications, several at once on two workers: answered success, applied once.
    answers = journey.race(3, lambda _i: fake.post_notification(notification))
    assert [(a.status_code, a.text) for a in answers] == [(200, "success")] * 3
    _status, body = complete(served, token, ready["id"], session["id"])
    (order,) = body["data"]["checkoutComplete"]["orders"]
    assert order["status"] == "PAID"
    forged = {**notification, "total_amount": "0.01"}
    refused = fake.post_notification(forged)
    assert (refused.status_code, refused.text) == (400, "fail")
    assert "Traceback" not in served.log()


def test_the_daily_reconciliation_reports_a_difference_once_through_the_api(alipay_served):
    served, fake, staff, store = alipay_served
    token, ready, session, notification = paid_session(served, fake, store)
    assert fake.post_notification(notification).text == "success"
    trade_no = session["clientData"]["out_trade_no"]
    with fake.lock:
        fake.trades[trade_no]["total_amount"] = "136.00"  # Alipay's books say otherwise
    for _run in range(2):  # the same day twice: one mismatch
        result = served.manage("run_task", "payments.reconcile_gateways")
        assert result.returncode == 0, result.stdout + result.stderr
    data = journey.call(served, MISMATCHES, {"gateway": "alipay"}, token=staff)["reconciliationMismatches"]
    assert data["totalCount"] == 1
    (edge,) = data["edges"]
    assert edge["node"] == {
        "kind": "CHARGE",
        "problem": "AMOUNT_DIFFERS",
        "pspReference": trade_no,
        "ourAmount": {"amount": "137.00"},
        "gatewayAmount": {"amount": "136.00"},
    }
