"""Reads of members' tiers and points (the storefront's `me { member }`, the staff API, the admin)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from backend.core.permissions import PlatformPermission, has_permission

from .models import Member, PointsEntry, Tier


def member_of(user) -> Member | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.select_related("tier").filter(user_id=user.pk).first()


def points_balance_of(user_id: int | None) -> int:
    """A shopper's points balance (0 without a member row, or for a guest)."""
    if not user_id:
        return 0
    return Member.objects.filter(user_id=user_id).values_list("points_balance", flat=True).first() or 0


# Staff: members' points are the platform's liability, moved by staff as money is, so staff
# managing finance see and adjust them (there is no narrower permission for shoppers' accounts).
MEMBERS_PERMISSION = PlatformPermission.MANAGE_FINANCE


def can_manage_members(user) -> bool:
    return has_permission(user, MEMBERS_PERMISSION)


def staff_members(user, *, tier_id: int | None = None, search: str | None = None, queryset=None):
    """Members for staff (none for anyone else), with the user and tier fetched in the same query;
    `search` matches the email (case-insensitive), `tier_id` the tier."""
    queryset = Member.objects.all() if queryset is None else queryset
    if not can_manage_members(user):
        return queryset.none()
    queryset = queryset.select_related("user", "tier")
    if tier_id is not None:
        queryset = queryset.filter(tier_id=tier_id)
    if search and search.strip():
        queryset = queryset.filter(user__email__icontains=search.strip())
    return queryset.order_by("pk")


def member_points_history(member_id: int):
    """A member's points entries, newest first, for staff."""
    return PointsEntry.objects.filter(member_id=member_id).exclude(points=0).order_by("-created_at", "-id")


def points_history(user):
    """The shopper's points entries, newest first (none for guests)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return PointsEntry.objects.none()
    return PointsEntry.objects.filter(member__user_id=user.pk).exclude(points=0).order_by("-created_at", "-id")


@dataclass(frozen=True)
class TierProgress:
    tier: Tier | None
    next_tier: Tier | None
    spend: Decimal
    to_next: Decimal | None  # what is still to spend to reach the next tier


def tier_progress(member: Member | None) -> TierProgress:
    tiers = list(Tier.objects.filter(currency=settings.DEFAULT_CURRENCY).order_by("min_spend"))
    spend = member.tier_spend if member is not None else Decimal(0)
    current = member.tier if member is not None else None
    if current is None:
        # Not placed yet (no release since the tiers were made): the tier the spend reaches.
        reached = [t for t in tiers if spend >= t.min_spend]
        current = reached[-1] if reached else None
    floor = current.min_spend if current is not None else None
    higher = [t for t in tiers if floor is None or t.min_spend > floor]
    nxt = higher[0] if higher else None
    to_next = max(Decimal(0), nxt.min_spend - spend) if nxt is not None else None
    return TierProgress(tier=current, next_tier=nxt, spend=spend, to_next=to_next)
