"""Who may see and act on which orders: the one place it is decided, for both APIs."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.selectors import vendor_of, visible_to_vendor_staff

from .models import Order, VendorShippingOrigin


def manages_all_orders(user) -> bool:
    return has_permission(user, PlatformPermission.MANAGE_ORDERS)


def visible_orders(user, queryset=None) -> QuerySet[Order]:
    """Core API: staff with MANAGE_ORDERS see every order, a vendor's staff their vendor's orders."""
    queryset = Order.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=manages_all_orders(user))


def shopper_orders(user, queryset=None) -> QuerySet[Order]:
    """Storefront: a signed-in shopper sees their own orders only."""
    queryset = Order.objects.all() if queryset is None else queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(user_id=user.pk)


def may_manage_order(user, order: Order) -> bool:
    """The vendor's own staff, or platform staff with MANAGE_ORDERS, may ship and cancel."""
    if manages_all_orders(user):
        return True
    vendor = vendor_of(user)
    return vendor is not None and vendor.pk == order.vendor_id


def is_order_owner(user, order: Order) -> bool:
    return user is not None and user.is_authenticated and order.user_id == user.pk


def vendor_shipping_origin(vendor) -> str:
    """The region code a vendor ships from (settings.DEFAULT_SHIPPING_ORIGIN_REGION when unset)."""
    code = VendorShippingOrigin.objects.filter(vendor_id=vendor.pk).values_list("region_code", flat=True).first()
    return code or settings.DEFAULT_SHIPPING_ORIGIN_REGION


def vendor_shipping_origins(vendor_ids) -> dict[int, str]:
    """Several vendors' origins in one query."""
    found = dict(VendorShippingOrigin.objects.filter(vendor_id__in=list(vendor_ids)).values_list("vendor_id", "region_code"))
    return {vendor_id: found.get(vendor_id) or settings.DEFAULT_SHIPPING_ORIGIN_REGION for vendor_id in vendor_ids}
