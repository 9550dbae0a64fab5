"""Properties of the member's tier and points in the pricing path over random carts (no database):
the parts add up, no package goes below one minor unit, points never pay more than they are worth
nor more than the cap, and the points used never exceed the balance or the request."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.promotions import pricing as P

cents = st.integers(min_value=1, max_value=200_000)


@st.composite
def carts(draw):
    packages, key = [], 0
    for vendor_id in range(1, draw(st.integers(1, 4)) + 1):
        lines = []
        for _ in range(draw(st.integers(1, 3))):
            key += 1
            lines.append(P.LineInput(key, vendor_id, key, None, Decimal(draw(cents)) / 100))
        packages.append(P.PackageInput(vendor_id, tuple(lines), Decimal(draw(st.integers(0, 3000))) / 100))
    return packages


@st.composite
def members(draw):
    tier = draw(st.booleans())
    return P.MemberTerms(
        tier_id=1 if tier else None,
        discount_percent=Decimal(draw(st.integers(0, 20))) if tier else Decimal(0),
        free_shipping_threshold=(Decimal(draw(st.integers(0, 500))) if tier and draw(st.booleans()) else None),
        points_balance=draw(st.integers(0, 5_000_000)),
        points_requested=draw(st.one_of(st.none(), st.integers(0, 5_000_000))),
        points_per_unit=draw(st.sampled_from([1, 10, 30, 100, 250])),
        points_max_percent=Decimal(draw(st.integers(0, 100))),
    )


@settings(max_examples=300, deadline=None)
@given(carts(), members())
def test_member_adjustments_add_up_and_respect_every_limit(packages, member):
    priced = P.price_packages(currency="CNY", packages=packages, vouchers=[], member=member)
    goods = sum(line.amount for p in packages for line in p.lines)
    points = sum((a.amount.amount for a in priced.adjustments if a.source == P.POINTS), Decimal(0))
    for package in packages:
        result = priced.packages[package.vendor_id]
        assert result.total.amount >= Decimal("0.01")
        assert result.store_funded.amount == 0
        assert result.shipping_discount.amount <= result.shipping.amount
        for line in package.lines:
            assert result.line_discount(line.key, P.PLATFORM).amount <= line.amount
    assert priced.points_used <= member.points_balance
    if member.points_requested is not None:
        assert priced.points_used <= member.points_requested
    assert priced.points_used <= priced.points_allowed
    # What the points paid is no more than they are worth, and within the cap of the goods.
    worth = Decimal(P.points_value_minor(priced.points_used, "CNY", member.points_per_unit)) / 100
    assert points <= worth
    assert points <= goods * member.points_max_percent / 100
    # A discount of `points` takes exactly the points used (rounded up, never a point short).
    assert priced.points_used == (P.points_for_minor(int(points * 100), "CNY", member.points_per_unit) if points else 0)
