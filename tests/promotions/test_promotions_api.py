"""Both APIs: a shopper applies codes and coupons on the checkout and sees each package's discounts
with their funders; a store manages its own vouchers on the core API and never sees another's;
finance staff manage platform vouchers; orders show their discount lines to the store."""

from decimal import Decimal

import pytest
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission

from ..checkout.helpers import GUANGZHOU, HANGZHOU, complete, listing, ready_checkout, store
from ..conftest import make_user
from .helpers import platform_voucher, store_voucher

pytestmark = pytest.mark.django_db

ERRORS = "errors { field code message }"
MONEY = "{ amount currency }"
CHECKOUT = f"""
  id totalPrice {MONEY} discount {MONEY}
  vouchers {{ voucher {{ id name }} amount {MONEY} problem }}
  packages {{ vendor {{ name }} subtotal {MONEY} discount {MONEY} total {MONEY}
    discounts {{ label funder target amount {MONEY} voucher {{ id kind isPlatformVoucher }} }} }}
"""
APPLY = f"""mutation($id: ID!, $code: String, $coupon: ID) {{
  checkoutVoucherApply(id: $id, code: $code, coupon: $coupon) {{ checkout {{ {CHECKOUT} }} {ERRORS} }} }}"""
REMOVE = f"""mutation($id: ID!, $voucher: ID!) {{
  checkoutVoucherRemove(id: $id, voucher: $voucher) {{ checkout {{ {CHECKOUT} }} {ERRORS} }} }}"""
CLAIM = f"""mutation($voucher: ID!) {{ couponClaim(voucher: $voucher) {{ coupon {{ voucher {{ id name }} claimedAt }} {ERRORS} }} }}"""
COUPONS = """query($vendor: ID) { claimableCoupons(vendor: $vendor) { id name kind value minSpend { amount } }
  myCoupons { voucher { id } } }"""
BEST = f"""query($checkout: ID!) {{ bestVouchers(checkout: $checkout) {{ voucher {{ id name }} amount {MONEY} claimed applied }} }}"""


def gid(type_name, obj):
    return to_global_id(type_name, obj.pk)


@pytest.fixture
def world():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner, "shopper": make_user(),
        "green": listing(tea, price="100.00"), "scarf": listing(silk, price="200.00"),
    }


def test_a_shopper_applies_a_code_and_a_claimed_coupon_and_sees_each_packages_discounts(storefront_api, world):
    w = world
    platform_voucher(code="FESTIVAL", value="30", min_spend="250", name="Festival 30 off 250")
    coupon = store_voucher(w["tea_owner"], claimable=True, value="10", name="Tea 10 off")
    api = storefront_api.login(w["shopper"])
    listed = api.execute(COUPONS, {"vendor": gid("Vendor", w["tea"])})
    assert [c["name"] for c in listed["claimableCoupons"]] == ["Tea 10 off"]
    claimed = api.mutate(CLAIM, {"voucher": gid("Voucher", coupon)})
    assert claimed["errors"] == [] and claimed["coupon"]["voucher"]["name"] == "Tea 10 off"
    again = api.mutate(CLAIM, {"voucher": gid("Voucher", coupon)})
    assert [e["code"] for e in again["errors"]] == ["ALREADY_CLAIMED"]
    assert api.execute(COUPONS)["myCoupons"] == [{"voucher": {"id": gid("Voucher", coupon)}}]

    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    checkout_id = to_global_id("Checkout", checkout.pk)
    best = api.execute(BEST, {"checkout": checkout_id})["bestVouchers"]
    assert [(b["voucher"]["name"], b["claimed"]) for b in best] == [("Tea 10 off", True)]

    applied = api.mutate(APPLY, {"id": checkout_id, "coupon": gid("Voucher", coupon)})
    assert applied["errors"] == []
    result = api.mutate(APPLY, {"id": checkout_id, "code": "festival"})
    assert result["errors"] == []
    shown = result["checkout"]
    assert shown["discount"]["amount"] == "40.00"
    tea_pkg = next(p for p in shown["packages"] if p["vendor"]["name"] == "Tea House")
    assert sorted((d["funder"], d["amount"]["amount"]) for d in tea_pkg["discounts"]) == [
        ("PLATFORM", "9.31"), ("STORE", "10.00"),
    ]
    assert {v["voucher"]["name"]: v["amount"]["amount"] for v in shown["vouchers"]} == {
        "Tea 10 off": "10.00", "Festival 30 off 250": "30.00",
    }
    bad = api.mutate(APPLY, {"id": checkout_id, "code": "NOPE"})
    assert [e["code"] for e in bad["errors"]] == ["NOT_FOUND"]

    # The amount paid is the amount shown.
    placed = complete(checkout, user=w["shopper"])
    assert str(placed.payment.amount) == shown["totalPrice"]["amount"]

    removed = api.mutate(REMOVE, {"id": checkout_id, "voucher": gid("Voucher", coupon)})
    assert [e["code"] for e in removed["errors"]] == ["INVALID"]  # completed checkouts do not change


