"""POST /webhooks/payments/<gateway>/: verified by the plugin, each event applied once."""

import json

import pytest

from backend.finance import accounts
from backend.finance.ledger import account_balance, ledger_problems, vendor_balance
from backend.finance import services as movements
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.payments import services
from backend.payments.models import Payment, PaymentStatus, TransferStatus, WebhookEvent
from plugins.payments.dummy import SIGNATURE_HEADER, sign

from ..finance.helpers import captured_payment, cny

pytestmark = pytest.mark.django_db
SECRET = "dummy-webhook-secret"
URL = "/webhooks/payments/dummy/"


@pytest.fixture
def signed_dummy(configure_plugin):
    configure_plugin("dummy", active=True, webhook_secret=SECRET)


def post(client, event: dict, *, secret=SECRET, url=URL):
    body = json.dumps(event).encode()
    return client.post(url, body, content_type="application/json", headers={SIGNATURE_HEADER: sign(secret, body)})


@pytest.fixture
def paid_out(vendor):
    payment = captured_payment("100.00")
    movements.escrow_hold(payment=payment, splits=[movements.EscrowSplit("o1", vendor.pk, cny(100))])
    movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny(100), commission=cny(0))
    return services.transfer_create(vendor=vendor, amount=cny(100), payout_ref="p1")


def test_a_reversed_transfer_moves_money_back_once_however_often_it_is_delivered(client, signed_dummy, paid_out, vendor):
    assert vendor_balance(vendor).available == cny(0)
    event = {"id": "evt_1", "type": "transfer_reversed", "psp_reference": paid_out.psp_reference}
    first = post(client, event)
    assert first.status_code == 200 and first.json() == {"applied": 1, "duplicates": 0}
    again = post(client, event)
    assert again.status_code == 200 and again.json() == {"applied": 0, "duplicates": 1}
    # A new event id telling the same thing changes nothing either.
    assert post(client, {**event, "id": "evt_2"}).json() == {"applied": 1, "duplicates": 0}
    paid_out.refresh_from_db()
    assert paid_out.status == TransferStatus.REVERSED
    assert vendor_balance(vendor).available == cny(100)
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_REVERSE).count() == 1
    assert WebhookEvent.objects.count() == 2
    assert ledger_problems() == []


def test_a_pending_transfer_settles_or_fails_by_webhook(client, vendor, scripted_gateway):
    payment = captured_payment("100.00")
    movements.escrow_hold(payment=payment, splits=[movements.EscrowSplit("o1", vendor.pk, cny(100))])
    movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny(100), commission=cny(0))
    scripted_gateway.reset("pending", "pending")
    first = services.transfer_create(vendor=vendor, amount=cny(30), payout_ref="p1", gateway="scripted")
    second = services.transfer_create(vendor=vendor, amount=cny(70), payout_ref="p2", gateway="scripted")
    assert account_balance(accounts.PAYOUTS) == cny(100)
    url = "/webhooks/payments/scripted/"
    post(client, {"id": "e1", "type": "transfer_paid", "psp_reference": first.psp_reference}, url=url)
    post(client, {"id": "e2", "type": "transfer_failed", "psp_reference": second.psp_reference}, url=url)
    # A late failure of a transfer already paid does not move money again.
    post(client, {"id": "e3", "type": "transfer_failed", "psp_reference": first.psp_reference}, url=url)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (TransferStatus.PAID, TransferStatus.FAILED)
    assert account_balance(accounts.PAYOUTS) == cny(0)
    assert vendor_balance(vendor).available == cny(70)
    assert ledger_problems() == []


