"""The three users' journeys over HTTP against gunicorn: real transactions, two worker processes.

A merchant applies with a licence, staff approve, the merchant pays the entry fee and the
deposit and lists products that staff review; a shopper signs in, buys from two stores in one
checkout (completed twice at the same moment), each store ships, the carrier reports a delivery
through its signed webhook, the shopper confirms one order and disputes the other, staff rule,
the first store is paid out and downloads its statement.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from . import journey as j


def test_sign_in_and_refresh_twice_rotates(served, marketplace):
    email = f"{j.unique('shopper')}@example.com"
    j.register(served, email, endpoint="storefront")
    for endpoint in ("core", "storefront"):
        pair = j.sign_in(served, email, endpoint=endpoint)
        first = j.mutate(served, j.TOKEN_REFRESH, {"refreshToken": pair["refreshToken"]}, endpoint=endpoint)
        second = j.mutate(served, j.TOKEN_REFRESH, {"refreshToken": first["refreshToken"]}, endpoint=endpoint)
        assert len({pair["refreshToken"], first["refreshToken"], second["refreshToken"]}) == 3
        me = j.call(served, "query Me { me { email } }", endpoint=endpoint, token=second["token"])
        assert me["me"]["email"] == email
        # The first refresh token was used: presenting it again is refused and revokes the sign-in.
        reused = j.call(served, j.TOKEN_REFRESH, {"refreshToken": pair["refreshToken"]}, endpoint=endpoint)
        assert [e["code"] for e in reused["tokenRefresh"]["errors"]] == ["JWT_REFRESH_TOKEN_REUSED"]
        revoked = j.call(served, j.TOKEN_REFRESH, {"refreshToken": second["refreshToken"]}, endpoint=endpoint)
        assert [e["code"] for e in revoked["tokenRefresh"]["errors"]] == ["JWT_INVALID_TOKEN"]


def test_onboarding_leaves_active_stores_with_their_documents(served, marketplace):
    tea = marketplace["tea"]
    documents = tea.application["documents"]
    assert [(d["documentType"], d["contentType"]) for d in documents] == [("BUSINESS_LICENSE", "application/pdf")]
    status, headers, content = served.get(documents[0]["url"])
    assert status == 200 and content.startswith(b"%PDF-")
    assert tea.application["approved"]["status"] == "APPROVED"
    assert tea.fee_payment["payment"]["amount"]["amount"] == "1000.00"
    assert tea.deposit_payment["payment"]["amount"]["amount"] == "2000.00"
    assert tea.deposit_payment["vendor"]["status"] == "ACTIVE"
    money = j.balance(served, tea.owner_token, tea.vendor_id)
    assert money["deposit"] == "2000.00"
    page = j.call(
        served,
        "query Store($slug: String!) { vendor(slug: $slug) { name products(first: 5) { totalCount } } }",
        {"slug": tea.slug},
        endpoint="storefront",
    )
    assert page["vendor"] == {"name": "Tea House", "products": {"totalCount": 1}}


def test_shopper_buys_from_two_stores_and_the_money_follows(served, marketplace):
    staff, tea, silk = marketplace["staff"], marketplace["tea"], marketplace["silk"]
    email = f"{j.unique('li.lei')}@example.com"
    shopper = j.register(served, email, endpoint="storefront")
    holds_before = {s.name: len(j.kinds(j.ledger(served, staff, s.vendor_id), "ESCROW_HOLD")) for s in (tea, silk)}
    checkout = j.ready_checkout(served, shopper, email, [(tea.variants[0], 2), (silk.variants[0], 1)])
    assert sorted(p["vendor"]["name"] for p in checkout["packages"]) == ["Silk Road", "Tea House"]

    # Two completions of one checkout at the same moment: both answer the same orders and payment.
    answers = j.race(2, lambda _i: j.complete_checkout(served, shopper, checkout["id"]))
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        status, body = answer
        assert status == 200 and "errors" not in body, body
        assert body["data"]["checkoutComplete"]["errors"] == []
    first, second = (body["data"]["checkoutComplete"] for _status, body in answers)
    assert first["payment"]["id"] == second["payment"]["id"]
    assert sorted(o["id"] for o in first["orders"]) == sorted(o["id"] for o in second["orders"])
    assert len(first["orders"]) == 2
    assert first["payment"]["status"] == "CAPTURED"
    orders = {o["vendor"]["name"]: o for o in first["orders"]}
    assert {o["status"] for o in orders.values()} == {"PAID"}
    assert {o["paymentStatus"] for o in orders.values()} == {"ESCROW_HELD"}
    paid = sum(Decimal(o["total"]["amount"]) for o in orders.values())
    assert Decimal(first["payment"]["total"]["amount"]) == paid
    # The money was held once: one escrow hold per store, for that store's order.
    for store in (tea, silk):
        holds = j.kinds(j.ledger(served, staff, store.vendor_id), "ESCROW_HOLD")  # newest first
        assert len(holds) == holds_before[store.name] + 1
        assert Decimal(holds[0]["amount"]["amount"]) == Decimal(orders[store.name]["total"]["amount"])

    # Each store ships through the carrier; the carrier reports the tea delivered (signed webhook).
    shipped = {}
    for store in (tea, silk):
        order = j.mutate(served, j.ORDER_SHIP, {"order": orders[store.name]["id"]}, token=store.owner_token)["order"]
        assert order["status"] == "SHIPPED"
        shipped[store.name] = order["shipment"]["trackingNumber"]
    code, answer = j.track(served, shipped["Tea House"], "DELIVERED", j.unique("evt"))
    assert code == 200 and answer["applied"] == 1, answer
    followed = j.call(served, j.SHOPPER_ORDER, {"id": orders["Tea House"]["id"]}, endpoint="storefront", token=shopper)
    assert followed["order"]["status"] == "DELIVERED"
    assert "DELIVERED" in [e["status"] for e in followed["order"]["shipments"][0]["events"]]
    bad_body = b'{"events": []}'
    code, _h, _c = served.post(
        f"/webhooks/carriers/{j.TABLE_RATE}/tracking/", bad_body,
        {"Content-Type": "application/json", "X-Carrier-Signature": "sha256=" + "0" * 64},
    )
    assert code == 401

    # Receipt confirmed: the tea's escrow is released, less 5% commission on the goods.
    before = j.balance(served, tea.owner_token, tea.vendor_id)
    confirmed = j.mutate(served, j.CONFIRM, {"order": orders["Tea House"]["id"]}, endpoint="storefront", token=shopper)
    assert confirmed["order"] == {"status": "COMPLETED", "paymentStatus": "RELEASED"}
    tea_total = Decimal(orders["Tea House"]["total"]["amount"])
    money = j.balance(served, tea.owner_token, tea.vendor_id)
    assert Decimal(money["available"]) - Decimal(before["available"]) == tea_total - Decimal("30.00")  # 600.00 x 5%
    assert Decimal(before["pending"]) - Decimal(money["pending"]) == tea_total

    # The dates are disputed; the store refuses, the shopper escalates, staff refund part of it.
    silk_order = orders["Silk Road"]
    dispute = j.mutate(
        served,
        j.DISPUTE_OPEN,
        {
            "order": silk_order["id"],
            "input": {"reason": "NOT_AS_DESCRIBED", "kind": "REFUND_ONLY", "description": "Dry and old.",
                      "requestedAmount": "60.00"},
        },
        endpoint="storefront",
        token=shopper,
    )["dispute"]
    j.mutate(served, j.DISPUTE_RESPOND, {"id": dispute["id"]}, token=silk.owner_token)
    j.mutate(served, j.DISPUTE_ESCALATE, {"id": dispute["id"]}, endpoint="storefront", token=shopper)
    refunds_before = len(j.kinds(j.ledger(served, staff, silk.vendor_id), "REFUND_FROM_ESCROW"))
    ruled = j.mutate(served, j.DISPUTE_RESOLVE, {"id": dispute["id"]}, token=staff)["dispute"]
    assert ruled["status"] == "RESOLVED"
    assert ruled["refunded"]["amount"] == "30.00"
    assert ruled["ruling"]["outcome"] == "REFUND_PARTIAL"
    refunds = j.kinds(j.ledger(served, staff, silk.vendor_id), "REFUND_FROM_ESCROW")
    assert refunds[0]["amount"]["amount"] == "-30.00"
    assert len(refunds) == refunds_before + 1

    # The tea store is paid out and downloads its statement.
    payout = j.mutate(served, j.PAYOUT, {"vendor": tea.vendor_id}, token=tea.owner_token)["payout"]
    assert payout["amount"]["amount"] == "150.00" and payout["status"] == "PAID"
    after = j.balance(served, tea.owner_token, tea.vendor_id)
    assert Decimal(after["available"]) == Decimal(money["available"]) - Decimal("150.00")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    statement = j.call(served, j.STATEMENT, {"vendor": tea.vendor_id, "from": today, "to": today}, token=tea.owner_token)
    statement = statement["vendorStatement"]
    # The statement comes from the same ledger: its closing balance is pending + available now.
    assert Decimal(statement["closingBalance"]["amount"]) == Decimal(after["available"]) + Decimal(after["pending"])
    status, headers, csv_body = served.get(statement["csvUrl"])
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "150.00" in csv_body.decode("utf-8-sig")
    status, headers, pdf_body = served.get(statement["pdfUrl"])
    assert status == 200 and pdf_body.startswith(b"%PDF-")
