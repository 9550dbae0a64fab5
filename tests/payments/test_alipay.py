"""Alipay through python-alipay-sdk against the local fake (tests/payments/fakes/alipay_fake.py).

Keys are made for the run: the application's RSA 2048 pair (the fake checks
every request with its public key) and "Alipay's" pair (the plugin checks every
answer and notification with its public key).
"""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from backend.payments import services
from backend.payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent
from plugins.payments.alipay import AlipayGatewayPlugin, out_no
from plugins.payments.interface import (
    GatewayErrorCode,
    GatewayEventType,
    GatewayStatus,
    SessionData,
    SessionQuery,
)

from ..finance.helpers import cny
from .conftest import alipay_configuration

pytestmark = pytest.mark.django_db
URL = "/webhooks/payments/alipay/"


def session(reference="S20261203001", amount="88.50", **kwargs) -> SessionData:
    return SessionData(
        amount=Decimal(amount),
        currency=kwargs.pop("currency", "CNY"),
        reference=reference,
        idempotency_key=f"session:{reference}",
        description="订单 Order 1",
        expires_at=timezone.now() + timedelta(minutes=30),
        **kwargs,
    )


def query(reference="S20261203001", amount="88.50") -> SessionQuery:
    return SessionQuery(psp_reference=out_no(reference), reference=reference, amount=Decimal(amount), currency="CNY")


def pending_payment(trade_no: str, amount="88.50") -> Payment:
    """The payment row a session creates (the checkout side is not this module's)."""
    return Payment.objects.create(
        gateway="alipay",
        psp_reference=trade_no,
        idempotency_key=f"session:{trade_no}",
        request_fingerprint="x",
        amount=Decimal(amount),
        currency="CNY",
        status=PaymentStatus.ACTION_REQUIRED,
    )


def test_only_cny_is_available_and_only_when_configured(alipay):
    assert alipay.payment_available("CNY", Decimal("10.00"), previous_value=None) is True
    assert alipay.payment_available("USD", Decimal("10.00"), previous_value=None) is False
    assert AlipayGatewayPlugin(configuration={}).payment_available("CNY", Decimal(1), previous_value=None) is False
    limited = AlipayGatewayPlugin(configuration={**alipay.configuration, "max_amount": "50.00"})
    assert limited.payment_available("CNY", Decimal("50.00"), previous_value=None) is True
    assert limited.payment_available("CNY", Decimal("50.01"), previous_value=None) is False
    refused = alipay.create_payment_session(session(currency="USD"), previous_value=None)
    assert not refused.success and refused.error_code == GatewayErrorCode.INVALID_REQUEST


def test_a_session_gives_a_signed_page_address_and_a_qr_code(alipay, alipay_fake):
    response = alipay.create_payment_session(session(), previous_value=None)
    assert response.success and response.status == GatewayStatus.ACTION_REQUIRED
    assert response.psp_reference == "S20261203001"
    assert response.client_data["qr_code"].startswith("https://qr.alipay.com/")
    page = urlsplit(response.client_data["page_url"])
    params = {k: v[0] for k, v in parse_qs(page.query).items()}
    assert params["method"] == "alipay.trade.page.pay" and params["sign_type"] == "RSA2" and params["sign"]
    assert '"total_amount":"88.50"' in params["biz_content"]
    assert alipay_fake.trades["S20261203001"]["total_amount"] == "88.50"
    # The shopper's browser opens the page: the fake checks the app's signature on it.
    assert alipay_fake.open_page(response.client_data["page_url"]) == 200
    # A retried create names the same trade: the same QR code, still one trade.
    again = alipay.create_payment_session(session(), previous_value=None)
    assert again.client_data["qr_code"] == response.client_data["qr_code"]
    assert list(alipay_fake.trades) == ["S20261203001"]


def test_a_long_reference_is_hashed_into_an_out_trade_no_alipay_takes(alipay, alipay_fake):
    reference = "checkout:" + "x" * 80
    response = alipay.create_payment_session(session(reference=reference), previous_value=None)
    assert response.success and len(response.psp_reference) <= 64 and response.psp_reference.isalnum()
    assert response.psp_reference == out_no(reference)


def test_query_follows_the_trade_from_unpaid_to_paid(alipay, alipay_fake):
    assert alipay.query_payment_session(query(), previous_value=None).status == GatewayStatus.PENDING  # no trade yet
    alipay.create_payment_session(session(), previous_value=None)
    assert alipay.query_payment_session(query(), previous_value=None).status == GatewayStatus.PENDING
    alipay_fake.pay("S20261203001")
    paid = alipay.query_payment_session(query(), previous_value=None)
    assert paid.success and paid.status == GatewayStatus.CAPTURED
    assert paid.amount == Decimal("88.50") and paid.currency == "CNY"


