"""Who may see which vendor's money: the one place it is decided."""

from __future__ import annotations

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.models import Vendor, VendorRole, VendorStaff
from backend.vendors.selectors import vendor_id_of, visible_to_vendor_staff

from .models import LedgerEntry


def can_see_vendor_finance(user, vendor_id: int) -> bool:
    return can_see_all_finance(user) or (vendor_id is not None and vendor_id_of(user) == int(vendor_id))


def can_see_all_finance(user) -> bool:
    return has_permission(user, PlatformPermission.MANAGE_FINANCE)


def finance_visible_vendors(user, queryset=None):
    """Staff with MANAGE_FINANCE see every vendor's money; a vendor's staff only their own."""
    queryset = Vendor.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=can_see_all_finance(user), vendor_field="pk")


def visible_ledger_entries(user, queryset=None):
    """Entries on the accounts of the vendors the user may see (all entries for finance staff)."""
    queryset = LedgerEntry.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(
        user, queryset, sees_every_vendor=can_see_all_finance(user), vendor_field="account__vendor_id"
    )


def vendor_ledger_entries(user, vendor_id: int):
    """A vendor's ledger, newest first, with what each row shows fetched in the same query."""
    return (
        visible_ledger_entries(user)
        .filter(account__vendor_id=vendor_id)
        .select_related("account", "transaction")
        .order_by("-id")
    )


def may_manage_vendor_money(user, vendor_id: int) -> bool:
    """Pay fees and deposits, ask for payouts: the vendor's owner or operator, or finance staff."""
    if can_see_all_finance(user):
        return True
    if user is None or not user.is_authenticated:
        return False
    return VendorStaff.objects.filter(
        user=user, vendor_id=vendor_id, role__in=[VendorRole.OWNER, VendorRole.OPERATOR]
    ).exists()


def visible_payouts(user, queryset=None):
    """Finance staff see every payout, a vendor's staff their vendor's."""
    from .models import Payout

    queryset = Payout.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=can_see_all_finance(user))
