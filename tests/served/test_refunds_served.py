"""A refund whose gateway answer times out, through a real served instance (gunicorn, DEBUG off)
and the Alipay fake in this process.

The shopper cancels a paid order on the storefront; Alipay makes the refund but answers after the
plugin's timeout. The cancellation stands (its transaction committed before Alipay was asked) and
the refund stays requested; the periodic payments.complete_refunds, run as the management command
runs it (twice, as overlapping schedules may), asks Alipay again under the same refund number and
records it: one refund at Alipay, one refund out of escrow in the ledger.
"""

from __future__ import annotations

import pytest


from . import journey
from .test_cnpay_served import alipay_world, complete, paid_session

ORDER_CANCEL = """mutation($id: ID!, $reason: String!) {
  orderCancel(id: $id, reason: $reason) {
    order { id status paymentStatus refunded { amount currency } } errors { field code message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id status paymentStatus refunded { amount currency } } }"""


@pytest.fixture(scope="module")
def alipay_served(start_served):
    # A refund left requested is taken up at the next run, not two minutes later.
    yield from alipay_world(start_served, {"PAYMENT_REFUND_RETRY_AFTER_SECONDS": "0"})


def test_a_cancellation_whose_refund_times_out_is_refunded_once_by_the_periodic_task(alipay_served):
    served, fake, staff, store = alipay_served
    token, ready, session, notification = paid_session(served, fake, store)
    assert fake.post_notification(notification).text == "success"
    _status, body = complete(served, token, ready["id"], session["id"])
    (order,) = body["data"]["checkoutComplete"]["orders"]
    assert order["status"] == "PAID"
    assert journey.balance(served, staff, store.vendor_id)["pending"] == "137.00"
    trade_no = session["clientData"]["out_trade_no"]

    fake.fail("alipay.trade.refund", "timeout")  # Alipay refunds; its answer comes after the plugin gave up
    cancelled = journey.mutate(
        served, ORDER_CANCEL, {"id": order["id"], "reason": "Changed my mind"}, endpoint="storefront", token=token
    )["order"]
    assert cancelled["status"] == "CANCELLED" and cancelled["refunded"]["amount"] == "0.00"
    assert len(fake.trades[trade_no]["refunds"]) == 1  # made at Alipay, not recorded yet
    assert journey.balance(served, staff, store.vendor_id)["pending"] == "137.00"
    assert journey.kinds(journey.ledger(served, staff, store.vendor_id), "REFUND_FROM_ESCROW") == []

    for _run in range(2):
        result = served.manage("run_task", "payments.complete_refunds")
        assert result.returncode == 0, result.stdout + result.stderr

    data = journey.call(served, ORDER, {"id": order["id"]}, endpoint="storefront", token=token)["order"]
    assert data["status"] == "CANCELLED" and data["paymentStatus"] == "REFUNDED"
    assert data["refunded"] == {"amount": "137.00", "currency": "CNY"}
    assert journey.balance(served, staff, store.vendor_id)["pending"] == "0.00"
    refunds = journey.kinds(journey.ledger(served, staff, store.vendor_id), "REFUND_FROM_ESCROW")
    assert len({entry["transaction"]["id"] for entry in refunds}) == 1
    assert sum(float(entry["amount"]["amount"]) for entry in refunds) in (137.0, -137.0)
    # One refund at Alipay, asked twice under the same number.
    assert list(fake.trades[trade_no]["refunds"].values()) == ["137.00"]
    numbers = [biz["out_request_no"] for name, biz in fake.calls if name == "alipay.trade.refund"]
    assert len(numbers) == 2 and len(set(numbers)) == 1
    assert "Traceback" not in served.log()
