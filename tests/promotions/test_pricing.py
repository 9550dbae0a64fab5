"""The pricing path as arithmetic: thresholds, percentages with caps, free shipping, scopes,
co-funding, Tmall's stacking, largest-remainder allocation; and properties over random carts."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.promotions import pricing as P
from backend.promotions.pricing import LineInput, PackageInput, VoucherTerms, largest_remainder, price_packages


def line(key, vendor, amount, product=None, category=None):
    return LineInput(key=key, vendor_id=vendor, product_id=product or key, category_id=category, amount=Decimal(amount))


def voucher(id, kind="amount_off", vendor=None, share=None, **fields):
    share = Decimal(100 if vendor is None else 0) if share is None else Decimal(share)
    fields = {k: (Decimal(v) if isinstance(v, str) else v) for k, v in fields.items()}
    return VoucherTerms(id=id, label=f"v{id}", kind=kind, vendor_id=vendor, platform_share_percent=share, **fields)


TWO_STORES = [
    PackageInput(1, (line(11, 1, "100.00"), line(12, 1, "50.00")), Decimal("10.00")),
    PackageInput(2, (line(21, 2, "300.00"),), Decimal("12.00")),
]


def test_largest_remainder_adds_up_and_favours_the_largest_remainders():
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert largest_remainder(3000, [9000, 20000]) == [931, 2069]
    assert largest_remainder(0, [5, 5]) == [0, 0]
    assert largest_remainder(7, [0, 0]) == [7, 0]
    assert sum(largest_remainder(12345, [3, 7, 11, 13])) == 12345


def test_a_threshold_voucher_needs_its_threshold_and_splits_pro_rata_across_stores():
    result = price_packages(currency="CNY", packages=TWO_STORES, vouchers=[voucher(1, value="30", min_spend="450")])
    assert result.applied == [1]
    assert result.packages[1].goods_discount.amount == Decimal("10.00")  # 30 x 150/450
    assert result.packages[2].goods_discount.amount == Decimal("20.00")
    assert result.packages[1].platform_funded.amount == Decimal("10.00")
    too_high = price_packages(currency="CNY", packages=TWO_STORES, vouchers=[voucher(1, value="30", min_spend="451")])
    assert too_high.applied == [] and too_high.skipped == {1: P.MIN_SPEND_NOT_REACHED}
    assert too_high.total.amount == Decimal("472.00")


def test_percentage_off_is_capped_and_rounded_half_up():
    result = price_packages(
        currency="CNY", packages=TWO_STORES, vouchers=[voucher(1, kind="percentage", vendor=1, value="15", max_discount="20")]
    )
    assert result.packages[1].goods_discount.amount == Decimal("20.00")  # 22.50 capped
    assert result.packages[1].store_funded.amount == Decimal("20.00")
    assert result.packages[2].discount.amount == 0
    uncapped = price_packages(currency="CNY", packages=TWO_STORES, vouchers=[voucher(1, kind="percentage", vendor=1, value="3.3")])
    assert uncapped.packages[1].goods_discount.amount == Decimal("4.95")  # 150 x 3.3% = 4.95
    # Line by line it adds up: 100 and 50 get 3.30 and 1.65.
    assert [a.amount.amount for a in uncapped.packages[1].adjustments] == [Decimal("3.30"), Decimal("1.65")]


def test_free_shipping_takes_the_shipping_of_the_packages_in_scope():
    result = price_packages(
        currency="CNY", packages=TWO_STORES, vouchers=[voucher(1, kind="free_shipping", vendor_ids=frozenset({2}))]
    )
    assert result.packages[2].shipping_discount.amount == Decimal("12.00")
    assert result.packages[1].shipping_discount.amount == 0
    assert result.packages[2].total.amount == Decimal("300.00")


def test_scope_by_product_and_category():
    by_product = price_packages(
        currency="CNY", packages=TWO_STORES, vouchers=[voucher(1, value="5", product_ids=frozenset({12}))]
    )
    assert [(a.line_key, a.amount.amount) for a in by_product.adjustments] == [(12, Decimal("5.00"))]
    packages = [PackageInput(1, (line(11, 1, "100.00", category=7), line(12, 1, "50.00", category=8)), Decimal(0))]
    by_category = price_packages(currency="CNY", packages=packages, vouchers=[voucher(1, value="5", category_ids=frozenset({8}))])
    assert [a.line_key for a in by_category.adjustments] == [12]
    nothing = price_packages(currency="CNY", packages=packages, vouchers=[voucher(1, value="5", category_ids=frozenset({9}))])
    assert nothing.skipped == {1: P.OUT_OF_SCOPE}


def test_a_co_funded_voucher_splits_each_package_part_between_funders():
    result = price_packages(currency="CNY", packages=TWO_STORES, vouchers=[voucher(1, vendor=2, share="40", value="25")])
    package = result.packages[2]
    assert package.platform_funded.amount == Decimal("10.00") and package.store_funded.amount == Decimal("15.00")


def test_tmall_stacking_one_platform_voucher_and_one_store_voucher_per_package():
    vouchers = [voucher(1, vendor=1, value="10"), voucher(2, vendor=1, value="20"), voucher(3, value="5"), voucher(4, value="6")]
    result = price_packages(currency="CNY", packages=TWO_STORES, vouchers=vouchers)
    assert result.applied == [1, 3]
    assert result.skipped == {2: P.NOT_STACKABLE, 4: P.NOT_STACKABLE}
    loose = price_packages(
        currency="CNY", packages=TWO_STORES, vouchers=vouchers, stacking=P.Stacking(platform_per_checkout=2, store_per_package=2)
    )
    assert loose.applied == [1, 2, 3, 4]


def test_store_vouchers_come_first_and_the_platform_voucher_counts_what_is_left():
    result = price_packages(
        currency="CNY", packages=TWO_STORES, vouchers=[voucher(2, value="30", min_spend="440"), voucher(1, vendor=1, value="10")]
    )
    # 450 - 10 = 440 still reaches 440.
    assert result.applied == [1, 2]
    # 30 x 140/440 = 9.545 and 30 x 300/440 = 20.454: the cent left goes to the larger remainder.
    assert result.packages[1].goods_discount.amount == Decimal("10.00") + Decimal("9.55")
    assert result.packages[2].goods_discount.amount == Decimal("20.45")


def test_no_package_is_discounted_below_one_cent():
    packages = [PackageInput(1, (line(11, 1, "5.00"),), Decimal("0"))]
    result = price_packages(currency="CNY", packages=packages, vouchers=[voucher(1, value="5")])
    assert result.packages[1].total.amount == Decimal("0.01")
    shipping_only = [PackageInput(1, (line(11, 1, "5.00"),), Decimal("8"))]
    free = price_packages(currency="CNY", packages=shipping_only, vouchers=[voucher(1, vendor=1, value="5"), voucher(2, kind="free_shipping")])
    assert free.packages[1].total.amount == Decimal("0.01")


# --- Properties over random carts and vouchers ------------------------------------------------

amounts = st.integers(min_value=1, max_value=200_000).map(lambda c: Decimal(c) / 100)


@st.composite
def carts(draw):
    count = draw(st.integers(1, 4))
    packages, key = [], 0
    for vendor in range(1, count + 1):
        lines = []
        for _ in range(draw(st.integers(1, 3))):
            key += 1
            lines.append(line(key, vendor, draw(amounts), product=key, category=draw(st.integers(1, 3))))
        packages.append(PackageInput(vendor, tuple(lines), draw(st.integers(0, 3000).map(lambda c: Decimal(c) / 100))))
    return packages


@st.composite
def vouchers(draw, vendors=4):
    result = []
    for id in range(1, draw(st.integers(0, 5)) + 1):
        kind = draw(st.sampled_from(["amount_off", "percentage", "free_shipping"]))
        vendor = draw(st.one_of(st.none(), st.integers(1, vendors)))
        fields = {"min_spend": draw(st.integers(0, 50000).map(lambda c: Decimal(c) / 100))}
        if kind == "amount_off":
            fields["value"] = draw(st.integers(1, 100000).map(lambda c: Decimal(c) / 100))
        elif kind == "percentage":
            fields["value"] = Decimal(draw(st.integers(1, 99)))
            fields["max_discount"] = draw(st.one_of(st.none(), amounts))
        if draw(st.booleans()):
            fields["category_ids"] = frozenset(draw(st.sets(st.integers(1, 3), min_size=1)))
        share = Decimal(draw(st.integers(0, 100)))
        result.append(voucher(id, kind=kind, vendor=vendor, share=share, **fields))
    return result


@settings(max_examples=300, deadline=None)
@given(carts(), vouchers())
def test_pricing_properties(packages, vouchers):
    result = price_packages(currency="CNY", packages=packages, vouchers=vouchers)
    for package in packages:
        priced = result.packages[package.vendor_id]
        # Every package still pays something, and no line or shipping is discounted below zero.
        assert priced.total.amount >= Decimal("0.01")
        for item in package.lines:
            taken = sum((a.amount.amount for a in priced.adjustments if a.line_key == item.key), Decimal(0))
            assert 0 <= taken <= item.amount
        assert priced.shipping_discount.amount <= package.shipping
        # Funders' parts add up to the discount, to the cent.
        assert priced.platform_funded + priced.store_funded == priced.discount
        assert all(a.amount.amount > 0 and a.vendor_id == package.vendor_id for a in priced.adjustments)
        # A store pays only for its own vouchers; a platform-only voucher costs no store anything.
        for a in priced.adjustments:
            terms = next(v for v in vouchers if v.id == a.source_id)
            if a.funder == P.STORE:
                assert terms.platform_share_percent < 100
            else:
                assert terms.platform_share_percent > 0
            if terms.vendor_id is not None:
                assert terms.vendor_id == package.vendor_id
    # At most one platform voucher and one store voucher per package.
    applied = [next(v for v in vouchers if v.id == i) for i in result.applied]
    assert sum(1 for v in applied if v.is_platform) <= 1
    for vendor in {p.vendor_id for p in packages}:
        assert sum(1 for v in applied if v.vendor_id == vendor) <= 1
    # A voucher's amount is what its adjustments add up to, and an amount-off never gives more than its value.
    for v in applied:
        if v.kind == "amount_off":
            assert result.voucher_amount(v.id).amount <= v.value
    assert result.total == sum((p.total for p in result.packages.values()), result.total * 0)