def test_close_cancels_an_unpaid_trade_and_refuses_a_paid_one(alipay, alipay_fake):
    alipay.create_payment_session(session(), previous_value=None)
    closed = alipay.close_payment_session(query(), previous_value=None)
    assert closed.success and closed.status == GatewayStatus.CANCELLED
    assert alipay_fake.trades["S20261203001"]["trade_status"] == "TRADE_CLOSED"
    alipay.create_payment_session(session(reference="S2"), previous_value=None)
    alipay_fake.pay("S2")
    refused = alipay.close_payment_session(query(reference="S2"), previous_value=None)
    assert not refused.success and refused.status == GatewayStatus.CAPTURED


def test_a_counter_payment_code_pays_at_once_or_is_declined(alipay):
    from plugins.payments.interface import PaymentData

    ok = alipay.process_payment(
        PaymentData(amount=Decimal("12.00"), currency="CNY", token="paycode_ok", idempotency_key="counter-1"),
        previous_value=None,
    )
    assert ok.success and ok.status == GatewayStatus.CAPTURED and ok.amount == Decimal("12.00")
    declined = alipay.process_payment(
        PaymentData(amount=Decimal("12.00"), currency="CNY", token="bad", idempotency_key="counter-2"),
        previous_value=None,
    )
    assert not declined.success and declined.error_code == GatewayErrorCode.DECLINED


# --- notifications ---


def post(client, params: dict):
    return client.post(URL, params)


def test_a_signed_notification_captures_the_payment_once_and_is_answered_success(client, alipay, alipay_fake):
    response = alipay.create_payment_session(session(), previous_value=None)
    payment = pending_payment(response.psp_reference)
    notification = alipay_fake.pay("S20261203001")
    answer = post(client, notification)
    assert answer.status_code == 200 and answer.content == b"success"
    assert answer["Content-Type"].startswith("text/plain")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED and payment.captured_amount == Decimal("88.50")
    # Alipay redelivers until it reads "success": the same notify_id changes nothing.
    again = post(client, notification)
    assert again.content == b"success"
    assert WebhookEvent.objects.filter(gateway="alipay").count() == 1
    events = alipay.parse_webhook(type("R", (), {"POST": notification})(), previous_value=None)
    assert events[0].type == GatewayEventType.PAYMENT_CAPTURED and events[0].reference == "S20261203001"


@pytest.mark.parametrize(
    "tamper",
    [
        {"total_amount": "0.01"},  # the amount changed after signing
        {"trade_status": "TRADE_SUCCESS", "out_trade_no": "S-other"},
        {"sign": "AAAA"},
    ],
)
def test_a_tampered_notification_is_refused_and_moves_nothing(client, alipay, alipay_fake, tamper):
    alipay.create_payment_session(session(), previous_value=None)
    payment = pending_payment("S20261203001")
    notification = {**alipay_fake.pay("S20261203001"), **tamper}
    answer = post(client, notification)
    assert answer.status_code == 400 and answer.content == b"fail"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ACTION_REQUIRED
    assert not WebhookEvent.objects.exists()


def test_a_notification_signed_by_another_key_or_for_another_app_is_refused(client, alipay, alipay_fake):
    from .fakes.alipay_fake import rsa2_sign, signing_string
    from .fakes.keys import shared_pair

    alipay.create_payment_session(session(), previous_value=None)
    notification = alipay_fake.pay("S20261203001")
    forged = dict(notification)
    forged["sign"] = rsa2_sign(shared_pair("someone-else"), signing_string(forged))
    assert post(client, forged).status_code == 400
    other_app = alipay_fake.notification("S20261203001", app_id="2021999999999999")
    assert post(client, other_app).status_code == 400
    assert not WebhookEvent.objects.exists()


# --- refunds ---


@pytest.fixture
def captured(alipay, alipay_fake):
    alipay.create_payment_session(session(amount="100.00"), previous_value=None)
    alipay_fake.pay("S20261203001")
    payment = pending_payment("S20261203001", amount="100.00")
    payment.status = PaymentStatus.CAPTURED
    payment.captured_amount = Decimal("100.00")
    payment.save()
    return payment


