"""Who may see which payments."""

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.selectors import vendor_of

from .models import Payment


def visible_payments(user, queryset=None):
    """Finance and order staff see all; a vendor's staff its fee and deposit payments; a shopper their own."""
    queryset = Payment.objects.all() if queryset is None else queryset
    if has_permission(user, PlatformPermission.MANAGE_FINANCE) or has_permission(user, PlatformPermission.MANAGE_ORDERS):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    vendor = vendor_of(user)
    if vendor is not None:
        return queryset.filter(vendor=vendor)
    return queryset.filter(customer=user)
