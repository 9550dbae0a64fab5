"""Stock held for a payment session while the shopper pays at the gateway.

A variant's available stock is its stock less the active reservations (not yet
expired, of sessions still open). Reservations are made under the variants' row
locks (stock_lock) and end when the session places its orders (the stock is then
taken), fails, is cancelled or expires (the periodic checkout.expire_payment_sessions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import models
from django.db.models import Sum
from django.utils import timezone


class StockReservation(models.Model):
    session = models.ForeignKey("checkout.PaymentSession", on_delete=models.CASCADE, related_name="reservations")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "variant"], name="one_stock_reservation_per_session_variant")
        ]
        indexes = [models.Index(fields=["variant", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id} for session {self.session_id}"


def reserved_quantities(variant_ids: Iterable[int], *, exclude_checkout=None, now=None) -> dict[int, int]:
    """Quantities held by active reservations per variant (one query); a checkout's own sessions
    do not hold stock against that checkout."""
    from .sessions import OPEN_STATES

    ids = list(set(variant_ids))
    if not ids:
        return {}
    rows = StockReservation.objects.filter(
        variant_id__in=ids, expires_at__gt=now or timezone.now(), session__state__in=OPEN_STATES
    )
    if exclude_checkout is not None:
        rows = rows.exclude(session__checkout_id=getattr(exclude_checkout, "pk", exclude_checkout))
    held: dict[int, int] = defaultdict(int)
    for row in rows.values("variant_id").annotate(total=Sum("quantity")):
        held[row["variant_id"]] = row["total"]
    return dict(held)


def available_quantities(variants, *, exclude_checkout=None, now=None) -> dict[int, int]:
    """Stock less active reservations, per variant (never below zero)."""
    variants = list(variants)
    held = reserved_quantities([v.pk for v in variants], exclude_checkout=exclude_checkout, now=now)
    return {v.pk: max(0, v.stock - held.get(v.pk, 0)) for v in variants}


def reserve(session, quantities: dict[int, int], *, expires_at) -> None:
    """Hold these quantities for the session; the caller holds the variants' row locks."""
    StockReservation.objects.bulk_create(
        [
            StockReservation(session=session, variant_id=variant_id, quantity=quantity, expires_at=expires_at)
            for variant_id, quantity in sorted(quantities.items())
        ]
    )


def release(session) -> int:
    """Drop the session's reservations; returns how many rows."""
    deleted, _ = StockReservation.objects.filter(session=session).delete()
    return deleted


def reserved_subquery(variant_ref: str = "pk"):
    """An expression: the quantity active reservations hold of the outer variant (0 when none)."""
    from django.db.models import IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce, Now

    from .sessions import OPEN_STATES

    held = (
        StockReservation.objects.filter(
            variant_id=OuterRef(variant_ref), expires_at__gt=Now(), session__state__in=OPEN_STATES
        )
        .order_by()
        .values("variant_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))