def test_partial_refunds_each_have_their_out_request_no(alipay, alipay_fake, captured):
    first = services.payment_refund(payment=captured, amount=cny(30), idempotency_key="refund:order-1:1")
    second = services.payment_refund(payment=captured, amount=cny("20.50"), idempotency_key="refund:order-1:2")
    assert first.status == second.status == RefundStatus.SUCCEEDED
    trade = alipay_fake.trades["S20261203001"]
    assert trade["refunds"] == {out_no("refund:order-1:1"): "30.00", out_no("refund:order-1:2"): "20.50"}
    assert first.psp_reference == out_no("refund:order-1:1")
    captured.refresh_from_db()
    assert captured.status == PaymentStatus.PARTIALLY_REFUNDED and captured.refunded_amount == Decimal("50.50")
    # More than is left: Alipay refuses, nothing recorded as refunded.
    with pytest.raises(Exception):
        services.payment_refund(payment=captured, amount=cny(60), idempotency_key="refund:order-1:3")
    assert len(trade["refunds"]) == 2


def test_a_refund_notification_is_verified_and_applied_once(client, alipay, alipay_fake, captured):
    refund = Refund.objects.create(
        payment=captured, amount=Decimal("10.00"), currency="CNY", psp_reference=out_no("r-1"), idempotency_key="r-1"
    )
    alipay_fake.trades["S20261203001"]["refunds"][out_no("r-1")] = "10.00"
    notification = alipay_fake.refund_notification("S20261203001", out_no("r-1"))
    assert post(client, notification).content == b"success"
    assert post(client, notification).content == b"success"
    refund.refresh_from_db()
    captured.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and captured.refunded_amount == Decimal("10.00")


# --- faults: nothing lost, nothing doubled, the same key on retry ---


@pytest.mark.parametrize("kind", ["timeout", "http500", "busy"])
def test_a_refund_that_fails_in_transit_is_retried_under_the_same_out_request_no(alipay, alipay_fake, captured, kind):
    alipay_fake.fail("alipay.trade.refund", kind)
    with pytest.raises(Exception) as failure:
        services.payment_refund(payment=captured, amount=cny(40), idempotency_key="refund:o-9")
    assert getattr(failure.value, "code", None).value == "payment_timeout"
    refund = Refund.objects.get(idempotency_key="refund:o-9")
    assert refund.status == RefundStatus.REQUESTED  # the attempt is recorded, the outcome unknown
    # The retry asks again under the same number; a refund that did happen is confirmed, not repeated.
    retried = services.payment_refund(payment=captured, amount=cny(40), idempotency_key="refund:o-9")
    assert retried.pk == refund.pk and retried.status == RefundStatus.SUCCEEDED
    trade = alipay_fake.trades["S20261203001"]
    assert trade["refunds"] == {out_no("refund:o-9"): "40.00"}
    numbers = [biz["out_request_no"] for name, biz in alipay_fake.calls if name == "alipay.trade.refund"]
    assert numbers == [out_no("refund:o-9")] * 2
    captured.refresh_from_db()
    assert captured.refunded_amount == Decimal("40.00")


@pytest.mark.parametrize("kind", ["timeout", "http500", "busy"])
def test_a_session_create_that_fails_in_transit_is_retried_onto_the_same_trade(alipay, alipay_fake, kind):
    alipay_fake.fail("alipay.trade.precreate", kind)
    failed = alipay.create_payment_session(session(), previous_value=None)
    assert not failed.success and failed.error_code == GatewayErrorCode.TIMEOUT
    retried = alipay.create_payment_session(session(), previous_value=None)
    assert retried.success and retried.psp_reference == "S20261203001"
    assert list(alipay_fake.trades) == ["S20261203001"]


@pytest.mark.parametrize("step", ["alipay.trade.query", "alipay.trade.close"])
def test_query_and_close_faults_say_timeout_and_change_nothing(alipay, alipay_fake, step):
    alipay.create_payment_session(session(), previous_value=None)
    alipay_fake.fail(step, "http500")
    call = alipay.query_payment_session if step.endswith("query") else alipay.close_payment_session
    failed = call(query(), previous_value=None)
    assert not failed.success and failed.error_code == GatewayErrorCode.TIMEOUT
    assert alipay_fake.trades["S20261203001"]["trade_status"] == "WAIT_BUYER_PAY"
    assert call(query(), previous_value=None).success


def test_an_answer_not_signed_by_alipay_is_not_believed(alipay, alipay_fake):
    from .fakes.keys import shared_pair

    alipay_fake.alipay_pair = shared_pair("someone-else")
    failed = alipay.create_payment_session(session(), previous_value=None)
    assert not failed.success and failed.error_code == GatewayErrorCode.ERROR


def test_the_configuration_points_at_the_fake_and_keys_stay_secret():
    from plugins.base import ConfigType

    structure = AlipayGatewayPlugin.CONFIG_STRUCTURE
    assert structure["app_private_key"].type == ConfigType.SECRET
    assert structure["gateway_url"].default == "https://openapi.alipay.com/gateway.do"
    assert alipay_configuration  # used by the served tests too
