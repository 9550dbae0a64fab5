"""The whole path through both APIs: a shopper buys from two stores in one payment, each
merchant ships, a signed carrier event delivers one parcel, the shopper confirms the
other, the periodic task confirms the delivered one later, and each vendor is paid
its gross less commission."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.finance.ledger import escrow_total, ledger_problems
from backend.orders.models import Order
from backend.orders.tasks import auto_confirm_receipts
from plugins.logistics.tracking import sign
from plugins.models import PluginConfiguration

from ..checkout.documents import (
    CHECKOUT_ADDRESS,
    CHECKOUT_COMPLETE,
    CHECKOUT_CREATE,
    CHECKOUT_SHIPPING,
    CORE_ORDER,
    CORE_ORDERS,
    MY_ORDERS,
    ORDER_CONFIRM_RECEIPT,
    ORDER_EXTEND,
    ORDER_SHIP,
    STOREFRONT_ORDER,
    VENDOR_BALANCE,
)
from ..checkout.helpers import GUANGZHOU, HANGZHOU, SHANGHAI, TABLE_RATE, commission_account, listing, store
from ..conftest import make_user

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "whsec-orders-flow-0123456789"


def gid(type_name, pk):
    return to_global_id(type_name, pk)


def carrier_event(tracking_number, status, event_id, at):
    body = json.dumps(
        {"events": [{"id": event_id, "tracking_number": tracking_number, "status": status, "occurred_at": at.isoformat()}]}
    ).encode()
    return Client().post(
        f"/webhooks/carriers/{TABLE_RATE}/tracking/", body, content_type="application/json",
        HTTP_X_CARRIER_SIGNATURE=sign(WEBHOOK_SECRET, body),
    )


@pytest.fixture
def shop():
    PluginConfiguration.objects.update_or_create(
        identifier=TABLE_RATE, defaults={"active": True, "configuration": {"webhook_secret": WEBHOOK_SECRET}}
    )
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner,
        "green": listing(tea, price="33.33", stock=10, weight="0.250", name="Longjing green tea"),
        "scarf": listing(silk, price="199.00", stock=3, weight="0.150", name="Silk scarf"),
    }


def buy(storefront_api, shop, *, green=3, scarf=1, token="success"):
    """checkoutCreate -> address -> shipping per store -> checkoutComplete; returns (checkout, completion)."""
    created = storefront_api.mutate(
        CHECKOUT_CREATE,
        {"input": {"email": "li.lei@example.com", "lines": [
            {"variantId": gid("ProductVariant", shop["green"].pk), "quantity": green},
            {"variantId": gid("ProductVariant", shop["scarf"].pk), "quantity": scarf},
        ]}},
    )
    assert created["errors"] == []
    checkout = created["checkout"]
    assert {p["code"] for p in checkout["problems"]} == {"SHIPPING_ADDRESS_REQUIRED", "SHIPPING_METHOD_REQUIRED"}
    updated = storefront_api.mutate(
        CHECKOUT_ADDRESS,
        {"id": checkout["id"], "address": {"region": SHANGHAI, "streetAddress1": "1 Nanjing Road", "firstName": "Li",
                                           "lastName": "Lei", "phone": "13800000000"}},
    )
    assert updated["errors"] == []
    checkout = updated["checkout"]
    assert [p["vendor"]["name"] for p in checkout["packages"]] == ["Tea House", "Silk Road"]
    assert {"id": "dummy", "name": "Dummy gateway"} in checkout["availablePaymentGateways"]
    for package in checkout["packages"]:
        assert package["shippingQuotes"], package
        cheapest = package["shippingQuotes"][0]
        chosen = storefront_api.mutate(
            CHECKOUT_SHIPPING,
            {"id": checkout["id"], "vendor": package["vendor"]["id"], "carrier": cheapest["carrier"],
             "serviceCode": cheapest["serviceCode"]},
        )
        assert chosen["errors"] == []
        checkout = chosen["checkout"]
    assert checkout["problems"] == []
    completion = storefront_api.mutate(
        CHECKOUT_COMPLETE, {"id": checkout["id"], "payment": {"gateway": "dummy", "token": token}}
    )
    return checkout, completion


def test_two_store_checkout_shipped_delivered_confirmed_and_settled(storefront_api, core_api, shop, settings):
    shopper = make_user("li.lei@example.com")
    storefront_api.login(shopper)
    checkout, completion = buy(storefront_api, shop)
    assert completion["errors"] == []
    tea_order, silk_order = completion["orders"]
    assert [o["vendor"]["name"] for o in completion["orders"]] == ["Tea House", "Silk Road"]
    assert all(o["status"] == "PAID" and o["paymentStatus"] == "ESCROW_HELD" for o in completion["orders"])
    payment = completion["payment"]
    assert payment["status"] == "CAPTURED" and payment["total"]["amount"] == checkout["totalPrice"]["amount"]
    assert Decimal(tea_order["total"]["amount"]) + Decimal(silk_order["total"]["amount"]) == Decimal(
        checkout["totalPrice"]["amount"]
    )

    # Each merchant sees only its own order and ships it.
    core_api.login(shop["tea_owner"])
    listed = core_api.execute(CORE_ORDERS)["orders"]
    assert [e["node"]["id"] for e in listed["edges"]] == [tea_order["id"]]
    node = listed["edges"][0]["node"]
    assert node["lines"] == [{
        "productName": "Longjing green tea", "variantSku": shop["green"].sku, "quantity": 3,
        "unitPrice": {"amount": "33.33", "currency": "CNY"}, "total": {"amount": "99.99", "currency": "CNY"},
        "commissionRate": "0.0500",
    }]
    shipped = core_api.mutate(ORDER_SHIP, {"id": tea_order["id"], "input": {"carrier": TABLE_RATE}})
    assert shipped["errors"] == [] and shipped["order"]["status"] == "SHIPPED"
    tea_tracking = shipped["order"]["shipment"]["trackingNumber"]
    core_api.login(shop["silk_owner"])
    shipped = core_api.mutate(ORDER_SHIP, {"id": silk_order["id"], "input": {"carrier": TABLE_RATE}})
    assert shipped["errors"] == []

    # A signed carrier event delivers the tea parcel.
    delivered_at = timezone.now()
    response = carrier_event(tea_tracking, "SIGNED", "evt-1", delivered_at)
    assert response.status_code == 200 and response.json()["applied"] == 1
    order = storefront_api.execute(STOREFRONT_ORDER, {"id": tea_order["id"]})["order"]
    assert order["status"] == "DELIVERED"
    assert [e["status"] for e in order["shipments"][0]["events"]] == ["DELIVERED"]

    # The shopper confirms the silk order; the vendor gets gross less 5% of the goods.
    confirmed = storefront_api.mutate(ORDER_CONFIRM_RECEIPT, {"id": silk_order["id"]})
    assert confirmed["errors"] == [] and confirmed["order"]["paymentStatus"] == "RELEASED"
    silk_gross = Decimal(silk_order["total"]["amount"])
    balance = core_api.execute(VENDOR_BALANCE, {"vendor": gid("Vendor", shop["silk"].pk)})["vendorBalance"]
    assert Decimal(balance["available"]["amount"]) == silk_gross - Decimal("9.95")
    assert Decimal(balance["pending"]["amount"]) == 0

    # The periodic task confirms the delivered tea order ten days after delivery, once.
    with freeze_time(delivered_at + timedelta(days=settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_DELIVERY, minutes=1)):
        assert auto_confirm_receipts.delay().get() == 1
        assert auto_confirm_receipts.delay().get() == 0
    core_api.login(shop["tea_owner"])
    balance = core_api.execute(VENDOR_BALANCE, {"vendor": gid("Vendor", shop["tea"].pk)})["vendorBalance"]
    # 99.99 x 5% = 4.9995 -> 5.00 (half up).
    assert Decimal(balance["available"]["amount"]) == Decimal(tea_order["total"]["amount"]) - Decimal("5.00")
    assert commission_account() == Decimal("14.95")
    assert escrow_total().amount == 0 and ledger_problems() == []

    mine = storefront_api.execute(MY_ORDERS)["me"]["orders"]
    assert mine["totalCount"] == 2
    assert {e["node"]["paymentStatus"] for e in mine["edges"]} == {"RELEASED"}
    detail = core_api.execute(CORE_ORDER, {"id": tea_order["id"]})["order"]
    assert detail["status"] == "COMPLETED" and detail["commission"] == {"amount": "5.00", "currency": "CNY"}


def test_guest_checkout_and_idempotent_completion(storefront_api, shop):
    checkout, first = buy(storefront_api, shop, green=1, scarf=1)
    assert first["errors"] == []
    again = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout["id"], "payment": {"gateway": "dummy", "token": "success"}})
    assert again["errors"] == []
    assert [o["id"] for o in again["orders"]] == [o["id"] for o in first["orders"]]
    assert again["payment"]["id"] == first["payment"]["id"]
    assert Order.objects.count() == 2
    shop["green"].refresh_from_db()
    assert shop["green"].stock == 9
    # A guest follows the orders through the checkout's id; order(id) is for signed-in owners.
    seen = storefront_api.execute(
        "query($id: ID!) { checkout(id: $id) { completedAt orders { id status } payment { id } } }", {"id": checkout["id"]}
    )["checkout"]
    assert [o["id"] for o in seen["orders"]] == [o["id"] for o in first["orders"]]
    assert storefront_api.execute(STOREFRONT_ORDER, {"id": first["orders"][0]["id"]})["order"] is None


def test_declined_payment_through_the_api_leaves_no_order_and_no_stock_taken(storefront_api, shop):
    storefront_api.login(make_user())
    checkout, completion = buy(storefront_api, shop, token="decline")
    assert [e["code"] for e in completion["errors"]] == ["PAYMENT_DECLINED"]
    assert completion["orders"] == [] and completion["payment"] is None
    assert not Order.objects.exists()
    shop["green"].refresh_from_db(), shop["scarf"].refresh_from_db()
    assert (shop["green"].stock, shop["scarf"].stock) == (10, 3)
    retry = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout["id"], "payment": {"gateway": "dummy", "token": "success"}})
    assert retry["errors"] == [] and len(retry["orders"]) == 2


def test_extend_confirmation_once_through_the_storefront(storefront_api, core_api, shop):
    storefront_api.login(make_user())
    _, completion = buy(storefront_api, shop)
    order_id = completion["orders"][0]["id"]
    early = storefront_api.mutate(ORDER_EXTEND, {"id": order_id})
    assert [e["code"] for e in early["errors"]] == ["INVALID_TRANSITION"]
    core_api.login(shop["tea_owner"])
    core_api.mutate(ORDER_SHIP, {"id": order_id, "input": {"carrier": TABLE_RATE}})
    before = storefront_api.execute(STOREFRONT_ORDER, {"id": order_id})["order"]["confirmDeadline"]
    extended = storefront_api.mutate(ORDER_EXTEND, {"id": order_id})
    assert extended["errors"] == [] and extended["order"]["confirmDeadline"] > before
    assert [e["code"] for e in storefront_api.mutate(ORDER_EXTEND, {"id": order_id})["errors"]] == ["ALREADY_EXTENDED"]
