"""Alipay through a real served instance (gunicorn, DEBUG off) and the Alipay fake in this process.

Staff configure the plugin through the core API; a shopper pays a checkout with an
Alipay payment code (the counter flow, alipay.trade.pay); Alipay's notifications
reach the served webhook and are answered "success" however often, however
concurrently they come; a lost answer is retried onto the same trade; the daily
reconciliation runs as the management command does and reports what differs,
once, through the core API.
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
PAY = f"""
mutation Pay($checkout: ID!, $gateway: String!, $token: String!) {{
  checkoutComplete(id: $checkout, payment: {{gateway: $gateway, token: $token}}) {{
    orders {{ id status paymentStatus total {{ amount currency }} }}
    payment {{ id status total {{ amount currency }} }}
    {journey.ERRORS}
  }}
}}"""
MISMATCHES = """
query($gateway: String) {
  reconciliationMismatches(gateway: $gateway, first: 20) {
    totalCount
    edges { node { kind problem pspReference ourAmount { amount } gatewayAmount { amount } } }
  }
}"""


@pytest.fixture(scope="module")
def alipay_served(start_served):
    fake = AlipayFake(
        app_id="2021000000000001",
        app_public_pem=shared_pair("alipay-app").public_pem,
        alipay_pair=shared_pair("alipay"),
        late_seconds=4,
    ).start()
    served = start_served({"RECONCILIATION_LAG_DAYS": "0"})
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


def checkout(served, store):
    token, email = journey.shopper(served)
    return token, journey.ready_checkout(served, token, email, [(store.variants[0], 1)])


def test_a_checkout_paid_with_an_alipay_code_places_its_order_once_even_after_a_lost_answer(alipay_served):
    served, fake, _staff, store = alipay_served
    token, ready = checkout(served, store)
    fake.fail("alipay.trade.pay", "timeout")  # Alipay takes the money, its answer never arrives
    status, body = served.graphql(
        PAY, {"checkout": ready["id"], "gateway": "alipay", "token": "paycode_ok"}, endpoint="storefront", token=token
    )
    assert status == 200
    first = body["data"]["checkoutComplete"]
    assert first["orders"] == [] and first["errors"][0]["code"] == "PAYMENT_TIMEOUT", first
    trades_after_timeout = dict(fake.trades)
    # The shopper tries again: the same trade number, so Alipay answers with the paid trade; one order.
    status, body = served.graphql(
        PAY, {"checkout": ready["id"], "gateway": "alipay", "token": "paycode_ok"}, endpoint="storefront", token=token
    )
    second = body["data"]["checkoutComplete"]
    assert second["errors"] == [], second
    (order,) = second["orders"]
    assert (order["status"], order["paymentStatus"]) == ("PAID", "ESCROW_HELD")
    assert second["payment"]["total"] == {"amount": "137.00", "currency": "CNY"}  # 128.00 and shipping
    assert list(fake.trades) == list(trades_after_timeout)  # no second trade
    (number,) = {biz["out_trade_no"] for name, biz in fake.calls if name == "alipay.trade.pay"}
    assert fake.trades[number]["total_amount"] == "137.00"


def test_notifications_are_answered_success_once_applied_and_forgeries_fail(alipay_served):
    served, fake, _staff, store = alipay_served
    token, ready = checkout(served, store)
    _status, body = served.graphql(
        PAY, {"checkout": ready["id"], "gateway": "alipay", "token": "paycode_ok"}, endpoint="storefront", token=token
    )
    assert body["data"]["checkoutComplete"]["errors"] == []
    trade_no = next(biz["out_trade_no"] for name, biz in reversed(fake.calls) if name == "alipay.trade.pay")
    notification = fake.notification(trade_no)
    answers = journey.race(4, lambda _i: fake.post_notification(notification))
    assert [(a.status_code, a.text) for a in answers] == [(200, "success")] * 4
    forged = {**notification, "total_amount": "0.01"}
    refused = fake.post_notification(forged)
    assert (refused.status_code, refused.text) == (400, "fail")
    log = served.log()
    assert "Traceback" not in log and "0.01" not in refused.text


def test_the_daily_reconciliation_reports_a_difference_once_through_the_api(alipay_served):
    served, fake, staff, store = alipay_served
    token, ready = checkout(served, store)
    _status, body = served.graphql(
        PAY, {"checkout": ready["id"], "gateway": "alipay", "token": "paycode_ok"}, endpoint="storefront", token=token
    )
    assert body["data"]["checkoutComplete"]["errors"] == []
    trade_no = next(biz["out_trade_no"] for name, biz in reversed(fake.calls) if name == "alipay.trade.pay")
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
