"""Members' points over HTTP against gunicorn: a shopper's two checkouts spend the same points at the
moment a third order's receipt is confirmed (which issues points, under the same member row). One
checkout gets the points, the other is refused with POINTS_INSUFFICIENT and places nothing, the
release issues its points once, and the balance is what the history says."""

from __future__ import annotations

from decimal import Decimal

from . import journey as j

ME = """{ me { points { balance history(first: 20) { edges { node { kind points balanceAfter order } } } } } }"""
USE = f"""mutation Use($id: ID!, $points: Int) {{ checkoutPointsUse(id: $id, points: $points) {{
  checkout {{ totalPrice {{ amount }} points {{ used allowed balance amount {{ amount }} }} }} {j.ERRORS} }} }}"""


def _deliver(served, store, order_id):
    shipped = j.mutate(served, j.ORDER_SHIP, {"order": order_id}, token=store.owner_token)["order"]
    code, answer = j.track(served, shipped["shipment"]["trackingNumber"], "DELIVERED", j.unique("evt"))
    assert code == 200 and answer["applied"] == 1, answer


def _buy(served, token, email, variant) -> dict:
    checkout = j.ready_checkout(served, token, email, [(variant, 1)])
    status, body = j.complete_checkout(served, token, checkout["id"])
    assert status == 200 and "errors" not in body and body["data"]["checkoutComplete"]["errors"] == [], body
    return body["data"]["checkoutComplete"]["orders"][0]


def _me(served, token) -> dict:
    return j.call(served, ME, endpoint="storefront", token=token)["me"]["points"]


def test_two_checkouts_spending_the_same_points_during_a_release(served, marketplace):
    staff, category = marketplace["staff"], marketplace["category"]
    store = j.open_store(served, staff, category, "Points Tea")
    dear = j.list_product(served, staff, store, category, name="Points Tea Dahongpao", price="300.00")
    cheap = j.list_product(served, staff, store, category, name="Points Tea Maofeng", price="100.00")
    token, email = j.shopper(served)

    first = _buy(served, token, email, dear)
    _deliver(served, store, first["id"])
    confirmed = j.mutate(served, j.CONFIRM, {"order": first["id"]}, endpoint="storefront", token=token)
    assert confirmed["order"]["status"] == "COMPLETED"
    earned = _me(served, token)["balance"]
    assert earned >= 300  # one point per yuan of goods at least (a tier may multiply it)

    second = _buy(served, token, email, cheap)
    _deliver(served, store, second["id"])
    checkouts = [j.ready_checkout(served, token, email, [(cheap, 1)]) for _ in range(2)]
    for checkout in checkouts:
        used = j.mutate(served, USE, {"id": checkout["id"], "points": earned}, endpoint="storefront", token=token)
        assert used["checkout"]["points"]["used"] == earned, used

    def act(i):
        if i < 2:
            return j.complete_checkout(served, token, checkouts[i]["id"])
        return served.graphql(j.CONFIRM, {"order": second["id"]}, endpoint="storefront", token=token)

    answers = j.race(3, act)
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        status, body = answer
        assert status == 200 and "errors" not in body, body
    completions = [answer[1]["data"]["checkoutComplete"] for answer in answers[:2]]
    placed = [c for c in completions if not c["errors"]]
    refused = [c for c in completions if c["errors"]]
    assert len(placed) == 1 and len(refused) == 1, completions
    assert [e["code"] for e in refused[0]["errors"]] == ["POINTS_INSUFFICIENT"] and refused[0]["orders"] in (None, [])
    assert answers[2][1]["data"]["orderConfirmReceipt"]["order"]["status"] == "COMPLETED"

    points = _me(served, token)
    history = [edge["node"] for edge in points["history"]["edges"]]
    issued_second = [e for e in history if e["order"] == second["id"] and e["points"] > 0]
    assert len(issued_second) == 1 and issued_second[0]["points"] >= 100, history  # issued once
    redeemed = [e for e in history if e["points"] < 0]
    assert [e["points"] for e in redeemed] == [-earned], history  # spent once
    assert points["balance"] == earned + issued_second[0]["points"] - earned
    assert points["balance"] == sum(e["points"] for e in history)
    assert history[0]["balanceAfter"] == points["balance"]
    # The placed order is cheaper by the points' value (100 points a yuan).
    order_total = Decimal(placed[0]["orders"][0]["total"]["amount"])
    assert order_total == Decimal(second["total"]["amount"]) - Decimal(earned) / 100
