"""Cancelling orders whose shared payment is only authorized (or still pending at the gateway):
the cancelled part is never kept. With the dummy gateway.

payment_void cancels a whole authorization, so it is used only when no order of the payment is
left to pay; otherwise the authorization is captured for the orders left (which releases the
rest), and whatever a gateway captures for cancelled orders anyway is refunded through order_refund.
"""

import functools
from datetime import timedelta
from decimal import Decimal

import pytest
from graphql_relay import to_global_id

from backend.finance import accounts
from backend.finance.ledger import ledger_problems
from backend.finance.models import LedgerTransaction
from backend.orders import services
from backend.orders.models import Order, OrderRefund, OrderStatus
from backend.payments import services as payments
from backend.payments.models import Payment, PaymentStatus, Refund
from plugins.payments.dummy import DummyGatewayPlugin
from plugins.payments.interface import GatewayErrorCode, GatewayResponse, GatewayStatus

from ..checkout.documents import STOREFRONT_ORDER_CANCEL
from ..checkout.helpers import GUANGZHOU, HANGZHOU, balance, complete, listing, pending, ready_checkout, store
from ..conftest import make_user

pytestmark = pytest.mark.django_db
S = OrderStatus


@pytest.fixture
def gateway_calls(monkeypatch):
    """Checkouts only authorize (a gateway that captures later); the dummy gateway's captures and voids are recorded."""
    calls = []
    monkeypatch.setattr(payments, "payment_process", functools.partial(payments.payment_process, capture=False))
    for hook in ("capture_payment", "void_payment", "refund_payment"):
        original = getattr(DummyGatewayPlugin, hook)

        def spy(self, data, *, previous_value, _hook=hook, _original=original):
            calls.append((_hook, data.amount))
            return _original(self, data, previous_value=previous_value)

        monkeypatch.setattr(DummyGatewayPlugin, hook, spy)
    return calls


@pytest.fixture
def world(gateway_calls):
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    shopper = make_user()
    green = listing(tea, price="30.00", stock=10)
    scarf = listing(silk, price="120.00", stock=5)
    result = complete(ready_checkout(shopper, [(green, 2), (scarf, 1)]), user=shopper)
    tea_order, silk_order = result.orders
    assert result.payment.status == PaymentStatus.AUTHORIZED
    assert (tea_order.status, silk_order.status) == (S.UNPAID, S.UNPAID)
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "shopper": shopper, "green": green, "scarf": scarf,
        "tea_order": tea_order, "silk_order": silk_order, "payment": result.payment, "calls": gateway_calls,
    }


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def test_the_shopper_cancels_one_order_the_others_part_is_captured_and_the_rest_released(world, storefront_api):
    tea_order, silk_order = world["tea_order"], world["silk_order"]
    storefront_api.login(world["shopper"])
    payload = storefront_api.mutate(
        STOREFRONT_ORDER_CANCEL, {"id": to_global_id("Order", tea_order.pk), "reason": "Changed my mind"}
    )
    assert payload["errors"] == []
    assert (payload["order"]["status"], payload["order"]["paymentStatus"]) == ("CANCELLED", "NOT_PAID")
    # Capturing only the silk order's part releases the tea order's part of the authorization.
    assert world["calls"] == [("capture_payment", silk_order.total_amount)]
    payment = fresh(world["payment"])
    assert (payment.status, payment.captured_amount, payment.refunded_amount) == (
        PaymentStatus.CAPTURED, silk_order.total_amount, 0,
    )
    silk_order = fresh(silk_order)
    assert silk_order.status == S.PAID and silk_order.paid_at and silk_order.reserved_until is None
    assert (pending(world["silk"]), pending(world["tea"])) == (silk_order.total_amount, 0)
    assert balance(accounts.buyer_refunds(world["shopper"].pk)) == 0 and not Refund.objects.exists()
    world["green"].refresh_from_db()
    assert world["green"].stock == 10
    assert ledger_problems() == []


def test_cancelling_the_last_order_voids_the_authorization(gateway_calls):
    tea, owner = store("Tea House", origin=HANGZHOU)
    shopper = make_user()
    green = listing(tea, price="30.00", stock=10)
    result = complete(ready_checkout(shopper, [(green, 2)]), user=shopper)
    (order,) = result.orders
    order = services.order_cancel(actor=owner, order=order, reason="Sold out")
    assert order.status == S.CANCELLED and order.refunded_amount == 0
    assert gateway_calls == [("void_payment", result.payment.amount)]
    assert fresh(result.payment).status == PaymentStatus.CANCELLED
    assert not LedgerTransaction.objects.exists()
    green.refresh_from_db()
    assert green.stock == 10


