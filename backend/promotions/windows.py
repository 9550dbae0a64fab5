"""What a store's priced events of a variant (flash sales, group deals) share: their windows."""

from __future__ import annotations

from backend.core.exceptions import DomainError

from .error_codes import PromotionErrorCode


def refuse_overlap(event, message: str) -> None:
    """An active event may not overlap another active event of the same kind on the same variant
    (callers hold the variant's row lock, so two overlapping ones cannot both pass)."""
    if not event.is_active:
        return
    clash = type(event).objects.filter(
        variant_id=event.variant_id, is_active=True, starts_at__lt=event.ends_at, ends_at__gt=event.starts_at
    ).exclude(pk=event.pk)
    if clash.exists():
        raise DomainError(PromotionErrorCode.INVALID, message, field="startsAt")
