"""Vouchers over HTTP against gunicorn: staff make a platform voucher, a store its own, a shopper
applies both to a checkout across two stores and pays with the dummy gateway; the orders are
released and one is partly refunded after release. The orders' discount lines, the ledger and the
statements show who paid for what: the shopper what they paid, the store its own discount, the
platform its subsidy (paid at release, taken back in proportion to the refund).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from . import journey as j

VOUCHER_CREATE = f"""
mutation Voucher($input: VoucherInput!) {{
  voucherCreate(input: $input) {{ voucher {{ id code platformSharePercent vendor {{ id }} }} {j.ERRORS} }}
}}"""
APPLY = f"""
mutation Apply($id: ID!, $code: String!) {{
  checkoutVoucherApply(id: $id, code: $code) {{
    checkout {{
      totalPrice {{ amount }} discount {{ amount }}
      packages {{ vendor {{ id }} total {{ amount }} discounts {{ funder target amount {{ amount }} }} }}
    }}
    {j.ERRORS}
  }}
}}"""
ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    total { amount } discount { amount } platformSubsidy { amount }
    discounts { label funder target amount { amount } }
    lines { storeDiscount { amount } platformDiscount { amount } commissionBase { amount } }
  }
}"""
STATEMENT = """
query Statement($vendor: ID!, $from: Date!, $to: Date!) {
  vendorStatement(vendor: $vendor, from: $from, to: $to) {
    openingBalance { amount } closingBalance { amount }
    lines { kind balance { amount } discounts { funder amount { amount } } }
  }
}"""
CENT = Decimal("0.01")


def _d(value) -> Decimal:
    return Decimal(value["amount"] if isinstance(value, dict) else value)


def _release(served, store, order_id, shopper):
    shipped = j.mutate(served, j.ORDER_SHIP, {"order": order_id}, token=store.owner_token)["order"]
    code, answer = j.track(served, shipped["shipment"]["trackingNumber"], "DELIVERED", j.unique("evt"))
    assert code == 200 and answer["applied"] == 1, answer
    confirmed = j.mutate(served, j.CONFIRM, {"order": order_id}, endpoint="storefront", token=shopper)
    assert confirmed["order"] == {"status": "COMPLETED", "paymentStatus": "RELEASED"}


def _ledger_sum(served, staff, store, kind) -> Decimal:
    return sum((_d(e["amount"]) for e in j.kinds(j.ledger(served, staff, store.vendor_id), kind)), Decimal(0))


