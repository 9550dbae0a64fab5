"""Who may see which disputes, and reads over them: the one place it is decided, for both APIs and the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.selectors import may_see_vendor, vendor_of, visible_to_vendor_staff

from .models import ACTIVE_STATUSES, Dispute, DisputeMessage, MessageRole


def arbitrates(user) -> bool:
    return has_permission(user, PlatformPermission.ARBITRATE_DISPUTES)


def visible_disputes(user, queryset=None) -> QuerySet[Dispute]:
    """Core API: arbitration staff see every dispute, a vendor's staff their vendor's disputes."""
    queryset = Dispute.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=arbitrates(user))


def shopper_disputes(user, queryset=None) -> QuerySet[Dispute]:
    """Storefront: a signed-in shopper sees the disputes on their own orders."""
    queryset = Dispute.objects.all() if queryset is None else queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(order__user_id=user.pk)


def dispute_roles(user, dispute: Dispute) -> set[str]:
    """The parts the user plays in this dispute: shopper, vendor, staff (any number, possibly none)."""
    roles: set[str] = set()
    if user is None or not user.is_authenticated:
        return roles
    if dispute.order.user_id == user.pk:
        roles.add(MessageRole.SHOPPER)
    vendor = vendor_of(user)
    if vendor is not None and vendor.pk == dispute.vendor_id:
        roles.add(MessageRole.VENDOR)
    if arbitrates(user):
        roles.add(MessageRole.STAFF)
    return roles


def messages_with_evidence() -> Prefetch:
    return Prefetch(
        "messages", queryset=DisputeMessage.objects.select_related("author").prefetch_related("evidence")
    )


def with_dispute_relations(queryset: QuerySet[Dispute]) -> QuerySet[Dispute]:
    """What a page of disputes shows (core API), fetched up front: a fixed number of queries per page."""
    return queryset.select_related("order", "vendor", "return_shipment", "ruled_by").prefetch_related(
        "lines__order_line", messages_with_evidence(), "return_shipment__events"
    )


ORDER_DISPUTES_ATTR = "visible_disputes"


def order_disputes_prefetch(user) -> Prefetch:
    """Core API: each order's disputes the user may see (visible_disputes), newest first, for a whole
    page of orders in a fixed number of queries; read from order.<ORDER_DISPUTES_ATTR>."""
    queryset = visible_disputes(user, with_dispute_relations(Dispute.objects.order_by("-created_at", "-id")))
    return Prefetch("disputes", queryset=queryset, to_attr=ORDER_DISPUTES_ATTR)


def order_disputes(user, order) -> list[Dispute]:
    """One order's disputes the user may see: prefetched with the page when there was one."""
    prefetched = getattr(order, ORDER_DISPUTES_ATTR, None)
    if prefetched is not None:
        return prefetched
    return list(visible_disputes(user, with_dispute_relations(order.disputes.order_by("-created_at", "-id"))))


def disputes_for_list(user, *, status: str | None = None, vendor_id: int | None = None) -> QuerySet[Dispute]:
    """Disputes the user may see (core API), newest first, with what a page shows fetched up front."""
    queryset = with_dispute_relations(visible_disputes(user))
    if status:
        queryset = queryset.filter(status=status)
    if vendor_id is not None:
        queryset = queryset.filter(vendor_id=vendor_id)
    return queryset


def dispute_queue(queryset=None) -> QuerySet[Dispute]:
    """Staff's queue: active disputes first, the nearest deadline first, then the oldest."""
    queryset = Dispute.objects.all() if queryset is None else queryset
    waiting = Case(When(status__in=ACTIVE_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.order_by(waiting.asc(), F("deadline_at").asc(nulls_last=True), "created_at", "pk")


def may_see_dispute_stats(user, vendor) -> bool:
    return arbitrates(user) or may_see_vendor(user, vendor)


@dataclass(frozen=True)
class VendorDisputeStats:
    vendor_id: int
    days: int
    paid_orders: int
    disputed_orders: int
    refunded_disputes: int
    refunded_amount: Decimal
    dispute_rate: Decimal  # disputed orders / paid orders
    refund_rate: Decimal  # disputes that ended in a refund / paid orders


def _rate(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal("0.0000")
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def vendor_dispute_stats(vendor, *, days: int = 30, now=None) -> VendorDisputeStats:
    """Over the orders paid in the last `days` days: how many were disputed, how many refunded."""
    from backend.orders.models import Order

    now = now or timezone.now()
    since = now - timedelta(days=days)
    vendor_id = int(getattr(vendor, "pk", vendor))
    paid = Order.objects.filter(vendor_id=vendor_id, paid_at__gte=since).count()
    counts = Dispute.objects.filter(vendor_id=vendor_id, order__paid_at__gte=since).aggregate(
        orders=Count("order", distinct=True),
        refunded=Count("pk", filter=Q(refunded_amount__gt=0)),
        amount=Sum("refunded_amount"),
    )
    return VendorDisputeStats(
        vendor_id=vendor_id,
        days=days,
        paid_orders=paid,
        disputed_orders=counts["orders"],
        refunded_disputes=counts["refunded"],
        refunded_amount=counts["amount"] or Decimal("0"),
        dispute_rate=_rate(counts["orders"], paid),
        refund_rate=_rate(counts["refunded"], paid),
    )
