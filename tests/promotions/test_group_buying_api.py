"""Group buying through both APIs: a store manages its deals on the core API; shoppers see a
listing's live deal and open groups, join or open a group at checkout and see their order wait
for the group; the store cannot ship a held order until the group fills."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.orders.models import Order, OrderStatus
from backend.promotions import group_buying as gb
from backend.promotions.group_buying import GroupDealInput, group_deal_create
from backend.promotions.models import Group, GroupStatus

from ..checkout.helpers import HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..factories import ProductVariantFactory
from .helpers import finance_staff

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def world():
    tea, owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road")
    green = listing(tea, price="100.00", stock=30)
    return {"tea": tea, "owner": owner, "silk_owner": silk_owner, "green": green}


def deal_of(owner, variant, *, price="60.00", size=2, name="两人团"):
    now = timezone.now()
    return group_deal_create(actor=owner, variant_id=variant.pk, data=GroupDealInput(
        name=name, price=price, group_size=size, window_hours=24, starts_at=now - HOUR, ends_at=now + 48 * HOUR,
    ))


CORE_CREATE = """mutation($variant: ID!, $input: GroupDealInput!) { groupDealCreate(variant: $variant, input: $input) {
  groupDeal { id name price { amount } originalPrice { amount } groupSize windowHours perShopperLimit isActive }
  errors { field code message } } }"""
CORE_UPDATE = """mutation($id: ID!, $input: GroupDealInput!) { groupDealUpdate(id: $id, input: $input) {
  groupDeal { id groupSize isActive } errors { field code message } } }"""
CORE_LIST = """query { groupDeals(first: 10) { totalCount edges { node { id groupSize variant { sku }
  groups { id status memberCount membersNeeded expiresAt orders } } } } }"""
CORE_ORDER = """query($id: ID!) { order(id: $id) { status groupHold discounts { source groupDeal amount { amount } } } }"""
CORE_SHIP = """mutation($id: ID!, $carrier: ID!) { orderShip(id: $id, input: {carrier: $carrier}) {
  order { status } errors { code message } } }"""


def test_a_store_manages_its_group_deals_on_the_core_api(world, core_api):
    w = world
    now = timezone.now()
    variables = {"variant": to_global_id("ProductVariant", w["green"].pk), "input": {
        "name": "三人团", "price": "59.90", "groupSize": 3, "windowHours": 24, "perShopperLimit": 2,
        "startsAt": (now - HOUR).isoformat(), "endsAt": (now + 48 * HOUR).isoformat()}}
    created = core_api.login(w["owner"]).mutate(CORE_CREATE, variables)
    assert created["errors"] == []
    assert created["groupDeal"] | {"id": None} == {
        "id": None, "name": "三人团", "price": {"amount": "59.90"}, "originalPrice": {"amount": "100.00"},
        "groupSize": 3, "windowHours": 24, "perShopperLimit": 2, "isActive": True,
    }
    listed = core_api.execute(CORE_LIST)["groupDeals"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["variant"]["sku"] == w["green"].sku
    # Another store sees none and may not create one on this store's variant.
    other = core_api.login(w["silk_owner"])
    assert other.execute(CORE_LIST)["groupDeals"]["totalCount"] == 0
    refused = other.mutate(CORE_CREATE, variables)
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"] and refused["groupDeal"] is None
    deal_id = created["groupDeal"]["id"]
    refused = other.mutate(CORE_UPDATE, {"id": deal_id, "input": {"groupSize": 5}})
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    # Bad terms come back as field errors.
    bad = core_api.login(w["owner"]).mutate(CORE_UPDATE, {"id": deal_id, "input": {"groupSize": 1}})
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [("groupSize", "INVALID")]
    ended = core_api.login(w["owner"]).mutate(CORE_UPDATE, {"id": deal_id, "input": {"isActive": False}})
    assert ended["errors"] == [] and ended["groupDeal"]["isActive"] is False
    # Finance staff see every store's deals.
    assert core_api.login(finance_staff()).execute(CORE_LIST)["groupDeals"]["totalCount"] == 1


def test_the_store_sees_its_groups_and_cannot_ship_a_held_order(world, core_api):
    w = world
    deal = deal_of(w["owner"], w["green"], size=2)
    first = make_user()
    checkout = ready_checkout(first, [(w["green"], 1)], email=first.email)
    gb.checkout_group_buy_set(checkout=checkout, user=first, deal_id=deal.pk)
    (order,) = complete(checkout, user=first).orders
    api = core_api.login(w["owner"])
    (node,) = [e["node"] for e in api.execute(CORE_LIST)["groupDeals"]["edges"]]
    (group,) = node["groups"]
    assert group | {"id": None, "expiresAt": None} == {
        "id": None, "expiresAt": None, "status": "OPEN", "memberCount": 1, "membersNeeded": 1,
        "orders": [to_global_id("Order", order.pk)],
    }
    seen = api.execute(CORE_ORDER, {"id": to_global_id("Order", order.pk)})["order"]
    assert seen == {"status": "PAID", "groupHold": True, "discounts": [
        {"source": "group_deal", "groupDeal": to_global_id("GroupDeal", deal.pk), "amount": {"amount": "40.00"}}]}
    shipped = api.mutate(CORE_SHIP, {"id": to_global_id("Order", order.pk), "carrier": TABLE_RATE})
    assert [e["code"] for e in shipped["errors"]] == ["AWAITING_GROUP"]
    second = make_user()
    checkout = ready_checkout(second, [(w["green"], 1)], email=second.email)
    gb.checkout_group_buy_set(checkout=checkout, user=second, deal_id=deal.pk, group_id=Group.objects.get().pk)
    complete(checkout, user=second)
    assert api.execute(CORE_ORDER, {"id": to_global_id("Order", order.pk)})["order"]["groupHold"] is False
    (node,) = [e["node"] for e in api.execute(CORE_LIST)["groupDeals"]["edges"]]
    assert [(g["status"], g["memberCount"], g["membersNeeded"]) for g in node["groups"]] == [("FILLED", 2, 0)]
    shipped = api.mutate(CORE_SHIP, {"id": to_global_id("Order", order.pk), "carrier": TABLE_RATE})
    assert shipped["errors"] == [] and shipped["order"]["status"] == "SHIPPED"


def test_the_core_list_of_deals_costs_the_same_for_few_and_many(world, core_api):
    w = world
    api = core_api.login(w["owner"])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            api.execute(CORE_LIST)
        return len(captured.captured_queries)

    deal = deal_of(w["owner"], w["green"])
    first = make_user()
    checkout = ready_checkout(first, [(w["green"], 1)], email=first.email)
    gb.checkout_group_buy_set(checkout=checkout, user=first, deal_id=deal.pk)
    complete(checkout, user=first)
    few = queries()
    for index in range(4):
        variant = listing(w["tea"], price="80.00", name=f"Tea {index}")
        other = deal_of(w["owner"], variant, price="50.00", size=3)
        for _ in range(2):
            shopper = make_user()
            checkout = ready_checkout(shopper, [(variant, 1)], email=shopper.email)
            gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=other.pk)
            complete(checkout, user=shopper)
    assert queries() == few


VARIANT_DEAL = """query($slug: String!) { product(slug: $slug) { variants { price { amount }
  groupDeal { id badge price { amount } originalPrice { amount } groupSize windowHours endsAt
    openGroups { id memberCount membersNeeded expiresAt } } } } }"""
LIST_DEALS = """query($first: Int!) { products(first: $first) { edges { node { name
  variants { groupDeal { price { amount } openGroups { membersNeeded expiresAt } } } } } } }"""
GROUP_SET = """mutation($id: ID!, $deal: ID!, $group: ID) { checkoutGroupBuySet(id: $id, deal: $deal, group: $group) {
  checkout { totalPrice { amount } discount { amount }
    groupBuy { deal { id } group { id membersNeeded } units problem } }
  errors { field code message } } }"""
GROUP_REMOVE = """mutation($id: ID!) { checkoutGroupBuyRemove(id: $id) { checkout { groupBuy { units } discount { amount } }
  errors { code } } }"""
COMPLETE = """mutation($id: ID!) { checkoutComplete(id: $id, payment: {gateway: "dummy", token: "success"}) {
  orders { id status awaitingGroup total { amount } } errors { field code message } } }"""
ORDER_GROUP = """query($id: ID!) { order(id: $id) { group { id status groupSize memberCount membersNeeded expiresAt } } }"""
MY_ORDER = """query($id: ID!) { order(id: $id) { status awaitingGroup canCancel } }"""


def test_shoppers_see_the_live_deal_and_its_open_groups_for_a_countdown(world, storefront_api):
    w = world
    deal = deal_of(w["owner"], w["green"], size=3)
    first = make_user()
    checkout = ready_checkout(first, [(w["green"], 1)], email=first.email)
    gb.checkout_group_buy_set(checkout=checkout, user=first, deal_id=deal.pk)
    complete(checkout, user=first)
    group = Group.objects.get()
    (variant,) = storefront_api.execute(VARIANT_DEAL, {"slug": w["green"].product.slug})["product"]["variants"]
    assert variant["groupDeal"] == {
        "id": to_global_id("GroupDeal", deal.pk), "badge": "两人团", "price": {"amount": "60.00"},
        "originalPrice": {"amount": "100.00"}, "groupSize": 3, "windowHours": 24, "endsAt": deal.ends_at.isoformat(),
        "openGroups": [{"id": to_global_id("Group", group.pk), "memberCount": 1, "membersNeeded": 2,
                        "expiresAt": group.expires_at.isoformat()}],
    }
    # Expired groups are not shown; nor is a deal after its end.
    with freeze_time(group.expires_at + timedelta(seconds=1)):
        (variant,) = storefront_api.execute(VARIANT_DEAL, {"slug": w["green"].product.slug})["product"]["variants"]
        assert variant["groupDeal"]["openGroups"] == []
    with freeze_time(deal.ends_at):
        (variant,) = storefront_api.execute(VARIANT_DEAL, {"slug": w["green"].product.slug})["product"]["variants"]
        assert variant["groupDeal"] is None


def test_listing_pages_with_group_deals_cost_the_same_for_small_and_large_pages(world, storefront_api):
    w = world
    for index in range(8):
        variant = listing(w["tea"], price="100.00", name=f"Tea {index}")
        deal = deal_of(w["owner"], variant, price=f"{50 + index}.00", size=3)
        shopper = make_user()
        checkout = ready_checkout(shopper, [(variant, 1)], email=shopper.email)
        gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk)
        complete(checkout, user=shopper)
        ProductVariantFactory(product=variant.product, price_amount="120.00")

    def queries(first):
        with CaptureQueriesContext(connection) as captured:
            data = storefront_api.execute(LIST_DEALS, {"first": first})
        return len(captured.captured_queries), data

    small, _ = queries(2)
    large, data = queries(8)
    assert small == large, (small, large)
    dealt = [v for e in data["products"]["edges"] for v in e["node"]["variants"] if v["groupDeal"]]
    assert len(dealt) == 8 and all(v["groupDeal"]["openGroups"][0]["membersNeeded"] == 2 for v in dealt)


def test_a_shopper_joins_a_group_at_checkout_and_the_order_waits_for_it(world, storefront_api):
    w = world
    deal = deal_of(w["owner"], w["green"], size=2)
    opener = make_user()
    api = storefront_api.login(opener)
    checkout = ready_checkout(opener, [(w["green"], 1)], email=opener.email)
    checkout_id = to_global_id("Checkout", checkout.pk)
    deal_id = to_global_id("GroupDeal", deal.pk)
    opened = api.mutate(GROUP_SET, {"id": checkout_id, "deal": deal_id})
    assert opened["errors"] == []
    assert opened["checkout"]["discount"] == {"amount": "40.00"}
    assert opened["checkout"]["groupBuy"] == {"deal": {"id": deal_id}, "group": None, "units": 1, "problem": None}
    removed = api.mutate(GROUP_REMOVE, {"id": checkout_id})
    assert removed["checkout"] == {"groupBuy": None, "discount": {"amount": "0.00"}}
    api.mutate(GROUP_SET, {"id": checkout_id, "deal": deal_id})
    placed = api.mutate(COMPLETE, {"id": checkout_id})
    assert placed["errors"] == []
    (order,) = placed["orders"]
    assert (order["status"], order["awaitingGroup"]) == ("PAID", True)
    group = Group.objects.get()
    group_id = to_global_id("Group", group.pk)
    # The opener's order shows the group to share, and what it still needs.
    assert api.execute(ORDER_GROUP, {"id": order["id"]})["order"]["group"] == {
        "id": group_id, "status": "OPEN", "groupSize": 2, "memberCount": 1, "membersNeeded": 1,
        "expiresAt": group.expires_at.isoformat()}
    # The opener cannot join their own group again.
    again = ready_checkout(opener, [(w["green"], 1)], email=opener.email)
    refused = api.mutate(GROUP_SET, {"id": to_global_id("Checkout", again.pk), "deal": deal_id, "group": group_id})
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("group", "GROUP_NOT_JOINABLE")]
    # A friend joins with the group's id (shared from the listing); the group fills.
    friend = make_user()
    friend_api = storefront_api.login(friend)
    joining = ready_checkout(friend, [(w["green"], 1)], email=friend.email)
    joined = friend_api.mutate(GROUP_SET, {"id": to_global_id("Checkout", joining.pk), "deal": deal_id, "group": group_id})
    assert joined["errors"] == []
    assert joined["checkout"]["groupBuy"]["group"] == {"id": group_id, "membersNeeded": 1}
    placed = friend_api.mutate(COMPLETE, {"id": to_global_id("Checkout", joining.pk)})
    assert placed["errors"] == [] and placed["orders"][0]["awaitingGroup"] is False
    group.refresh_from_db()
    assert group.status == GroupStatus.FILLED
    api = storefront_api.login(opener)
    assert api.execute(MY_ORDER, {"id": order["id"]})["order"] == {"status": "PAID", "awaitingGroup": False, "canCancel": True}


def test_a_failed_group_shows_the_shopper_a_cancelled_refunded_order(world, storefront_api):
    w = world
    now = timezone.now()
    deal = deal_of(w["owner"], w["green"], size=2)
    shopper = make_user()
    api = storefront_api.login(shopper)
    with freeze_time(now):
        checkout = ready_checkout(shopper, [(w["green"], 1)], email=shopper.email)
        api.mutate(GROUP_SET, {"id": to_global_id("Checkout", checkout.pk), "deal": to_global_id("GroupDeal", deal.pk)})
        (order,) = api.mutate(COMPLETE, {"id": to_global_id("Checkout", checkout.pk)})["orders"]
    with freeze_time(now + 25 * HOUR):
        assert gb.groups_close_expired() == 1
    query = """query($id: ID!) { order(id: $id) { status paymentStatus awaitingGroup refunded { amount } total { amount } } }"""
    seen = api.execute(query, {"id": order["id"]})["order"]
    assert seen["status"] == "CANCELLED" and seen["paymentStatus"] == "REFUNDED" and seen["awaitingGroup"] is False
    assert seen["refunded"] == seen["total"]
    assert Order.objects.get().status == OrderStatus.CANCELLED
    # The shopper was told, in their language.
    from backend.notifications.models import Notification

    (notice,) = Notification.objects.filter(user=shopper, event__name="group.failed")
    assert "did not fill" in notice.title


def test_a_full_group_is_refused_at_completion_on_the_storefront(world, storefront_api):
    w = world
    deal = deal_of(w["owner"], w["green"], size=2)
    first = make_user()
    checkout = ready_checkout(first, [(w["green"], 1)], email=first.email)
    gb.checkout_group_buy_set(checkout=checkout, user=first, deal_id=deal.pk)
    complete(checkout, user=first)
    group = Group.objects.get()
    late = make_user()
    api = storefront_api.login(late)
    late_checkout = ready_checkout(late, [(w["green"], 1)], email=late.email)
    api.mutate(GROUP_SET, {"id": to_global_id("Checkout", late_checkout.pk), "deal": to_global_id("GroupDeal", deal.pk),
                           "group": to_global_id("Group", group.pk)})
    other = make_user()
    checkout = ready_checkout(other, [(w["green"], 1)], email=other.email)
    gb.checkout_group_buy_set(checkout=checkout, user=other, deal_id=deal.pk, group_id=group.pk)
    complete(checkout, user=other)
    query = """query($id: ID!) { checkout(id: $id) { groupBuy { problem } discount { amount } } }"""
    seen = api.execute(query, {"id": to_global_id("Checkout", late_checkout.pk)})["checkout"]
    assert seen["groupBuy"]["problem"] and seen["discount"] == {"amount": "0.00"}
    refused = api.mutate(COMPLETE, {"id": to_global_id("Checkout", late_checkout.pk)})
    assert [e["code"] for e in refused["errors"]] == ["GROUP_NOT_JOINABLE"] and refused["orders"] in (None, [])
    assert not Order.objects.filter(user=late).exists()


def test_the_badge_and_the_notices_speak_the_shoppers_language(world, storefront_api):
    from backend.notifications.services import render

    w = world
    deal_of(w["owner"], w["green"], name="")
    storefront_api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    (variant,) = storefront_api.execute(VARIANT_DEAL, {"slug": w["green"].product.slug})["product"]["variants"]
    assert variant["groupDeal"]["badge"] == "拼团"
    params = {"number": "7", "deal": "龙井", "size": 3, "total": "66.00 CNY"}
    assert render("group.failed", "zh-hans", params)[0] == "拼团未成功：订单 7 已退款"
    assert render("group.filled", "zh-hans", params)[0] == "拼团成功：订单 7"
    assert render("group.filled", "en", params)[0] == "Your group filled: order 7"


MY_ORDERS = """query { me { orders(first: 20) { edges { node { id awaitingGroup group { status membersNeeded } } } } } }"""


def test_a_shoppers_orders_with_their_groups_cost_the_same_for_one_and_many(world, storefront_api):
    w = world
    shopper = make_user()
    api = storefront_api.login(shopper)

    def order_in_a_new_group():
        variant = listing(w["tea"], price="90.00")
        deal = deal_of(w["owner"], variant, price="50.00", size=3)
        checkout = ready_checkout(shopper, [(variant, 1)], email=shopper.email)
        gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk)
        complete(checkout, user=shopper)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            data = api.execute(MY_ORDERS)
        return len(captured.captured_queries), data

    order_in_a_new_group()
    complete(ready_checkout(shopper, [(w["green"], 1)], email=shopper.email), user=shopper)  # no group
    one, _ = queries()
    for _ in range(3):
        order_in_a_new_group()
    many, data = queries()
    assert one == many, (one, many)
    groups = [e["node"]["group"] for e in data["me"]["orders"]["edges"]]
    assert groups.count(None) == 1 and [g for g in groups if g] == [{"status": "OPEN", "membersNeeded": 2}] * 4
