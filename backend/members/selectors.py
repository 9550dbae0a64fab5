"""Reads of members' tiers and points (the storefront's `me { member }`, the admin)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from .models import Member, PointsEntry, Tier


def member_of(user) -> Member | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.select_related("tier").filter(user_id=user.pk).first()


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
