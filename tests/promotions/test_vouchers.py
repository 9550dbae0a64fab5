"""Applying, replacing and removing vouchers, claiming coupons, validity and limits, the best
vouchers for a checkout, and who may manage which voucher."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.core.exceptions import DomainError
from backend.promotions import services
from backend.promotions.models import CheckoutVoucher, Coupon, Voucher, VoucherRedemption
from backend.promotions.selectors import visible_vouchers
from backend.promotions.services import VoucherInput

from ..checkout.helpers import GUANGZHOU, HANGZHOU, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..factories import CategoryFactory, ProductFactory, ProductVariantFactory
from .helpers import finance_staff, platform_voucher, store_voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    return {
        "tea": tea, "tea_owner": tea_owner, "silk": silk, "silk_owner": silk_owner, "shopper": make_user(),
        "green": listing(tea, price="100.00"), "scarf": listing(silk, price="200.00"),
    }


def code(exc_info) -> str:
    return exc_info.value.code.name


def applied(checkout) -> list[int]:
    return list(CheckoutVoucher.objects.filter(checkout=checkout).values_list("voucher_id", flat=True))


def test_a_platform_voucher_replaces_the_platform_voucher_before_and_a_store_voucher_its_stores(world):
    w = world
    a = platform_voucher(code="A5", value="5")
    b = platform_voucher(code="B8", value="8")
    tea = store_voucher(w["tea_owner"], code="TEA3", value="3")
    tea2 = store_voucher(w["tea_owner"], code="TEA4", value="4")
    silk = store_voucher(w["silk_owner"], code="SILK6", value="6")
    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    for c in ("A5", "TEA3", "SILK6", "B8", "TEA4"):
        services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code=c.lower())
    assert sorted(applied(checkout)) == sorted([b.pk, tea2.pk, silk.pk])
    services.checkout_voucher_remove(checkout=checkout, voucher_id=tea2.pk)
    assert sorted(applied(checkout)) == sorted([b.pk, silk.pk])
    with pytest.raises(DomainError) as exc:
        services.checkout_voucher_remove(checkout=checkout, voucher_id=tea2.pk)
    assert code(exc) == "NOT_FOUND"
    assert a.pk not in applied(checkout) and tea.pk not in applied(checkout)


def test_vouchers_that_do_not_apply_are_refused_with_their_reason(world):
    w = world
    platform_voucher(code="BIG", value="50", min_spend="1000")
    store_voucher(w["silk_owner"], code="SILK6", value="6")
    platform_voucher(code="LATER", value="5", starts_at=timezone.now() + timedelta(days=1))
    platform_voucher(code="OFF", value="5", is_active=False)
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    for c, expected in (("BIG", "VOUCHER_NOT_APPLICABLE"), ("SILK6", "VOUCHER_NOT_APPLICABLE"),
                        ("LATER", "VOUCHER_NOT_ACTIVE"), ("OFF", "VOUCHER_NOT_ACTIVE"), ("NOPE", "NOT_FOUND")):
        with pytest.raises(DomainError) as exc:
            services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code=c)
        assert code(exc) == expected, c
    assert applied(checkout) == []


def test_category_scope_covers_the_descendants(world):
    w = world
    tea_root = CategoryFactory(name="Tea")
    green_tea = CategoryFactory(name="Green tea", parent=tea_root)
    other = CategoryFactory(name="Cups")
    from backend.catalog.models import ListingStatus

    leaf = ProductVariantFactory(
        product=ProductFactory(vendor=w["tea"], category=green_tea, status=ListingStatus.PUBLISHED),
        price_amount=Decimal("80.00"), stock=5,
    )
    cup = ProductVariantFactory(
        product=ProductFactory(vendor=w["tea"], category=other, status=ListingStatus.PUBLISHED),
        price_amount=Decimal("20.00"), stock=5,
    )
    voucher = store_voucher(w["tea_owner"], code="TEA10", kind="percentage", value="10", category_ids=[tea_root.pk])
    checkout = ready_checkout(w["shopper"], [(leaf, 1), (cup, 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="TEA10")
    from backend.checkout.services import checkout_summary

    (package,) = checkout_summary(checkout).packages
    assert package.discount.amount == Decimal("8.00")  # 10% of the green tea only
    assert voucher.pk in applied(checkout)


def test_the_total_limit_and_the_per_shopper_limit_are_counted_at_placement(world):
    w = world
    once = platform_voucher(code="ONCE", value="5", usage_limit=1)
    mine = platform_voucher(code="MINE", value="5", per_shopper_limit=1)
    first = ready_checkout(w["shopper"], [(w["green"], 1)])
    second_shopper = make_user()
    second = ready_checkout(second_shopper, [(w["green"], 1)])
    services.checkout_voucher_apply(checkout=first, user=w["shopper"], code="ONCE")
    services.checkout_voucher_apply(checkout=second, user=second_shopper, code="ONCE")
    complete(first, user=w["shopper"])
    assert Voucher.objects.get(pk=once.pk).used_count == 1
    # The second shopper was shown the discount: completion stops instead of charging another total.
    with pytest.raises(DomainError) as exc:
        complete(second, user=second_shopper)
    assert code(exc) == "VOUCHER_NOT_AVAILABLE"
    services.checkout_voucher_remove(checkout=second, voucher_id=once.pk)
    complete(second, user=second_shopper)
    # Per shopper: the same shopper cannot apply MINE again after using it.
    third = ready_checkout(w["shopper"], [(w["green"], 1)])
    services.checkout_voucher_apply(checkout=third, user=w["shopper"], code="MINE")
    complete(third, user=w["shopper"])
    fourth = ready_checkout(w["shopper"], [(w["green"], 1)])
    with pytest.raises(DomainError) as exc:
        services.checkout_voucher_apply(checkout=fourth, user=w["shopper"], code="MINE")
    assert code(exc) == "VOUCHER_LIMIT_REACHED"
    assert VoucherRedemption.objects.filter(voucher=mine).count() == 1


def test_a_limit_reached_between_apply_and_placement_is_enforced_at_placement(world, monkeypatch):
    w = world
    once = platform_voucher(code="ONCE", value="5", usage_limit=1)
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], code="ONCE")
    # Pricing read the voucher before someone else's placement counted it: placement re-checks under the lock.
    real = services._used_up
    monkeypatch.setattr(services, "_used_up", lambda v: False)
    Voucher.objects.filter(pk=once.pk).update(used_count=1)
    monkeypatch.setattr(services, "_check_usable", _strict_check(real))
    with pytest.raises(DomainError) as exc:
        complete(checkout, user=w["shopper"])
    assert code(exc) == "VOUCHER_NOT_AVAILABLE"
    assert not VoucherRedemption.objects.exists()


def _strict_check(real):
    def check(voucher, **kwargs):
        if real(voucher):
            raise DomainError(services.E.VOUCHER_LIMIT_REACHED, "used up")
    return check


def test_claiming_coupons_and_applying_a_claimed_coupon(world):
    w = world
    coupon = store_voucher(w["tea_owner"], claimable=True, value="10", min_spend="50", name="Tea coupon")
    not_claimable = store_voucher(w["tea_owner"], code="HIDDEN", value="1")
    with pytest.raises(DomainError) as exc:
        services.coupon_claim(user=None, voucher=coupon)
    assert code(exc) == "SIGN_IN_REQUIRED"
    services.coupon_claim(user=w["shopper"], voucher=coupon)
    with pytest.raises(DomainError) as exc:
        services.coupon_claim(user=w["shopper"], voucher=coupon)
    assert code(exc) == "ALREADY_CLAIMED"
    with pytest.raises(DomainError) as exc:
        services.coupon_claim(user=w["shopper"], voucher=not_claimable)
    assert code(exc) == "NOT_FOUND"
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    other = make_user()
    with pytest.raises(DomainError) as exc:
        services.checkout_voucher_apply(checkout=checkout, user=other, voucher_id=coupon.pk)
    assert code(exc) == "NOT_FOUND"
    services.checkout_voucher_apply(checkout=checkout, user=w["shopper"], voucher_id=coupon.pk)
    assert applied(checkout) == [coupon.pk]
    assert Coupon.objects.filter(user=w["shopper"]).count() == 1


def test_best_vouchers_lists_what_the_shopper_could_use_best_first(world):
    w = world
    small = platform_voucher(claimable=True, value="5", name="Platform 5")
    big = platform_voucher(claimable=True, value="20", min_spend="250", name="Platform 20")
    tea = store_voucher(w["tea_owner"], claimable=True, value="8", name="Tea 8")
    platform_voucher(claimable=True, value="99", min_spend="5000", name="Out of reach")
    store_voucher(w["tea_owner"], code="TYPED", value="50")  # codes are not handed out
    services.coupon_claim(user=w["shopper"], voucher=small)
    checkout = ready_checkout(w["shopper"], [(w["green"], 1), (w["scarf"], 1)])
    offers = services.best_vouchers(checkout=checkout, user=w["shopper"])
    assert [(o.voucher.pk, o.amount.amount, o.claimed) for o in offers] == [
        (big.pk, Decimal("20.00"), False), (tea.pk, Decimal("8.00"), False), (small.pk, Decimal("5.00"), True),
    ]


def test_a_store_manages_its_own_vouchers_only_and_staff_set_the_platform_share(world):
    w = world
    mine = store_voucher(w["tea_owner"], code="TEA3", value="3")
    assert mine.vendor == w["tea"] and mine.platform_share_percent == 0
    theirs = store_voucher(w["silk_owner"], code="SILK3", value="3")
    assert list(visible_vouchers(w["tea_owner"])) == [mine]
    with pytest.raises(DomainError) as exc:
        services.voucher_update(actor=w["tea_owner"], voucher=theirs, data=VoucherInput(value="1"))
    assert code(exc) == "NOT_FOUND"
    with pytest.raises(DomainError) as exc:
        services.voucher_update(actor=w["tea_owner"], voucher=mine, data=VoucherInput(platform_share_percent="50"))
    assert code(exc) == "PERMISSION_DENIED"
    with pytest.raises(DomainError) as exc:
        services.voucher_create(actor=w["tea_owner"], data=VoucherInput(name="x", kind="amount_off", value="1"))
    assert code(exc) == "REQUIRED"  # neither a code nor claimable
    with pytest.raises(DomainError) as exc:
        services.voucher_create(actor=w["tea_owner"], data=VoucherInput(name="x", kind="amount_off", value="1", code="tea3"))
    assert code(exc) == "CODE_TAKEN"
    with pytest.raises(DomainError) as exc:
        services.voucher_create(actor=make_user(), data=VoucherInput(name="x", kind="amount_off", value="1", code="Z"))
    assert code(exc) == "PERMISSION_DENIED"
    staff = finance_staff()
    co = services.voucher_update(actor=staff, voucher=theirs, data=VoucherInput(platform_share_percent="50"))
    assert co.platform_share_percent == 50
    assert set(visible_vouchers(staff)) == {mine, theirs}


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"kind": "amount_off", "value": "30", "min_spend": "30"}, "value"),
        ({"kind": "percentage", "value": "100"}, "value"),
        ({"kind": "percentage", "value": "0.5.1"}, "value"),
        ({"kind": "amount_off", "value": "-1"}, "value"),
        ({"kind": "bogus", "value": "1"}, "kind"),
        ({"kind": "amount_off", "value": "1", "usage_limit": 0}, "usage_limit"),
        ({"kind": "amount_off", "value": "1", "starts_at": timezone.now(), "ends_at": timezone.now() - timedelta(1)}, "endsAt"),
    ],
)
def test_bad_voucher_input_gets_a_clear_error(world, fields, field):
    with pytest.raises(DomainError) as exc:
        store_voucher(world["tea_owner"], code="X1", **fields)
    assert exc.value.field == field
    assert not Voucher.objects.exists()
