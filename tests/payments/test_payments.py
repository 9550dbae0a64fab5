"""Payments through gateway plugins: the dummy gateway, idempotency, refunds, payouts, status rules."""

import pytest
from moneyed import Money

from backend.core.exceptions import DomainError
from backend.finance.ledger import account_balance, ledger_problems, vendor_balance
from backend.finance import accounts
from backend.finance import services as movements
from backend.payments import services
from backend.payments.error_codes import PaymentErrorCode
from backend.payments.models import Payment, PaymentStatus, Refund, RefundStatus, Transfer, TransferStatus
from backend.payments.states import payment_machine, refund_machine, transfer_machine
from backend.payments.services import available_payment_gateways, payment_process

from ..finance.helpers import captured_payment, cny

pytestmark = pytest.mark.django_db


def pay(token="success", key="k1", amount="12.34", **kwargs):
    return payment_process(gateway=kwargs.pop("gateway", "dummy"), token=token, amount=cny(amount), idempotency_key=key, **kwargs)


def code(exc_info):
    return exc_info.value.code


def test_available_gateways_lists_active_gateway_plugins(configure_plugin):
    assert [(g.id, g.name) for g in available_payment_gateways()] == [("dummy", "Dummy gateway")]
    configure_plugin("stripe", active=True)
    configure_plugin("dummy", active=False)
    assert [g.id for g in available_payment_gateways()] == ["stripe"]


def test_dummy_success_captures(shopper):
    payment = pay(customer=shopper, description="order")
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.captured == cny("12.34") and payment.total == cny("12.34")
    assert payment.psp_reference.startswith("dummy_pay_")
    assert payment.customer == shopper and payment.customer_email == shopper.email


def test_dummy_authorize_then_capture_or_void():
    payment = pay(capture=False)
    assert payment.status == PaymentStatus.AUTHORIZED and payment.captured_amount == 0
    captured = services.payment_capture(payment=payment)
    assert captured.status == PaymentStatus.CAPTURED and captured.captured == cny("12.34")
    assert services.payment_capture(payment=payment).status == PaymentStatus.CAPTURED
    other = pay(capture=False, key="k2")
    assert services.payment_void(payment=other).status == PaymentStatus.CANCELLED
    with pytest.raises(DomainError) as exc:
        services.payment_void(payment=captured)
    assert code(exc) == PaymentErrorCode.INVALID_TRANSITION


def test_dummy_decline_is_recorded_and_a_retry_does_not_ask_again(monkeypatch):
    with pytest.raises(DomainError) as exc:
        pay("decline")
    assert code(exc) == PaymentErrorCode.PAYMENT_DECLINED
    payment = Payment.objects.get()
    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "declined")

    from plugins.payments.dummy import DummyGatewayPlugin

    monkeypatch.setattr(DummyGatewayPlugin, "process_payment", lambda *a, **k: pytest.fail("charged again"))
    with pytest.raises(DomainError) as exc:
        pay("decline")
    assert code(exc) == PaymentErrorCode.PAYMENT_DECLINED
    assert Payment.objects.count() == 1


def test_dummy_timeout_leaves_the_payment_pending():
    with pytest.raises(DomainError) as exc:
        pay("timeout")
    assert code(exc) == PaymentErrorCode.PAYMENT_TIMEOUT
    payment = Payment.objects.get()
    assert (payment.status, payment.error_code) == (PaymentStatus.PENDING, "timeout")


def test_unknown_dummy_token_is_invalid_and_stays_so_on_retry():
    for _attempt in range(2):
        with pytest.raises(DomainError) as exc:
            pay("maybe")
        assert code(exc) == PaymentErrorCode.INVALID
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_same_key_twice_charges_once(scripted_gateway):
    first = pay(gateway="scripted")
    again = pay(gateway="scripted")
    assert again.pk == first.pk
    assert len(scripted_gateway.calls) == 1
    assert Payment.objects.count() == 1


def test_the_idempotency_key_reaches_the_gateway(scripted_gateway):
    pay(gateway="scripted", key="checkout-7-attempt-1")
    hook, data = scripted_gateway.calls[0]
    assert (hook, data.idempotency_key, data.amount, data.currency) == (
        "process_payment", "checkout-7-attempt-1", cny("12.34").amount, "CNY"
    )


