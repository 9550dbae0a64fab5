"""Who sees which shipments and may ask for shipping quotes: the one place it is decided."""

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.selectors import vendor_of, visible_to_vendor_staff

from .models import Shipment


def may_use_shipping(user) -> bool:
    """Merchants (a vendor's staff) and platform staff see carriers and quotes."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_staff or vendor_of(user) is not None)


def visible_shipments(user, queryset=None):
    queryset = Shipment.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(
        user, queryset, sees_every_vendor=has_permission(user, PlatformPermission.MANAGE_ORDERS)
    )
