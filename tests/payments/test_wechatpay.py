"""WeChat Pay API v3 through wechatpayv3 against the local fake (tests/payments/fakes/wechatpay_fake.py).

Keys are made for the run: the merchant's RSA 2048 pair (the fake checks each
request's Authorization with it), the platform's pair with a self-signed x509
certificate (the plugin checks each answer and notification with it) and a
32-character APIv3 key (notification resources and downloaded certificates are
encrypted under it with AES-256-GCM).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.payments import services
from backend.payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent
from plugins.payments.interface import GatewayErrorCode, GatewayStatus, SessionData, SessionQuery
from plugins.payments.wechatpay import WeChatPayGatewayPlugin, out_refund_no, out_trade_no

from ..finance.helpers import cny
from .conftest import wechat_configuration

pytestmark = pytest.mark.django_db
URL = "/webhooks/payments/wechatpay/"
NO = "S20261203001"


def session(reference=NO, amount="88.50", **kwargs) -> SessionData:
    return SessionData(
        amount=Decimal(amount),
        currency=kwargs.pop("currency", "CNY"),
        reference=reference,
        idempotency_key=f"session:{reference}",
        description="订单 Order 1",
        expires_at=timezone.now() + timedelta(minutes=30),
        client_ip="203.0.113.7",
        **kwargs,
    )


def query(reference=NO, amount="88.50") -> SessionQuery:
    return SessionQuery(psp_reference=out_trade_no(reference), reference=reference, amount=Decimal(amount), currency="CNY")


def pending_payment(trade_no: str, amount="88.50", status=PaymentStatus.ACTION_REQUIRED) -> Payment:
    return Payment.objects.create(
        gateway="wechatpay",
        psp_reference=trade_no,
        idempotency_key=f"session:{trade_no}",
        request_fingerprint="x",
        amount=Decimal(amount),
        captured_amount=Decimal(amount) if status == PaymentStatus.CAPTURED else 0,
        currency="CNY",
        status=status,
    )


def post(client, notification):
    headers, body = notification
    return client.post(URL, body, content_type="application/json", headers={k: v for k, v in headers.items() if k != "Content-Type"})


def test_only_cny_and_only_when_configured(wechatpay):
    assert wechatpay.payment_available("CNY", Decimal("1.00"), previous_value=None) is True
    assert wechatpay.payment_available("HKD", Decimal("1.00"), previous_value=None) is False
    assert WeChatPayGatewayPlugin(configuration={}).payment_available("CNY", Decimal(1), previous_value=None) is False
    refused = wechatpay.create_payment_session(session(currency="USD"), previous_value=None)
    assert not refused.success and refused.error_code == GatewayErrorCode.INVALID_REQUEST


def test_a_native_session_gives_a_code_url_in_exact_fen(wechatpay, wechat_fake):
    response = wechatpay.create_payment_session(session(amount="88.50"), previous_value=None)
    assert response.success and response.status == GatewayStatus.ACTION_REQUIRED
    assert response.client_data["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    order = wechat_fake.orders[NO]
    assert order["amount"] == {"total": 8850, "currency": "CNY"} and order["attach"] == NO
    assert response.amount == Decimal("88.50")
    # A retried create is the same order with the same code.
    again = wechatpay.create_payment_session(session(amount="88.50"), previous_value=None)
    assert again.client_data["code_url"] == response.client_data["code_url"] and len(wechat_fake.orders) == 1
    # The same number with another amount is refused by WeChat Pay (not a second order).
    changed = wechatpay.create_payment_session(session(amount="88.51"), previous_value=None)
    assert not changed.success and len(wechat_fake.orders) == 1


def test_amounts_finer_than_a_fen_are_refused_not_rounded(wechatpay, wechat_fake):
    refused = wechatpay.create_payment_session(session(amount="0.005"), previous_value=None)
    assert not refused.success and refused.error_code == GatewayErrorCode.INVALID_REQUEST
    assert wechat_fake.orders == {}
    big = wechatpay.create_payment_session(session(reference="S-big-0001", amount="12345678.99"), previous_value=None)
    assert big.success and wechat_fake.orders["S-big-0001"]["amount"]["total"] == 1234567899


def test_the_platform_certificate_is_downloaded_and_decrypted_when_not_configured(wechat_fake, wechat_keys):
    plugin = WeChatPayGatewayPlugin(configuration=wechat_configuration(wechat_fake, wechat_keys, with_certificate=False), active=True)
    response = plugin.create_payment_session(session(), previous_value=None)
    assert response.success
    assert wechat_fake.count("certificates") == 1
    # Kept for the process: the next call does not download them again.
    assert plugin.query_payment_session(query(), previous_value=None).success
    assert wechat_fake.count("certificates") == 1


def test_query_close_and_the_paid_order(wechatpay, wechat_fake):
    assert wechatpay.query_payment_session(query(), previous_value=None).status == GatewayStatus.PENDING  # no order
    wechatpay.create_payment_session(session(), previous_value=None)
    assert wechatpay.query_payment_session(query(), previous_value=None).status == GatewayStatus.ACTION_REQUIRED
    wechat_fake.pay(NO)
    paid = wechatpay.query_payment_session(query(), previous_value=None)
    assert paid.status == GatewayStatus.CAPTURED and paid.amount == Decimal("88.50")
    refused = wechatpay.close_payment_session(query(), previous_value=None)
    assert not refused.success and refused.status == GatewayStatus.CAPTURED
    wechatpay.create_payment_session(session(reference="S-unpaid-1"), previous_value=None)
    closed = wechatpay.close_payment_session(query(reference="S-unpaid-1"), previous_value=None)
    assert closed.success and closed.status == GatewayStatus.CANCELLED
    assert wechat_fake.orders["S-unpaid-1"]["trade_state"] == "CLOSED"


# --- notifications ---


def test_a_notification_is_verified_decrypted_applied_once_and_answered(client, wechatpay, wechat_fake):
    wechatpay.create_payment_session(session(), previous_value=None)
    payment = pending_payment(NO)
    notification = wechat_fake.pay(NO)
    answer = post(client, notification)
    assert answer.status_code == 200 and answer.json() == {"code": "SUCCESS", "message": "成功"}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED and payment.captured_amount == Decimal("88.50")
    # Redelivered (WeChat Pay retries until it reads success): applied once.
    assert post(client, notification).status_code == 200
    assert WebhookEvent.objects.filter(gateway="wechatpay").count() == 1


def _tampered_body(notification):
    headers, body = notification
    return headers, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESS ")


def _tampered_ciphertext(notification, fake):
    import json

    headers, body = notification
    data = json.loads(body)
    data["resource"]["ciphertext"] = data["resource"]["ciphertext"][:-4] + "AAAA"
    body = json.dumps(data).encode()
    return {**headers, **fake.sign(body.decode())}, body  # well signed, but does not decrypt


def _old(notification, fake):
    import time

    headers, body = notification
    return {**headers, **fake.sign(body.decode(), timestamp=str(int(time.time()) - 3600))}, body


@pytest.mark.parametrize("tamper", ["body", "ciphertext", "old", "serial", "signature"])
def test_a_tampered_or_replayed_notification_is_refused(client, wechatpay, wechat_fake, tamper):
    wechatpay.create_payment_session(session(), previous_value=None)
    payment = pending_payment(NO)
    notification = wechat_fake.pay(NO)
    if tamper == "body":
        notification = _tampered_body(notification)
    elif tamper == "ciphertext":
        notification = _tampered_ciphertext(notification, wechat_fake)
    elif tamper == "old":
        notification = _old(notification, wechat_fake)
    elif tamper == "serial":
        notification = ({**notification[0], "Wechatpay-Serial": "ABCDEF"}, notification[1])
    else:
        notification = ({**notification[0], "Wechatpay-Signature": notification[0]["Wechatpay-Signature"][::-1]}, notification[1])
    answer = post(client, notification)
    assert answer.status_code == 400 and answer.json()["code"] == "FAIL"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ACTION_REQUIRED and not WebhookEvent.objects.exists()


def test_a_refund_notification_settles_a_pending_refund(client, wechatpay, wechat_fake):
    wechatpay.create_payment_session(session(amount="50.00"), previous_value=None)
    wechat_fake.pay(NO)
    payment = pending_payment(NO, amount="50.00", status=PaymentStatus.CAPTURED)
    wechat_fake.refunds["r-1"] = {"out_refund_no": "r-1", "out_trade_no": NO, "refund_status": "SUCCESS",
                                  "amount": {"total": 5000, "refund": 1000, "payer_total": 5000, "payer_refund": 1000}}
    refund = Refund.objects.create(payment=payment, amount=Decimal("10.00"), currency="CNY", psp_reference="r-1", idempotency_key="r-1")
    assert post(client, wechat_fake.refund_notification("r-1")).status_code == 200
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


# --- refunds and faults ---


@pytest.fixture
def captured(wechatpay, wechat_fake):
    wechatpay.create_payment_session(session(amount="100.00"), previous_value=None)
    wechat_fake.pay(NO)
    return pending_payment(NO, amount="100.00", status=PaymentStatus.CAPTURED)


def test_partial_refunds_in_fen_under_their_out_refund_no(wechatpay, wechat_fake, captured):
    first = services.payment_refund(payment=captured, amount=cny("30.01"), idempotency_key="refund:o-1:1")
    second = services.payment_refund(payment=captured, amount=cny(20), idempotency_key="refund:o-1:2")
    assert first.status == second.status == RefundStatus.SUCCEEDED
    assert wechat_fake.refunds[out_refund_no("refund:o-1:1")]["amount"]["refund"] == 3001
    assert wechat_fake.orders[NO]["refunded"] == 5001
    captured.refresh_from_db()
    assert captured.refunded_amount == Decimal("50.01") and captured.status == PaymentStatus.PARTIALLY_REFUNDED


@pytest.mark.parametrize("kind", ["timeout", "http500"])
def test_a_refund_lost_in_transit_is_retried_under_the_same_out_refund_no(wechatpay, wechat_fake, captured, kind):
    wechat_fake.fail("refund", kind)
    with pytest.raises(Exception) as failure:
        services.payment_refund(payment=captured, amount=cny(40), idempotency_key="refund:o-9")
    assert failure.value.code.value == "payment_timeout"
    assert Refund.objects.get(idempotency_key="refund:o-9").status == RefundStatus.REQUESTED
    retried = services.payment_refund(payment=captured, amount=cny(40), idempotency_key="refund:o-9")
    assert retried.status == RefundStatus.SUCCEEDED
    assert wechat_fake.orders[NO]["refunded"] == 4000  # once, whatever happened to the first answer
    numbers = {data["out_refund_no"] for name, _, data in wechat_fake.calls if name == "refund"}
    assert numbers == {out_refund_no("refund:o-9")}
    captured.refresh_from_db()
    assert captured.refunded_amount == Decimal("40.00")


@pytest.mark.parametrize("kind", ["timeout", "http500"])
@pytest.mark.parametrize("step", ["native", "query", "close"])
def test_faults_at_each_step_say_timeout_and_a_retry_finds_the_same_order(wechatpay, wechat_fake, step, kind):
    if step != "native":
        wechatpay.create_payment_session(session(), previous_value=None)
    wechat_fake.fail(step, kind)
    call = {
        "native": lambda: wechatpay.create_payment_session(session(), previous_value=None),
        "query": lambda: wechatpay.query_payment_session(query(), previous_value=None),
        "close": lambda: wechatpay.close_payment_session(query(), previous_value=None),
    }[step]
    failed = call()
    assert not failed.success and failed.error_code == GatewayErrorCode.TIMEOUT
    assert call().success
    assert list(wechat_fake.orders) == [NO]


def test_an_answer_not_signed_by_the_platform_is_not_believed(wechatpay, wechat_fake):
    from .fakes.keys import shared_pair

    wechat_fake.platform_pair = shared_pair("someone-else")
    failed = wechatpay.create_payment_session(session(), previous_value=None)
    assert not failed.success and failed.error_code == GatewayErrorCode.ERROR


def test_a_refund_whose_answer_was_lost_is_seen_by_the_notification_the_reconciliation_and_the_retry(
    client, wechatpay, wechat_fake, captured
):
    from django.utils import timezone

    from backend.payments.models import MismatchProblem, ReconciliationMismatch
    from backend.payments.reconciliation import reconcile_gateway

    wechat_fake.fail("refund", "timeout")  # WeChat Pay refunds, the answer is lost
    with pytest.raises(Exception):
        services.payment_refund(payment=captured, amount=cny(25), idempotency_key="refund:late")
    number = out_refund_no("refund:late")
    assert wechat_fake.refunds[number]["status"] == "SUCCESS"
    # The unanswered refund kept its number (derived from its key), so its notification finds and settles it
    # (answered success, so WeChat Pay stops); the day's reconciliation then finds nothing missing.
    assert Refund.objects.get(idempotency_key="refund:late").psp_reference == number
    assert post(client, wechat_fake.refund_notification(number)).status_code == 200
    # The day's reconciliation finds the refund in the trade bill under the number derived from its key.
    reconcile_gateway("wechatpay", timezone.localdate())
    assert not ReconciliationMismatch.objects.filter(gateway="wechatpay", problem=MismatchProblem.MISSING_HERE).exists()
    # The retry settles it once, under the same number.
    refund = services.payment_refund(payment=captured, amount=cny(25), idempotency_key="refund:late")
    assert refund.status == RefundStatus.SUCCEEDED and refund.psp_reference == number
    assert wechat_fake.orders[NO]["refunded"] == 2500
    captured.refresh_from_db()
    assert captured.refunded_amount == Decimal("25.00")


def test_a_coupon_the_shopper_used_does_not_change_the_amount_the_order_is_paid(wechatpay, wechat_fake):
    wechatpay.create_payment_session(session(amount="88.50"), previous_value=None)
    wechat_fake.pay(NO, payer_total=7850)  # a 10.00 WeChat coupon: the shopper paid 78.50
    paid = wechatpay.query_payment_session(query(), previous_value=None)
    assert paid.status == GatewayStatus.CAPTURED and paid.amount == Decimal("88.50")