def test_a_retry_after_a_timeout_asks_again_under_the_same_key_and_charges_once(scripted_gateway):
    scripted_gateway.reset("timeout", "success")
    with pytest.raises(DomainError) as exc:
        pay(gateway="scripted")
    assert code(exc) == PaymentErrorCode.PAYMENT_TIMEOUT
    payment = pay(gateway="scripted")
    assert payment.status == PaymentStatus.CAPTURED and payment.error_code == ""
    assert pay(gateway="scripted").pk == payment.pk
    assert [data.idempotency_key for _hook, data in scripted_gateway.calls] == ["k1", "k1"]


def test_same_key_for_a_different_request_is_a_conflict():
    pay()
    for changed in ({"amount": "12.35"}, {"token": "decline"}, {"capture": False}):
        with pytest.raises(DomainError) as exc:
            pay(**changed)
        assert code(exc) == PaymentErrorCode.IDEMPOTENCY_CONFLICT
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"gateway": "stripe"}, PaymentErrorCode.GATEWAY_NOT_AVAILABLE),  # inactive by default
        ({"gateway": "nope"}, PaymentErrorCode.GATEWAY_NOT_AVAILABLE),
        ({"amount": "0"}, PaymentErrorCode.INVALID),
        ({"amount": "1.001"}, PaymentErrorCode.INVALID),
        ({"token": ""}, PaymentErrorCode.REQUIRED),
        ({"key": ""}, PaymentErrorCode.REQUIRED),
    ],
)
def test_bad_payment_requests(kwargs, error):
    with pytest.raises(DomainError) as exc:
        pay(**kwargs)
    assert code(exc) == error
    assert not Payment.objects.exists()


# --- Refunds ---


def test_partial_then_full_refund():
    payment = pay(amount="100.00")
    refund = services.payment_refund(payment=payment, amount=cny(30), idempotency_key="r1")
    assert refund.status == RefundStatus.SUCCEEDED and refund.psp_reference.startswith("dummy_refund_")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded) == (PaymentStatus.PARTIALLY_REFUNDED, cny(30))
    # The same refund again is the same refund.
    assert services.payment_refund(payment=payment, amount=cny(30), idempotency_key="r1").pk == refund.pk
    with pytest.raises(DomainError) as exc:
        services.payment_refund(payment=payment, amount=cny(31), idempotency_key="r1")
    assert code(exc) == PaymentErrorCode.IDEMPOTENCY_CONFLICT
    with pytest.raises(DomainError) as exc:
        services.payment_refund(payment=payment, amount=cny("70.01"), idempotency_key="r2")
    assert code(exc) == PaymentErrorCode.REFUND_EXCEEDS_CAPTURED
    services.payment_refund(payment=payment, amount=cny(70), idempotency_key="r3")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded) == (PaymentStatus.REFUNDED, cny(100))
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 2


def test_refund_needs_a_captured_payment():
    payment = pay(capture=False)
    with pytest.raises(DomainError) as exc:
        services.payment_refund(payment=payment, amount=cny(1), idempotency_key="r1")
    assert code(exc) == PaymentErrorCode.INVALID_TRANSITION


def test_a_declined_refund_is_recorded_and_not_retried(scripted_gateway):
    payment = pay(gateway="scripted", amount="10.00")
    scripted_gateway.reset("decline")
    with pytest.raises(DomainError) as exc:
        services.payment_refund(payment=payment, amount=cny(5), idempotency_key="r1")
    assert code(exc) == PaymentErrorCode.REFUND_FAILED
    with pytest.raises(DomainError):
        services.payment_refund(payment=payment, amount=cny(5), idempotency_key="r1")
    assert len(scripted_gateway.calls) == 1
    assert Refund.objects.get().status == RefundStatus.FAILED
    # A failed refund does not count against what is left to refund.
    services.payment_refund(payment=payment, amount=cny(10), idempotency_key="r2")


# --- Payouts ---


@pytest.fixture
def earned(vendor):
    """The vendor has 100.00 available from a released order."""
    payment = captured_payment("100.00")
    movements.escrow_hold(payment=payment, splits=[movements.EscrowSplit("o1", vendor.pk, cny(100))])
    movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny(100), commission=cny(0))
    return vendor