def test_platform_and_store_vouchers_split_the_money_over_http(served, marketplace):
    staff, category = marketplace["staff"], marketplace["category"]
    tea = j.open_store(served, staff, category, "Voucher Tea")
    silk = j.open_store(served, staff, category, "Voucher Dates")
    j.list_product(served, staff, tea, category, name="Biluochun", price="300.00")
    j.list_product(served, staff, silk, category, name="Hami Dates", price="80.00")
    festival, tea20 = j.unique("FEST").replace("-", "")[:30], j.unique("TEA").replace("-", "")[:30]
    platform = j.mutate(served, VOUCHER_CREATE, {"input": {
        "name": "Festival 30 off 300", "code": festival, "kind": "AMOUNT_OFF", "value": "30", "minSpend": "300"}},
        token=staff)["voucher"]
    assert platform["vendor"] is None and _d(platform["platformSharePercent"]) == 100
    own = j.mutate(served, VOUCHER_CREATE, {"input": {
        "name": "Tea 20 off 200", "code": tea20, "kind": "AMOUNT_OFF", "value": "20", "minSpend": "200"}},
        token=tea.owner_token)["voucher"]
    assert own["vendor"] == {"id": tea.vendor_id} and _d(own["platformSharePercent"]) == 0

    shopper, email = j.shopper(served)
    checkout = j.ready_checkout(served, shopper, email, [(tea.variants[0], 1), (silk.variants[0], 1)])
    j.mutate(served, APPLY, {"id": checkout["id"], "code": tea20}, endpoint="storefront", token=shopper)
    shown = j.mutate(served, APPLY, {"id": checkout["id"], "code": festival.lower()}, endpoint="storefront",
                     token=shopper)["checkout"]
    packages = {p["vendor"]["id"]: p for p in shown["packages"]}
    # The store's 20 first; the platform's 30 pro rata over what is left (280 and 80), to the cent.
    assert sorted((d["funder"], _d(d["amount"])) for d in packages[tea.vendor_id]["discounts"]) == [
        ("PLATFORM", Decimal("23.33")), ("STORE", Decimal("20.00"))]
    assert [(d["funder"], _d(d["amount"])) for d in packages[silk.vendor_id]["discounts"]] == [
        ("PLATFORM", Decimal("6.67"))]
    assert _d(shown["discount"]) == Decimal("50.00")

    status, body = j.complete_checkout(served, shopper, checkout["id"])
    assert status == 200 and "errors" not in body, body
    payload = body["data"]["checkoutComplete"]
    assert payload["errors"] == [] and payload["payment"]["status"] == "CAPTURED"
    # The shopper paid what the storefront showed.
    assert _d(payload["payment"]["total"]) == _d(shown["totalPrice"])
    orders = {o["vendor"]["id"]: o for o in payload["orders"]}
    for store in (tea, silk):
        assert _d(orders[store.vendor_id]["total"]) == _d(packages[store.vendor_id]["total"])
        # Escrow holds what the shopper paid for the store's order, not the platform's part.
        assert _ledger_sum(served, staff, store, "ESCROW_HOLD") == _d(orders[store.vendor_id]["total"])

    tea_order = j.call(served, ORDER, {"id": orders[tea.vendor_id]["id"]}, token=tea.owner_token)["order"]
    assert sorted((d["funder"], d["target"], _d(d["amount"])) for d in tea_order["discounts"]) == [
        ("PLATFORM", "GOODS", Decimal("23.33")), ("STORE", "GOODS", Decimal("20.00"))]
    assert _d(tea_order["platformSubsidy"]) == Decimal("23.33")
    assert _d(tea_order["lines"][0]["commissionBase"]) == Decimal("280.00")
    # Another store does not see the order.
    assert j.call(served, ORDER, {"id": orders[tea.vendor_id]["id"]}, token=silk.owner_token)["order"] is None

    for store in (tea, silk):
        _release(served, store, orders[store.vendor_id]["id"], shopper)
    # At release the platform pays each store its subsidy; commission (5%) on the goods less the store's own discount.
    assert _ledger_sum(served, staff, tea, "PROMOTION_SUBSIDY") == Decimal("23.33")
    assert _ledger_sum(served, staff, silk, "PROMOTION_SUBSIDY") == Decimal("6.67")
    money = {s.vendor_id: j.balance(served, s.owner_token, s.vendor_id) for s in (tea, silk)}
    tea_paid, silk_paid = _d(orders[tea.vendor_id]["total"]), _d(orders[silk.vendor_id]["total"])
    assert _d(money[tea.vendor_id]["available"]) == tea_paid + Decimal("23.33") - Decimal("14.00")
    assert _d(money[silk.vendor_id]["available"]) == silk_paid + Decimal("6.67") - Decimal("4.00")

    # A partial refund of the tea after release (a dispute staff rule 30.00): the shopper gets 30 back,
    # the store returns the platform's share of its subsidy.
    dispute = j.mutate(served, j.DISPUTE_OPEN, {"order": orders[tea.vendor_id]["id"], "input": {
        "reason": "NOT_AS_DESCRIBED", "kind": "REFUND_ONLY", "description": "Broken leaves.", "requestedAmount": "60.00"}},
        endpoint="storefront", token=shopper)["dispute"]
    j.mutate(served, j.DISPUTE_RESPOND, {"id": dispute["id"]}, token=tea.owner_token)
    j.mutate(served, j.DISPUTE_ESCALATE, {"id": dispute["id"]}, endpoint="storefront", token=shopper)
    ruled = j.mutate(served, j.DISPUTE_RESOLVE, {"id": dispute["id"]}, token=staff)["dispute"]
    assert ruled["refunded"]["amount"] == "30.00"
    share = (Decimal("23.33") * Decimal("30.00") / tea_paid).quantize(CENT, ROUND_HALF_UP)
    assert _ledger_sum(served, staff, tea, "PROMOTION_SUBSIDY_RETURN") == -share
    assert _ledger_sum(served, staff, silk, "PROMOTION_SUBSIDY_RETURN") == 0

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    for store, subsidy, discounts in (
        (tea, Decimal("23.33") - share, [("PLATFORM", Decimal("23.33")), ("STORE", Decimal("20.00"))]),
        (silk, Decimal("6.67"), [("PLATFORM", Decimal("6.67"))]),
    ):
        statement = j.call(served, STATEMENT, {"vendor": store.vendor_id, "from": today, "to": today},
                           token=store.owner_token)["vendorStatement"]
        lines = {line["kind"]: line for line in statement["lines"]}
        assert [(d["funder"], _d(d["amount"])) for d in lines["SALES"]["discounts"]] == discounts
        assert _d(lines["PROMOTIONS"]["balance"]) == subsidy
        total = sum((_d(line["balance"]) for line in statement["lines"]), Decimal(0))
        assert _d(statement["openingBalance"]) + total == _d(statement["closingBalance"])
        now = j.balance(served, store.owner_token, store.vendor_id)
        assert _d(statement["closingBalance"]) == _d(now["available"]) + _d(now["pending"])


