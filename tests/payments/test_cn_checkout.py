"""Checkouts paid through Alipay and WeChat Pay payment sessions, end to end against the fakes.

The plugins are wrapped like tests/checkout/guarded.py wraps the dummy gateway: any session
call made inside a database transaction (while row locks may be held) fails the test. The
shopper pays at the fake; the fake's signed notification comes to the webhook, or the shopper's
client calls checkoutComplete, in either order: the orders are placed once.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.checkout import services
from backend.checkout.sessions import PaymentSession, PaymentSessionState
from backend.core.exceptions import DomainError, DomainErrors
from backend.orders.models import Order
from backend.payments.models import Payment, PaymentStatus
from plugins.payments.alipay import AlipayGatewayPlugin
from plugins.payments.wechatpay import WeChatPayGatewayPlugin

from ..checkout.guarded import GUARDED_HOOKS, GuardedDummyGateway, _guarded
from ..checkout.helpers import PLUGINS, listing, logistics_data, ready_checkout, store  # noqa: F401 (autouse)

pytestmark = pytest.mark.django_db(transaction=True)
S = PaymentSessionState


class GuardedAlipay(AlipayGatewayPlugin):
    _guard = GuardedDummyGateway._guard
    lock = GuardedDummyGateway.lock
    calls = property(lambda self: GuardedDummyGateway.calls)
    violations = property(lambda self: GuardedDummyGateway.violations)
    time_out: list[str] = []  # the guarded wrapper's own fault switch; these tests use the fakes'


class GuardedWeChatPay(WeChatPayGatewayPlugin):
    _guard = GuardedDummyGateway._guard
    lock = GuardedDummyGateway.lock
    calls = property(lambda self: GuardedDummyGateway.calls)
    violations = property(lambda self: GuardedDummyGateway.violations)
    time_out: list[str] = []  # the guarded wrapper's own fault switch; these tests use the fakes'


for _base, _cls in ((AlipayGatewayPlugin, GuardedAlipay), (WeChatPayGatewayPlugin, GuardedWeChatPay)):
    for _hook in GUARDED_HOOKS:
        setattr(_cls, _hook, _guarded(_base, _hook))


@pytest.fixture(autouse=True)
def guarded(settings):
    settings.PLUGINS = [*PLUGINS, f"{__name__}.GuardedAlipay", f"{__name__}.GuardedWeChatPay"]
    GuardedDummyGateway.reset()
    yield
    assert GuardedDummyGateway.violations == []


@pytest.fixture
def tea(db):
    vendor, _ = store("West Lake Tea")
    return listing(vendor, price="88.00", stock=3)


def codes(error) -> list[str]:
    errors = error.errors if isinstance(error, DomainErrors) else [error]
    return [e.code.value for e in errors]


def start(checkout, gateway):
    return services.checkout_payment_create(checkout=checkout, user=None, gateway=gateway)


def complete(checkout, session):
    return services.checkout_complete(checkout=checkout, user=None, payment_session=session.reference)


# --- Alipay ---


def test_an_alipay_checkout_is_placed_once_by_the_notification_then_checkout_complete(client, alipay, alipay_fake, tea):
    checkout = ready_checkout(lines=[(tea, 2)])
    session = start(checkout, "alipay")
    assert session.state == S.PENDING
    assert session.psp_reference == session.reference  # "ps" + hex: Alipay takes it as out_trade_no
    assert session.client_data["qr_code"].startswith("https://qr.alipay.com/")
    assert session.client_data["page_url"].startswith(alipay_fake.url)
    total = session.total.amount
    assert alipay_fake.trades[session.psp_reference]["total_amount"] == str(total)
    # Not paid yet: checkoutComplete says so and places nothing.
    with pytest.raises((DomainError, DomainErrors)) as refused:
        complete(checkout, session)
    assert codes(refused.value) == ["payment_not_confirmed"]
    notification = alipay_fake.pay(session.psp_reference)
    answer = client.post("/webhooks/payments/alipay/", notification)
    assert (answer.status_code, answer.content) == (200, b"success")
    session.refresh_from_db()
    assert session.state == S.COMPLETED
    payment = Payment.objects.get(gateway="alipay")
    assert payment.status == PaymentStatus.CAPTURED and payment.captured_amount == total
    assert payment.psp_reference == session.psp_reference
    # The shopper's client completes afterwards: the same orders, nothing twice.
    completion = complete(checkout, session)
    assert [o.pk for o in completion.orders] == [o.pk for o in Order.objects.all()]
    assert Order.objects.count() == 1 and Payment.objects.filter(gateway="alipay").count() == 1
    # Alipay redelivers: answered success, nothing moves.
    assert client.post("/webhooks/payments/alipay/", notification).content == b"success"
    assert Payment.objects.filter(gateway="alipay").count() == 1


def test_a_lost_query_answer_then_the_late_notification_completes_the_checkout_once(client, alipay, alipay_fake, tea):
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout, "alipay")
    notification = alipay_fake.pay(session.psp_reference)
    alipay_fake.fail("alipay.trade.query", "timeout")
    with pytest.raises((DomainError, DomainErrors)) as failed:
        complete(checkout, session)
    assert codes(failed.value) == ["payment_timeout"]
    assert Order.objects.count() == 0
    # The notification arrives later: verified with Alipay again, the orders are placed.
    assert client.post("/webhooks/payments/alipay/", notification).content == b"success"
    assert Order.objects.count() == 1
    assert complete(checkout, session).orders[0].pk == Order.objects.get().pk
    assert Payment.objects.filter(gateway="alipay").count() == 1


def test_a_session_create_lost_in_transit_is_asked_again_under_the_same_trade(alipay, alipay_fake, tea):
    checkout = ready_checkout(lines=[(tea, 1)])
    alipay_fake.fail("alipay.trade.precreate", "timeout")
    with pytest.raises((DomainError, DomainErrors)) as failed:
        start(checkout, "alipay")
    assert codes(failed.value) == ["payment_timeout"]
    session = start(checkout, "alipay")
    assert session.state == S.PENDING
    assert list(alipay_fake.trades) == [session.reference]  # one trade, created by the lost call
    assert PaymentSession.objects.count() == 1


def test_a_trade_paid_with_another_amount_places_nothing(client, alipay, alipay_fake, tea):
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout, "alipay")
    notification = alipay_fake.pay(session.psp_reference, amount="0.01")
    assert client.post("/webhooks/payments/alipay/", notification).content == b"success"
    session.refresh_from_db()
    assert session.state != S.COMPLETED and Order.objects.count() == 0


def test_alipay_is_offered_only_for_cny_checkouts(alipay, tea):
    from backend.payments.services import available_payment_gateways

    checkout = ready_checkout(lines=[(tea, 1)])
    total = services.checkout_summary(checkout).total
    assert "alipay" in [g.id for g in available_payment_gateways(amount=total)]
    from moneyed import Money

    assert "alipay" not in [g.id for g in available_payment_gateways(amount=Money(Decimal("10.00"), "USD"))]


# --- WeChat Pay ---


def test_a_wechat_pay_checkout_is_placed_once_whichever_comes_first(client, wechatpay, wechat_fake, tea):
    from .test_wechatpay import post

    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout, "wechatpay")
    assert session.state == S.PENDING
    assert session.client_data["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    order = wechat_fake.orders[session.psp_reference]
    assert len(session.psp_reference) == 32 and order["attach"] == session.reference  # hashed; the reference rides along
    assert order["amount"]["total"] == int(session.total.amount * 100)
    notification = wechat_fake.pay(session.psp_reference)
    # checkoutComplete first this time, then the notification.
    completion = complete(checkout, session)
    assert len(completion.orders) == 1
    answer = post(client, notification)
    assert answer.status_code == 200 and answer.json()["code"] == "SUCCESS"
    assert Order.objects.count() == 1
    payment = Payment.objects.get(gateway="wechatpay")
    assert payment.status == PaymentStatus.CAPTURED and payment.captured_amount == session.total.amount


@pytest.mark.parametrize("kind", ["timeout", "http500"])
def test_wechat_pay_a_lost_query_then_the_late_notification_completes_once(client, wechatpay, wechat_fake, tea, kind):
    from .test_wechatpay import post

    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout, "wechatpay")
    notification = wechat_fake.pay(session.psp_reference)
    wechat_fake.fail("query", kind)
    with pytest.raises((DomainError, DomainErrors)) as failed:
        complete(checkout, session)
    assert codes(failed.value) == ["payment_timeout"]
    assert Order.objects.count() == 0
    assert post(client, notification).status_code == 200
    assert Order.objects.count() == 1
    assert post(client, notification).status_code == 200  # redelivered
    assert complete(checkout, session).orders[0].pk == Order.objects.get().pk
    assert Payment.objects.filter(gateway="wechatpay").count() == 1


def test_wechat_pay_a_session_create_lost_in_transit_is_the_same_order_when_asked_again(wechatpay, wechat_fake, tea):
    checkout = ready_checkout(lines=[(tea, 1)])
    wechat_fake.fail("native", "timeout")
    with pytest.raises((DomainError, DomainErrors)) as failed:
        start(checkout, "wechatpay")
    assert codes(failed.value) == ["payment_timeout"]
    session = start(checkout, "wechatpay")
    assert session.state == S.PENDING and list(wechat_fake.orders) == [session.psp_reference]


# --- Refunds: asked with no transaction open; an unanswered one is finished once ---


def _refunded_once(order, amount) -> None:
    from backend.finance.ledger import ledger_problems
    from backend.finance.models import LedgerTransaction, TransactionKind

    order.refresh_from_db()
    assert order.refunded_amount == amount
    assert LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_FROM_ESCROW).count() == 1
    assert ledger_problems() == []


def test_an_alipay_refund_whose_answer_is_late_is_finished_by_its_notification_once(client, alipay, alipay_fake, tea):
    from backend.core.money import Money
    from backend.orders import services as orders
    from backend.orders.models import OrderRefund, OrderRefundStatus
    from backend.payments import services as payments
    from backend.payments.models import Refund, RefundStatus
    from plugins.payments.alipay import out_no

    from .test_alipay import post

    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout, "alipay")
    post(client, alipay_fake.pay(session.psp_reference))
    (order,) = complete(checkout, session).orders
    alipay_fake.fail("alipay.trade.refund", "timeout")  # Alipay refunds, its answer comes too late
    with pytest.raises(DomainError) as late:
        orders.order_refund(order=order, amount=Money("20.00", "CNY"), idempotency_key="r-late", actor=None)
    assert late.value.code.name == "PAYMENT_TIMEOUT"
    refund = Refund.objects.get(idempotency_key="r-late")
    assert refund.status == RefundStatus.REQUESTED and refund.psp_reference == out_no("r-late")
    notification = alipay_fake.refund_notification(session.psp_reference, out_no("r-late"))
    assert post(client, notification).content == b"success"
    assert post(client, notification).content == b"success"  # redelivered: nothing twice
    assert OrderRefund.objects.get(idempotency_key="r-late").status == OrderRefundStatus.SUCCEEDED
    assert payments.payments_complete_refunds() == 0
    assert alipay_fake.count("alipay.trade.refund") == 1
    assert alipay_fake.trades[session.psp_reference]["refunds"] == {out_no("r-late"): "20.00"}
    _refunded_once(order, 20)


@pytest.mark.parametrize("kind", ["timeout", "http500"])
def test_a_wechat_pay_refund_without_an_answer_is_finished_once_by_the_periodic_task(wechatpay, wechat_fake, tea, kind):
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from backend.core.money import Money
    from backend.orders import services as orders
    from backend.orders.models import OrderRefund, OrderRefundStatus
    from backend.payments import services as payments
    from plugins.payments.wechatpay import out_refund_no

    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout, "wechatpay")
    wechat_fake.pay(session.psp_reference)
    (order,) = complete(checkout, session).orders
    wechat_fake.fail("refund", kind)
    with pytest.raises(DomainError):
        orders.order_refund(order=order, amount=Money("30.00", "CNY"), idempotency_key="r-lost", actor=None)
    record = OrderRefund.objects.get(idempotency_key="r-lost")
    assert record.status == OrderRefundStatus.REQUESTED
    assert record.payment_refund.psp_reference == out_refund_no("r-lost")
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_REFUND_RETRY_AFTER + 1)
    assert payments.payments_complete_refunds(now=later) == 1
    assert payments.payments_complete_refunds(now=later) == 0
    assert OrderRefund.objects.get(idempotency_key="r-lost").status == OrderRefundStatus.SUCCEEDED
    assert list(wechat_fake.refunds) == [out_refund_no("r-lost")]  # one refund at WeChat Pay
    _refunded_once(order, 30)