def test_a_guest_cannot_reach_coupons_and_another_shoppers_checkout_is_not_found(storefront_api, world):
    w = world
    coupon = store_voucher(w["tea_owner"], claimable=True, value="10")
    claimed = storefront_api.mutate(CLAIM, {"voucher": gid("Voucher", coupon)})
    assert [e["code"] for e in claimed["errors"]] == ["SIGN_IN_REQUIRED"]
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    other = storefront_api.login(make_user())
    result = other.mutate(APPLY, {"id": to_global_id("Checkout", checkout.pk), "coupon": gid("Voucher", coupon)})
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]


VOUCHER_FIELDS = "id name code kind value platformSharePercent minSpend { amount } vendor { name } usedCount isActive"
CREATE = f"""mutation($input: VoucherInput!, $vendor: ID) {{
  voucherCreate(input: $input, vendor: $vendor) {{ voucher {{ {VOUCHER_FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: VoucherInput!) {{
  voucherUpdate(id: $id, input: $input) {{ voucher {{ {VOUCHER_FIELDS} }} {ERRORS} }} }}"""
VOUCHERS = f"""query {{ vouchers(first: 20) {{ totalCount edges {{ node {{ {VOUCHER_FIELDS} }} }} }} }}"""
VOUCHER = f"""query($id: ID!) {{ voucher(id: $id) {{ id name }} }}"""
ORDER = f"""query($id: ID!) {{ order(id: $id) {{ total {MONEY} discount {MONEY} platformSubsidy {MONEY}
  discounts {{ label funder target amount {MONEY} voucher orderLine }}
  lines {{ storeDiscount {MONEY} platformDiscount {MONEY} commissionBase {MONEY} }} }} }}"""