FLASH_CREATE = f"""
mutation Flash($variant: ID!, $input: FlashSaleInput!) {{
  flashSaleCreate(variant: $variant, input: $input) {{ flashSale {{ id price {{ amount }} quantity }} {j.ERRORS} }}
}}"""
FLASH = "query Flash($id: ID!) { flashSale(id: $id) { soldCount remaining } }"
VARIANT_FLASH = """query Listing($slug: String!) { vendor(slug: $slug) { products(first: 1) { edges { node {
  variants { price { amount } flashSale { live price { amount } originalPrice { amount } endsAt remaining badge } } } } } } }"""
PAYMENT_CREATE = f"""mutation Start($id: ID!) {{
  checkoutPaymentCreate(id: $id, gateway: "dummy") {{ paymentSession {{ id amount {{ amount }} }} {j.ERRORS} }} }}"""
SESSION_COMPLETE = f"""mutation Complete($id: ID!, $session: String!) {{
  checkoutComplete(id: $id, paymentSession: $session) {{ orders {{ id total {{ amount }} }} {j.ERRORS} }} }}"""


def _flash_store(served, marketplace, name, *, quantity, price="300.00", limit=None):
    staff, category = marketplace["staff"], marketplace["category"]
    store = j.open_store(served, staff, category, name)
    variant = j.list_product(served, staff, store, category, name=f"{name} Longjing", price=price)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    sale = j.mutate(served, FLASH_CREATE, {"variant": variant, "input": {
        "name": "秒杀", "price": "99.00", "quantity": quantity, "perShopperLimit": limit,
        "startsAt": now.replace(year=now.year - 1).isoformat(), "endsAt": now.replace(year=now.year + 1).isoformat()}},
        token=store.owner_token)["flashSale"]
    return store, variant, sale


def test_shoppers_racing_for_a_flash_sale_never_get_more_units_than_it_has(served, marketplace):
    """Six shoppers complete at the same moment on two workers; the sale has two units: two orders
    at the event price, the rest at the regular price, and the sale counts two."""
    store, variant, sale = _flash_store(served, marketplace, "Flash Tea", quantity=2)
    listing = j.call(served, VARIANT_FLASH, {"slug": store.slug}, endpoint="storefront")
    (shown,) = listing["vendor"]["products"]["edges"][0]["node"]["variants"]
    assert shown["flashSale"] | {"endsAt": None} == {
        "live": True, "price": {"amount": "99.00"}, "originalPrice": {"amount": "300.00"}, "endsAt": None,
        "remaining": 2, "badge": "秒杀"}
    shoppers = [j.shopper(served) for _ in range(6)]
    checkouts = [j.ready_checkout(served, token, email, [(variant, 1)]) for token, email in shoppers]

    answers = j.race(6, lambda i: j.complete_checkout(served, shoppers[i][0], checkouts[i]["id"]))

    totals = []
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        status, body = answer
        assert status == 200 and "errors" not in body, body
        payload = body["data"]["checkoutComplete"]
        assert payload["errors"] == [], payload
        assert _d(payload["payment"]["total"]) == _d(payload["orders"][0]["total"])
        totals.append(_d(payload["orders"][0]["total"]))
    cheap = [t for t in totals if t < Decimal("300.00")]
    assert len(cheap) == 2, totals
    assert j.call(served, FLASH, {"id": sale["id"]}, token=store.owner_token)["flashSale"] == {"soldCount": 2, "remaining": 0}


