"""Members' periodic work: points expiring (warned first), tiers recomputed."""

from backend.core.periodic import periodic_task

from . import services


@periodic_task("members.expire_points")
def expire_points_task() -> int:
    """Warn shoppers of points expiring within MEMBERS_POINTS_EXPIRY_WARNING_DAYS, then expire the
    points past MEMBERS_POINTS_EXPIRY_DAYS (each lot once)."""
    services.points_warn_expiring()
    return services.points_expire()


@periodic_task("members.recompute_tiers")
def recompute_tiers_task() -> int:
    """Every member's tier from their spend over MEMBERS_TIER_WINDOW_DAYS (up and down)."""
    return services.tiers_recompute()
