"""What each caller may see of vendors and applications: the one place it is decided."""

from django.db.models import Q

from backend.core.permissions import PlatformPermission, has_permission

from django.utils import timezone

from .models import ApplicationDocument, InvitationStatus, Vendor, VendorApplication, VendorRole, VendorStaff, VendorStaffInvitation


def vendor_of(user) -> Vendor | None:
    """The vendor the user works for, or None."""
    if user is None or not user.is_authenticated:
        return None
    membership = getattr(user, "vendor_membership", None)
    return membership.vendor if membership is not None else None


def vendor_id_of(user) -> int | None:
    """The id of the vendor the user works for, or None, without loading the vendor."""
    if user is None or not user.is_authenticated:
        return None
    membership = getattr(user, "vendor_membership", None)
    return membership.vendor_id if membership is not None else None


def visible_to_vendor_staff(user, queryset, *, sees_every_vendor: bool, vendor_field: str = "vendor_id"):
    """The core API's rule for a vendor's data: platform staff allowed to (`sees_every_vendor`)
    see every vendor's rows, a vendor's staff only their own vendor's, everyone else none."""
    if sees_every_vendor:
        return queryset
    vendor_id = vendor_id_of(user)
    if vendor_id is None:
        return queryset.none()
    return queryset.filter(**{vendor_field: vendor_id})


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


def _sees_every_vendor(user) -> bool:
    return has_permission(user, PlatformPermission.MANAGE_VENDORS) or has_permission(
        user, PlatformPermission.MANAGE_FINANCE
    )


def visible_vendors(user, queryset=None):
    """Core API: staff managing vendors see every store; a merchant sees only its own."""
    queryset = Vendor.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=_sees_every_vendor(user), vendor_field="pk")


def may_see_vendor(user, vendor: Vendor) -> bool:
    """The rule of visible_vendors for one store already loaded (no query per row)."""
    return _sees_every_vendor(user) or vendor_id_of(user) == vendor.pk


def visible_vendor_staff(user, queryset=None):
    queryset = VendorStaff.objects.all() if queryset is None else queryset
    return queryset.filter(vendor__in=visible_vendors(user))


def applications_for_list(user, *, status: str | None = None):
    """Applications the user may see, with what a list page shows fetched up front."""
    queryset = VendorApplication.objects.select_related("applicant", "decided_by", "vendor").prefetch_related(
        "categories", "documents", "vendor__staff__user", "vendor__categories"
    )
    if status:
        queryset = queryset.filter(status=status)
    return visible_applications(user, queryset)


def vendors_for_list(user, *, status: str | None = None, search: str | None = None):
    queryset = Vendor.objects.prefetch_related("categories", "staff__user")
    if status:
        queryset = queryset.filter(status=status)
    if search:
        search = search.strip()
        queryset = queryset.filter(
            Q(name__icontains=search) | Q(slug__icontains=search) | Q(company_name__icontains=search)
        )
    return visible_vendors(user, queryset)


def may_see_audit_trail(user) -> bool:
    """Decisions, their reasons and who took them are for platform staff."""
    return has_permission(user, PlatformPermission.MANAGE_VENDORS)


def visible_staff_invitations(user, queryset=None):
    """A store's invitations: its owner and staff managing vendors see them; the invited account sees
    those addressed to its confirmed email. Nobody else."""
    queryset = VendorStaffInvitation.objects.all() if queryset is None else queryset
    if has_permission(user, PlatformPermission.MANAGE_VENDORS):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    mine = Q(email=user.email) if user.email_confirmed else Q(pk__in=[])
    membership = getattr(user, "vendor_membership", None)
    if membership is not None and membership.role == VendorRole.OWNER:
        mine |= Q(vendor_id=membership.vendor_id)
    return queryset.filter(mine)


def pending_invitations_for(user):
    """Invitations waiting for the account's answer."""
    if user is None or not user.is_authenticated or not user.email_confirmed:
        return VendorStaffInvitation.objects.none()
    return VendorStaffInvitation.objects.filter(
        email=user.email, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
    ).select_related("vendor")


def pending_invitations_of_vendor(user, vendor: Vendor):
    """A store's pending invitations, for its owner and staff managing vendors; none for anyone else."""
    pending = VendorStaffInvitation.objects.filter(vendor=vendor, status=InvitationStatus.PENDING)
    if has_permission(user, PlatformPermission.MANAGE_VENDORS):
        return pending
    membership = getattr(user, "vendor_membership", None) if user is not None and user.is_authenticated else None
    if membership is not None and membership.vendor_id == vendor.pk and membership.role == VendorRole.OWNER:
        return pending
    return pending.none()
