"""checkoutPaymentCreate and checkoutComplete(paymentSession) through the storefront API (dummy gateway)."""

from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from backend.checkout.models import Checkout
from backend.checkout.reservations import StockReservation
from backend.checkout.sessions import PaymentSession
from plugins.models import PluginConfiguration

from .documents import CHECKOUT_COMPLETE, CHECKOUT_COMPLETE_SESSION, CHECKOUT_PAYMENT_CREATE, CHECKOUT_QUERY
from .helpers import listing, ready_checkout, store

pytestmark = pytest.mark.django_db

VARIANT = """query($slug: String!) { product(slug: $slug) { variants { quantityAvailable } } }"""


def available(api, variant) -> int:
    return api.execute(VARIANT, {"slug": variant.product.slug})["product"]["variants"][0]["quantityAvailable"]


def codes(payload):
    return [e["code"] for e in payload["errors"]]


@pytest.fixture
def tea():
    vendor, _ = store("Tea House")
    return listing(vendor, price="30.00", stock=3)


def test_pay_through_a_session_then_complete(storefront_api, tea):
    checkout = ready_checkout(lines=[(tea, 2)])
    checkout_id = to_global_id("Checkout", str(checkout.pk))
    gateways = storefront_api.execute(CHECKOUT_QUERY, {"id": checkout_id})["checkout"]["availablePaymentGateways"]
    assert [g["id"] for g in gateways] == ["dummy"]

    created = storefront_api.mutate(
        CHECKOUT_PAYMENT_CREATE, {"id": checkout_id, "gateway": "dummy", "returnUrl": "https://shop.example/paid"}
    )
    assert created["errors"] == []
    session = created["paymentSession"]
    assert session["state"] == "PENDING" and session["gateway"] == "dummy"
    assert session["clientData"]["confirmed"] is True
    assert session["amount"] == created["checkout"]["totalPrice"]
    assert available(storefront_api, tea) == 1

    done = storefront_api.mutate(CHECKOUT_COMPLETE_SESSION, {"id": checkout_id, "paymentSession": session["id"]})
    assert done["errors"] == []
    (order,) = done["orders"]
    assert order["status"] == "PAID" and order["paymentStatus"] == "ESCROW_HELD"
    assert order["payments"] == [
        {"gateway": "dummy", "status": "CAPTURED", "total": session["amount"], "captured": session["amount"]}
    ]
    assert done["payment"]["status"] == "CAPTURED"
    again = storefront_api.mutate(CHECKOUT_COMPLETE_SESSION, {"id": checkout_id, "paymentSession": session["id"]})
    assert [o["id"] for o in again["orders"]] == [order["id"]]
    assert available(storefront_api, tea) == 1


def test_session_errors_have_stable_codes(storefront_api, tea):
    checkout = ready_checkout(lines=[(tea, 1)])
    checkout_id = to_global_id("Checkout", str(checkout.pk))
    unknown = storefront_api.mutate(CHECKOUT_PAYMENT_CREATE, {"id": checkout_id, "gateway": "nope"})
    assert codes(unknown) == ["GATEWAY_NOT_AVAILABLE"]
    bad_url = storefront_api.mutate(CHECKOUT_PAYMENT_CREATE, {"id": checkout_id, "gateway": "dummy", "returnUrl": "javascript:x"})
    assert codes(bad_url) == ["INVALID"]
    missing = storefront_api.mutate(CHECKOUT_COMPLETE_SESSION, {"id": checkout_id, "paymentSession": "ps0"})
    assert codes(missing) == ["NOT_FOUND"]
    PluginConfiguration.objects.create(identifier="dummy", active=True, configuration={"session_outcome": "pending"})
    session = storefront_api.mutate(CHECKOUT_PAYMENT_CREATE, {"id": checkout_id, "gateway": "dummy"})["paymentSession"]
    waiting = storefront_api.mutate(CHECKOUT_COMPLETE_SESSION, {"id": checkout_id, "paymentSession": session["id"]})
    assert codes(waiting) == ["PAYMENT_NOT_CONFIRMED"] and waiting["orders"] == []
    assert Checkout.objects.get().completed_at is None


def test_the_token_path_stays_for_the_dummy_gateway(storefront_api, tea):
    checkout = ready_checkout(lines=[(tea, 1)])
    checkout_id = to_global_id("Checkout", str(checkout.pk))
    session = storefront_api.mutate(CHECKOUT_PAYMENT_CREATE, {"id": checkout_id, "gateway": "dummy"})["paymentSession"]
    done = storefront_api.mutate(CHECKOUT_COMPLETE, {"id": checkout_id, "payment": {"gateway": "dummy", "token": "success"}})
    assert done["errors"] == [] and len(done["orders"]) == 1
    # The session started before holds nothing any more, and cannot place the checkout a second time.
    assert PaymentSession.objects.get(reference=session["id"]).state == "cancelled"
    assert not StockReservation.objects.exists()
    again = storefront_api.mutate(CHECKOUT_COMPLETE_SESSION, {"id": checkout_id, "paymentSession": session["id"]})
    assert [o["id"] for o in again["orders"]] == [o["id"] for o in done["orders"]]


def test_session_messages_follow_accept_language(client, tea):
    import json

    checkout = ready_checkout(lines=[(tea, 1)])
    checkout_id = to_global_id("Checkout", str(checkout.pk))
    body = json.dumps({"query": CHECKOUT_PAYMENT_CREATE, "variables": {"id": checkout_id, "gateway": "dummy", "returnUrl": "ftp://x"}})
    answers = {
        language: client.post(
            "/storefront/graphql/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE=language
        ).json()["data"]["checkoutPaymentCreate"]["errors"][0]["message"]
        for language in ("en", "zh-CN")
    }
    assert answers == {"en": "The return URL must be an http(s) address.", "zh-CN": "返回地址必须是 http(s) 网址。"}