def test_a_payment_session_keeps_the_flash_price_or_is_refused(served, marketplace):
    """Two shoppers start paying while one unit is left: both sessions are for the event price; the
    first completes with it, the second is refused with CHECKOUT_CHANGED and places nothing."""
    store, variant, sale = _flash_store(served, marketplace, "Session Tea", quantity=1)
    (first, first_email), (second, second_email) = j.shopper(served), j.shopper(served)
    checkouts = [j.ready_checkout(served, first, first_email, [(variant, 1)]),
                 j.ready_checkout(served, second, second_email, [(variant, 1)])]
    sessions = [
        j.mutate(served, PAYMENT_CREATE, {"id": c["id"]}, endpoint="storefront", token=t)["paymentSession"]
        for c, t in zip(checkouts, (first, second))
    ]
    assert sessions[0]["amount"] == sessions[1]["amount"]
    paid = j.mutate(served, SESSION_COMPLETE, {"id": checkouts[0]["id"], "session": sessions[0]["id"]},
                    endpoint="storefront", token=first)
    assert _d(paid["orders"][0]["total"]) == _d(sessions[0]["amount"])
    status, body = served.graphql(SESSION_COMPLETE, {"id": checkouts[1]["id"], "session": sessions[1]["id"]},
                                  endpoint="storefront", token=second)
    refused = body["data"]["checkoutComplete"]
    assert [e["code"] for e in refused["errors"]] == ["CHECKOUT_CHANGED"] and refused["orders"] in (None, [])
    assert j.call(served, FLASH, {"id": sale["id"]}, token=store.owner_token)["flashSale"] == {"soldCount": 1, "remaining": 0}


ORDER_CANCEL = f"""mutation Cancel($id: ID!) {{
  orderCancel(id: $id, reason: "Changed my mind") {{ order {{ status }} {j.ERRORS} }} }}"""
MY_VOUCHER = "query Voucher($id: ID!) { voucher(id: $id) { usedCount } }"


def test_cancelling_every_order_gives_the_voucher_and_the_flash_units_back(served, marketplace):
    """A once-per-shopper store voucher and a flash sale's only unit, on one order; the shopper
    cancels it through the storefront: the voucher counts as unused and the unit is on sale again,
    so the same shopper buys both once more."""
    store, variant, sale = _flash_store(served, marketplace, "Cancel Tea", quantity=1, limit=1)
    code = j.unique("BACK").replace("-", "")
    voucher = j.mutate(served, VOUCHER_CREATE, {"input": {
        "name": "Back 5 off", "code": code, "kind": "AMOUNT_OFF", "value": "5", "perShopperLimit": 1}},
        token=store.owner_token)["voucher"]
    shopper, email = j.shopper(served)

    def buy():
        checkout = j.ready_checkout(served, shopper, email, [(variant, 1)])
        applied = j.mutate(served, APPLY, {"id": checkout["id"], "code": code}, endpoint="storefront", token=shopper)
        assert _d(applied["checkout"]["discount"]) == Decimal("206.00")  # 201 off the flash price, then 5
        status, body = j.complete_checkout(served, shopper, checkout["id"])
        assert status == 200 and body["data"]["checkoutComplete"]["errors"] == [], body
        return body["data"]["checkoutComplete"]["orders"][0]

    order = buy()
    assert j.call(served, MY_VOUCHER, {"id": voucher["id"]}, token=store.owner_token)["voucher"] == {"usedCount": 1}
    assert j.call(served, FLASH, {"id": sale["id"]}, token=store.owner_token)["flashSale"] == {"soldCount": 1, "remaining": 0}
    cancelled = j.mutate(served, ORDER_CANCEL, {"id": order["id"]}, endpoint="storefront", token=shopper)
    assert cancelled["order"]["status"] == "CANCELLED"
    assert j.call(served, MY_VOUCHER, {"id": voucher["id"]}, token=store.owner_token)["voucher"] == {"usedCount": 0}
    assert j.call(served, FLASH, {"id": sale["id"]}, token=store.owner_token)["flashSale"] == {"soldCount": 0, "remaining": 1}
    buy()
    assert j.call(served, MY_VOUCHER, {"id": voucher["id"]}, token=store.owner_token)["voucher"] == {"usedCount": 1}


