"""The storefront: a shopper sees their points (balance and history) and tier, and uses points on a
checkout through checkoutPointsUse; the total shown is the total paid."""

from decimal import Decimal

import pytest
from graphql_relay import to_global_id

from backend.members import services
from backend.members.models import Member

from ..checkout.helpers import complete, listing, ready_checkout, store
from ..conftest import make_user
from ..promotions.helpers import release
from .helpers import points_of, tiers

pytestmark = pytest.mark.django_db

ERRORS = "errors { field code message }"
MONEY = "{ amount currency }"
ME = f"""query($first: Int) {{ me {{
  points {{ balance value {MONEY} pointsPerUnit
    history(first: $first) {{ totalCount edges {{ node {{ id kind points balanceAfter remaining expiresAt order }} }} }} }}
  tier {{ current {{ name discountPercent pointsMultiplier freeShippingThreshold {MONEY} }}
    next {{ name minSpend {MONEY} }} spend {MONEY} toNext {MONEY} windowDays }} }} }}"""
USE = f"""mutation($id: ID!, $points: Int) {{ checkoutPointsUse(id: $id, points: $points) {{
  checkout {{ totalPrice {MONEY} points {{ used allowed balance amount {MONEY} }}
    packages {{ discounts {{ source funder target amount {MONEY} }} }} }} {ERRORS} }} }}"""


@pytest.fixture
def world():
    tea, owner = store("Tea House")
    return {"tea": tea, "owner": owner, "shopper": make_user(), "green": listing(tea, price="100.00", stock=100)}


def _earn(w, quantity):
    checkout = ready_checkout(w["shopper"], [(w["green"], quantity)])
    return release(complete(checkout, user=w["shopper"]).orders[0], w["owner"], w["shopper"])


def test_me_shows_points_history_and_tier_progress(storefront_api, world):
    w = world
    tiers()
    api = storefront_api.login(w["shopper"])
    empty = api.execute(ME, {"first": 10})["me"]
    assert empty["points"]["balance"] == 0 and empty["points"]["history"]["totalCount"] == 0
    assert empty["tier"]["current"]["name"] == "普通会员" and empty["tier"]["next"]["name"] == "银卡"
    assert empty["tier"]["toNext"]["amount"] == "500.00"
    order = _earn(w, 6)
    me = api.execute(ME, {"first": 10})["me"]
    assert me["points"]["balance"] == 900 and me["points"]["value"] == {"amount": "9.00", "currency": "CNY"}
    [entry] = [e["node"] for e in me["points"]["history"]["edges"]]
    assert entry["kind"] == "EARN" and entry["points"] == 900 and entry["remaining"] == 900
    assert entry["order"] == to_global_id("Order", order.pk)
    assert me["tier"]["current"]["name"] == "银卡" and me["tier"]["next"]["name"] == "金卡"
    assert Decimal(me["tier"]["toNext"]["amount"]) == Decimal("2000") - Decimal(me["tier"]["spend"]["amount"])


def test_the_history_is_the_shoppers_own_and_paged(storefront_api, world, django_assert_max_num_queries):
    w = world
    for _ in range(3):
        _earn(w, 1)
    other = make_user()
    api = storefront_api.login(other)
    assert api.execute(ME, {"first": 10})["me"]["points"]["history"]["totalCount"] == 0
    api = storefront_api.login(w["shopper"])
    page = api.execute(ME, {"first": 2})["me"]["points"]["history"]
    assert page["totalCount"] == 3 and len(page["edges"]) == 2
    with django_assert_max_num_queries(12) as few:
        api.execute(ME, {"first": 2})
    for _ in range(4):
        _earn(w, 1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.execute(ME, {"first": 7})["me"]["points"]["history"]["edges"]) == 7


def test_checkout_points_use_shows_the_discount_and_is_paid_as_shown(storefront_api, world):
    w = world
    _earn(w, 3)
    api = storefront_api.login(w["shopper"])
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    gid = to_global_id("Checkout", checkout.pk)
    used = api.mutate(USE, {"id": gid, "points": None})
    assert used["errors"] == []
    assert used["checkout"]["points"] == {"used": 300, "allowed": 300, "balance": 300,
                                          "amount": {"amount": "3.00", "currency": "CNY"}}
    [discount] = used["checkout"]["packages"][0]["discounts"]
    assert discount["source"] == "points" and discount["funder"] == "PLATFORM" and discount["target"] == "GOODS"
    shown = Decimal(used["checkout"]["totalPrice"]["amount"])
    too_many = api.mutate(USE, {"id": gid, "points": 301})
    assert [e["code"] for e in too_many["errors"]] == ["POINTS_INSUFFICIENT"]
    fewer = api.mutate(USE, {"id": gid, "points": 120})
    assert fewer["checkout"]["points"]["used"] == 120
    assert Decimal(fewer["checkout"]["totalPrice"]["amount"]) == shown + Decimal("1.80")
    result = complete(checkout, user=w["shopper"])
    assert result.payment.amount == shown + Decimal("1.80")
    assert points_of(w["shopper"]) == 180


def test_points_use_needs_the_checkouts_shopper(storefront_api, world):
    w = world
    guest_checkout = ready_checkout(None, [(w["green"], 1)])
    api = storefront_api.login(w["shopper"])
    refused = api.mutate(USE, {"id": to_global_id("Checkout", guest_checkout.pk), "points": None})
    assert [e["code"] for e in refused["errors"]] == ["SIGN_IN_REQUIRED"]
    mine = ready_checkout(w["shopper"], [(w["green"], 1)])
    stranger = storefront_api.login(make_user())
    refused = stranger.mutate(USE, {"id": to_global_id("Checkout", mine.pk), "points": None})
    assert refused["checkout"] is None and refused["errors"]
    assert not Member.objects.filter(points_balance__gt=0).exists()
    assert services.points_value(150, "CNY").amount == Decimal("1.50")
