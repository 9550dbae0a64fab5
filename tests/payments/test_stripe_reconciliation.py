"""Stripe's records of a day (charges, refunds, transfers) reconciled with ours.

Charges and refunds come from localstripe (a stateful fake Stripe from PyPI): the payments are
made, captured and refunded there by the plugin. localstripe cannot list them as Stripe does:
its charges list takes `created[gt]` alone (a `created` range answers 500 "Not implemented"),
its refunds list takes no `created` filter, and it has no transfers (no Connect). So the plugin,
which asks for `created[gte]`/`created[lt]` and pages with `starting_after`, reads localstripe
through tests/payments/stripe_lists.py, which applies the range and the paging over
localstripe's complete lists. Transfers are listed against the in-repo stub
(tests/payments/stripe_stub.py), which keeps the transfers it made.

A fresh localstripe runs for each test: its lists are never emptied, and the day's records of
one test are not another's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from backend.finance import services as movements
from backend.finance.models import LedgerTransaction
from backend.payments import services
from backend.payments.models import (
    MismatchProblem,
    Payment,
    PaymentStatus,
    ReconciliationMismatch,
    Refund,
    Transfer,
    VendorGatewayAccount,
)
from backend.payments.reconciliation import day_bounds, reconcile_gateway
from plugins.payments import stripe as stripe_plugin

from .. import localstripe_server
from ..finance.helpers import captured_payment, cny
from . import stripe_lists, stripe_stub

pytestmark = pytest.mark.django_db


@pytest.fixture
def localstripe():
    server = localstripe_server.start()
    front = stripe_lists.start(server.url)
    yield server, front
    front.stop()
    server.stop()


@pytest.fixture
def stripe_on(configure_plugin, localstripe):
    server, front = localstripe
    configure_plugin("stripe", active=True, secret_key=localstripe_server.SECRET_KEY, api_base=front.url, timeout_seconds=5)
    return server, front


def card(server) -> str:
    method = server.api(
        "POST", "/v1/payment_methods", type="card",
        **{"card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123"},
    )
    return method["id"]


def pay(server, amount: str, key: str) -> Payment:
    return services.payment_process(gateway="stripe", token=card(server), amount=cny(amount), idempotency_key=key, capture=True)


def found() -> set[tuple[str, str, str]]:
    return {(m.kind, m.psp_reference, m.problem) for m in ReconciliationMismatch.objects.filter(gateway="stripe")}


def books() -> list:
    return [
        list(Payment.objects.order_by("pk").values_list("status", "amount", "captured_amount", "refunded_amount")),
        list(Refund.objects.order_by("pk").values_list("status", "amount")),
        LedgerTransaction.objects.count(),
    ]


@pytest.fixture
def day_at_stripe(stripe_on):
    """Two payments captured at localstripe, one partly refunded, all recorded here."""
    server, _front = stripe_on
    first = pay(server, "100.00", "pay-1")
    second = pay(server, "45.50", "pay-2")
    refund = services.payment_refund(payment=first, amount=cny(30), idempotency_key="refund-1")
    assert server.api("GET", f"/v1/payment_intents/{first.psp_reference}")["status"] == "succeeded"
    return first, second, refund


def test_a_day_on_which_stripe_and_we_agree_gives_no_mismatch(day_at_stripe, stripe_on, monkeypatch):
    server, front = stripe_on
    _first, second, _refund = day_at_stripe
    monkeypatch.setattr(stripe_plugin, "PAGE_SIZE", 1)  # one object a page: the plugin pages through
    result = reconcile_gateway("stripe", timezone.localdate())
    assert (result.records, result.matched, result.mismatches) == (3, 3, [])
    assert not ReconciliationMismatch.objects.exists()
    charges = [query for path, query in front.lists if path == "/v1/charges"]
    assert len(charges) == 2  # two charges, one a page
    start, end = (str(int(bound.timestamp())) for bound in day_bounds(timezone.localdate()))
    assert all(page["created[gte]"] == [start] and page["created[lt]"] == [end] and page["limit"] == ["1"] for page in charges)
    newest = server.api("GET", f"/v1/payment_intents/{second.psp_reference}")["latest_charge"]
    newest = newest["id"] if isinstance(newest, dict) else newest
    assert "starting_after" not in charges[0] and charges[1]["starting_after"] == [newest]


def test_what_differs_is_reported_once_and_never_corrected(day_at_stripe, stripe_on):
    server, _front = stripe_on
    first, second, refund = day_at_stripe
    # A charge captured at Stripe (the dashboard, another integration) that our books do not have.
    stray = server.api(
        "POST", "/v1/payment_intents", amount="777", currency="cny", payment_method=card(server), confirm="true"
    )
    assert stray["status"] == "succeeded"
    # A refund made at Stripe that we did not record.
    stray_refund = server.api("POST", "/v1/refunds", payment_intent=second.psp_reference, amount="550")
    # Our books say another captured amount for the first payment.
    Payment.objects.filter(pk=first.pk).update(captured_amount=Decimal("99.00"))
    before = books()

    result = reconcile_gateway("stripe", timezone.localdate())
    assert found() == {
        ("charge", stray["id"], MismatchProblem.MISSING_HERE),
        ("refund", stray_refund["id"], MismatchProblem.MISSING_HERE),
        ("charge", first.psp_reference, MismatchProblem.AMOUNT_DIFFERS),
    }
    assert result.new == 3 and result.matched == 2  # the second charge and our refund agree
    differs = ReconciliationMismatch.objects.get(problem=MismatchProblem.AMOUNT_DIFFERS)
    assert (differs.our_amount, differs.gateway_amount, differs.payment_id) == (Decimal("99.00"), Decimal("100.00"), first.pk)
    ghost = ReconciliationMismatch.objects.get(kind="charge", problem=MismatchProblem.MISSING_HERE)
    assert (ghost.gateway_amount, ghost.gateway_currency, ghost.gateway_status) == (Decimal("7.77"), "CNY", "succeeded")
    assert ghost.payment_id is None and ghost.gateway_record["psp_reference"] == stray["id"]
    missing_refund = ReconciliationMismatch.objects.get(kind="refund")
    assert missing_refund.gateway_amount == Decimal("5.50") and missing_refund.refund_id is None
    assert books() == before  # nothing corrected, no money moved

    again = reconcile_gateway("stripe", timezone.localdate())
    assert again.new == 0 and len(again.mismatches) == 3
    assert ReconciliationMismatch.objects.filter(gateway="stripe").count() == 3
    assert books() == before


def test_a_refund_we_recorded_that_stripe_does_not_have_is_missing_at_the_gateway(day_at_stripe, stripe_on):
    first, _second, refund = day_at_stripe
    Refund.objects.filter(pk=refund.pk).update(psp_reference="re_never_made")
    reconcile_gateway("stripe", timezone.localdate())
    real = localstripe_refunds(stripe_on[0], first.psp_reference)
    assert found() == {
        ("refund", "re_never_made", MismatchProblem.MISSING_AT_GATEWAY),
        ("refund", real[0], MismatchProblem.MISSING_HERE),
    }


def localstripe_refunds(server, intent: str) -> list[str]:
    return [refund["id"] for refund in server.api("GET", f"/v1/refunds?payment_intent={intent}")["data"]]


def test_stripe_that_does_not_answer_fails_the_reconciliation(day_at_stripe, stripe_on):
    server, _front = stripe_on
    server.stop()
    with pytest.raises(RuntimeError, match="Stripe did not list its records"):
        reconcile_gateway("stripe", timezone.localdate())
    assert not ReconciliationMismatch.objects.exists()


# --- transfers: the in-repo stub (localstripe has no Connect) ---


@pytest.fixture
def stub(configure_plugin):
    server = stripe_stub.start()
    configure_plugin("stripe", active=True, secret_key="sk_test_123", api_base=server.url)
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def paid_out(stub, vendor):
    payment = captured_payment("100.00")
    movements.escrow_hold(payment=payment, splits=[movements.EscrowSplit("o1", vendor.pk, cny(100))])
    movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny(100), commission=cny(0))
    VendorGatewayAccount.objects.create(vendor=vendor, gateway="stripe", account_id="acct_vendor_1")
    return [
        services.transfer_create(vendor=vendor, amount=cny(amount), payout_ref=f"p{n}", gateway="stripe")
        for n, amount in enumerate(("10.00", "20.00", "30.00"))
    ]


def test_transfers_are_listed_page_by_page_and_compared(paid_out, stub, monkeypatch):
    monkeypatch.setattr(stripe_plugin, "PAGE_SIZE", 2)
    assert reconcile_gateway("stripe", timezone.localdate()).mismatches == []
    pages = stub.gets("/v1/transfers")
    assert [page.form.get("starting_after") for page in pages] == [None, ["tr_test_2"]]
    assert all(page.form["limit"] == ["2"] and "created[gte]" in page.form and "created[lt]" in page.form for page in pages)

    # Stripe reversed one; another it paid with a different amount; our books are left as they are.
    stub.transfers[0]["reversed"] = True
    stub.transfers[0]["amount_reversed"] = stub.transfers[0]["amount"]
    stub.transfers[1]["amount"] = 2100
    before = list(Transfer.objects.order_by("pk").values_list("status", "amount"))
    result = reconcile_gateway("stripe", timezone.localdate())
    assert found() == {
        ("transfer", "tr_test_1", MismatchProblem.STATUS_DIFFERS),
        ("transfer", "tr_test_2", MismatchProblem.AMOUNT_DIFFERS),
    }
    assert result.new == 2
    assert list(Transfer.objects.order_by("pk").values_list("status", "amount")) == before
    assert reconcile_gateway("stripe", timezone.localdate()).new == 0


def test_a_payment_intents_failed_attempt_does_not_hide_its_captured_charge():
    charge = {"object": "charge", "payment_intent": "pi_1", "currency": "cny", "amount": 500, "created": 1_700_000_000}
    attempts = [
        {**charge, "id": "ch_1", "status": "failed", "captured": False},
        {**charge, "id": "ch_2", "status": "succeeded", "captured": True, "amount_captured": 400},
        {**charge, "id": "ch_3", "status": "failed", "captured": False},
        {**charge, "id": "ch_4", "payment_intent": "pi_2", "status": "succeeded", "captured": False, "refunded": True},
        {**charge, "id": "ch_5", "payment_intent": None, "status": "succeeded", "captured": False},
    ]
    records = {r.psp_reference: r for r in stripe_plugin.StripeGatewayPlugin._charge_records(attempts)}
    assert {ref: (r.status, r.amount) for ref, r in records.items()} == {
        "pi_1": ("succeeded", Decimal("4.00")),  # what was captured, whatever the order of the attempts
        "pi_2": ("cancelled", Decimal("5.00")),  # an authorization released uncaptured
        "ch_5": ("authorized", Decimal("5.00")),  # a charge made without a PaymentIntent
    }
    assert records["pi_1"].occurred_at.year == 2023 and records["pi_1"].raw["id"] == "ch_2"