GROUP_DEAL_CREATE = f"""
mutation Deal($variant: ID!, $input: GroupDealInput!) {{
  groupDealCreate(variant: $variant, input: $input) {{ groupDeal {{ id }} {j.ERRORS} }}
}}"""
GROUP_DEAL = """query Deal($id: ID!) { groupDeal(id: $id) { groups { id status memberCount membersNeeded orders } } }"""
GROUP_BUY_SET = f"""mutation Join($id: ID!, $deal: ID!, $group: ID) {{
  checkoutGroupBuySet(id: $id, deal: $deal, group: $group) {{
    checkout {{ totalPrice {{ amount }} groupBuy {{ units problem group {{ id }} }} }} {j.ERRORS} }} }}"""
SHOPPER_GROUP = """query Mine($id: ID!) { order(id: $id) { awaitingGroup group { id status membersNeeded } } }"""


def test_shoppers_racing_for_a_groups_last_slots_fill_it_once(served, marketplace):
    """A three-member group deal: one shopper opens a group, four race on two workers for its two
    free slots. Two join and pay the deal price, two are refused with GROUP_NOT_JOINABLE and nothing
    is placed for them; the group fills once, and its three orders can ship."""
    staff, category = marketplace["staff"], marketplace["category"]
    store = j.open_store(served, staff, category, "Group Tea")
    variant = j.list_product(served, staff, store, category, name="Group Tea Tieguanyin", price="100.00")
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    deal = j.mutate(served, GROUP_DEAL_CREATE, {"variant": variant, "input": {
        "name": "三人团", "price": "60.00", "groupSize": 3, "windowHours": 24,
        "startsAt": now.replace(year=now.year - 1).isoformat(), "endsAt": now.replace(year=now.year + 1).isoformat()}},
        token=store.owner_token)["groupDeal"]

    def join(token, email, group=None):
        checkout = j.ready_checkout(served, token, email, [(variant, 1)])
        marked = j.mutate(served, GROUP_BUY_SET, {"id": checkout["id"], "deal": deal["id"], "group": group},
                          endpoint="storefront", token=token)["checkout"]
        assert marked["groupBuy"]["problem"] is None and marked["groupBuy"]["units"] == 1, marked
        return checkout

    opener, opener_email = j.shopper(served)
    status, body = j.complete_checkout(served, opener, join(opener, opener_email)["id"])
    assert status == 200 and "errors" not in body and body["data"]["checkoutComplete"]["errors"] == [], body
    first_order = body["data"]["checkoutComplete"]["orders"][0]
    assert _d(first_order["total"]) < Decimal("100.00")
    mine = j.call(served, SHOPPER_GROUP, {"id": first_order["id"]}, endpoint="storefront", token=opener)["order"]
    assert mine["awaitingGroup"] is True and mine["group"]["status"] == "OPEN" and mine["group"]["membersNeeded"] == 2
    # The store may not ship a held order.
    held = served.graphql(j.ORDER_SHIP, {"order": first_order["id"]}, token=store.owner_token)[1]["data"]["orderShip"]
    assert [e["code"] for e in held["errors"]] == ["AWAITING_GROUP"]
    group_id = mine["group"]["id"]

    racers = [j.shopper(served) for _ in range(4)]
    checkouts = [join(token, email, group_id) for token, email in racers]
    answers = j.race(4, lambda i: j.complete_checkout(served, racers[i][0], checkouts[i]["id"]))

    joined, refused = [], []
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        status, body = answer
        assert status == 200 and "errors" not in body, body
        payload = body["data"]["checkoutComplete"]
        if payload["errors"]:
            assert [e["code"] for e in payload["errors"]] == ["GROUP_NOT_JOINABLE"], payload
            assert payload["orders"] in (None, [])
            refused.append(payload)
        else:
            assert _d(payload["orders"][0]["total"]) == _d(first_order["total"])
            joined.append(payload["orders"][0])
    assert len(joined) == 2 and len(refused) == 2, answers

    (group,) = j.call(served, GROUP_DEAL, {"id": deal["id"]}, token=store.owner_token)["groupDeal"]["groups"]
    assert group["status"] == "FILLED" and group["memberCount"] == 3 and group["membersNeeded"] == 0
    assert len(group["orders"]) == 3
    for order in [first_order, *joined]:
        shipped = j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=store.owner_token)["order"]
        assert shipped["status"] == "SHIPPED"
    # Escrow holds the three members' payments and nothing for the refused shoppers.
    assert _ledger_sum(served, staff, store, "ESCROW_HOLD") == 3 * _d(first_order["total"])
