"""Who sees and acts on which order, cancellations through both APIs, and list query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.finance import accounts
from backend.finance.ledger import ledger_problems
from backend.payments.models import Payment

from ..checkout.documents import (
    CORE_ORDER,
    CORE_ORDER_CANCEL,
    CORE_ORDERS,
    ORDER_CONFIRM_RECEIPT,
    ORDER_SHIP,
    STOREFRONT_ORDER,
    STOREFRONT_ORDER_CANCEL,
)
from ..checkout.helpers import GUANGZHOU, HANGZHOU, TABLE_RATE, balance, complete, listing, pending, ready_checkout
from ..checkout.helpers import store
from ..conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    shopper = make_user()
    green, scarf = listing(tea, price="20.00", stock=5), listing(silk, price="80.00", stock=5)
    result = complete(ready_checkout(shopper, [(green, 2), (scarf, 1)]), user=shopper)
    tea_order, silk_order = result.orders
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner, "shopper": shopper,
        "green": green, "scarf": scarf, "payment": result.payment,
        "tea_order": tea_order, "silk_order": silk_order,
        "tea_id": to_global_id("Order", tea_order.pk), "silk_id": to_global_id("Order", silk_order.pk),
    }


def codes(payload):
    return [e["code"] for e in payload["errors"]]


def test_another_vendors_staff_cannot_see_ship_or_cancel(core_api, placed):
    core_api.login(placed["silk_owner"])
    assert core_api.execute(CORE_ORDER, {"id": placed["tea_id"]})["order"] is None
    assert [e["node"]["id"] for e in core_api.execute(CORE_ORDERS)["orders"]["edges"]] == [placed["silk_id"]]
    assert codes(core_api.mutate(ORDER_SHIP, {"id": placed["tea_id"], "input": {"carrier": TABLE_RATE}})) == ["NOT_FOUND"]
    assert codes(core_api.mutate(CORE_ORDER_CANCEL, {"id": placed["tea_id"], "reason": "x"})) == ["NOT_FOUND"]
    placed["tea_order"].refresh_from_db()
    assert placed["tea_order"].status == "paid"
    # A shopper has no merchant view at all.
    core_api.login(placed["shopper"])
    assert core_api.execute(CORE_ORDERS)["orders"]["totalCount"] == 0


def test_order_staff_see_every_order_and_filter(core_api, placed, staff_factory):
    core_api.login(staff_factory(PlatformPermission.MANAGE_ORDERS))
    everything = core_api.execute(CORE_ORDERS)["orders"]
    assert {e["node"]["id"] for e in everything["edges"]} == {placed["tea_id"], placed["silk_id"]}
    one = core_api.execute(CORE_ORDERS, {"filter": {"vendor": to_global_id("Vendor", placed["tea"].pk)}})["orders"]
    assert [e["node"]["id"] for e in one["edges"]] == [placed["tea_id"]]
    assert core_api.execute(CORE_ORDERS, {"filter": {"status": "SHIPPED"}})["orders"]["totalCount"] == 0
    future = core_api.execute(CORE_ORDERS, {"filter": {"createdGte": "2999-01-01T00:00:00+00:00"}})["orders"]
    assert future["totalCount"] == 0
    # Platform staff without MANAGE_ORDERS see none.
    core_api.login(staff_factory(PlatformPermission.REVIEW_LISTINGS))
    assert core_api.execute(CORE_ORDERS)["orders"]["totalCount"] == 0


def test_another_shopper_cannot_see_or_confirm(storefront_api, placed):
    storefront_api.login(make_user())
    assert storefront_api.execute(STOREFRONT_ORDER, {"id": placed["tea_id"]})["order"] is None
    assert codes(storefront_api.mutate(ORDER_CONFIRM_RECEIPT, {"id": placed["tea_id"]})) == ["NOT_FOUND"]
    assert codes(storefront_api.mutate(STOREFRONT_ORDER_CANCEL, {"id": placed["tea_id"], "reason": "x"})) == ["NOT_FOUND"]
    storefront_api.logout()
    assert storefront_api.execute(STOREFRONT_ORDER, {"id": placed["tea_id"]})["order"] is None


def test_vendor_cancel_refunds_its_part_and_shopper_cancel_the_rest(core_api, storefront_api, placed):
    core_api.login(placed["tea_owner"])
    cancelled = core_api.mutate(CORE_ORDER_CANCEL, {"id": placed["tea_id"], "reason": "Sold out in the shop"})
    assert cancelled["errors"] == []
    assert cancelled["order"]["status"] == "CANCELLED" and cancelled["order"]["paymentStatus"] == "REFUNDED"
    payment = Payment.objects.get()
    assert payment.status == "partially_refunded"
    storefront_api.login(placed["shopper"])
    order = storefront_api.execute(STOREFRONT_ORDER, {"id": placed["tea_id"]})["order"]
    assert order["refunded"] == order["total"] and order["canCancel"] is False

    mine = storefront_api.mutate(STOREFRONT_ORDER_CANCEL, {"id": placed["silk_id"], "reason": "Found it cheaper"})
    assert mine["errors"] == [] and mine["order"]["paymentStatus"] == "REFUNDED"
    payment.refresh_from_db()
    assert payment.status == "refunded" and payment.refunded_amount == payment.captured_amount
    assert pending(placed["tea"]) == 0 and pending(placed["silk"]) == 0
    assert balance(accounts.buyer_refunds(placed["shopper"].pk)) == payment.captured_amount
    placed["green"].refresh_from_db(), placed["scarf"].refresh_from_db()
    assert (placed["green"].stock, placed["scarf"].stock) == (5, 5)
    assert ledger_problems() == []


def test_no_cancel_after_shipment_from_either_side(core_api, storefront_api, placed):
    core_api.login(placed["tea_owner"])
    assert core_api.mutate(ORDER_SHIP, {"id": placed["tea_id"], "input": {"carrier": TABLE_RATE}})["errors"] == []
    assert codes(core_api.mutate(CORE_ORDER_CANCEL, {"id": placed["tea_id"], "reason": "x"})) == ["INVALID_TRANSITION"]
    storefront_api.login(placed["shopper"])
    assert codes(storefront_api.mutate(STOREFRONT_ORDER_CANCEL, {"id": placed["tea_id"], "reason": "x"})) == [
        "INVALID_TRANSITION"
    ]
    assert Decimal(Payment.objects.get().refunded_amount) == 0


def _orders_for(vendor, shopper, count):
    variant = listing(vendor, price="10.00", stock=100)
    for _ in range(count):
        complete(ready_checkout(shopper, [(variant, 1)]), user=shopper)


def test_core_order_list_costs_the_same_queries_for_small_and_large_pages(core_api, placed):
    core_api.login(placed["tea_owner"])
    core_api.mutate(ORDER_SHIP, {"id": placed["tea_id"], "input": {"carrier": TABLE_RATE}})

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            data = core_api.execute(CORE_ORDERS, {"first": 50})
        return len(ctx.captured_queries), data["orders"]["totalCount"]

    small, total = count_queries()
    assert total == 1
    _orders_for(placed["tea"], placed["shopper"], 6)
    large, total = count_queries()
    assert total == 7
    assert large == small


def test_storefront_my_orders_costs_the_same_queries_for_few_and_many(storefront_api, placed):
    from ..checkout.documents import MY_ORDERS

    storefront_api.login(placed["shopper"])

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            data = storefront_api.execute(MY_ORDERS)
        return len(ctx.captured_queries), data["me"]["orders"]["totalCount"]

    small, total = count_queries()
    assert total == 2
    _orders_for(placed["tea"], placed["shopper"], 5)
    large, total = count_queries()
    assert total == 7
    assert large == small