def test_payment_events_move_the_payment_along_its_states(client, signed_dummy, monkeypatch):
    captured, failed = [], []
    monkeypatch.setattr(services, "PAYMENT_CAPTURED_HANDLERS", [captured.append])
    monkeypatch.setattr(services, "PAYMENT_FAILED_HANDLERS", [failed.append])
    payment = services.payment_process(
        gateway="dummy", token="success", amount=cny(10), idempotency_key="k1", capture=False
    )
    assert payment.status == PaymentStatus.AUTHORIZED
    response = post(client, {"id": "e1", "type": "payment_captured", "psp_reference": payment.psp_reference, "amount": "10.00"})
    assert response.status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.captured) == (PaymentStatus.CAPTURED, cny(10))
    assert [p.pk for p in captured] == [payment.pk]
    # An event that does not fit the payment's state is acknowledged and ignored.
    post(client, {"id": "e2", "type": "payment_failed", "psp_reference": payment.psp_reference})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED
    assert failed == [] and len(captured) == 1
    other = services.payment_process(gateway="dummy", token="success", amount=cny(5), idempotency_key="k2", capture=False)
    post(client, {"id": "e4", "type": "payment_cancelled", "psp_reference": other.psp_reference})
    assert [p.pk for p in failed] == [other.pk]
    # Events about unknown references are recorded and acknowledged.
    assert post(client, {"id": "e3", "type": "payment_captured", "psp_reference": "nope"}).status_code == 200


@pytest.mark.parametrize(
    "how",
    ["bad-signature", "no-signature", "unsigned-gateway", "malformed", "unknown-type"],
)
def test_unverified_webhooks_are_refused_and_change_nothing(client, configure_plugin, paid_out, how):
    configure_plugin("dummy", active=True, webhook_secret="" if how == "unsigned-gateway" else SECRET)
    event = {"id": "evt_1", "type": "transfer_reversed", "psp_reference": paid_out.psp_reference}
    if how == "bad-signature":
        response = post(client, event, secret="guess")
    elif how == "no-signature":
        response = client.post(URL, json.dumps(event), content_type="application/json")
    elif how == "malformed":
        body = b"{not json"
        response = client.post(URL, body, content_type="application/json", headers={SIGNATURE_HEADER: sign(SECRET, body)})
    elif how == "unknown-type":
        response = post(client, {**event, "type": "money_for_free"})
    else:
        response = post(client, event, secret="")
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    paid_out.refresh_from_db()
    assert paid_out.status == TransferStatus.PAID


def test_unknown_or_inactive_gateways_and_wrong_methods(client, signed_dummy):
    assert post(client, {"id": "e"}, url="/webhooks/payments/nope/").status_code == 404
    assert post(client, {"id": "e"}, url="/webhooks/payments/stripe/").status_code == 404  # inactive
    assert client.get(URL).status_code == 405
    assert not Payment.objects.exists()


def test_an_unanswered_transfer_stays_reserved_and_is_sent_again_under_its_key_once(vendor, scripted_gateway):
    from datetime import timedelta

    from django.utils import timezone

    payment = captured_payment("100.00")
    movements.escrow_hold(payment=payment, splits=[movements.EscrowSplit("o1", vendor.pk, cny(100))])
    movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny(100), commission=cny(0))
    scripted_gateway.reset("timeout")
    transfer = services.transfer_create(vendor=vendor, amount=cny(100), payout_ref="p1", gateway="scripted")
    assert transfer.status == TransferStatus.PENDING and transfer.psp_reference == ""
    assert account_balance(accounts.PAYOUTS) == cny(100) and vendor_balance(vendor).available == cny(0)
    # Not yet: the request may still be on its way.
    assert services.transfers_complete() == 0 and len(scripted_gateway.calls) == 1
    later = timezone.now() + timedelta(minutes=6)
    assert services.transfers_complete(now=later) == 1
    assert services.transfers_complete(now=later) == 0
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.PAID and transfer.psp_reference
    keys = [data.idempotency_key for hook, data in scripted_gateway.calls if hook == "create_transfer"]
    assert keys == [transfer.idempotency_key] * 2
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_SETTLE).count() == 1
    assert account_balance(accounts.PAYOUTS) == cny(0) and ledger_problems() == []
