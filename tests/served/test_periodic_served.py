"""The periodic finance, dispute and unpaid-order work, run in processes of their own against a served instance.

The state is made through the served GraphQL APIs; each task then runs as `manage.py run_task NAME`
in a `manage.py shell` process whose clock is moved past the deadline (test_background.py moves
it the same way), opening its own transactions and row locks as it does in the worker. The
outcome is read back through the API and the ledger, and two runs at once, or a later one, move
nothing more.

The module has an instance of its own: moving the clock weeks or a year on would move the
stores of the other served modules too.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal

import pytest

from . import journey as j

# `manage.py run_task NAME` (the task's registered body, with its logging), in a process of its
# own whose clock is moved on; it ticks from there, so the run's own timestamps still advance.
RUN_TASK_LATER = """
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from freezegun import freeze_time
with freeze_time(timezone.now() + timedelta(days={days}), tick=True):
    call_command("run_task", {task!r})
"""
PROCESSED = re.compile(r"^(.*?) (\d+(?:, \d+)*)")
SUMMARY = re.compile(r"^(?P<task>[\w.]+): result (?P<result>.+); processed (?P<processed>.*)$", re.MULTILINE)

STANDING = """
query Standing($id: ID!) {
  vendor(id: $id) {
    status
    standing { paidUp deposit { amount } depositShortfall { amount } restrictionStatus topUpDeadline }
  }
}"""
DEDUCT = f"""
mutation Deduct($vendor: ID!, $amount: Decimal!) {{
  vendorDepositDeduct(vendor: $vendor, amount: $amount, reason: "Damaged goods compensation.") {{
    vendor {{ status }} transaction {{ id kind }} {j.ERRORS}
  }}
}}"""
CLOSE = f"""
mutation Close($id: ID!) {{ vendorClose(id: $id, reason: "Retiring.") {{ vendor {{ status }} {j.ERRORS} }} }}"""


def run_later(instance, task: str, days: float):
    return instance.manage("shell", "-c", RUN_TASK_LATER.format(task=task, days=days))


def result_of(completed):
    """The task's result, from run_task's summary line."""
    assert completed.returncode == 0, completed.stderr
    match = SUMMARY.search(completed.stdout)
    assert match, completed.stdout
    return ast.literal_eval(match["result"])


def processed_of(completed) -> list[str]:
    """What the run processed, one `kind id` each (`vendor 3`, `fee year 9`), from the summary."""
    text = SUMMARY.search(completed.stdout)["processed"]
    if text == "nothing":
        return []
    found = []
    for part in text.split("; "):
        kind, ids = PROCESSED.match(part).groups()
        found += [f"{kind} {pk}" for pk in ids.split(", ")]
    return found


def race_later(instance, task: str, days: float) -> list:
    """Two processes run the task at the same moment; both succeed and never process one object twice."""
    runs = j.race(2, lambda _i: run_later(instance, task, days))
    for run in runs:
        assert not isinstance(run, BaseException), run
    results = [result_of(run) for run in runs]
    first, second = (processed_of(run) for run in runs)
    assert not set(first) & set(second), (first, second)
    return results


@pytest.fixture(scope="module")
def instance(start_served):
    served = start_served()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def world(instance):
    """Staff, the fee plan (with a rebate rule) of one category, the tracking secret."""
    staff = j.staff_token(instance)
    category = j.categories(instance)["specialty-food"]
    j.mutate(
        instance,
        j.FEE_PLAN,
        {
            "category": category,
            "input": {
                "annualFee": "1000.00",
                "depositAmount": "2000.00",
                "commissionRate": "0.05",
                "feeRebateRules": [{"threshold": "100.00", "fraction": "0.5"}],
            },
        },
        token=staff,
    )
    j.configure_tracking_secret(instance, staff)
    return {"staff": staff, "category": category}


def store(instance, world, name: str, *, price: str | None = None) -> j.Store:
    opened = j.open_store(instance, world["staff"], world["category"], name)
    if price:
        j.list_product(instance, world["staff"], opened, world["category"], name=f"{name} Tea", price=price)
    return opened


def standing(instance, world, store_: j.Store) -> dict:
    return j.call(instance, STANDING, {"id": store_.vendor_id}, token=world["staff"])["vendor"]


def ledger_kinds(instance, world, store_: j.Store, kind: str) -> list[dict]:
    return j.kinds(j.ledger(instance, world["staff"], store_.vendor_id), kind)


def transactions(entries: list[dict]) -> set[str]:
    return {entry["transaction"]["id"] for entry in entries}


PAYOUTS = "query Payouts { payouts(first: 100) { edges { node { vendor { id } amount { amount } status } } } }"


def payouts_of(instance, world, store_: j.Store) -> list[tuple[str, str]]:
    edges = j.call(instance, PAYOUTS, token=world["staff"])["payouts"]["edges"]
    return [(e["node"]["amount"]["amount"], e["node"]["status"]) for e in edges if e["node"]["vendor"]["id"] == store_.vendor_id]


def test_a_short_deposit_restricts_suspends_after_the_deadline_and_a_top_up_restores(instance, world):
    shop = store(instance, world, "Plum Garden")
    assert standing(instance, world, shop)["status"] == "ACTIVE"
    deducted = j.mutate(instance, DEDUCT, {"vendor": shop.vendor_id, "amount": "500.00"}, token=world["staff"])
    assert deducted["vendor"]["status"] == "RESTRICTED"
    seen = standing(instance, world, shop)
    assert seen["standing"]["restrictionStatus"] == "OPEN" and seen["standing"]["depositShortfall"]["amount"] == "500.00"

    # Before the deadline (15 days) the check leaves it restricted.
    assert result_of(run_later(instance, "finance.vendor_standing_check", 14)) == {
        "changed": 0, "suspended": 0,
    }
    assert standing(instance, world, shop)["status"] == "RESTRICTED"

    # Past it: two checks at once suspend it once.
    runs = race_later(instance, "finance.vendor_standing_check", 16)
    assert sorted(run["suspended"] for run in runs) == [0, 1], runs
    seen = standing(instance, world, shop)
    assert (seen["status"], seen["standing"]["restrictionStatus"]) == ("SUSPENDED", "SUSPENDED")

    # The owner tops the deposit up: the suspension the deadline made is lifted.
    top_up = j.mutate(instance, j.TOP_UP, {"vendor": shop.vendor_id}, token=shop.owner_token)
    assert top_up["payment"]["amount"]["amount"] == "500.00"
    seen = standing(instance, world, shop)
    assert (seen["status"], seen["standing"]["restrictionStatus"], seen["standing"]["paidUp"]) == ("ACTIVE", None, True)
    assert seen["standing"]["deposit"]["amount"] == "2000.00"
    # Later checks change nothing; the deposit moved once each way.
    assert result_of(run_later(instance, "finance.vendor_standing_check", 30)) == {
        "changed": 0, "suspended": 0,
    }
    assert standing(instance, world, shop)["status"] == "ACTIVE"
    deductions = ledger_kinds(instance, world, shop, "DEPOSIT_DEDUCT")
    top_ups = ledger_kinds(instance, world, shop, "DEPOSIT_TOP_UP")
    assert len(transactions(deductions)) == 1 and len(transactions(top_ups)) == 2
    assert j.balance(instance, world["staff"], shop.vendor_id)["deposit"] == "2000.00"


def test_a_closing_store_gets_its_deposit_back_once_after_the_cooling_off(instance, world):
    shop = store(instance, world, "Willow Lane")
    closing = j.mutate(instance, CLOSE, {"id": shop.vendor_id}, token=shop.owner_token)
    assert closing["vendor"]["status"] == "CLOSING"
    assert j.balance(instance, world["staff"], shop.vendor_id)["deposit"] == "2000.00"

    # Within the cooling-off (90 days) nothing comes back.
    assert result_of(run_later(instance, "finance.closures_settle", 89)) == 0
    assert standing(instance, world, shop)["status"] == "CLOSING"
    assert not ledger_kinds(instance, world, shop, "DEPOSIT_RELEASE")

    runs = race_later(instance, "finance.closures_settle", 91)
    assert sorted(runs) == [0, 1], runs
    assert standing(instance, world, shop)["status"] == "CLOSED"
    releases = ledger_kinds(instance, world, shop, "DEPOSIT_RELEASE")
    assert len(transactions(releases)) == 1
    deposit_leg = [e for e in releases if e["account"].endswith(":deposit")]
    assert [e["amount"]["amount"] for e in deposit_leg] == ["-2000.00"]
    # Once the settlement committed, the deposit now available is paid out (no minimum), once.
    balances = j.balance(instance, world["staff"], shop.vendor_id)
    assert (balances["deposit"], balances["available"]) == ("0.00", "0.00"), balances
    assert len(transactions(ledger_kinds(instance, world, shop, "PAYOUT_RESERVE"))) == 1
    assert payouts_of(instance, world, shop) == [("2000.00", "PAID")]

    assert result_of(run_later(instance, "finance.closures_settle", 120)) == 0
    assert len(transactions(ledger_kinds(instance, world, shop, "DEPOSIT_RELEASE"))) == 1
    assert j.balance(instance, world["staff"], shop.vendor_id) == balances
    assert payouts_of(instance, world, shop) == [("2000.00", "PAID")]


def test_the_rebate_of_an_ended_fee_year_is_paid_once(instance, world):
    shop = store(instance, world, "Bamboo Grove", price="300.00")
    shopper, order = j.paid_order(instance, shop)
    j.mutate(instance, j.ORDER_SHIP, {"order": order["id"]}, token=shop.owner_token)
    j.mutate(instance, j.CONFIRM, {"order": order["id"]}, endpoint="storefront", token=shopper)
    before = j.balance(instance, world["staff"], shop.vendor_id)

    # The fee year has not ended: nothing is paid.
    assert result_of(run_later(instance, "finance.fee_rebates_pay", 300)) == 0
    assert not ledger_kinds(instance, world, shop, "FEE_REBATE")

    runs = race_later(instance, "finance.fee_rebates_pay", 367)
    assert sum(runs) >= 1, runs
    rebates = ledger_kinds(instance, world, shop, "FEE_REBATE")
    assert len(transactions(rebates)) == 1
    # Sales of 300.00 passed the 100.00 threshold: half of the 1000.00 fee comes back to available.
    after = j.balance(instance, world["staff"], shop.vendor_id)
    assert Decimal(after["available"]) - Decimal(before["available"]) == Decimal("500.00")
    assert result_of(run_later(instance, "finance.fee_rebates_pay", 370)) == 0
    assert len(transactions(ledger_kinds(instance, world, shop, "FEE_REBATE"))) == 1
    assert j.balance(instance, world["staff"], shop.vendor_id) == after


SHOPPER_DISPUTE = """
query Dispute($id: ID!) {
  dispute(id: $id) { status deadlineAt refunded { amount } returnShipment { trackingNumber status } }
}"""
RESPOND_ACCEPT = f"""
mutation Accept($id: ID!) {{
  disputeRespond(id: $id, input: {{accept: true}}) {{ dispute {{ id status }} {j.ERRORS} }}
}}"""
RETURN_SHIP = f"""
mutation Back($id: ID!, $tracking: String!) {{
  disputeReturnShip(id: $id, carrier: "{j.TABLE_RATE}", trackingNumber: $tracking) {{
    dispute {{ id status deadlineAt }} {j.ERRORS}
  }}
}}"""


def test_a_delivered_return_parcel_is_refunded_once_when_the_vendor_stays_silent(instance, world):
    shop = store(instance, world, "Pine Hill", price="200.00")
    shopper, order = j.paid_order(instance, shop)
    shipped = j.mutate(instance, j.ORDER_SHIP, {"order": order["id"]}, token=shop.owner_token)["order"]
    outbound = shipped["shipment"]["trackingNumber"]
    code, _answer = j.track(instance, outbound, "DELIVERED", j.unique("out"))
    assert code == 200
    dispute = j.mutate(
        instance,
        j.DISPUTE_OPEN,
        {"order": order["id"], "input": {"reason": "DAMAGED", "kind": "RETURN_AND_REFUND",
                                         "description": "The tin arrived crushed.", "requestedAmount": "120.00"}},
        endpoint="storefront",
        token=shopper,
    )["dispute"]
    assert j.mutate(instance, RESPOND_ACCEPT, {"id": dispute["id"]}, token=shop.owner_token)["dispute"]["status"] == (
        "AWAITING_RETURN"
    )
    tracking = j.unique("RT")
    back = j.mutate(instance, RETURN_SHIP, {"id": dispute["id"], "tracking": tracking}, endpoint="storefront",
                    token=shopper)["dispute"]
    assert back["status"] == "RETURN_SHIPPED"

    def seen():
        return j.call(instance, SHOPPER_DISPUTE, {"id": dispute["id"]}, endpoint="storefront", token=shopper)["dispute"]

    def refunds():
        return ledger_kinds(instance, world, shop, "REFUND_FROM_ESCROW")

    # Not delivered yet: the vendor has 10 days to confirm, so 4 days on nothing happens.
    assert result_of(run_later(instance, "disputes.apply_deadlines", 4)) == 0
    assert seen()["status"] == "RETURN_SHIPPED" and not refunds()

    # The carrier's webhook says the parcel was delivered: the vendor now has 72 hours.
    code, answer = j.track(instance, tracking, "DELIVERED", j.unique("rt"))
    assert code == 200 and answer.get("applied") == 1, answer
    delivered = seen()
    assert delivered["returnShipment"]["status"] == "DELIVERED"
    assert delivered["deadlineAt"] < back["deadlineAt"]

    runs = race_later(instance, "disputes.apply_deadlines", 4)
    assert sorted(runs) == [0, 1], runs
    final = seen()
    assert (final["status"], final["refunded"]["amount"]) == ("RESOLVED", "120.00")
    legs = [e for e in refunds() if e["account"].endswith(":pending")]
    assert [e["amount"]["amount"] for e in legs] == ["-120.00"]
    # A later run (it closes the resolved dispute after its own deadline) refunds nothing more.
    run_later(instance, "disputes.apply_deadlines", 8)
    assert len(transactions(refunds())) == 1


STRIPE_WEBHOOK_SECRET = "whsec_periodic"
PLUGIN_UPDATE = """mutation Configure($id: ID!, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, input: $input) { errors { field code message } } }"""
PAYMENT_CREATE = """mutation Start($id: ID!, $gateway: String!) {
  checkoutPaymentCreate(id: $id, gateway: $gateway) {
    paymentSession { id state clientData amount { amount } } errors { field code message } } }"""
SESSION_COMPLETE = """mutation Complete($id: ID!, $session: String!) {
  checkoutComplete(id: $id, paymentSession: $session) {
    orders { id status paymentStatus } errors { field code message } } }"""
VARIANT_STOCK = "query Stock($id: ID!) { product(id: $id) { variants { stock } } }"


@pytest.fixture(scope="module")
def localstripe():
    from .. import localstripe_server

    server = localstripe_server.start()
    yield server
    server.stop()


def test_an_order_whose_capture_failed_expires_once_two_runs_at_once_stock_back_authorization_voided(
    instance, world, localstripe
):
    from .. import localstripe_server

    shop = store(instance, world, "Maple Court", price="90.00")
    product = shop.products[0]
    j.mutate(
        instance,
        PLUGIN_UPDATE,
        {"id": "stripe", "input": {"active": True, "configuration": [
            {"name": "secret_key", "value": localstripe_server.SECRET_KEY},
            {"name": "api_base", "value": localstripe.url},
            {"name": "webhook_secret", "value": STRIPE_WEBHOOK_SECRET},
        ]}},
        token=world["staff"],
    )
    token, email = j.shopper(instance)
    checkout = j.ready_checkout(instance, token, email, [(shop.variants[0], 2)])
    session = j.mutate(instance, PAYMENT_CREATE, {"id": checkout["id"], "gateway": "stripe"}, endpoint="storefront",
                       token=token)["paymentSession"]
    intent = localstripe_server.Browser(localstripe).confirm(session["clientData"]["client_secret"])
    assert intent["status"] == "requires_capture"
    # Stripe fails every capture: the orders are placed, unpaid, holding their stock.
    for _ in range(5):
        localstripe.fail_next("POST", f"/v1/payment_intents/{intent['id']}/capture", "500")
    placed = j.mutate(instance, SESSION_COMPLETE, {"id": checkout["id"], "session": session["id"]},
                      endpoint="storefront", token=token)
    (order,) = placed["orders"]
    assert order["status"] == "UNPAID", placed

    def stock():
        return j.call(instance, VARIANT_STOCK, {"id": product}, token=shop.owner_token)["product"]["variants"][0]["stock"]

    assert stock() == 48
    # Within the reservation (30 minutes) nothing expires.
    assert result_of(run_later(instance, "orders.expire_unpaid", 10 / 1440)) == 0
    runs = race_later(instance, "orders.expire_unpaid", 31 / 1440)
    assert sorted(runs) == [0, 1], runs
    followed = j.call(instance, j.SHOPPER_ORDER, {"id": order["id"]}, endpoint="storefront", token=token)["order"]
    assert followed["status"] == "CANCELLED", followed
    assert stock() == 50
    assert localstripe.api("GET", f"/v1/payment_intents/{intent['id']}")["status"] == "canceled"
    cancels = localstripe.keys_for("POST", f"/v1/payment_intents/{intent['id']}/cancel")
    assert cancels and len(set(cancels)) == 1, cancels
    assert not ledger_kinds(instance, world, shop, "ESCROW_HOLD")
    # Later runs find nothing; the stock is given back once.
    assert result_of(run_later(instance, "orders.expire_unpaid", 1)) == 0
    assert stock() == 50
