"""Issue 18's done-when for members: a shopper climbs a tier, earns points on release, redeems them
on a new order and sees them taken back after a refund, with the ledger balanced throughout (and
the points liability equal to the points outstanding at the redemption rate)."""

from decimal import Decimal

import pytest
from graphql_relay import to_global_id

from backend.finance import accounts
from backend.finance.ledger import escrow_total, ledger_problems
from backend.members.models import Member
from backend.orders import services as orders_services

from ..checkout.helpers import balance, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..promotions.helpers import cny, release
from .helpers import expense, liability, tiers

pytestmark = pytest.mark.django_db

ME = """{ me { points { balance history(first: 10) { edges { node { kind points balanceAfter } } } }
  tier { current { name } next { name } } } }"""
USE = """mutation($id: ID!, $points: Int) { checkoutPointsUse(id: $id, points: $points) {
  checkout { totalPrice { amount } points { used amount { amount } } } errors { code } } }"""


def balanced():
    assert ledger_problems() == []
    outstanding = sum(Member.objects.values_list("points_balance", flat=True))
    # 100 points per yuan: the liability is the points outstanding, in cents.
    assert liability() == Decimal(outstanding) / 100
    # What issuing cost, less what came back (refunds): the points outstanding plus those redeemed.
    assert -expense() >= liability()


def test_climb_earn_redeem_refund_with_the_ledger_balanced(storefront_api):
    tiers()
    tea, owner = store("Tea House")
    green = listing(tea, price="100.00", stock=100)
    shopper = make_user()
    api = storefront_api.login(shopper)

    # 1. A first order of 600: released, the shopper reaches 银卡 (x1.5) and earns 900 points.
    first = complete(ready_checkout(shopper, [(green, 6)]), user=shopper).orders[0]
    assert api.execute(ME)["me"]["points"]["balance"] == 0  # paid, not yet released: nothing earned
    balanced()
    release(first, owner, shopper)
    me = api.execute(ME)["me"]
    assert me["tier"]["current"]["name"] == "银卡" and me["tier"]["next"]["name"] == "金卡"
    assert me["points"]["balance"] == 900
    balanced()

    # 2. A new order of 100 uses all 900 points (9.00 off, within half of the goods).
    checkout = ready_checkout(shopper, [(green, 1)])
    used = api.mutate(USE, {"id": to_global_id("Checkout", checkout.pk), "points": None})
    assert used["errors"] == [] and used["checkout"]["points"]["used"] == 900
    assert used["checkout"]["points"]["amount"]["amount"] == "9.00"
    second = complete(checkout, user=shopper).orders[0]
    assert second.total_amount == Decimal(used["checkout"]["totalPrice"]["amount"])
    assert second.subsidy_amount == Decimal("9.00")
    assert api.execute(ME)["me"]["points"]["balance"] == 0
    assert balance(accounts.PLATFORM_PROMOTIONS) == Decimal("9.00")  # the liability paid in for the subsidy
    balanced()
    release(second, owner, shopper)
    # The store was paid the 9.00 at release; the 91 of goods paid earn 136 points (x1.5).
    assert balance(accounts.PLATFORM_PROMOTIONS) == 0
    assert api.execute(ME)["me"]["points"]["balance"] == 136
    balanced()

    # 3. A third of the first order refunded after release: a third of its 900 points taken back.
    first.refresh_from_db()
    third = (first.total_amount / 3).quantize(Decimal("0.01"))
    orders_services.order_refund(order=first, amount=cny(third), idempotency_key="part", actor=None)
    expected_back = int((Decimal(900) * third / first.total_amount).quantize(Decimal(1)))
    me = api.execute(ME)["me"]
    assert me["points"]["balance"] == 136 - expected_back
    kinds = [(e["node"]["kind"], e["node"]["points"]) for e in me["points"]["history"]["edges"]]
    assert kinds == [("REVERSE", -expected_back), ("EARN", 136), ("REDEEM", -900), ("EARN", 900)]
    balanced()
    # The refund retried takes back nothing more.
    orders_services.order_refund(order=first, amount=cny(third), idempotency_key="part", actor=None)
    assert api.execute(ME)["me"]["points"]["balance"] == 136 - expected_back
    balanced()
    assert escrow_total().amount == 0
