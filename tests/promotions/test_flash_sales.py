"""Flash sales (限时折扣 / 秒杀): a store's event price in a window for a promotional quantity, priced
on the checkout's one pricing path before vouchers, per-shopper limits, units given back on
cancellation, and what both APIs show."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.checkout.services import checkout_summary
from backend.core.exceptions import DomainError
from backend.finance.ledger import ledger_problems
from backend.orders import services as orders_services
from backend.promotions import services
from backend.promotions.flash_sales import FlashSaleInput, flash_sale_create, flash_sale_update
from backend.promotions.models import FlashSale, FlashSalePurchase, OrderDiscount

from ..checkout.helpers import GUANGZHOU, HANGZHOU, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..factories import ProductVariantFactory
from .helpers import cny, release, store_voucher

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def world():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner, "shopper": make_user(),
        "green": listing(tea, price="100.00", stock=20), "scarf": listing(silk, price="200.00", stock=20),
    }


def flash(owner, variant, *, price="60.00", quantity=5, per_shopper_limit=None, starts=None, ends=None, name=""):
    now = timezone.now()
    return flash_sale_create(actor=owner, variant_id=variant.pk, data=FlashSaleInput(
        name=name, price=price, quantity=quantity, per_shopper_limit=per_shopper_limit,
        starts_at=starts or now - HOUR, ends_at=ends or now + HOUR,
    ))


def code(exc_info) -> str:
    return exc_info.value.code.name


def test_the_event_price_applies_in_the_window_only(world):
    w = world
    now = timezone.now()
    flash(w["tea_owner"], w["green"], starts=now + HOUR, ends=now + 2 * HOUR)
    checkout = ready_checkout(w["shopper"], [(w["green"], 2)])
    assert checkout_summary(checkout).discount == cny("0.00")
    with freeze_time(now + HOUR + timedelta(minutes=1)):
        summary = checkout_summary(checkout)
        (package,) = summary.packages
        assert package.discount == cny("80.00")  # (100 - 60) x 2
        (adjustment,) = package.pricing.adjustments
        assert (adjustment.source, adjustment.funder, adjustment.label) == ("flash_sale", "store", "Flash sale")
    with freeze_time(now + 2 * HOUR):
        assert checkout_summary(checkout).discount == cny("0.00")


def test_units_past_the_promotional_quantity_or_the_shoppers_limit_pay_the_regular_price(world):
    w = world
    sale = flash(w["tea_owner"], w["green"], quantity=3, per_shopper_limit=2)
    checkout = ready_checkout(w["shopper"], [(w["green"], 3)])
    summary = checkout_summary(checkout)
    assert summary.discount == cny("80.00")  # 2 units at 60, the third at 100
    assert list(summary.pricing.flash_units.values()) == [(sale.pk, 2)]
    result = complete(checkout, user=w["shopper"])
    (order,) = result.orders
    assert order.total_amount == Decimal("220.00") + order.shipping_amount
    sale.refresh_from_db()
    assert sale.sold_count == 2
    assert FlashSalePurchase.objects.get(flash_sale=sale).quantity == 2
    discount = OrderDiscount.objects.get(order=order)
    assert (discount.source, discount.funder, discount.flash_sale_id, discount.amount) == (
        "flash_sale", "store", sale.pk, Decimal("80.00"))
    # The same shopper's limit is used up; another shopper gets the one unit left.
    again = ready_checkout(w["shopper"], [(w["green"], 1)])
    assert checkout_summary(again).discount == cny("0.00")
    other = make_user()
    assert checkout_summary(ready_checkout(other, [(w["green"], 2)])).discount == cny("40.00")


def test_a_sold_out_price_between_showing_and_paying_refuses_the_completion(world):
    w = world
    sale = flash(w["tea_owner"], w["green"], quantity=1)
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    shown = checkout_summary(checkout)
    assert shown.discount == cny("40.00")
    FlashSale.objects.filter(pk=sale.pk).update(sold_count=1)  # another shopper got there first
    # Placing with the price as it was shown: the locked row says no.
    from types import SimpleNamespace

    from backend.promotions.flash_sales import redeem_flash_sales

    order = SimpleNamespace(pk=0, vendor_id=w["tea"].pk)
    with pytest.raises(DomainError) as exc:
        redeem_flash_sales(pricing=shown.pricing, orders=[order], user=w["shopper"], email="", now=timezone.now())
    assert code(exc) == "PRICE_CHANGED"
    assert not FlashSalePurchase.objects.exists()
    # Completing now prices at the regular price (what the checkout shows now).
    (order,) = complete(checkout, user=w["shopper"]).orders
    assert order.discount_amount == 0
    assert FlashSale.objects.get(pk=sale.pk).sold_count == 1


def test_vouchers_count_the_event_price_and_commission_is_on_it(world):
    w = world
    flash(w["tea_owner"], w["green"], price="60.00")
    store_voucher(w["tea_owner"], code="TEA10", value="10", min_spend="150")
    checkout = ready_checkout(w["shopper"], [(w["green"], 2)])
    with pytest.raises(DomainError) as exc:  # 120 at the event price: below the 150 threshold
        services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="TEA10")
    assert code(exc) == "VOUCHER_NOT_APPLICABLE"
    checkout = ready_checkout(w["shopper"], [(w["green"], 3)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="TEA10")
    (order,) = complete(checkout, user=w["shopper"]).orders
    assert order.discount_amount == Decimal("130.00")  # 3 x 40 off, then 10 off 180
    release(order, w["tea_owner"], w["shopper"])
    order.refresh_from_db()
    line = order.lines.get()
    assert line.commission_base == cny("170.00")
    assert order.commission_amount == (Decimal("170.00") * line.commission_rate).quantize(Decimal("0.01"))
    assert order.subsidy_amount == 0
    assert ledger_problems() == []


def test_a_cancelled_order_gives_its_units_back(world):
    w = world
    sale = flash(w["tea_owner"], w["green"], quantity=2, per_shopper_limit=2)
    (order,) = complete(ready_checkout(w["shopper"], [(w["green"], 2)]), user=w["shopper"]).orders
    assert FlashSale.objects.get(pk=sale.pk).sold_count == 2
    orders_services.order_cancel(actor=w["shopper"], order=order, reason="Changed my mind")
    assert FlashSale.objects.get(pk=sale.pk).sold_count == 0
    assert FlashSalePurchase.objects.get(flash_sale=sale).released_at is not None
    assert checkout_summary(ready_checkout(w["shopper"], [(w["green"], 2)])).discount == cny("80.00")


def test_what_a_store_may_set(world):
    w = world
    now = timezone.now()
    cases = [
        (dict(price="100.00"), "INVALID"),  # not below the regular price
        (dict(price="0"), "INVALID"),
        (dict(quantity=0), "INVALID"),
        (dict(starts=now + HOUR, ends=now), "INVALID"),
    ]
    for fields, expected in cases:
        with pytest.raises(DomainError) as exc:
            flash(w["tea_owner"], w["green"], **fields)
        assert code(exc) == expected, fields
    sale = flash(w["tea_owner"], w["green"])
    with pytest.raises(DomainError) as exc:  # overlapping the first
        flash(w["tea_owner"], w["green"], starts=now, ends=now + 3 * HOUR)
    assert code(exc) == "INVALID"
    with pytest.raises(DomainError) as exc:  # another store's variant
        flash(w["silk_owner"], w["green"])
    assert code(exc) == "NOT_FOUND"
    with pytest.raises(DomainError) as exc:
        flash_sale_update(actor=w["silk_owner"], sale_id=sale.pk, data=FlashSaleInput(price="1.00"))
    assert code(exc) == "NOT_FOUND"
    FlashSale.objects.filter(pk=sale.pk).update(sold_count=3)
    with pytest.raises(DomainError) as exc:
        flash_sale_update(actor=w["tea_owner"], sale_id=sale.pk, data=FlashSaleInput(quantity=2))
    assert code(exc) == "INVALID"
    ended = flash_sale_update(actor=w["tea_owner"], sale_id=sale.pk, data=FlashSaleInput(is_active=False))
    assert ended.is_active is False
    assert checkout_summary(ready_checkout(w["shopper"], [(w["green"], 1)])).discount == cny("0.00")


VARIANT_FLASH = """query($slug: String!) { product(slug: $slug) { variants { price { amount }
  flashSale { badge live price { amount } originalPrice { amount } startsAt endsAt remaining soldOut perShopperLimit } } } }"""
CHECKOUT_FLASH = """query($id: ID!) { checkout(id: $id) { totalPrice { amount }
  packages { lines { quantity unitPrice { amount } promotionalUnits flashSale { price { amount } endsAt } }
    discounts { label funder amount { amount } } } } }"""
LIST_FLASH = """query($first: Int!) { products(first: $first) { edges { node { name
  variants { price { amount } flashSale { price { amount } endsAt badge } } } } } }"""
CORE_CREATE = """mutation($variant: ID!, $input: FlashSaleInput!) { flashSaleCreate(variant: $variant, input: $input) {
  flashSale { id name price { amount } originalPrice { amount } quantity soldCount remaining perShopperLimit isActive }
  errors { field code message } } }"""
CORE_LIST = """query { flashSales(first: 10) { totalCount edges { node { id price { amount } variant { sku } } } } }"""


def test_the_storefront_shows_original_and_promotional_prices_a_badge_and_the_countdown(world, storefront_api):
    w = world
    sale = flash(w["tea_owner"], w["green"], quantity=4, per_shopper_limit=3, name="Double 12 秒杀")
    product = w["green"].product
    shown = storefront_api.execute(VARIANT_FLASH, {"slug": product.slug})["product"]["variants"][0]
    assert shown["flashSale"] == {
        "badge": "Double 12 秒杀", "live": True, "price": {"amount": "60.00"}, "originalPrice": {"amount": "100.00"},
        "startsAt": sale.starts_at.isoformat(), "endsAt": sale.ends_at.isoformat(), "remaining": 4,
        "soldOut": False, "perShopperLimit": 3,
    }
    checkout = ready_checkout(w["shopper"], [(w["green"], 4)])
    api = storefront_api.login(w["shopper"])
    (package,) = api.execute(CHECKOUT_FLASH, {"id": to_global_id("Checkout", checkout.pk)})["checkout"]["packages"]
    assert package["lines"] == [{"quantity": 4, "unitPrice": {"amount": "100.00"}, "promotionalUnits": 3,
                                 "flashSale": {"price": {"amount": "60.00"}, "endsAt": sale.ends_at.isoformat()}}]
    assert package["discounts"] == [{"label": "Double 12 秒杀", "funder": "STORE", "amount": {"amount": "120.00"}}]


def test_a_coming_sale_shows_its_start_for_the_countdown_and_does_not_price(world, storefront_api):
    w = world
    now = timezone.now()
    sale = flash(w["tea_owner"], w["green"], starts=now + HOUR, ends=now + 2 * HOUR)
    shown = storefront_api.execute(VARIANT_FLASH, {"slug": w["green"].product.slug})["product"]["variants"][0]
    assert shown["flashSale"]["live"] is False and shown["flashSale"]["startsAt"] == sale.starts_at.isoformat()
    assert shown["flashSale"]["badge"] == "Flash sale"
    storefront_api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    shown = storefront_api.execute(VARIANT_FLASH, {"slug": w["green"].product.slug})["product"]["variants"][0]
    assert shown["flashSale"]["badge"] == "限时秒杀"
    assert checkout_summary(ready_checkout(w["shopper"], [(w["green"], 1)])).discount == cny("0.00")


def test_listing_pages_with_flash_sales_cost_the_same_for_small_and_large_pages(world, storefront_api):
    w = world
    for index in range(12):
        variant = listing(w["tea"], price="100.00", name=f"Tea {index}")
        flash(w["tea_owner"], variant, price=f"{50 + index}.00")
        ProductVariantFactory(product=variant.product, price_amount=Decimal("120.00"))

    def queries(first):
        with CaptureQueriesContext(connection) as captured:
            data = storefront_api.execute(LIST_FLASH, {"first": first})
        return len(captured.captured_queries), data

    small, _ = queries(3)
    large, data = queries(12)
    assert small == large, (small, large)
    flashed = [v for e in data["products"]["edges"] for v in e["node"]["variants"] if v["flashSale"]]
    assert len(flashed) == 12


def test_a_store_manages_its_flash_sales_on_the_core_api(world, core_api):
    w = world
    now = timezone.now()
    variables = {"variant": to_global_id("ProductVariant", w["green"].pk), "input": {
        "price": "59.90", "quantity": 100, "perShopperLimit": 1, "startsAt": (now - HOUR).isoformat(),
        "endsAt": (now + HOUR).isoformat(), "name": "秒杀"}}
    created = core_api.login(w["tea_owner"]).mutate(CORE_CREATE, variables)
    assert created["errors"] == []
    assert created["flashSale"] | {"id": None} == {
        "id": None, "name": "秒杀", "price": {"amount": "59.90"}, "originalPrice": {"amount": "100.00"}, "quantity": 100,
        "soldCount": 0, "remaining": 100, "perShopperLimit": 1, "isActive": True,
    }
    listed = core_api.execute(CORE_LIST)["flashSales"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["variant"]["sku"] == w["green"].sku
    assert core_api.login(w["silk_owner"]).execute(CORE_LIST)["flashSales"]["totalCount"] == 0
    refused = core_api.login(w["silk_owner"]).mutate(CORE_CREATE, variables)
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"] and refused["flashSale"] is None


def test_the_store_sees_the_flash_sale_discount_on_its_order(world, core_api):
    w = world
    sale = flash(w["tea_owner"], w["green"], quantity=5, name="秒杀")
    (order,) = complete(ready_checkout(w["shopper"], [(w["green"], 2)]), user=w["shopper"]).orders
    query = """query($id: ID!) { order(id: $id) { discount { amount } platformSubsidy { amount }
      discounts { label source funder target voucher flashSale amount { amount } }
      lines { storeDiscount { amount } commissionBase { amount } } } }"""
    seen = core_api.login(w["tea_owner"]).execute(query, {"id": to_global_id("Order", order.pk)})["order"]
    assert seen == {
        "discount": {"amount": "80.00"}, "platformSubsidy": {"amount": "0.00"},
        "discounts": [{"label": "秒杀", "source": "flash_sale", "funder": "STORE", "target": "GOODS", "voucher": None,
                       "flashSale": to_global_id("FlashSale", sale.pk), "amount": {"amount": "80.00"}}],
        "lines": [{"storeDiscount": {"amount": "80.00"}, "commissionBase": {"amount": "120.00"}}],
    }


def test_staff_look_flash_sales_up_in_the_admin_and_cannot_add_one(world, admin_client):
    w = world
    sale = flash(w["tea_owner"], w["green"], name="Admin flash")
    listing_page = admin_client.get("/admin/promotions/flashsale/")
    assert listing_page.status_code == 200 and "Admin flash" in listing_page.content.decode()
    assert admin_client.get(f"/admin/promotions/flashsale/{sale.pk}/change/").status_code == 200
    assert admin_client.get("/admin/promotions/flashsale/add/").status_code == 403
    assert admin_client.get("/admin/promotions/flashsalepurchase/").status_code == 200
