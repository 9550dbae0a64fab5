"""Who may see which vendor's money: the one place it is decided."""

from __future__ import annotations

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.models import Vendor
from backend.vendors.selectors import vendor_of

from .models import LedgerEntry


def can_see_all_finance(user) -> bool:
    return has_permission(user, PlatformPermission.MANAGE_FINANCE)


def finance_visible_vendors(user, queryset=None):
    """Staff with MANAGE_FINANCE see every vendor's money; a vendor's staff only their own."""
    queryset = Vendor.objects.all() if queryset is None else queryset
    if can_see_all_finance(user):
        return queryset
    vendor = vendor_of(user)
    if vendor is not None:
        return queryset.filter(pk=vendor.pk)
    return queryset.none()


def visible_ledger_entries(user, queryset=None):
    """Entries on the accounts of the vendors the user may see (all entries for finance staff)."""
    queryset = LedgerEntry.objects.all() if queryset is None else queryset
    if can_see_all_finance(user):
        return queryset
    vendor = vendor_of(user)
    if vendor is not None:
        return queryset.filter(account__vendor_id=vendor.pk)
    return queryset.none()


def vendor_ledger_entries(user, vendor_id: int):
    """A vendor's ledger, newest first, with what each row shows fetched in the same query."""
    return (
        visible_ledger_entries(user)
        .filter(account__vendor_id=vendor_id)
        .select_related("account", "transaction")
        .order_by("-id")
    )
