"""Members for platform staff: balances, tiers and the points' history (rules in backend.members)."""

import graphene
from django.conf import settings
from graphene_django import DjangoObjectType
from graphene_django.fields import DjangoConnectionField
from graphql_relay import to_global_id
from moneyed import Money as MoneyValue

from backend.core.money import quantize
from backend.members import selectors, services
from backend.members.error_codes import MemberErrorCode
from backend.members.models import Member, PointsEntry, PointsKind

from ..core.types import CountableConnection, Money, choices_enum, error_type

MemberError = error_type("MemberError", MemberErrorCode)
MemberPointsEntryKindEnum = choices_enum("MemberPointsEntryKind", PointsKind)


def _money(amount, currency=None) -> MoneyValue:
    currency = currency or settings.DEFAULT_CURRENCY
    return MoneyValue(quantize(amount, currency), currency)


class MemberTierType(graphene.ObjectType):
    id = graphene.ID(required=True, description="The tier's ID (MemberTier:<pk>), for the members filter.")
    name = graphene.String(required=True)
    min_spend = graphene.Field(Money, required=True, description="Spend over the window that reaches it.")
    discount_percent = graphene.Decimal(required=True)
    points_multiplier = graphene.Decimal(required=True)

    class Meta:
        name = "MemberTier"
        description = "A member level."

    @staticmethod
    def resolve_id(root, _info):
        return to_global_id("MemberTier", root.pk)

    @staticmethod
    def resolve_min_spend(root, _info):
        return _money(root.min_spend, root.currency)


class MemberPointsEntryType(DjangoObjectType):
    kind = MemberPointsEntryKindEnum(required=True)
    value = graphene.Field(Money, required=True, description="The points' value at the redemption rate.")
    order = graphene.ID(description="The order it came from, if any.")
    remaining = graphene.Int(description="Lots (earned or granted): the points left to use.")
    created_by = graphene.String(description="Staff adjustments: the staff user's email.")

    class Meta:
        model = PointsEntry
        name = "MemberPointsEntry"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "points", "balance_after", "reason", "expires_at", "created_at")
        description = "One change of a member's points (MANAGE_FINANCE)."

    @classmethod
    def get_queryset(cls, queryset, info):
        if not selectors.can_manage_members(info.context.user):
            return queryset.none()
        return queryset.select_related("created_by")

    @staticmethod
    def resolve_kind(root, _info):
        return PointsKind(root.kind).value

    @staticmethod
    def resolve_value(root, _info):
        return _money(root.value_amount, root.currency)

    @staticmethod
    def resolve_order(root, _info):
        return to_global_id("Order", root.order_id) if root.order_id else None

    @staticmethod
    def resolve_remaining(root, _info):
        return root.remaining if root.kind in services.LOT_KINDS else None

    @staticmethod
    def resolve_created_by(root, _info):
        return root.created_by.email if root.created_by_id else None


class MemberType(DjangoObjectType):
    email = graphene.String(required=True)
    user = graphene.ID(required=True, description="The shopper's User ID.")
    points_balance = graphene.Int(required=True, description="May be below 0 after a refund took back spent points.")
    points_value = graphene.Field(Money, required=True, description="What the balance is worth at checkout (0 below 0).")
    tier = graphene.Field(MemberTierType)
    tier_spend = graphene.Field(Money, required=True, description="Spend counted at the last tier check.")
    points_history = DjangoConnectionField(MemberPointsEntryType, description="The points' history, newest first.")

    class Meta:
        model = Member
        name = "Member"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "tier_checked_at", "created_at")
        description = "A shopper's membership: points and tier (MANAGE_FINANCE)."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.staff_members(info.context.user, queryset=queryset)

    @staticmethod
    def resolve_email(root, _info):
        return root.user.email

    @staticmethod
    def resolve_user(root, _info):
        return to_global_id("User", root.user_id)

    @staticmethod
    def resolve_points_balance(root, _info):
        return root.points_balance

    @staticmethod
    def resolve_points_value(root, _info):
        return services.points_value(max(0, root.points_balance), settings.DEFAULT_CURRENCY)

    @staticmethod
    def resolve_tier_spend(root, _info):
        return _money(root.tier_spend)

    @staticmethod
    def resolve_points_history(root, _info, **_kwargs):
        return selectors.member_points_history(root.pk)
