"""Requests that arrive at the same moment, on two gunicorn workers with real transactions.

The same answers and coded errors on SQLite (write transactions taken IMMEDIATE, WAL, a busy
timeout) as on PostgreSQL (row locks): never HTTP 500, never a raw database error, and the money
moves exactly once, as the core API's ledger queries show.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from . import journey as j


def _no_raw_errors(answers):
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        status, body = answer
        assert status == 200, (status, body)
        assert "errors" not in body, body
    return [body["data"] for _status, body in answers]


def test_two_shoppers_race_for_the_last_item(served, marketplace):
    staff, silk = marketplace["staff"], marketplace["silk"]
    last = j.list_product(served, staff, silk, marketplace["category"], name=j.unique("Last Tin"), price="55.00", stock=1)
    buyers = [j.shopper(served) for _ in range(2)]
    checkouts = [j.ready_checkout(served, token, email, [(last, 1)]) for token, email in buyers]
    holds_before = len(j.kinds(j.ledger(served, staff, silk.vendor_id), "ESCROW_HOLD"))

    answers = j.race(2, lambda i: j.complete_checkout(served, buyers[i][0], checkouts[i]["id"]))
    payloads = [data["checkoutComplete"] for data in _no_raw_errors(answers)]
    won = [p for p in payloads if not p["errors"]]
    lost = [p for p in payloads if p["errors"]]
    assert len(won) == 1 and len(lost) == 1, payloads
    assert len(won[0]["orders"]) == 1 and won[0]["payment"]["status"] == "CAPTURED"
    assert lost[0]["orders"] in (None, []) and lost[0]["payment"] is None
    assert {e["code"] for e in lost[0]["errors"]} <= {"INSUFFICIENT_STOCK", "PRODUCT_UNAVAILABLE"}
    assert len(j.kinds(j.ledger(served, staff, silk.vendor_id), "ESCROW_HOLD")) == holds_before + 1


def test_concurrent_rulings_refund_once(served, marketplace):
    staff, silk = marketplace["staff"], marketplace["silk"]
    shopper, order = j.paid_order(served, silk, quantity=2)
    dispute = j.mutate(
        served,
        j.DISPUTE_OPEN,
        {"order": order["id"], "input": {"reason": "DAMAGED", "kind": "REFUND_ONLY",
                                         "description": "Crushed box.", "requestedAmount": "60.00"}},
        endpoint="storefront",
        token=shopper,
    )["dispute"]
    j.mutate(served, j.DISPUTE_RESPOND, {"id": dispute["id"]}, token=silk.owner_token)
    j.mutate(served, j.DISPUTE_ESCALATE, {"id": dispute["id"]}, endpoint="storefront", token=shopper)
    refunds_before = len(j.kinds(j.ledger(served, staff, silk.vendor_id), "REFUND_FROM_ESCROW"))

    answers = j.race(3, lambda _i: served.graphql(j.DISPUTE_RESOLVE, {"id": dispute["id"]}, token=staff))
    payloads = [data["disputeResolve"] for data in _no_raw_errors(answers)]
    won = [p for p in payloads if not p["errors"]]
    assert len(won) == 1, payloads
    assert won[0]["dispute"]["status"] == "RESOLVED" and won[0]["dispute"]["refunded"]["amount"] == "30.00"
    for lost in (p for p in payloads if p["errors"]):
        assert [e["code"] for e in lost["errors"]] == ["INVALID_TRANSITION"], lost
    refunds = j.kinds(j.ledger(served, staff, silk.vendor_id), "REFUND_FROM_ESCROW")
    assert len(refunds) == refunds_before + 1
    assert refunds[0]["amount"]["amount"] == "-30.00"


def test_concurrent_tracking_webhooks_apply_an_event_once(served, marketplace):
    silk = marketplace["silk"]
    shopper, order = j.paid_order(served, silk)
    shipped = j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=silk.owner_token)["order"]
    number = shipped["shipment"]["trackingNumber"]
    event_id = j.unique("evt")
    now = datetime.now(ZoneInfo("Asia/Shanghai"))

    # The carrier retries the same delivery event while other events of the parcel arrive.
    def send(i):
        if i < 3:
            return j.track(served, number, "DELIVERED", event_id, now)
        return j.track(served, number, "IN_TRANSIT", f"{event_id}-{i}", now - timedelta(hours=i))

    answers = j.race(5, send)
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
    codes = [code for code, _body in answers]
    assert codes == [200] * 5, answers
    delivered = [body for code, body in answers[:3]]
    assert sum(body["recorded"] for body in delivered) == 1
    assert sum(body["duplicates"] for body in delivered) == 2
    followed = j.call(served, j.SHOPPER_ORDER, {"id": order["id"]}, endpoint="storefront", token=shopper)["order"]
    assert followed["status"] == "DELIVERED"
    events = [e["status"] for e in followed["shipments"][0]["events"]]
    assert events.count("DELIVERED") == 1 and events.count("IN_TRANSIT") == 2


def test_double_submitted_payout_pays_once(served, marketplace):
    tea = marketplace["tea"]
    shopper, order = j.paid_order(served, tea)
    j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=tea.owner_token)
    j.mutate(served, j.CONFIRM, {"order": order["id"]}, endpoint="storefront", token=shopper)
    before = j.balance(served, tea.owner_token, tea.vendor_id)
    key = j.unique("payout")
    query = """
    mutation PayOut($vendor: ID!, $key: String!) {
      payoutCreate(vendor: $vendor, amount: "120.00", idempotencyKey: $key) {
        payout { id status amount { amount } } errors { field code message }
      }
    }"""
    answers = j.race(3, lambda _i: served.graphql(query, {"vendor": tea.vendor_id, "key": key}, token=tea.owner_token))
    payloads = [data["payoutCreate"] for data in _no_raw_errors(answers)]
    assert [p["errors"] for p in payloads] == [[], [], []], payloads
    assert len({p["payout"]["id"] for p in payloads}) == 1
    after = j.balance(served, tea.owner_token, tea.vendor_id)
    assert Decimal(before["available"]) - Decimal(after["available"]) == Decimal("120.00")


def test_concurrent_refresh_of_one_token_rotates_once(served, marketplace):
    email = f"{j.unique('twice')}@example.com"
    j.register(served, email)
    pair = j.sign_in(served, email)
    answers = j.race(2, lambda _i: served.graphql(j.TOKEN_REFRESH, {"refreshToken": pair["refreshToken"]}))
    payloads = [data["tokenRefresh"] for data in _no_raw_errors(answers)]
    won = [p for p in payloads if not p["errors"]]
    lost = [p for p in payloads if p["errors"]]
    assert len(won) == 1 and len(lost) == 1, payloads
    assert [e["code"] for e in lost[0]["errors"]] == ["JWT_REFRESH_TOKEN_REUSED"]
    # The reuse revoked the whole sign-in, the winner's new refresh token with it.
    again = j.call(served, j.TOKEN_REFRESH, {"refreshToken": won[0]["refreshToken"]})["tokenRefresh"]
    assert [e["code"] for e in again["errors"]] == ["JWT_INVALID_TOKEN"]


def test_a_gateway_event_sent_three_times_at_once_moves_the_money_once(served, marketplace):
    staff, tea = marketplace["staff"], marketplace["tea"]
    shopper, order = j.paid_order(served, tea)
    j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=tea.owner_token)
    j.mutate(served, j.CONFIRM, {"order": order["id"]}, endpoint="storefront", token=shopper)
    secret = "served-gateway-secret"
    j.mutate(
        served,
        "mutation Secret($input: PluginUpdateInput!) { pluginUpdate(id: \"dummy\", input: $input) { errors { field code message } } }",
        {"input": {"configuration": [{"name": "webhook_secret", "value": secret}]}},
        token=staff,
    )
    payout = j.mutate(
        served,
        """mutation PayOut($vendor: ID!) { payoutCreate(vendor: $vendor, amount: "100.00") {
             payout { id status pspReference } errors { field code message } } }""",
        {"vendor": tea.vendor_id},
        token=tea.owner_token,
    )["payout"]
    assert payout["status"] == "PAID" and payout["pspReference"]
    before = j.balance(served, staff, tea.vendor_id)

    # The bank sends the money back; the gateway reports it, and retries before hearing an answer.
    body = json.dumps(
        {"id": j.unique("evt"), "type": "transfer_reversed", "psp_reference": payout["pspReference"],
         "amount": "100.00", "currency": "CNY"}
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Dummy-Signature": signature}
    answers = j.race(3, lambda _i: served.post("/webhooks/payments/dummy/", body, headers))
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
    assert [status for status, _h, _c in answers] == [200, 200, 200], answers
    results = [json.loads(content) for _s, _h, content in answers]
    assert sum(r["applied"] for r in results) == 1 and sum(r["duplicates"] for r in results) == 2
    after = j.balance(served, staff, tea.vendor_id)
    assert Decimal(after["available"]) - Decimal(before["available"]) == Decimal("100.00")
    code, _h, _c = served.post("/webhooks/payments/dummy/", body, {**headers, "X-Dummy-Signature": "0" * 64})
    assert code == 400


def test_two_shoppers_rate_one_product_at_once_and_both_count(served, marketplace):
    silk = marketplace["silk"]
    product = j.list_product(served, marketplace["staff"], silk, marketplace["category"], name=j.unique("Figs"), price="40.00")
    lines = []
    for _ in range(2):
        shopper, order = j.paid_order(served, silk, variant=product)
        j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=silk.owner_token)
        j.mutate(served, j.CONFIRM, {"order": order["id"]}, endpoint="storefront", token=shopper)
        lines.append((shopper, order["lines"][0]["id"]))
    review = """
    mutation Rate($line: ID!, $rating: Int!) {
      productReviewCreate(orderLine: $line, rating: $rating, comment: "Sweet") { review { id rating } errors { field code message } }
    }"""
    ratings = [5, 2]
    answers = j.race(
        2,
        lambda i: served.graphql(review, {"line": lines[i][1], "rating": ratings[i]}, endpoint="storefront", token=lines[i][0]),
    )
    payloads = [data["productReviewCreate"] for data in _no_raw_errors(answers)]
    assert [p["errors"] for p in payloads] == [[], []], payloads
    slug = j.call(
        served, "query Slug($id: ID!) { product(id: $id) { slug } }", {"id": silk.products[-1]}, token=silk.owner_token
    )["product"]["slug"]
    seen = j.call(
        served, "query Rating($slug: String!) { product(slug: $slug) { rating { average count } } }",
        {"slug": slug}, endpoint="storefront",
    )["product"]["rating"]
    assert seen["count"] == 2 and Decimal(str(seen["average"])) == Decimal("3.5"), seen


def test_entry_fee_and_deposit_paid_twice_at_once_are_charged_once(served, marketplace):
    staff = marketplace["staff"]
    store = j.open_store(served, staff, marketplace["category"], "Twin Lanterns", pay=False)
    standing = """
    query Standing($id: ID!) { vendor(id: $id) { status standing { feePaid { amount } depositShortfall { amount } } } }"""
    for document in (j.PAY_FEE, j.TOP_UP):
        answers = j.race(2, lambda _i: served.graphql(document, {"vendor": store.vendor_id}, token=store.owner_token))
        payloads = [next(iter(data.values())) for data in _no_raw_errors(answers)]
        assert [p["errors"] for p in payloads] == [[], []], payloads
        assert payloads[0]["payment"]["id"] == payloads[1]["payment"]["id"]
    seen = j.call(served, standing, {"id": store.vendor_id}, token=staff)["vendor"]
    assert seen["status"] == "ACTIVE"
    assert seen["standing"]["feePaid"]["amount"] == "1000.00"
    assert j.balance(served, staff, store.vendor_id)["deposit"] == "2000.00"
