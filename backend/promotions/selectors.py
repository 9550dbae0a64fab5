"""Who may see which vouchers: the one place it is decided, for both APIs."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.models import VendorRole
from backend.vendors.selectors import vendor_id_of

from .models import Coupon, Voucher


def manages_platform_vouchers(user) -> bool:
    """Platform vouchers spend the platform's money: staff with MANAGE_FINANCE manage them."""
    return has_permission(user, PlatformPermission.MANAGE_FINANCE)


def visible_vouchers(user, queryset=None) -> QuerySet[Voucher]:
    """Core API: finance staff see every voucher; a store's staff their store's vouchers only."""
    queryset = Voucher.objects.all() if queryset is None else queryset
    if manages_platform_vouchers(user):
        return queryset
    vendor_id = vendor_id_of(user)
    if vendor_id is None:
        return queryset.none()
    return queryset.filter(vendor_id=vendor_id)


def may_see_voucher(user, voucher: Voucher) -> bool:
    """The rule of visible_vouchers for one voucher already loaded."""
    if manages_platform_vouchers(user):
        return True
    vendor_id = vendor_id_of(user)
    return vendor_id is not None and voucher.vendor_id == vendor_id


def manages_store_vouchers(user) -> bool:
    """A store's owner and operators run its vouchers (they spend the store's money); its customer
    service sees them and may not change them."""
    membership = getattr(user, "vendor_membership", None) if user is not None and user.is_authenticated else None
    return membership is not None and membership.role in (VendorRole.OWNER, VendorRole.OPERATOR)


def may_manage_voucher(user, voucher: Voucher) -> bool:
    return manages_platform_vouchers(user) or (may_see_voucher(user, voucher) and manages_store_vouchers(user))


def live_vouchers(now=None) -> QuerySet[Voucher]:
    """Switched on and inside their window (limits aside)."""
    now = now or timezone.now()
    return Voucher.objects.filter(is_active=True).filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )


def claimable_coupons(*, vendor=None, now=None) -> QuerySet[Voucher]:
    """Storefront: coupons a shopper may claim (a store's on its page; the platform's with vendor None)."""
    queryset = live_vouchers(now).filter(claimable=True)
    if vendor is None:
        return queryset.filter(vendor__isnull=True)
    return queryset.filter(vendor_id=getattr(vendor, "pk", vendor))


def shopper_coupons(user) -> QuerySet[Coupon]:
    if user is None or not user.is_authenticated:
        return Coupon.objects.none()
    return Coupon.objects.filter(user_id=user.pk).select_related("voucher", "voucher__vendor")


def order_discounts_by_funder(order_ids) -> dict[int, list[tuple[str, Decimal]]]:
    """Each order's discounts summed by funder (goods and shipping), in one query."""
    from django.db.models import Sum

    from .models import OrderDiscount

    found: dict[int, list[tuple[str, Decimal]]] = {}
    rows = (
        OrderDiscount.objects.filter(order_id__in=list(order_ids)).values("order_id", "funder")
        .annotate(total=Sum("amount")).order_by("order_id", "funder")
    )
    for row in rows:
        found.setdefault(row["order_id"], []).append((row["funder"], row["total"]))
    return found