def test_payout_through_the_dummy_gateway_settles(earned):
    transfer = services.transfer_create(vendor=earned, amount=cny(60), payout_ref="p1")
    assert (transfer.status, transfer.gateway) == (TransferStatus.PAID, "dummy")
    assert vendor_balance(earned).available == cny(40)
    assert account_balance(accounts.PAYOUTS) == cny(0)
    assert services.transfer_create(vendor=earned, amount=cny(60), payout_ref="p1").pk == transfer.pk
    assert vendor_balance(earned).available == cny(40)
    with pytest.raises(DomainError) as exc:
        services.transfer_create(vendor=earned, amount=cny(61), payout_ref="p1")
    assert code(exc) == PaymentErrorCode.IDEMPOTENCY_CONFLICT
    assert ledger_problems() == []


def test_failed_transfer_gives_the_money_back(earned, configure_plugin):
    configure_plugin("dummy", active=True, fail_transfers=True)
    transfer = services.transfer_create(vendor=earned, amount=cny(60), payout_ref="p1")
    assert transfer.status == TransferStatus.FAILED
    assert "switched off" in transfer.error_message
    assert vendor_balance(earned).available == cny(100)
    assert account_balance(accounts.PAYOUTS) == cny(0)
    assert ledger_problems() == []


def test_pending_transfer_keeps_the_money_reserved(earned, scripted_gateway):
    scripted_gateway.reset("pending")
    transfer = services.transfer_create(vendor=earned, amount=cny(60), payout_ref="p1", gateway="scripted")
    assert transfer.status == TransferStatus.PENDING
    assert vendor_balance(earned).available == cny(40)
    assert account_balance(accounts.PAYOUTS) == cny(60)


def test_payout_beyond_the_available_balance_is_refused(earned):
    with pytest.raises(DomainError) as exc:
        services.transfer_create(vendor=earned, amount=cny("100.01"), payout_ref="p1")
    assert exc.value.code.name == "INSUFFICIENT_FUNDS"
    assert not Transfer.objects.exists()


# --- Status rules ---

PAYMENT_ALLOWED = {
    ("pending", "action_required"), ("pending", "authorized"), ("pending", "captured"), ("pending", "failed"),
    ("pending", "cancelled"), ("action_required", "authorized"), ("action_required", "captured"),
    ("action_required", "failed"), ("action_required", "cancelled"), ("authorized", "captured"),
    ("authorized", "cancelled"), ("captured", "partially_refunded"), ("captured", "refunded"),
    ("partially_refunded", "refunded"),
}


@pytest.mark.parametrize("source", PaymentStatus.values)
@pytest.mark.parametrize("target", PaymentStatus.values)
def test_payment_transitions(source, target):
    assert payment_machine.can(source, target) == ((source, target) in PAYMENT_ALLOWED)


@pytest.mark.parametrize("source", RefundStatus.values)
@pytest.mark.parametrize("target", RefundStatus.values)
def test_refund_transitions(source, target):
    allowed = {
        ("requested", "pending"), ("requested", "succeeded"), ("requested", "failed"),
        ("pending", "succeeded"), ("pending", "failed"),
    }
    assert refund_machine.can(source, target) == ((source, target) in allowed)


@pytest.mark.parametrize("source", TransferStatus.values)
@pytest.mark.parametrize("target", TransferStatus.values)
def test_transfer_transitions(source, target):
    allowed = {("pending", "paid"), ("pending", "failed"), ("paid", "reversed")}
    assert transfer_machine.can(source, target) == ((source, target) in allowed)


def test_a_forbidden_transition_raises_and_saves_nothing():
    payment = pay()
    with pytest.raises(DomainError) as exc:
        payment_machine.apply(payment, PaymentStatus.PENDING)
    assert code(exc) == PaymentErrorCode.INVALID_TRANSITION
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED


def test_money_properties_round_to_the_currency():
    payment = pay(amount="5.10")
    payment.refresh_from_db()
    assert str(payment.total.amount) == "5.10" and payment.total == Money("5.10", "CNY")