def test_a_gateway_that_captures_everything_refunds_the_cancelled_orders_part(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    def capture_all(self, data, *, previous_value):
        world["calls"].append(("capture_payment", data.amount))
        authorized = Payment.objects.get(pk=data.payment_id).amount
        return GatewayResponse(success=True, psp_reference=data.psp_reference, status=GatewayStatus.CAPTURED,
                               amount=authorized, currency=data.currency)

    monkeypatch.setattr(DummyGatewayPlugin, "capture_payment", capture_all)
    tea_order, silk_order = world["tea_order"], world["silk_order"]
    # The cancelled part is claimed for a refund when the capture is recorded, and refunded once that
    # transaction commits, outside it.
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(actor=world["shopper"], order=tea_order, reason="Changed my mind")
    tea_order = fresh(tea_order)
    assert world["calls"] == [
        ("capture_payment", silk_order.total_amount), ("refund_payment", tea_order.total_amount),
    ]
    assert (tea_order.status, tea_order.refunded_amount, tea_order.payment_status) == (
        S.CANCELLED, tea_order.total_amount, "refunded",
    )
    assert OrderRefund.objects.get(order=tea_order).idempotency_key == f"order:{tea_order.pk}:cancel"
    payment = fresh(world["payment"])
    assert (payment.status, payment.captured_amount, payment.refunded_amount) == (
        PaymentStatus.PARTIALLY_REFUNDED, payment.amount, tea_order.total_amount,
    )
    assert fresh(silk_order).status == S.PAID
    assert (pending(world["tea"]), pending(world["silk"])) == (0, silk_order.total_amount)
    assert balance(accounts.buyer_refunds(world["shopper"].pk)) == tea_order.total_amount
    assert ledger_problems() == []


def test_a_refused_void_does_not_hold_the_cancellation_and_a_later_capture_is_refunded(
    gateway_calls, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(self, data, *, previous_value):
        gateway_calls.append(("void_payment", data.amount))
        return GatewayResponse(success=False, error_code=GatewayErrorCode.ERROR, error_message="Try later.")

    monkeypatch.setattr(DummyGatewayPlugin, "void_payment", refuse)
    tea, owner = store("Tea House", origin=HANGZHOU)
    shopper = make_user()
    green = listing(tea, price="30.00", stock=10)
    result = complete(ready_checkout(shopper, [(green, 1)]), user=shopper)
    (order,) = result.orders
    order = services.order_cancel(actor=shopper, order=order, reason="Too slow")
    assert order.status == S.CANCELLED
    assert fresh(result.payment).status == PaymentStatus.AUTHORIZED
    # The gateway captures it after all (its webhook): the order's part goes straight back.
    payment = payments.payment_capture(payment=result.payment)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_payment_captured(payment=payment)
    order = fresh(order)
    assert (order.status, order.refunded_amount, order.payment_status) == (S.CANCELLED, order.total_amount, "refunded")
    assert fresh(payment).status == PaymentStatus.REFUNDED
    assert (pending(tea), balance(accounts.buyer_refunds(shopper.pk))) == (0, order.total_amount)
    assert ledger_problems() == []


def test_expired_orders_of_an_authorized_payment_void_it_once(world):
    later = world["tea_order"].reserved_until + timedelta(seconds=1)
    assert services.orders_expire_unpaid(now=later) == 2
    assert services.orders_expire_unpaid(now=later) == 0
    assert world["calls"] == [("void_payment", world["payment"].amount)]
    assert fresh(world["payment"]).status == PaymentStatus.CANCELLED
    assert {o.status for o in Order.objects.all()} == {S.CANCELLED}
    world["green"].refresh_from_db(), world["scarf"].refresh_from_db()
    assert (world["green"].stock, world["scarf"].stock) == (10, 5)
    assert not LedgerTransaction.objects.exists()


def test_a_payment_pending_at_the_gateway_refunds_the_cancelled_part_when_it_is_captured(
    settings, django_capture_on_commit_callbacks
):
    from ..payments.gateways import PATH, ScriptedGateway

    settings.PLUGINS = [*settings.PLUGINS, PATH]
    ScriptedGateway.reset("pending")
    tea, _ = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    shopper = make_user()
    result = complete(
        ready_checkout(shopper, [(listing(tea, price="30.00"), 1), (listing(silk, price="120.00"), 1)]),
        user=shopper, gateway="scripted", token="tok",
    )
    tea_order, silk_order = result.orders
    services.order_cancel(actor=shopper, order=tea_order, reason="Only the scarf")
    # Nothing can be voided or captured in part while the gateway has not settled.
    assert [hook for hook, _ in ScriptedGateway.calls] == ["process_payment"]
    assert fresh(result.payment).status == PaymentStatus.PENDING

    import json

    from django.test import Client

    body = {"id": "evt-1", "type": "payment_captured", "psp_reference": result.payment.psp_reference}
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/webhooks/payments/scripted/", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    assert [hook for hook, _ in ScriptedGateway.calls] == ["process_payment", "refund_payment"]
    assert ScriptedGateway.calls[1][1].amount == tea_order.total_amount
    tea_order, silk_order = fresh(tea_order), fresh(silk_order)
    assert (tea_order.status, tea_order.refunded_amount) == (S.CANCELLED, tea_order.total_amount)
    assert silk_order.status == S.PAID
    assert (pending(tea), pending(silk)) == (0, silk_order.total_amount)
    assert balance(accounts.buyer_refunds(shopper.pk)) == tea_order.total_amount
    assert Decimal(fresh(result.payment).refunded_amount) == tea_order.total_amount
    assert ledger_problems() == []
