"""Payment sessions through the dummy gateway: reservation, completion once, expiry, faults.

The guarded dummy gateway (tests/checkout/guarded.py) fails any call made inside a
transaction, so these tests run with real transactions (transaction=True) where they check it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from backend.checkout import services
from backend.checkout.error_codes import CheckoutErrorCode
from backend.checkout.models import CheckoutPaymentAttempt
from backend.checkout.reservations import StockReservation, available_quantities
from backend.checkout.services import LineInput
from backend.checkout.sessions import PaymentSession, PaymentSessionState, session_machine
from backend.core.exceptions import DomainError, DomainErrors
from backend.orders.models import Order, OrderStatus
from backend.payments.models import Payment, PaymentStatus
from plugins.models import PluginConfiguration

from .guarded import GUARDED_DUMMY, GuardedDummyGateway
from .helpers import PLUGINS, listing, pending, ready_checkout, store

S = PaymentSessionState
GATEWAY = "dummy"
SECRET = "whsec-dummy"


@pytest.fixture(autouse=True)
def guarded_gateway(settings):
    settings.PLUGINS = [p for p in PLUGINS if not p.endswith("DummyGatewayPlugin")] + [GUARDED_DUMMY]
    GuardedDummyGateway.reset()
    yield GuardedDummyGateway
    assert GuardedDummyGateway.violations == []


def outcome(value: str) -> None:
    PluginConfiguration.objects.update_or_create(
        identifier="dummy", defaults={"active": True, "configuration": {"session_outcome": value, "webhook_secret": SECRET}}
    )


def start(checkout, **kwargs):
    return services.checkout_payment_create(checkout=checkout, user=None, gateway=GATEWAY, **kwargs)


def complete(checkout, session):
    return services.checkout_complete(checkout=checkout, user=None, payment_session=session.reference)


def codes(error) -> list[str]:
    errors = error.errors if isinstance(error, DomainErrors) else [error]
    return [e.code.value for e in errors]


@pytest.fixture
def goods(db):
    vendor, _ = store("Tea House")
    return vendor, listing(vendor, price="30.00", stock=2)


pytestmark = pytest.mark.django_db(transaction=True)


def test_session_reserves_stock_then_places_the_orders_once(goods, guarded_gateway):
    vendor, tea = goods
    checkout = ready_checkout(lines=[(tea, 2)])
    session = start(checkout)
    assert session.state == S.PENDING and session.reference.startswith("ps") and session.psp_reference
    assert session.client_data["session"] == session.psp_reference
    assert session.total == services.checkout_summary(checkout).total
    # Held for the session: nobody else can buy it, the stock itself is untouched.
    tea.refresh_from_db()
    assert tea.stock == 2 and available_quantities([tea]) == {tea.pk: 0}
    other = ready_checkout(lines=[(tea, 1)], email="other@example.com")
    with pytest.raises((DomainError, DomainErrors)) as refused:
        start(other)
    assert codes(refused.value) == ["insufficient_stock"]
    with pytest.raises((DomainError, DomainErrors)) as refused:
        services.checkout_complete(checkout=other, user=None, gateway=GATEWAY, token="success")
    assert codes(refused.value) == ["insufficient_stock"]

    done = complete(checkout, session)
    again = complete(checkout, session)
    assert [o.pk for o in again.orders] == [o.pk for o in done.orders] and len(done.orders) == 1
    order = Order.objects.get()
    payment = Payment.objects.get()
    assert order.status == OrderStatus.PAID and order.payment_id == payment.pk
    # Captured at placement and held in escrow for the store.
    assert payment.status == PaymentStatus.CAPTURED and payment.psp_reference == session.psp_reference
    assert pending(vendor) == order.total_amount
    session.refresh_from_db()
    assert session.state == S.COMPLETED and session.payment_id == payment.pk
    assert not StockReservation.objects.exists()
    tea.refresh_from_db()
    assert tea.stock == 0
    assert guarded_gateway.calls.count("create_payment_session") == 1
    assert guarded_gateway.calls.count("capture_payment") == 1


def test_asking_again_returns_the_same_session_and_a_change_starts_a_new_one(goods, guarded_gateway):
    _, tea = goods
    checkout = ready_checkout(lines=[(tea, 1)])
    first = start(checkout)
    assert start(checkout).pk == first.pk
    services.checkout_lines_update(checkout=checkout, lines=[LineInput(variant_id=tea.pk, quantity=2)])
    second = start(checkout)
    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.state == S.CANCELLED and not first.reservations.exists()
    assert "close_payment_session" in guarded_gateway.calls
    assert StockReservation.objects.get().quantity == 2


def test_a_checkout_changed_after_paying_is_not_placed_and_the_payment_is_given_back(goods, guarded_gateway):
    _, tea = goods
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout)
    # Changed behind the session's back (a line added elsewhere): the fingerprint no longer matches.
    checkout.lines.update(quantity=2)
    with pytest.raises(DomainError) as changed:
        complete(checkout, session)
    assert changed.value.code == CheckoutErrorCode.CHECKOUT_CHANGED
    session.refresh_from_db()
    assert session.state == S.CANCELLED and not Order.objects.exists() and not StockReservation.objects.exists()
    assert guarded_gateway.calls[-1] == "close_payment_session"


def test_not_confirmed_yet_then_declined(goods):
    _, tea = goods
    outcome("pending")
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout)
    assert session.client_data["confirmed"] is False
    with pytest.raises(DomainError) as waiting:
        complete(checkout, session)
    assert waiting.value.code == CheckoutErrorCode.PAYMENT_NOT_CONFIRMED
    outcome("declined")
    with pytest.raises(DomainError) as declined:
        complete(checkout, session)
    assert declined.value.code == CheckoutErrorCode.PAYMENT_DECLINED
    session.refresh_from_db()
    assert session.state == S.FAILED and not StockReservation.objects.exists() and not Order.objects.exists()
    with pytest.raises(DomainError) as closed:
        complete(checkout, session)
    assert closed.value.code == CheckoutErrorCode.PAYMENT_SESSION_CLOSED


def test_a_timeout_at_creation_is_recorded_and_the_retry_reuses_the_session_and_its_key(goods, guarded_gateway):
    _, tea = goods
    outcome("timeout")
    checkout = ready_checkout(lines=[(tea, 1)])
    with pytest.raises(DomainError) as timeout:
        start(checkout)
    assert timeout.value.code == CheckoutErrorCode.PAYMENT_TIMEOUT
    session = PaymentSession.objects.get()
    assert session.state == S.CREATED and session.error_code == "timeout" and session.reservations.exists()
    attempt = CheckoutPaymentAttempt.objects.get()
    assert attempt.retry_same_key and attempt.idempotency_key == f"{session.idempotency_key}:create"
    outcome("authorized")
    retried = start(checkout)
    assert retried.pk == session.pk and retried.state == S.PENDING and retried.attempts == 2
    # A timeout while verifying changes nothing; the retry completes once.
    outcome("timeout")
    with pytest.raises(DomainError) as timeout:
        complete(checkout, retried)
    assert timeout.value.code == CheckoutErrorCode.PAYMENT_TIMEOUT and not Order.objects.exists()
    outcome("authorized")
    assert len(complete(checkout, retried).orders) == 1
    assert Payment.objects.count() == 1


def test_expired_sessions_are_closed_at_the_gateway_and_free_their_stock(goods, guarded_gateway):
    _, tea = goods
    outcome("pending")
    checkout = ready_checkout(lines=[(tea, 2)])
    session = start(checkout)
    assert services.payment_sessions_expire() == 0
    later = timezone.now() + timedelta(minutes=31)
    assert services.payment_sessions_expire(now=later) == 1
    session.refresh_from_db()
    assert session.state == S.EXPIRED and not StockReservation.objects.exists()
    assert guarded_gateway.calls[-2:] == ["query_payment_session", "close_payment_session"]
    assert services.payment_sessions_expire(now=later) == 0


def test_an_expired_session_that_was_paid_after_all_is_completed(goods):
    _, tea = goods
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout)
    assert services.payment_sessions_expire(now=timezone.now() + timedelta(minutes=31)) == 0
    session.refresh_from_db()
    assert session.state == S.COMPLETED and Order.objects.count() == 1


def _webhook(client, body: dict):
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        "/webhooks/payments/dummy/", raw, content_type="application/json", HTTP_X_DUMMY_SIGNATURE=signature
    )


def test_the_webhook_completes_the_checkout_first_and_checkout_complete_returns_the_same(client, goods, guarded_gateway):
    _, tea = goods
    outcome("authorized")
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout)
    event = {"id": "evt-1", "type": "payment_authorized", "psp_reference": session.psp_reference}
    assert _webhook(client, event).status_code == 200
    session.refresh_from_db()
    assert session.state == S.COMPLETED
    replay = _webhook(client, event)
    assert replay.status_code == 200 and replay.json() == {"applied": 0, "duplicates": 1}
    done = complete(checkout, session)
    assert len(done.orders) == 1 and Order.objects.count() == 1 and Payment.objects.count() == 1
    assert guarded_gateway.calls.count("capture_payment") == 1


def test_a_webhook_whose_check_times_out_is_refused_so_the_gateway_sends_it_again(client, goods):
    _, tea = goods
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout)
    outcome("timeout")
    event = {"id": "evt-2", "type": "payment_authorized", "psp_reference": session.psp_reference}
    failed = _webhook(client, event)
    assert failed.status_code == 500 and "timeout" not in failed.content.decode().lower()
    assert not Order.objects.exists()
    outcome("authorized")
    assert _webhook(client, event).json() == {"applied": 1, "duplicates": 0}
    assert Order.objects.count() == 1


def test_no_gateway_call_happens_inside_a_transaction(goods, guarded_gateway):
    """The guard itself: a call inside atomic() is refused (so the tests above would catch one)."""
    from django.db import transaction

    _, tea = goods
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout)
    with pytest.raises(AssertionError):
        with transaction.atomic():
            assert connection.in_atomic_block
            complete(checkout, session)
    guarded_gateway.violations.clear()


def test_session_state_machine_allows_only_its_transitions():
    assert session_machine.can(S.CREATED, S.PENDING)
    assert session_machine.can(S.PENDING, S.AUTHORIZED) and session_machine.can(S.AUTHORIZED, S.COMPLETED)
    assert session_machine.can(S.SUCCEEDED, S.COMPLETED)
    for source, target in [
        (S.COMPLETED, S.CANCELLED), (S.COMPLETED, S.PENDING), (S.FAILED, S.PENDING), (S.EXPIRED, S.AUTHORIZED),
        (S.CREATED, S.COMPLETED), (S.PENDING, S.COMPLETED), (S.SUCCEEDED, S.CANCELLED), (S.CANCELLED, S.CREATED),
    ]:
        assert not session_machine.can(source, target), (source, target)
        with pytest.raises(DomainError) as refused:
            session_machine.check(source, target)
        assert refused.value.code == CheckoutErrorCode.INVALID_TRANSITION


def test_a_capture_timeout_leaves_the_orders_placed_once_and_completing_again_captures(goods, guarded_gateway):
    vendor, tea = goods
    checkout = ready_checkout(lines=[(tea, 1)])
    session = start(checkout)
    guarded_gateway.time_out.append("capture_payment")
    first = complete(checkout, session)
    (order,) = first.orders
    order.refresh_from_db()
    payment = Payment.objects.get()
    assert order.status == OrderStatus.UNPAID and payment.status == PaymentStatus.AUTHORIZED
    assert payment.error_code == "timeout" and pending(vendor) == 0
    second = complete(checkout, session)
    assert [o.pk for o in second.orders] == [order.pk]
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED and order.status == OrderStatus.PAID
    assert pending(vendor) == order.total_amount  # held in escrow once
    assert guarded_gateway.calls.count("capture_payment") == 2


def test_a_refund_timeout_refunds_once_on_retry(goods, guarded_gateway):
    from backend.core.money import Money
    from backend.orders import services as orders

    vendor, tea = goods
    checkout = ready_checkout(lines=[(tea, 1)])
    (order,) = complete(checkout, start(checkout)).orders
    guarded_gateway.time_out.append("refund_payment")
    with pytest.raises(DomainError):
        orders.order_refund(order=order, amount=Money("5.00", "CNY"), idempotency_key="r-1", actor=None)
    order.refresh_from_db()
    assert order.refunded_amount == 0
    orders.order_refund(order=order, amount=Money("5.00", "CNY"), idempotency_key="r-1", actor=None)
    orders.order_refund(order=order, amount=Money("5.00", "CNY"), idempotency_key="r-1", actor=None)
    order.refresh_from_db()
    payment = Payment.objects.get()
    assert order.refunded_amount == 5 and payment.refunded_amount == 5
    assert pending(vendor) == order.total_amount - 5
