"""What each caller may see of vendors and applications: the one place it is decided."""

from backend.core.permissions import PlatformPermission, has_permission

from .models import ApplicationDocument, Vendor, VendorApplication, VendorStaff


def vendor_of(user) -> Vendor | None:
    """The vendor the user works for, or None."""
    if user is None or not user.is_authenticated:
        return None
    membership = getattr(user, "vendor_membership", None)
    return membership.vendor if membership is not None else None


def visible_applications(user, queryset=None):
    queryset = VendorApplication.objects.all() if queryset is None else queryset
    if has_permission(user, PlatformPermission.MANAGE_VENDORS):
        return queryset
    if user is not None and user.is_authenticated:
        return queryset.filter(applicant=user)
    return queryset.none()


def visible_documents(user, queryset=None):
    queryset = ApplicationDocument.objects.all() if queryset is None else queryset
    return queryset.filter(application__in=visible_applications(user))


def visible_vendors(user, queryset=None):
    """Core API: staff managing vendors see every store; a merchant sees only its own."""
    queryset = Vendor.objects.all() if queryset is None else queryset
    if has_permission(user, PlatformPermission.MANAGE_VENDORS) or has_permission(
        user, PlatformPermission.MANAGE_FINANCE
    ):
        return queryset
    vendor = vendor_of(user)
    if vendor is not None:
        return queryset.filter(pk=vendor.pk)
    return queryset.none()


def visible_vendor_staff(user, queryset=None):
    queryset = VendorStaff.objects.all() if queryset is None else queryset
    return queryset.filter(vendor__in=visible_vendors(user))
