from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from backend.core.exceptions import DomainError
from backend.finance.commission import commission_for, commission_return_for

from .helpers import cny


@pytest.mark.parametrize(
    "amount, rate, expected",
    [
        ("100.00", "0.05", "5.00"),
        ("0.10", "0.05", "0.01"),  # 0.005 rounds half up
        ("0.09", "0.05", "0.00"),  # 0.0045 rounds down
        ("19.90", "0.025", "0.50"),  # 0.4975
        ("10.10", "0.05", "0.51"),  # 0.505: half up, not banker's 0.50
        ("10.30", "0.05", "0.52"),  # 0.515
        ("99.99", "0", "0.00"),
        ("99.99", "1", "99.99"),
        ("0.01", "0.5", "0.01"),
    ],
)
def test_commission_rounds_half_up_to_the_minor_unit(amount, rate, expected):
    assert commission_for(cny(amount), Decimal(rate)) == cny(expected)


def test_commission_in_a_currency_without_minor_unit():
    assert commission_for(Money(Decimal("1010"), "JPY"), Decimal("0.05")) == Money(Decimal("51"), "JPY")


@pytest.mark.parametrize("rate", [0.05, Decimal("-0.01"), Decimal("1.01"), Decimal("NaN"), "0.05"])
def test_bad_rates_are_refused(rate):
    with pytest.raises(DomainError):
        commission_for(cny(10), rate)


def test_full_refund_returns_the_whole_commission():
    assert commission_return_for(gross=cny(100), commission=cny(5), refunded_before=cny(0), refund=cny(100)) == cny(5)


def test_partial_refunds_return_pro_rata_and_add_up_to_the_commission():
    # 3 x 1/3 of 10.00 with a 0.01 commission: the rounding remainder lands on the refund that crosses it.
    gross, commission = cny("10.00"), cny("0.01")
    parts = [cny("3.33"), cny("3.33"), cny("3.34")]
    returned, before = [], cny(0)
    for part in parts:
        returned.append(commission_return_for(gross=gross, commission=commission, refunded_before=before, refund=part))
        before += part
    assert returned == [cny(0), cny("0.01"), cny(0)]
    assert sum(returned, cny(0)) == commission


def test_refund_beyond_the_order_is_refused():
    with pytest.raises(DomainError):
        commission_return_for(gross=cny(10), commission=cny(1), refunded_before=cny(6), refund=cny("4.01"))
    with pytest.raises(DomainError):
        commission_return_for(gross=cny(10), commission=cny(1), refunded_before=cny(0), refund=Money(1, "USD"))


@given(
    gross_minor=st.integers(min_value=1, max_value=10_000_000),
    rate_bp=st.integers(min_value=0, max_value=10_000),
    cuts=st.lists(st.integers(min_value=1, max_value=10_000_000), max_size=8),
)
def test_any_split_of_a_full_refund_returns_exactly_the_commission(gross_minor, rate_bp, cuts):
    gross = cny(Decimal(gross_minor) / 100)
    commission = commission_for(gross, Decimal(rate_bp) / 10_000)
    points = sorted({c % gross_minor for c in cuts if c % gross_minor} | {gross_minor})
    before, total, previous = cny(0), cny(0), 0
    for point in points:
        part = cny(Decimal(point - previous) / 100)
        back = commission_return_for(gross=gross, commission=commission, refunded_before=before, refund=part)
        assert cny(0) <= back <= part
        total += back
        before += part
        previous = point
    assert total == commission
