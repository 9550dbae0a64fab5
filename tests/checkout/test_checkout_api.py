"""Storefront checkout mutations: lines, address, shipping per store, errors, who reaches a checkout."""

from decimal import Decimal

import pytest
from graphql_relay import to_global_id

from backend.catalog.models import ListingStatus

from ..conftest import make_user
from .documents import (
    CHECKOUT_ADDRESS,
    CHECKOUT_COMPLETE,
    CHECKOUT_CREATE,
    CHECKOUT_LINES_ADD,
    CHECKOUT_LINES_DELETE,
    CHECKOUT_LINES_UPDATE,
    CHECKOUT_QUERY,
    CHECKOUT_SHIPPING,
)
from .helpers import GUANGZHOU, HANGZHOU, SHANGHAI, TABLE_RATE, listing, store

pytestmark = pytest.mark.django_db


def vid(variant):
    return to_global_id("ProductVariant", variant.pk)


def codes(payload):
    return [e["code"] for e in payload["errors"]]


@pytest.fixture
def goods():
    tea, _ = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    return {
        "tea": tea, "silk": silk,
        "green": listing(tea, price="30.00", stock=4), "black": listing(tea, price="12.50", stock=10),
        "scarf": listing(silk, price="199.00", stock=2),
    }


def create(api, *lines, email="guest@example.com"):
    return api.mutate(
        CHECKOUT_CREATE, {"input": {"email": email, "lines": [{"variantId": vid(v), "quantity": q} for v, q in lines]}}
    )


def test_guest_builds_a_two_store_checkout(storefront_api, goods):
    created = create(storefront_api, (goods["green"], 1))
    assert created["errors"] == []
    checkout_id = created["checkout"]["id"]
    added = storefront_api.mutate(
        CHECKOUT_LINES_ADD,
        {"id": checkout_id, "lines": [{"variantId": vid(goods["green"]), "quantity": 1},
                                      {"variantId": vid(goods["scarf"]), "quantity": 1},
                                      {"variantId": vid(goods["black"]), "quantity": 2}]},
    )
    assert added["errors"] == []
    checkout = added["checkout"]
    assert [[(line["variant"]["sku"], line["quantity"]) for line in p["lines"]] for p in checkout["packages"]] == [
        [(goods["green"].sku, 2), (goods["black"].sku, 2)],
        [(goods["scarf"].sku, 1)],
    ]
    assert [p["subtotal"]["amount"] for p in checkout["packages"]] == ["85.00", "199.00"]
    assert checkout["totalPrice"] == {"amount": "284.00", "currency": "CNY"}
    assert all(p["shippingQuotes"] == [] for p in checkout["packages"])  # no address yet

    updated = storefront_api.mutate(
        CHECKOUT_LINES_UPDATE, {"id": checkout_id, "lines": [{"variantId": vid(goods["black"]), "quantity": 0}]}
    )
    assert [line["variant"]["sku"] for line in updated["checkout"]["lines"]] == [goods["green"].sku, goods["scarf"].sku]
    scarf_line = updated["checkout"]["lines"][1]["id"]
    deleted = storefront_api.mutate(CHECKOUT_LINES_DELETE, {"id": checkout_id, "linesIds": [scarf_line]})
    assert [p["vendor"]["name"] for p in deleted["checkout"]["packages"]] == ["Tea House"]

    with_address = storefront_api.mutate(
        CHECKOUT_ADDRESS, {"id": checkout_id, "address": {"region": SHANGHAI, "streetAddress1": "8 Huaihai Road"}}
    )
    package = with_address["checkout"]["packages"][0]
    services = {q["serviceCode"]: q for q in package["shippingQuotes"]}
    assert {"economy", "express"} <= set(services)
    assert all(q["carrier"] == TABLE_RATE and q["promisedDays"] > 0 for q in services.values())
    chosen = storefront_api.mutate(
        CHECKOUT_SHIPPING,
        {"id": checkout_id, "vendor": package["vendor"]["id"], "carrier": TABLE_RATE, "serviceCode": "express"},
    )
    checkout = chosen["checkout"]
    assert checkout["packages"][0]["shippingMethod"]["amount"] == services["express"]["amount"]
    assert Decimal(checkout["totalPrice"]["amount"]) == Decimal("60.00") + Decimal(services["express"]["amount"]["amount"])
    assert checkout["problems"] == []
    # The guest comes back with the id alone.
    again = storefront_api.execute(CHECKOUT_QUERY, {"id": checkout_id})["checkout"]
    assert again["totalPrice"] == checkout["totalPrice"] and again["orders"] == []


