"""The shopper's membership: points (balance and history) and tier (with the progress to the next),
and the points a shopper uses on a checkout. Rules live in backend.members.services."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
import strawberry_django
from django.conf import settings
from django.db.models import QuerySet
from strawberry import relay
from strawberry.types import Info

from backend.core.money import quantize
from backend.members import models, selectors, services
from backend.members.error_codes import MemberErrorCode

from .catalog import CountedConnection
from .checkout import Checkout, fetch_checkout
from .core import Money, current_user, error_type, run_mutation

MemberError = error_type("MemberError", MemberErrorCode)


def _money(amount: Decimal | None, currency: str | None = None) -> Money | None:
    if amount is None:
        return None
    currency = currency or settings.DEFAULT_CURRENCY
    return Money(amount=quantize(amount, currency), currency=currency)


@strawberry.enum(name="PointsEntryKind")
class PointsEntryKind(Enum):
    EARN = "earn"
    REVERSE = "reverse"
    REDEEM = "redeem"
    RETURN = "return"
    EXPIRE = "expire"
    GRANT = "grant"
    DEDUCT = "deduct"


@strawberry_django.type(models.PointsEntry, name="PointsEntry", description="One change of the shopper's points.")
class PointsEntry(relay.Node):
    id: relay.NodeID[int]
    points: int = strawberry_django.field(description="Above 0 for points earned or given back, below 0 otherwise.")
    balance_after: int
    created_at: datetime
    expires_at: datetime | None = strawberry_django.field(description="Points earned: when what is left of them expires.")

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        user = current_user(info)
        return queryset.filter(member__user_id=user.pk) if user.is_authenticated else queryset.none()

    @strawberry_django.field(only=["kind"])
    def kind(self) -> PointsEntryKind:
        return PointsEntryKind(self.kind)

    @strawberry_django.field(only=["remaining", "kind"], description="Points earned or granted: how many are left to use.")
    def remaining(self) -> int | None:
        return self.remaining if self.kind in services.LOT_KINDS else None

    @strawberry_django.field(only=["order_id"], description="The order it came from, if any.")
    def order(self) -> relay.GlobalID | None:
        return relay.GlobalID("Order", str(self.order_id)) if self.order_id else None


@strawberry.type(name="MemberPoints", description="The shopper's points: a balance and its history.")
class MemberPoints:
    user_id: strawberry.Private[int]
    balance: int

    @strawberry.field(description="What the balance is worth at checkout.")
    def value(self) -> Money:
        return Money.from_value(services.points_value(max(0, self.balance), settings.DEFAULT_CURRENCY))

    @strawberry.field(description="Points per unit of the currency at checkout (100: 100 points = 1 CNY).")
    def points_per_unit(self) -> int:
        return services.points_per_unit()

    @strawberry_django.connection(CountedConnection[PointsEntry], description="The points' history, newest first.")
    def history(self, info: Info) -> QuerySet[models.PointsEntry]:
        user = current_user(info)
        return selectors.points_history(user if user.pk == self.user_id else None)


@strawberry.type(name="MemberTier", description="A member level and its benefits.")
class MemberTier:
    model: strawberry.Private[models.Tier]

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field(description="Spend on completed orders over the window that reaches it.")
    def min_spend(self) -> Money:
        return _money(self.model.min_spend, self.model.currency)

    @strawberry.field(description="Percentage off the goods, paid by the platform.")
    def discount_percent(self) -> Decimal:
        return self.model.discount_percent

    @strawberry.field(description="A store package with goods of at least this ships free; null: no free shipping.")
    def free_shipping_threshold(self) -> Money | None:
        return _money(self.model.free_shipping_threshold, self.model.currency)

    @strawberry.field(description="Points earned are multiplied by this.")
    def points_multiplier(self) -> Decimal:
        return self.model.points_multiplier


@strawberry.type(name="MemberTierStatus", description="The shopper's tier and what is left to spend for the next.")
class MemberTierStatus:
    progress: strawberry.Private[selectors.TierProgress]

    @strawberry.field
    def current(self) -> MemberTier | None:
        return MemberTier(model=self.progress.tier) if self.progress.tier is not None else None

    @strawberry.field
    def next(self) -> MemberTier | None:
        return MemberTier(model=self.progress.next_tier) if self.progress.next_tier is not None else None

    @strawberry.field(description="Spend counted at the last tier check (completed orders over the window).")
    def spend(self) -> Money:
        return _money(self.progress.spend)

    @strawberry.field(description="Still to spend to reach the next tier (null at the top).")
    def to_next(self) -> Money | None:
        return _money(self.progress.to_next)

    @strawberry.field(description="Days of completed orders counted.")
    def window_days(self) -> int:
        return int(settings.MEMBERS_TIER_WINDOW_DAYS)


def member_points(user) -> MemberPoints:
    member = selectors.member_of(user)
    return MemberPoints(user_id=user.pk, balance=member.points_balance if member else 0)


def member_tier(user) -> MemberTierStatus:
    return MemberTierStatus(progress=selectors.tier_progress(selectors.member_of(user)))


@strawberry.type
class CheckoutPointsPayload:
    checkout: Checkout | None = None
    errors: list[MemberError]


@strawberry.type
class MemberMutation:
    @strawberry.mutation(
        description=(
            "Use points on the checkout (signed in): a number, or null for as many as allowed (the balance, "
            "at most MEMBERS_POINTS_MAX_PERCENT of the goods); 0 uses none. Deducted when the order is placed."
        )
    )
    def checkout_points_use(self, info: Info, id: relay.GlobalID, points: int | None = None) -> CheckoutPointsPayload:
        def action():
            checkout = fetch_checkout(info, id)
            services.checkout_points_use(checkout=checkout, user=current_user(info), points=points)
            return {"checkout": Checkout.of(checkout)}

        return run_mutation(CheckoutPointsPayload, MemberError, action)


__all__ = ["MemberMutation", "MemberPoints", "MemberTierStatus", "member_points", "member_tier"]
