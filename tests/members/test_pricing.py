"""The member's tier and points in the pricing path: pure arithmetic, no database."""

from decimal import Decimal

from backend.promotions import pricing as P


def _packages():
    return [
        P.PackageInput(vendor_id=1, lines=(P.LineInput(1, 1, 10, None, Decimal("100.00")),), shipping=Decimal("10.00")),
        P.PackageInput(vendor_id=2, lines=(P.LineInput(2, 2, 20, None, Decimal("300.00")),), shipping=Decimal("12.00")),
    ]


def _price(member, vouchers=()):
    return P.price_packages(currency="CNY", packages=_packages(), vouchers=list(vouchers), member=member)


def test_no_member_no_adjustment():
    assert _price(None).adjustments == []
    assert _price(P.MemberTerms()).adjustments == []


def test_tier_percentage_is_platform_funded_and_split_over_the_packages():
    priced = _price(P.MemberTerms(tier_id=3, tier_label="金卡", discount_percent=Decimal("5")))
    tier = [a for a in priced.adjustments if a.source == P.TIER]
    assert {a.funder for a in tier} == {P.PLATFORM} and {a.target for a in tier} == {P.GOODS}
    assert sum(a.amount.amount for a in tier) == Decimal("20.00")  # 5% of 400
    assert priced.packages[1].goods_discount.amount == Decimal("5.00")
    assert priced.packages[2].goods_discount.amount == Decimal("15.00")


def test_tier_free_shipping_only_for_packages_reaching_the_threshold():
    priced = _price(P.MemberTerms(tier_id=3, tier_label="金卡", free_shipping_threshold=Decimal("150")))
    assert priced.packages[1].shipping_discount.amount == 0
    assert priced.packages[2].shipping_discount.amount == Decimal("12.00")
    assert priced.packages[2].platform_funded.amount == Decimal("12.00")


def test_points_as_many_as_allowed_are_capped_at_half_the_goods():
    priced = _price(P.MemberTerms(points_balance=1_000_000, points_requested=None))
    assert priced.points_used == 20000 and priced.points_allowed == 20000  # 200.00 CNY at 100 points per yuan
    assert sum(a.amount.amount for a in priced.adjustments if a.source == P.POINTS) == Decimal("200.00")


def test_points_requested_are_used_up_to_the_balance():
    priced = _price(P.MemberTerms(points_balance=1234, points_requested=1000))
    assert priced.points_used == 1000
    assert priced.total.amount == Decimal("422.00") - Decimal("10.00")
    priced = _price(P.MemberTerms(points_balance=1234, points_requested=None))
    assert priced.points_used == 1234 and priced.points_allowed == 1234
    assert priced.packages[1].platform_funded.amount + priced.packages[2].platform_funded.amount == Decimal("12.34")


def test_points_never_take_a_package_to_zero():
    packages = [P.PackageInput(vendor_id=1, lines=(P.LineInput(1, 1, 10, None, Decimal("0.02")),), shipping=Decimal(0))]
    priced = P.price_packages(
        currency="CNY", packages=packages, vouchers=[],
        member=P.MemberTerms(points_balance=100, points_requested=None, points_max_percent=Decimal(100)),
    )
    assert priced.points_used == 1 and priced.total.amount == Decimal("0.01")


def test_points_rounding_never_gives_more_than_the_points_are_worth():
    # 30 points per yuan: 100 points are worth 3.33; a discount of 3.33 takes 100 points (99.9 rounded up).
    priced = _price(P.MemberTerms(points_balance=100, points_requested=None, points_per_unit=30))
    assert sum(a.amount.amount for a in priced.adjustments if a.source == P.POINTS) == Decimal("3.33")
    assert priced.points_used == 100
    assert P.points_value_minor(100, "CNY", 30) == 333
    assert P.points_for_minor(333, "CNY", 30) == 100


def test_member_benefits_come_after_the_vouchers():
    voucher = P.VoucherTerms(id=1, label="30 off 300", kind=P.AMOUNT_OFF, vendor_id=None,
                             platform_share_percent=Decimal(100), value=Decimal("30"), min_spend=Decimal("300"))
    priced = _price(P.MemberTerms(tier_id=3, discount_percent=Decimal("10")), [voucher])
    assert priced.applied == [1]
    tier = sum(a.amount.amount for a in priced.adjustments if a.source == P.TIER)
    assert tier == Decimal("37.00")  # 10% of the 370 the voucher left