def test_errors_for_what_cannot_be_bought(storefront_api, goods):
    assert codes(create(storefront_api, (goods["scarf"], 3))) == ["INSUFFICIENT_STOCK"]
    goods["black"].product.status = ListingStatus.DRAFT
    goods["black"].product.save()
    assert codes(create(storefront_api, (goods["black"], 1))) == ["PRODUCT_UNAVAILABLE"]
    bad = storefront_api.mutate(
        CHECKOUT_CREATE, {"input": {"lines": [{"variantId": to_global_id("Product", 1), "quantity": 1}]}}
    )
    assert codes(bad) == ["NOT_FOUND"]
    checkout_id = create(storefront_api, (goods["green"], 1))["checkout"]["id"]
    more = storefront_api.mutate(
        CHECKOUT_LINES_ADD, {"id": checkout_id, "lines": [{"variantId": vid(goods["green"]), "quantity": 4}]}
    )
    assert codes(more) == ["INSUFFICIENT_STOCK"]
    unknown = storefront_api.mutate(
        CHECKOUT_ADDRESS, {"id": checkout_id, "address": {"region": "123456", "streetAddress1": "x"}}
    )
    assert codes(unknown) == ["UNKNOWN_REGION"]
    no_address = storefront_api.mutate(
        CHECKOUT_SHIPPING, {"id": checkout_id, "vendor": to_global_id("Vendor", goods["tea"].pk), "carrier": TABLE_RATE}
    )
    assert codes(no_address) == ["SHIPPING_ADDRESS_REQUIRED"]
    incomplete = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout_id, "payment": {"gateway": "dummy", "token": "success"}})
    assert codes(incomplete) == ["SHIPPING_ADDRESS_REQUIRED"]
    wrong_gateway_id = storefront_api.mutate(
        CHECKOUT_COMPLETE, {"id": to_global_id("Checkout", "not-a-uuid"), "payment": {"gateway": "dummy", "token": "success"}}
    )
    assert codes(wrong_gateway_id) == ["NOT_FOUND"]


def test_a_shoppers_checkout_is_theirs_alone(storefront_api, goods):
    owner = make_user()
    storefront_api.login(owner)
    created = create(storefront_api, (goods["green"], 1), email=None)
    assert created["checkout"]["email"] == owner.email
    checkout_id = created["checkout"]["id"]
    storefront_api.login(make_user())
    assert storefront_api.execute(CHECKOUT_QUERY, {"id": checkout_id})["checkout"] is None
    assert codes(storefront_api.mutate(
        CHECKOUT_LINES_ADD, {"id": checkout_id, "lines": [{"variantId": vid(goods["black"]), "quantity": 1}]}
    )) == ["NOT_FOUND"]
    storefront_api.logout()
    assert storefront_api.execute(CHECKOUT_QUERY, {"id": checkout_id})["checkout"] is None
    storefront_api.login(owner)
    assert storefront_api.execute(CHECKOUT_QUERY, {"id": checkout_id})["checkout"]["id"] == checkout_id


def test_price_change_is_reported_before_payment(storefront_api, goods):
    created = create(storefront_api, (goods["green"], 2))
    checkout_id = created["checkout"]["id"]
    storefront_api.mutate(CHECKOUT_ADDRESS, {"id": checkout_id, "address": {"region": SHANGHAI, "streetAddress1": "x 1"}})
    storefront_api.mutate(
        CHECKOUT_SHIPPING, {"id": checkout_id, "vendor": to_global_id("Vendor", goods["tea"].pk), "carrier": TABLE_RATE}
    )
    goods["green"].price_amount = Decimal("32.00")
    goods["green"].save()
    first = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout_id, "payment": {"gateway": "dummy", "token": "success"}})
    assert codes(first) == ["PRICE_CHANGED"] and first["orders"] == []
    seen = storefront_api.execute(CHECKOUT_QUERY, {"id": checkout_id})["checkout"]
    assert seen["subtotal"]["amount"] == "64.00"
    second = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout_id, "payment": {"gateway": "dummy", "token": "success"}})
    assert second["errors"] == [] and second["orders"][0]["status"] == "PAID"
