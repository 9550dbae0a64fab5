"""Refunds in three phases: claimed under the order's lock, the gateway asked with no transaction
open, the answer recorded once. The guarded dummy gateway (tests/checkout/guarded.py) fails any
call made inside a transaction, so these run with real transactions.

Refunds, partial refunds, cancellations of paid orders and the partial capture of a cancelled
order's payment never ask the gateway under a lock; an unanswered refund stays REQUESTED, holds
its amount back from what is left to refund, and is finished once, by a retry with its key, by
the gateway's webhook, or by the periodic payments.complete_refunds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from backend.core import periodic
from backend.core.exceptions import DomainError
from backend.core.money import Money
from backend.finance.ledger import ledger_problems
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.checkout import services as checkout
from backend.orders import services as orders
from backend.orders.models import Order, OrderRefund, OrderRefundStatus, OrderStatus
from backend.payments import services as payments
from backend.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from plugins.models import PluginConfiguration
from plugins.payments.interface import GatewayErrorCode, GatewayResponse

from ..checkout.guarded import GUARDED_DUMMY, GuardedDummyGateway
from ..checkout.helpers import GUANGZHOU, HANGZHOU, PLUGINS, listing, pending, ready_checkout, store
from ..conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "whsec-dummy"


@pytest.fixture(autouse=True)
def guarded_gateway(settings):
    settings.PLUGINS = [p for p in PLUGINS if not p.endswith("DummyGatewayPlugin")] + [GUARDED_DUMMY]
    GuardedDummyGateway.reset()
    yield GuardedDummyGateway
    assert GuardedDummyGateway.violations == []


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def later() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=django_settings.PAYMENT_REFUND_RETRY_AFTER + 1)


def fresh(order) -> Order:
    return Order.objects.get(pk=order.pk)


def refund_postings() -> int:
    return LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_FROM_ESCROW).count()


@pytest.fixture
def world(db):
    PluginConfiguration.objects.update_or_create(
        identifier="dummy", defaults={"active": True, "configuration": {"webhook_secret": SECRET}}
    )
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    shopper = make_user()
    green = listing(tea, price="30.00", stock=5)
    scarf = listing(silk, price="120.00", stock=5)
    c = ready_checkout(shopper, [(green, 2), (scarf, 1)])
    return {"tea": tea, "tea_owner": tea_owner, "silk": silk, "shopper": shopper, "green": green, "checkout": c}


def place(world):
    c = world["checkout"]
    session = checkout.checkout_payment_create(checkout=c, user=world["shopper"], gateway="dummy")
    result = checkout.checkout_complete(checkout=c, user=world["shopper"], payment_session=session.reference)
    tea_order, silk_order = sorted(result.orders, key=lambda o: o.vendor_id != world["tea"].pk)
    return tea_order, silk_order


def webhook(client, body: dict):
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post("/webhooks/payments/dummy/", raw, content_type="application/json", HTTP_X_DUMMY_SIGNATURE=signature)


def test_partial_and_full_refunds_ask_the_gateway_outside_any_transaction(world, guarded_gateway):
    tea_order, _ = place(world)
    part = orders.order_refund(order=tea_order, amount=cny("5.00"), idempotency_key="r-part", actor=None)
    assert part.status == OrderRefundStatus.SUCCEEDED and part.payment_refund.status == RefundStatus.SUCCEEDED
    assert fresh(tea_order).status == OrderStatus.PAID
    rest = fresh(tea_order).total - fresh(tea_order).refunded
    done = orders.order_refund(order=tea_order, amount=rest, idempotency_key="r-rest", actor=None)
    assert done.order.status == OrderStatus.REFUNDED and done.order.refunded_amount == tea_order.total_amount
    # The same key again is the same refund: nothing asked, nothing moved.
    again = orders.order_refund(order=tea_order, amount=cny("5.00"), idempotency_key="r-part", actor=None)
    assert again.pk == part.pk
    assert guarded_gateway.calls.count("refund_payment") == 2
    world["green"].refresh_from_db()
    assert world["green"].stock == 5  # refunded in full before shipment: the stock is back
    assert pending(world["tea"]) == 0 and refund_postings() == 2
    assert ledger_problems() == []


def test_cancelling_a_paid_order_refunds_it_after_the_cancellation_commits(world, guarded_gateway):
    tea_order, silk_order = place(world)
    order = orders.order_cancel(actor=world["shopper"], order=tea_order, reason="Changed my mind")
    assert (order.status, order.refunded_amount) == (OrderStatus.CANCELLED, tea_order.total_amount)
    assert OrderRefund.objects.get(order=order).status == OrderRefundStatus.SUCCEEDED
    assert guarded_gateway.calls.count("refund_payment") == 1
    assert (pending(world["tea"]), pending(world["silk"])) == (0, silk_order.total_amount)
    assert Payment.objects.get().refunded_amount == tea_order.total_amount
    assert ledger_problems() == []


def test_cancelling_one_order_of_an_authorized_payment_captures_the_rest_after_the_transaction(world, guarded_gateway):
    guarded_gateway.time_out.append("capture_payment")
    tea_order, silk_order = place(world)
    assert Payment.objects.get().status == PaymentStatus.AUTHORIZED
    assert {fresh(tea_order).status, fresh(silk_order).status} == {OrderStatus.UNPAID}
    order = orders.order_cancel(actor=world["shopper"], order=tea_order, reason="Only the scarf")
    assert order.status == OrderStatus.CANCELLED
    payment = Payment.objects.get()
    assert (payment.status, payment.captured_amount) == (PaymentStatus.CAPTURED, silk_order.total_amount)
    assert fresh(silk_order).status == OrderStatus.PAID and pending(world["silk"]) == silk_order.total_amount
    assert guarded_gateway.calls.count("capture_payment") == 2 and "refund_payment" not in guarded_gateway.calls
    assert ledger_problems() == []


def test_an_unanswered_refund_holds_its_amount_and_the_periodic_task_finishes_it_once(world, guarded_gateway):
    tea_order, _ = place(world)
    guarded_gateway.time_out.append("refund_payment")
    with pytest.raises(DomainError) as timed_out:
        orders.order_refund(order=tea_order, amount=tea_order.total, idempotency_key="r-1", actor=None)
    assert timed_out.value.code.name == "PAYMENT_TIMEOUT"
    record = OrderRefund.objects.get(idempotency_key="r-1")
    assert record.status == OrderRefundStatus.REQUESTED and record.payment_refund.status == RefundStatus.REQUESTED
    assert fresh(tea_order).refunded_amount == 0 and refund_postings() == 0
    # The claimed amount is held back: no other refund can take it meanwhile.
    with pytest.raises(DomainError) as refused:
        orders.order_refund(order=tea_order, amount=cny("0.01"), idempotency_key="r-2", actor=None)
    assert refused.value.code.name == "AMOUNT_TOO_HIGH"
    assert not Refund.objects.filter(idempotency_key="r-2").exists()
    # The attempt is recent: the periodic task leaves it to whoever may still be asking.
    assert payments.payments_complete_refunds() == 0
    assert guarded_gateway.calls.count("refund_payment") == 1
    periodic.load_tasks()
    run = periodic.REGISTRY["payments.complete_refunds"]
    assert "payments.complete_refunds" in periodic.task_names()  # in the beat schedule and the embedded scheduler
    assert payments.payments_complete_refunds(now=later()) == 1
    order = fresh(tea_order)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, order.total_amount)
    assert OrderRefund.objects.get(idempotency_key="r-1").status == OrderRefundStatus.SUCCEEDED
    assert guarded_gateway.calls.count("refund_payment") == 2
    # Done once: the task again, and the retry of the request, move nothing.
    assert run().result == 0
    assert orders.order_refund(order=order, amount=order.total, idempotency_key="r-1", actor=None).pk == record.pk
    assert guarded_gateway.calls.count("refund_payment") == 2
    assert pending(world["tea"]) == 0 and refund_postings() == 1
    assert Payment.objects.get().refunded_amount == order.total_amount
    assert ledger_problems() == []


def test_a_retry_with_the_same_key_finishes_an_unanswered_refund(world, guarded_gateway):
    tea_order, _ = place(world)
    guarded_gateway.time_out.append("refund_payment")
    with pytest.raises(DomainError):
        orders.order_refund(order=tea_order, amount=cny("7.00"), idempotency_key="r-1", actor=None)
    done = orders.order_refund(order=tea_order, amount=cny("7.00"), idempotency_key="r-1", actor=None)
    assert done.status == OrderRefundStatus.SUCCEEDED and done.order.refunded_amount == 7
    assert payments.payments_complete_refunds(now=later()) == 0
    assert guarded_gateway.calls.count("refund_payment") == 2 and refund_postings() == 1
    assert ledger_problems() == []


def test_a_refund_answered_by_a_5xx_keeps_its_reference_and_its_webhook_finishes_it_once(client, world, guarded_gateway):
    tea_order, _ = place(world)
    guarded_gateway.lose_answer.append("refund_payment")
    with pytest.raises(DomainError) as failed:
        orders.order_refund(order=tea_order, amount=cny("10.00"), idempotency_key="r-1", actor=None)
    assert failed.value.code.name == "GATEWAY_ERROR"
    refund = Refund.objects.get(idempotency_key="r-1")
    assert refund.status == RefundStatus.REQUESTED and refund.psp_reference.startswith("dummy_refund_")
    event = {"id": "evt-refund-1", "type": "refund_succeeded", "psp_reference": refund.psp_reference}
    assert webhook(client, event).json() == {"applied": 1, "duplicates": 0}
    record = OrderRefund.objects.get(idempotency_key="r-1")
    assert record.status == OrderRefundStatus.SUCCEEDED and fresh(tea_order).refunded_amount == 10
    assert webhook(client, event).json() == {"applied": 0, "duplicates": 1}
    assert payments.payments_complete_refunds(now=later()) == 0
    assert fresh(tea_order).refunded_amount == 10 and Payment.objects.get().refunded_amount == 10
    assert guarded_gateway.calls.count("refund_payment") == 1 and refund_postings() == 1
    assert ledger_problems() == []


def _refusing(self, data, *, previous_value):
    self._guard("refund_payment")
    return GatewayResponse(success=False, error_code=GatewayErrorCode.DECLINED, error_message="Refunds are closed today.")


def test_a_refused_refund_releases_its_amount_and_says_why(world, guarded_gateway, monkeypatch):
    tea_order, _ = place(world)
    with monkeypatch.context() as patch:
        patch.setattr(GuardedDummyGateway, "refund_payment", _refusing)
        with pytest.raises(DomainError) as refused:
            orders.order_refund(order=tea_order, amount=tea_order.total, idempotency_key="r-1", actor=None)
        assert refused.value.code.name == "REFUND_FAILED" and "Refunds are closed today." in refused.value.message
        # The same key gives the same answer without asking again.
        with pytest.raises(DomainError) as again:
            orders.order_refund(order=tea_order, amount=tea_order.total, idempotency_key="r-1", actor=None)
        assert again.value.code.name == "REFUND_FAILED"
    assert OrderRefund.objects.get(idempotency_key="r-1").status == OrderRefundStatus.FAILED
    assert guarded_gateway.calls.count("refund_payment") == 1 and refund_postings() == 0
    # Nothing is held back any more: a new request refunds the whole order.
    done = orders.order_refund(order=tea_order, amount=tea_order.total, idempotency_key="r-2", actor=None)
    assert done.order.status == OrderStatus.REFUNDED
    assert ledger_problems() == []


def test_a_cancellation_whose_refund_is_refused_stands_and_says_so(world, guarded_gateway, monkeypatch):
    tea_order, _ = place(world)
    monkeypatch.setattr(GuardedDummyGateway, "refund_payment", _refusing)
    with pytest.raises(DomainError) as refused:
        orders.order_cancel(actor=world["tea_owner"], order=tea_order, reason="Out of stock")
    assert refused.value.code.name == "REFUND_FAILED" and "cancelled" in refused.value.message
    order = fresh(tea_order)
    assert order.status == OrderStatus.CANCELLED and order.refunded_amount == 0
    world["green"].refresh_from_db()
    assert world["green"].stock == 5  # the cancellation stands: the stock is back
    assert pending(world["tea"]) == order.total_amount  # the money waits in escrow for a refund that works
    monkeypatch.undo()
    orders.order_refund(order=order, amount=order.total, idempotency_key="staff-1", actor=None)
    assert fresh(order).refunded_amount == order.total_amount and pending(world["tea"]) == 0
    assert ledger_problems() == []


def test_a_paid_order_whose_full_refund_is_unanswered_cannot_be_cancelled_as_well(world, guarded_gateway):
    tea_order, _ = place(world)
    guarded_gateway.time_out.append("refund_payment")
    with pytest.raises(DomainError):
        orders.order_refund(order=tea_order, amount=tea_order.total, idempotency_key="r-all", actor=None)
    # The whole amount is with the gateway: cancelling would claim nothing, and the order would stay
    # cancelled with its money in escrow if that refund were refused.
    with pytest.raises(DomainError) as refused:
        orders.order_cancel(actor=world["tea_owner"], order=tea_order, reason="Sold out")
    assert refused.value.code.name == "INVALID_TRANSITION"
    assert fresh(tea_order).status == OrderStatus.PAID
    world["green"].refresh_from_db()
    assert world["green"].stock == 3  # nothing given back by the refused cancellation
    # The refund, finished later, ends the order: refunded, its stock back once.
    assert payments.payments_complete_refunds(now=later()) == 1
    assert fresh(tea_order).status == OrderStatus.REFUNDED
    world["green"].refresh_from_db()
    assert world["green"].stock == 5


def test_a_paid_order_with_a_partial_refund_unanswered_is_cancelled_for_the_rest(world, guarded_gateway):
    tea_order, _ = place(world)
    guarded_gateway.time_out.append("refund_payment")
    with pytest.raises(DomainError):
        orders.order_refund(order=tea_order, amount=cny("5.00"), idempotency_key="r-part", actor=None)
    order = orders.order_cancel(actor=world["tea_owner"], order=tea_order, reason="Sold out")
    assert order.status == OrderStatus.CANCELLED
    claimed = OrderRefund.objects.get(idempotency_key=f"order:{order.pk}:cancel")
    assert claimed.money == tea_order.total - cny("5.00") and claimed.status == OrderRefundStatus.SUCCEEDED
    assert payments.payments_complete_refunds(now=later()) == 1
    order = fresh(tea_order)
    assert (order.status, order.refunded_amount) == (OrderStatus.CANCELLED, tea_order.total_amount)
    assert ledger_problems() == []
