"""Builders for the members tests: tiers, a two-store world, orders placed, released and refunded."""

from __future__ import annotations

from decimal import Decimal

from backend.finance import accounts
from backend.members.models import Member, Tier

from ..checkout.helpers import balance


def tiers():
    """普通会员 / 银卡 / 金卡 / 铂金 (thresholds in CNY over the window)."""
    return [
        Tier.objects.create(name="普通会员", min_spend=Decimal("0")),
        Tier.objects.create(name="银卡", min_spend=Decimal("500"), points_multiplier=Decimal("1.5")),
        Tier.objects.create(
            name="金卡", min_spend=Decimal("2000"), discount_percent=Decimal("5"), points_multiplier=Decimal("2"),
            free_shipping_threshold=Decimal("99"),
        ),
        Tier.objects.create(
            name="铂金", min_spend=Decimal("10000"), discount_percent=Decimal("10"), points_multiplier=Decimal("3"),
            free_shipping_threshold=Decimal("0"),
        ),
    ]


def points_of(user) -> int:
    return Member.objects.filter(user=user).values_list("points_balance", flat=True).first() or 0


def liability() -> Decimal:
    return balance(accounts.POINTS_LIABILITY)


def expense() -> Decimal:
    return balance(accounts.POINTS_EXPENSE)
