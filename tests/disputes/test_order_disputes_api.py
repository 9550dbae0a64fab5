"""Disputes seen from their orders on both APIs (owner only on the storefront, visible_disputes on the
core API), in a fixed number of queries for whole order lists; a vendor's dispute statistics."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.disputes import services

from ..checkout.helpers import complete, ready_checkout
from ..conftest import make_user
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient
from .helpers import World, make_world, open_dispute, upload

pytestmark = pytest.mark.django_db

DISPUTE_FIELDS = """
  id status reason requested { amount currency }
  lines { quantity orderLine { productName } }
  messages { role body evidence { thumbnailUrl } }
"""
SF_ORDER = "query($id: ID!) { order(id: $id) { id disputes { %s } } }" % DISPUTE_FIELDS
SF_MY_ORDERS = "{ me { orders(first: 50) { totalCount edges { node { id status disputes { %s } } } } } }" % DISPUTE_FIELDS
CORE_ORDER = "query($id: ID!) { order(id: $id) { id disputes { %s vendor { name } } } }" % DISPUTE_FIELDS
CORE_ORDERS = """
{ orders(first: 50) { totalCount edges { node { id status disputes { %s vendor { name } order { id } } } } } }
""" % DISPUTE_FIELDS
VENDOR_STATS = """
query($id: ID!) {
  vendor(id: $id) {
    name
    disputeStats(days: 30) {
      days paidOrders disputedOrders refundedDisputes refundedAmount { amount currency } disputeRate refundRate
    }
  }
}"""


def gid(kind: str, obj) -> str:
    return to_global_id(kind, obj.pk)


def disputed_world(**kwargs) -> tuple[World, object]:
    world = make_world(**kwargs)
    dispute = open_dispute(world, evidence=[upload()])
    services.dispute_message_add(actor=world.owner, dispute=dispute, body="It is as shown.", evidence=[upload()])
    return world, dispute


def another_disputed_order(world: World):
    """Another order of the same vendor and shopper, disputed."""
    order = complete(ready_checkout(world.shopper, [(world.tea, 1)]), user=world.shopper).orders[0]
    return services.dispute_open(
        actor=world.shopper, order=order, reason="damaged", description="Crushed tin.", requested_amount="5.00",
        evidence=[upload()],
    )


def test_a_shopper_sees_the_disputes_of_their_own_orders_only():
    world, dispute = disputed_world()
    shop = GraphQLClient(STOREFRONT_URL).login(world.shopper)
    order = shop.execute(SF_ORDER, {"id": gid("Order", world.order)})["order"]
    (seen,) = order["disputes"]
    assert (seen["id"], seen["status"], seen["requested"]) == (
        gid("Dispute", dispute), "AWAITING_VENDOR", {"amount": "30.00", "currency": "CNY"},
    )
    assert [m["role"] for m in seen["messages"]] == ["SHOPPER", "VENDOR"]
    mine = shop.execute(SF_MY_ORDERS)["me"]["orders"]["edges"]
    assert [[d["id"] for d in e["node"]["disputes"]] for e in mine] == [[gid("Dispute", dispute)]]
    # Another shopper sees neither the order nor its disputes; their own order has none.
    stranger = make_world()
    other = GraphQLClient(STOREFRONT_URL).login(stranger.shopper)
    assert other.execute(SF_ORDER, {"id": gid("Order", world.order)})["order"] is None
    assert other.execute(SF_ORDER, {"id": gid("Order", stranger.order)})["order"]["disputes"] == []


def test_core_order_disputes_follow_who_may_see_disputes(staff_factory):
    world, dispute = disputed_world()
    order_id = gid("Order", world.order)
    merchant = GraphQLClient(CORE_URL).login(world.owner)
    assert [d["id"] for d in merchant.execute(CORE_ORDER, {"id": order_id})["order"]["disputes"]] == [
        gid("Dispute", dispute)
    ]
    other_merchant = GraphQLClient(CORE_URL).login(make_world().owner)
    assert other_merchant.execute(CORE_ORDER, {"id": order_id})["order"] is None
    # Order staff see the order; its disputes only with ARBITRATE_DISPUTES too.
    clerk = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.MANAGE_ORDERS))
    assert clerk.execute(CORE_ORDER, {"id": order_id})["order"]["disputes"] == []
    assert all(e["node"]["disputes"] == [] for e in clerk.execute(CORE_ORDERS)["orders"]["edges"])
    arbiter = GraphQLClient(CORE_URL).login(
        staff_factory(PlatformPermission.MANAGE_ORDERS, PlatformPermission.ARBITRATE_DISPUTES)
    )
    assert len(arbiter.execute(CORE_ORDER, {"id": order_id})["order"]["disputes"]) == 1


def test_the_storefront_order_list_with_disputes_costs_the_same_queries_for_any_page_size():
    world, _ = disputed_world()
    shop = GraphQLClient(STOREFRONT_URL).login(world.shopper)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            data = shop.execute(SF_MY_ORDERS)["me"]["orders"]
        return len(ctx.captured_queries), sum(len(e["node"]["disputes"]) for e in data["edges"])

    small, disputes = count()
    assert disputes == 1
    for _ in range(2):
        disputed_world(shopper=world.shopper)
        another_disputed_order(world)
    large, disputes = count()
    assert disputes == 5
    assert large == small


def test_the_core_order_list_with_disputes_costs_the_same_queries_for_any_page_size(staff_factory):
    world, _ = disputed_world()
    merchant = GraphQLClient(CORE_URL).login(world.owner)
    arbiter = GraphQLClient(CORE_URL).login(
        staff_factory(PlatformPermission.MANAGE_ORDERS, PlatformPermission.ARBITRATE_DISPUTES)
    )

    def count(api) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            data = api.execute(CORE_ORDERS)["orders"]
        return len(ctx.captured_queries), sum(len(e["node"]["disputes"]) for e in data["edges"])

    small = {"merchant": count(merchant), "arbiter": count(arbiter)}
    assert small["merchant"][1] == small["arbiter"][1] == 1
    for _ in range(3):
        another_disputed_order(world)
        disputed_world()
    large = {"merchant": count(merchant), "arbiter": count(arbiter)}
    assert (large["merchant"][1], large["arbiter"][1]) == (4, 7)
    assert (large["merchant"][0], large["arbiter"][0]) == (small["merchant"][0], small["arbiter"][0])
    # Asking for no disputes costs no dispute queries at all.
    with CaptureQueriesContext(connection) as plain:
        merchant.execute("{ orders(first: 50) { edges { node { id } } } }")
    assert not any("disputes_dispute" in q["sql"] for q in plain.captured_queries)


def test_dispute_stats_on_the_vendor(staff_factory):
    world, dispute = disputed_world()
    services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    vendor_id = gid("Vendor", world.vendor)
    merchant = GraphQLClient(CORE_URL).login(world.owner)
    data = merchant.execute(VENDOR_STATS, {"id": vendor_id})["vendor"]
    assert data["disputeStats"] == {
        "days": 30, "paidOrders": 1, "disputedOrders": 1, "refundedDisputes": 1,
        "refundedAmount": {"amount": "30.00", "currency": "CNY"}, "disputeRate": "1.0000", "refundRate": "1.0000",
    }
    # The same numbers as the top-level query.
    top = merchant.execute(
        "query($v: ID!) { vendorDisputeStats(vendor: $v) { paidOrders refundRate refundedAmount { amount } } }",
        {"v": vendor_id},
    )["vendorDisputeStats"]
    assert (top["paidOrders"], top["refundRate"], Decimal(top["refundedAmount"]["amount"])) == (
        1, "1.0000", Decimal("30.00"),
    )
    # Vendor staff see their own store only; vendor managers see every store and its statistics.
    assert GraphQLClient(CORE_URL).login(make_world().owner).execute(VENDOR_STATS, {"id": vendor_id})["vendor"] is None
    manager = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.MANAGE_VENDORS))
    assert manager.execute(VENDOR_STATS, {"id": vendor_id})["vendor"]["disputeStats"]["disputedOrders"] == 1