def test_stores_manage_their_own_vouchers_and_staff_the_platforms(core_api, world, staff_factory):
    w = world
    tea_api = core_api.login(w["tea_owner"])
    created = tea_api.mutate(CREATE, {"input": {"name": "Tea 30 off 300", "code": "tea30", "kind": "AMOUNT_OFF",
                                                  "value": "30", "minSpend": "300"}})
    assert created["errors"] == []
    voucher = created["voucher"]
    assert voucher["code"] == "TEA30" and voucher["vendor"]["name"] == "Tea House"
    assert voucher["platformSharePercent"] == "0.00"
    refused = tea_api.mutate(CREATE, {"input": {"name": "x", "code": "X", "kind": "AMOUNT_OFF", "value": "5",
                                                  "platformSharePercent": "50"}})
    assert [e["code"] for e in refused["errors"]] == ["PERMISSION_DENIED"]
    other = store_voucher(w["silk_owner"], code="SILK5", value="5")
    assert tea_api.execute(VOUCHER, {"id": gid("Voucher", other)})["voucher"] is None
    assert [e["node"]["code"] for e in tea_api.execute(VOUCHERS)["vouchers"]["edges"]] == ["TEA30"]
    hijack = tea_api.mutate(UPDATE, {"id": gid("Voucher", other), "input": {"value": "1"}})
    assert [e["code"] for e in hijack["errors"]] == ["NOT_FOUND"]
    off = tea_api.mutate(UPDATE, {"id": voucher["id"], "input": {"isActive": False}})
    assert off["errors"] == [] and off["voucher"]["isActive"] is False

    shopper_api = core_api.login(make_user())
    assert shopper_api.execute(VOUCHERS)["vouchers"]["totalCount"] == 0
    nobody = shopper_api.mutate(CREATE, {"input": {"name": "x", "code": "Y", "kind": "AMOUNT_OFF", "value": "5"}})
    assert [e["code"] for e in nobody["errors"]] == ["PERMISSION_DENIED"]

    staff_api = core_api.login(staff_factory(PlatformPermission.MANAGE_FINANCE))
    platform = staff_api.mutate(CREATE, {"input": {"name": "11.11", "code": "DOUBLE11", "kind": "PERCENTAGE", "value": "10",
                                                     "maxDiscount": "50"}})
    assert platform["errors"] == [] and platform["voucher"]["vendor"] is None
    assert platform["voucher"]["platformSharePercent"] == "100.00"
    co = staff_api.mutate(CREATE, {"input": {"name": "Co-funded", "code": "SILKCO", "kind": "AMOUNT_OFF", "value": "20",
                                               "platformSharePercent": "50"}, "vendor": gid("Vendor", w["silk"])})
    assert co["errors"] == [] and co["voucher"]["vendor"]["name"] == "Silk Road"
    assert staff_api.execute(VOUCHERS)["vouchers"]["totalCount"] == 4


def test_an_orders_discounts_and_their_funders_on_the_core_api(core_api, world):
    w = world
    platform_voucher(code="FESTIVAL", value="30", min_spend="250")
    store_voucher(w["tea_owner"], code="TEA10", value="10")
    from backend.promotions import services

    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="TEA10")
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="FESTIVAL")
    orders = sorted(complete(checkout, user=w["shopper"]).orders, key=lambda o: o.vendor_id)
    tea_api = core_api.login(w["tea_owner"])
    order = tea_api.execute(ORDER, {"id": gid("Order", orders[0])})["order"]
    assert order["discount"]["amount"] == "19.31" and order["platformSubsidy"]["amount"] == "9.31"
    assert sorted((d["funder"], d["target"], d["amount"]["amount"]) for d in order["discounts"]) == [
        ("PLATFORM", "GOODS", "9.31"), ("STORE", "GOODS", "10.00"),
    ]
    (line,) = order["lines"]
    assert (line["storeDiscount"]["amount"], line["platformDiscount"]["amount"], line["commissionBase"]["amount"]) == (
        "10.00", "9.31", "90.00",
    )
    # The other store's order stays out of reach.
    assert tea_api.execute(ORDER, {"id": gid("Order", orders[1])})["order"] is None


@pytest.mark.parametrize(("language", "message"), [
    ("zh-CN,zh;q=0.9", "适用商品的金额尚未达到该优惠券的使用门槛。"),
    ("en-US,en;q=0.9", "The goods it covers do not reach the voucher's threshold yet."),
])
def test_voucher_refusals_follow_accept_language(storefront_api, world, language, message):
    w = world
    platform_voucher(code="BIG", value="50", min_spend="1000")
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    api = storefront_api.login(w["shopper"])
    api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    payload = api.mutate(APPLY, {"id": gid("Checkout", checkout), "code": "big"})
    assert payload["errors"] == [{"field": "code", "code": "VOUCHER_NOT_APPLICABLE", "message": message}]
