"""Merchant onboarding and the life of a store: every business rule of the vendor domain.

Applications: submitted -> approved | rejected | info_requested; info_requested -> submitted.
Vendors: see VENDOR_MACHINE below. Staff decisions are written to the audit log in
the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.accounts.models import User
from backend.catalog.models import Category
from backend.core.audit import audit_log
from backend.notifications.services import notify
from backend.core.exceptions import DomainError
from backend.core.media import StagedFiles, delete_files_on_commit, rendition_paths, run_after_commit, store_renditions
from backend.core.permissions import PlatformPermission, has_permission, require_authenticated, require_permission
from backend.core.state_machine import StateMachine
from backend.core.storage import private_storage
from backend.core.uploads import CheckedFile, check_document, check_image, render_sizes
from backend.search import indexing as search_indexing

from .error_codes import VendorErrorCode
from .files import IMAGE_KINDS, store_image_original
from .models import (
    OPEN_APPLICATION_STATUSES,
    ApplicationDocument,
    ApplicationStatus,
    DocumentType,
    InvitationStatus,
    Vendor,
    VendorApplication,
    VendorRole,
    VendorStaff,
    VendorStaffInvitation,
    VendorStatus,
    document_upload_to,
)
from .selectors import vendor_of

# Choice labels that messages below show, translated with them (the models keep plain labels).
MESSAGE_LABELS = (
    gettext_noop("Business licence"), gettext_noop("Trademark certificate"), gettext_noop("Brand authorisation"),
    gettext_noop("Onboarding (fee or deposit unpaid)"), gettext_noop("Active"),
    gettext_noop("Restricted (fee or deposit short)"), gettext_noop("Suspended"), gettext_noop("Closing"),
    gettext_noop("Closed"), gettext_noop("Owner"), gettext_noop("Operator"), gettext_noop("Customer service"),
    gettext_noop(" or "),
)

S = ApplicationStatus
APPLICATION_MACHINE = StateMachine(
    "vendor application",
    {
        S.SUBMITTED: {S.APPROVED, S.REJECTED, S.INFO_REQUESTED},
        # The applicant edits and resubmits.
        S.INFO_REQUESTED: {S.SUBMITTED},
        S.APPROVED: set(),
        S.REJECTED: set(),
    },
    VendorErrorCode.INVALID_TRANSITION,
)

V = VendorStatus
VENDOR_MACHINE = StateMachine(
    "vendor",
    {
        # Activation waits for the entry fee and deposit; a store that never got
        # that far has nothing to settle and closes at once.
        V.ONBOARDING: {V.ACTIVE, V.CLOSED},
        # Restricted: the fee year ran out or the deposit fell short (finance.standing).
        V.ACTIVE: {V.RESTRICTED, V.SUSPENDED, V.CLOSING},
        # Paying restores it; the top-up deadline passing suspends it.
        V.RESTRICTED: {V.ACTIVE, V.SUSPENDED, V.CLOSING},
        # Reinstating goes back to active only: a suspended store already paid.
        V.SUSPENDED: {V.ACTIVE, V.CLOSING},
        # Closing stops sales; orders, disputes and the deposit settle before closed.
        V.CLOSING: {V.CLOSED},
        V.CLOSED: set(),
    },
    VendorErrorCode.INVALID_TRANSITION,
)
# What each staff, owner or finance action does from each status; every pair is a VENDOR_MACHINE
# transition, and an action from any other status is refused (reinstating an onboarding
# store would skip the entry fee and deposit).
VENDOR_ACTIONS = {
    "vendor.activate": {V.ONBOARDING: V.ACTIVE},
    "vendor.suspend": {V.ACTIVE: V.SUSPENDED, V.RESTRICTED: V.SUSPENDED},
    "vendor.reinstate": {V.SUSPENDED: V.ACTIVE},
    "vendor.close": {V.ONBOARDING: V.CLOSED, V.ACTIVE: V.CLOSING, V.RESTRICTED: V.CLOSING, V.SUSPENDED: V.CLOSING},
    "vendor.close_complete": {V.CLOSING: V.CLOSED},
    # Taken by finance.standing, never by hand: fee or deposit short, paid again, deadline passed.
    "vendor.restrict": {V.ACTIVE: V.RESTRICTED},
    "vendor.restore": {V.RESTRICTED: V.ACTIVE, V.SUSPENDED: V.ACTIVE},
    "vendor.suspend_overdue": {V.RESTRICTED: V.SUSPENDED},
}

REQUIRED_DOCUMENTS = (DocumentType.BUSINESS_LICENSE,)
MAX_DOCUMENTS = 10
PROFILE_FIELDS = {
    # service argument: (GraphQL field, max length, required); "name" is the store's, once open.
    "store_name": ("storeName", 128, True),
    "name": ("name", 128, True),
    "company_name": ("companyName", 256, True),
    "contact_phone": ("contactPhone", 32, False),
    "description": ("description", 5000, False),
}
MANAGING_ROLES = (VendorRole.OWNER, VendorRole.OPERATOR)

Document = tuple[str, Any]  # (DocumentType value, uploaded file)


# --- input checks -------------------------------------------------------------------------


def _clean_text(value: str | None, *, field: str, max_length: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(VendorErrorCode.REQUIRED, _("This field is required."), field=field)
    if len(value) > max_length:
        raise DomainError(VendorErrorCode.INVALID, _("At most %(limit)d characters.") % {"limit": max_length}, field=field)
    return value


def _clean_email(value: str | None, *, field: str = "contactEmail") -> str:
    value = (value or "").strip().lower()
    if not value:
        raise DomainError(VendorErrorCode.REQUIRED, _("This field is required."), field=field)
    try:
        validate_email(value)
    except ValidationError as exc:
        raise DomainError(VendorErrorCode.INVALID, _("Enter a valid email address."), field=field) from exc
    return value


def _clean_profile(values: dict[str, Any], *, partial: bool) -> dict[str, str]:
    """Checked application/store profile fields; with partial, None means "leave unchanged"."""
    cleaned = {}
    for name, (field, max_length, required) in PROFILE_FIELDS.items():
        if name in values and (values[name] is not None or not partial):
            cleaned[name] = _clean_text(values[name], field=field, max_length=max_length, required=required)
    if "contact_email" in values and (values["contact_email"] is not None or not partial):
        cleaned["contact_email"] = _clean_email(values["contact_email"])
    return cleaned


def _clean_categories(categories: Iterable[Category]) -> list[Category]:
    categories = list(dict.fromkeys(categories))
    if not categories:
        raise DomainError(VendorErrorCode.REQUIRED, _("Choose at least one category."), field="categories")
    return categories


def _check_documents(documents: Sequence[Document]) -> list[tuple[str, CheckedFile]]:
    """Check every file by content before anything is stored."""
    if len(documents) > MAX_DOCUMENTS:
        raise DomainError(VendorErrorCode.INVALID, _("At most %(count)d documents.") % {"count": MAX_DOCUMENTS}, field="documents")
    checked = []
    for document_type, upload in documents:
        if document_type not in DocumentType.values:
            raise DomainError(VendorErrorCode.INVALID, _("Unknown document type %(type)r.") % {"type": document_type}, field="documents")
        if upload is None:
            raise DomainError(VendorErrorCode.REQUIRED, _("Each document needs a file."), field="documents")
        checked.append((document_type, check_document(upload, field="documents")))
    return checked


def _require_documents(document_types: Iterable[str]) -> None:
    present = set(document_types)
    for required in REQUIRED_DOCUMENTS:
        if required not in present:
            raise DomainError(
                VendorErrorCode.DOCUMENT_REQUIRED,
                _("A %(document)s is required.") % {"document": _(required.label).lower()},
                field="documents",
            )


def _store_documents(
    application: VendorApplication, checked: list[tuple[str, CheckedFile]], staged: StagedFiles
) -> list[ApplicationDocument]:
    stored = []
    for document_type, file in checked:
        document = ApplicationDocument(
            application=application,
            document_type=document_type,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
        )
        document.file.name = staged.save(
            document_upload_to(document, f"document.{file.extension}"), ContentFile(file.content)
        )
        document.save()
        stored.append(document)
    return stored


# --- who may do what -----------------------------------------------------------------------


def _membership(user, vendor: Vendor) -> VendorStaff | None:
    if user is None or not user.is_authenticated:
        return None
    membership = VendorStaff.objects.filter(user=user, vendor=vendor).first()
    return membership


def _require_vendor_role(actor, vendor: Vendor, roles: Sequence[str]) -> None:
    """The vendor's own staff in one of the roles, or platform staff managing vendors."""
    if has_permission(actor, PlatformPermission.MANAGE_VENDORS):
        return
    membership = _membership(actor, vendor)
    if membership is None or membership.role not in roles:
        raise DomainError(
            VendorErrorCode.PERMISSION_DENIED,
            _("Only the store's %(roles)s may do this.")
            % {"roles": _(" or ").join(_(VendorRole(r).label).lower() for r in roles)},
        )


def _require_open(vendor: Vendor) -> None:
    if vendor.status == VendorStatus.CLOSED:
        raise DomainError(VendorErrorCode.VENDOR_CLOSED, _("The store is closed."))


def _check_may_apply(applicant) -> None:
    require_authenticated(applicant, VendorErrorCode.PERMISSION_DENIED)
    if applicant.is_staff:
        raise DomainError(VendorErrorCode.PERMISSION_DENIED, _("Platform staff accounts cannot open a store."))
    if vendor_of(applicant) is not None:
        raise DomainError(VendorErrorCode.ALREADY_VENDOR_STAFF, _("You already work for a store."))
    if VendorApplication.objects.filter(applicant=applicant, status__in=OPEN_APPLICATION_STATUSES).exists():
        raise DomainError(VendorErrorCode.ALREADY_APPLIED, _("You already have an application under review."))


# --- applications --------------------------------------------------------------------------


def vendor_application_create(
    *,
    applicant: User,
    store_name: str,
    company_name: str,
    contact_email: str,
    contact_phone: str = "",
    description: str = "",
    categories: Iterable[Category],
    documents: Sequence[Document],
) -> VendorApplication:
    """Submit an application to open a store, with its qualification documents."""
    _check_may_apply(applicant)
    profile = _clean_profile(
        {
            "store_name": store_name,
            "company_name": company_name,
            "contact_email": contact_email,
            "contact_phone": contact_phone,
            "description": description,
        },
        partial=False,
    )
    categories = _clean_categories(categories)
    checked = _check_documents(documents)
    _require_documents(t for t, _ in checked)

    with transaction.atomic(), StagedFiles(private_storage()) as staged:
        try:
            with transaction.atomic():
                application = VendorApplication.objects.create(applicant=applicant, **profile)
        except IntegrityError as exc:  # a concurrent submission won the race
            raise DomainError(
                VendorErrorCode.ALREADY_APPLIED, _("You already have an application under review.")
            ) from exc
        application.categories.set(categories)
        _store_documents(application, checked, staged)
        audit_log(actor=applicant, action="vendor_application.submit", target=application)
    return application


def _locked_application(application: VendorApplication) -> VendorApplication:
    return VendorApplication.objects.select_for_update().get(pk=application.pk)


def vendor_application_update(
    *,
    actor: User,
    application: VendorApplication,
    store_name: str | None = None,
    company_name: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    description: str | None = None,
    categories: Iterable[Category] | None = None,
    documents: Sequence[Document] | None = None,
) -> VendorApplication:
    """The applicant answers a request for information: edits, adds or replaces documents, resubmits.

    A new document replaces the stored documents of the same type.
    """
    if actor is None or not actor.is_authenticated or application.applicant_id != actor.pk:
        raise DomainError(VendorErrorCode.PERMISSION_DENIED, _("Only the applicant may change an application."))
    profile = _clean_profile(
        {
            "store_name": store_name,
            "company_name": company_name,
            "contact_email": contact_email,
            "contact_phone": contact_phone,
            "description": description,
        },
        partial=True,
    )
    categories = _clean_categories(categories) if categories is not None else None
    checked = _check_documents(documents or [])

    with transaction.atomic(), StagedFiles(private_storage()) as staged:
        application = _locked_application(application)
        APPLICATION_MACHINE.check(application.status, ApplicationStatus.SUBMITTED)
        # Documents are only added or replaced, never removed, so the licence stays.
        replaced_types = {t for t, _ in checked}
        replaced = list(application.documents.filter(document_type__in=replaced_types))

        for name, value in profile.items():
            setattr(application, name, value)
        if categories is not None:
            application.categories.set(categories)
        ApplicationDocument.objects.filter(pk__in=[d.pk for d in replaced]).delete()
        _store_documents(application, checked, staged)
        application.decision_reason = ""
        APPLICATION_MACHINE.apply(
            application, ApplicationStatus.SUBMITTED, update_fields=[*profile, "decision_reason"]
        )
        audit_log(
            actor=actor,
            action="vendor_application.resubmit",
            target=application,
            changed=sorted(profile) + (["categories"] if categories is not None else []),
            documents=sorted(replaced_types),
        )
        delete_files_on_commit((d.file.name for d in replaced), storage=private_storage())
    return application


def _decide(
    *, actor: User, application: VendorApplication, target: str, action: str, reason: str = ""
) -> VendorApplication:
    application = _locked_application(application)
    APPLICATION_MACHINE.check(application.status, target)
    application.decision_reason = reason
    application.decided_by = actor
    application.decided_at = timezone.now()
    APPLICATION_MACHINE.apply(application, target, update_fields=["decision_reason", "decided_by", "decided_at"])
    audit_log(actor=actor, action=action, target=application, reason=reason)
    notify(f"vendor_application.{target}", application=application)
    return application


def vendor_application_approve(*, actor: User, application: VendorApplication) -> VendorApplication:
    """Open the store: a vendor in onboarding, with the applicant as its owner."""
    require_permission(actor, PlatformPermission.MANAGE_VENDORS, VendorErrorCode.PERMISSION_DENIED)
    with transaction.atomic():
        application = _locked_application(application)
        APPLICATION_MACHINE.check(application.status, ApplicationStatus.APPROVED)
        if VendorStaff.objects.filter(user_id=application.applicant_id).exists():
            raise DomainError(VendorErrorCode.ALREADY_VENDOR_STAFF, _("The applicant already works for a store."))
        application = _decide(
            actor=actor, application=application, target=ApplicationStatus.APPROVED, action="vendor_application.approve"
        )
        vendor = _vendor_create_from(application)
        VendorStaff.objects.create(vendor=vendor, user_id=application.applicant_id, role=VendorRole.OWNER)
        audit_log(actor=actor, action="vendor.create", target=vendor, application=application.pk)
    return application


def vendor_application_reject(*, actor: User, application: VendorApplication, reason: str) -> VendorApplication:
    require_permission(actor, PlatformPermission.MANAGE_VENDORS, VendorErrorCode.PERMISSION_DENIED)
    reason = _clean_text(reason, field="reason", max_length=5000, required=True)
    with transaction.atomic():
        return _decide(
            actor=actor,
            application=application,
            target=ApplicationStatus.REJECTED,
            action="vendor_application.reject",
            reason=reason,
        )


def vendor_application_request_info(*, actor: User, application: VendorApplication, message: str) -> VendorApplication:
    require_permission(actor, PlatformPermission.MANAGE_VENDORS, VendorErrorCode.PERMISSION_DENIED)
    message = _clean_text(message, field="message", max_length=5000, required=True)
    with transaction.atomic():
        return _decide(
            actor=actor,
            application=application,
            target=ApplicationStatus.INFO_REQUESTED,
            action="vendor_application.request_info",
            reason=message,
        )


# --- vendors -------------------------------------------------------------------------------


def vendor_slug_for(name: str) -> str:
    """A free slug for a store name, keeping non-Latin names readable (数码小店 -> 数码小店, -2, -3...)."""
    base = slugify(name, allow_unicode=True)[:120].strip("-") or "store"
    taken = set(Vendor.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _vendor_create_from(application: VendorApplication) -> Vendor:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                vendor = Vendor.objects.create(
                    name=application.store_name,
                    slug=vendor_slug_for(application.store_name),
                    company_name=application.company_name,
                    contact_email=application.contact_email,
                    contact_phone=application.contact_phone,
                    description=application.description,
                    status=VendorStatus.ONBOARDING,
                    application=application,
                )
        except IntegrityError:  # another store took the slug meanwhile
            continue
        vendor.categories.set(application.categories.all())
        return vendor
    raise DomainError(VendorErrorCode.UNIQUE, _("Could not find a free address for the store; try again."))


def vendor_update(
    *,
    actor: User,
    vendor: Vendor,
    name: str | None = None,
    description: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    logo=None,
    banner=None,
    shipping_origin: str | None = None,
) -> Vendor:
    """Edit the store profile. Images are re-encoded into fixed sizes in the worker (the original is
    shown until then, and removed once they exist). ``shipping_origin`` is the region code (GB/T
    2260, a province or city of the logistics tables) its packages leave from: checkout quotes
    shipping from it, orders already placed keep the origin they were quoted from."""
    _require_vendor_role(actor, vendor, MANAGING_ROLES)
    _require_open(vendor)
    origin_code = _clean_shipping_origin(shipping_origin)
    # A rename keeps the slug, so links to the store keep working.
    profile = _clean_profile(
        {"name": name, "contact_email": contact_email, "contact_phone": contact_phone, "description": description},
        partial=True,
    )
    images = {
        kind: check_image(upload, field=kind, use="store_image")
        for kind, upload in (("logo", logo), ("banner", banner))
        if upload
    }

    with transaction.atomic(), StagedFiles() as staged:
        vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
        replaced: list[str] = []
        for name_, value in profile.items():
            setattr(vendor, name_, value)
        originals = {}
        for kind, checked in images.items():
            replaced += rendition_paths(getattr(vendor, kind))
            originals[kind], stored = store_image_original(staged, vendor_id=vendor.pk, kind=kind, checked=checked)
            setattr(vendor, kind, stored)
        vendor.save(update_fields=[*profile, *images, "updated_at"])
        changed = [*profile, *images]
        if origin_code is not None:
            from backend.orders.models import VendorShippingOrigin

            VendorShippingOrigin.objects.update_or_create(vendor=vendor, defaults={"region_code": origin_code})
            changed.append("shipping_origin")
        audit_log(actor=actor, action="vendor.update", target=vendor, changed=sorted(changed))
        delete_files_on_commit(replaced)
        from . import tasks

        for kind, original in originals.items():
            # The renditions are made in the worker; the profile shows the original until then.
            run_after_commit(tasks.vendor_image_render, vendor.pk, kind, original)
    return vendor


def _clean_shipping_origin(code: str | None) -> str | None:
    """A known province or city code, or None when not given; anything else is UNKNOWN_REGION."""
    if code is None:
        return None
    from backend.logistics.models import Region, RegionKind

    code = code.strip()
    kinds = [RegionKind.PROVINCE, RegionKind.MUNICIPALITY, RegionKind.CITY]
    if not code or not Region.objects.filter(code=code, kind__in=kinds).exists():
        raise DomainError(
            VendorErrorCode.UNKNOWN_REGION,
            _("No province or city with the code %(code)s.") % {"code": code[:20]},
            field="shippingOrigin",
        )
    return code


def vendor_image_render(*, vendor_id: int, kind: str, original: str) -> bool:
    """Re-encode a store's uploaded logo or banner (EXIF dropped) into its sizes, in the worker,
    in place of the original shown meanwhile. False when it was replaced or removed since."""
    def still_original(vendor) -> bool:
        return vendor is not None and original in rendition_paths(getattr(vendor, kind))

    if kind not in IMAGE_KINDS or not still_original(Vendor.objects.filter(pk=vendor_id).first()):
        return False
    try:
        with default_storage.open(original, "rb") as handle:
            checked = check_image(handle, field=kind, use="store_image")
    except FileNotFoundError:
        return False
    renditions = render_sizes(checked, IMAGE_KINDS[kind], crop=True)
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if not still_original(vendor):
            return False
        with StagedFiles() as staged:
            stored = store_renditions(staged, prefix=f"vendors/{vendor_id}/{kind}", renditions=renditions)
            setattr(vendor, kind, stored)
            vendor.save(update_fields=[kind, "updated_at"])
        delete_files_on_commit([original])
    return True


def _invitation_token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def vendor_staff_invite(*, actor: User, vendor: Vendor, email: str, role: str) -> VendorStaffInvitation:
    """Invite an email to the store's staff (the store's owner); the invited account answers itself.

    The answer is the same whatever the email is (no account, a shopper, platform staff, someone's
    staff): an invitation is recorded and emailed. Whether the account may join is checked when it
    accepts, and told only to it. Inviting the same email again replaces the pending invitation.
    """
    from backend.accounts import emails

    _require_vendor_role(actor, vendor, (VendorRole.OWNER,))
    _require_open(vendor)
    if role not in VendorRole.values:
        raise DomainError(VendorErrorCode.INVALID, _("Unknown role %(role)r.") % {"role": role}, field="role")
    email = _clean_email(email, field="email")
    if len(email) > VendorStaffInvitation._meta.get_field("email").max_length:
        raise DomainError(VendorErrorCode.INVALID, _("The email address is too long."), field="email")
    pending = vendor.staff_invitations.select_for_update().filter(status=InvitationStatus.PENDING)
    pending.filter(email=email).update(status=InvitationStatus.REVOKED, answered_at=timezone.now())
    if pending.filter(expires_at__gt=timezone.now()).count() >= settings.VENDOR_STAFF_PENDING_INVITATIONS_MAX:
        raise DomainError(
            VendorErrorCode.TOO_MANY_INVITATIONS,
            _("The store has too many pending invitations; revoke some first."),
            field="email",
        )
    token = secrets.token_urlsafe(24)
    invitation = VendorStaffInvitation.objects.create(
        vendor=vendor,
        email=email,
        role=role,
        token_hash=_invitation_token_hash(token),
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.VENDOR_STAFF_INVITATION_DAYS),
    )
    audit_log(actor=actor, action="vendor.staff_invite", target=vendor, email=email, role=role)
    emails.send_staff_invitation(
        email=email,
        user=User.objects.filter(email=email).first(),
        vendor_name=vendor.name,
        role_label=VendorRole(role).label,
        token=token,
    )
    return invitation


def vendor_staff_invitation_revoke(*, actor: User, invitation: VendorStaffInvitation) -> VendorStaffInvitation:
    with transaction.atomic():
        invitation = VendorStaffInvitation.objects.select_for_update().select_related("vendor").get(pk=invitation.pk)
        _require_vendor_role(actor, invitation.vendor, (VendorRole.OWNER,))
        if invitation.status != InvitationStatus.PENDING:
            raise DomainError(
                VendorErrorCode.INVALID_TRANSITION, _("Only a pending invitation can be revoked."), field="id"
            )
        invitation.status = InvitationStatus.REVOKED
        invitation.answered_at = timezone.now()
        invitation.save(update_fields=["status", "answered_at"])
        audit_log(actor=actor, action="vendor.staff_invitation_revoke", target=invitation.vendor, email=invitation.email)
    return invitation


def invitation_for_invitee(*, actor: User, invitation_id: int | None = None, token: str | None = None):
    """The pending invitation addressed to the actor's confirmed email, by id or by emailed token.

    Anyone else's invitation, or a wrong token, is NOT_FOUND: nobody learns of invitations not theirs.
    """
    require_authenticated(actor, VendorErrorCode.PERMISSION_DENIED)
    queryset = VendorStaffInvitation.objects.select_for_update().select_related("vendor")
    if token:
        queryset = queryset.filter(token_hash=_invitation_token_hash(token))
    elif invitation_id is not None:
        queryset = queryset.filter(pk=invitation_id)
    else:
        raise DomainError(VendorErrorCode.REQUIRED, _("Give the invitation's id or its token."), field="id")
    invitation = queryset.filter(email=actor.email).first() if actor.email_confirmed else None
    if invitation is None:
        raise DomainError(VendorErrorCode.NOT_FOUND, _("No such invitation for your account."), field="token" if token else "id")
    if invitation.status != InvitationStatus.PENDING:
        raise DomainError(
            VendorErrorCode.INVALID_TRANSITION,
            _("The invitation is no longer pending."),
            field="id",
        )
    if invitation.expires_at <= timezone.now():
        raise DomainError(VendorErrorCode.INVITATION_EXPIRED, _("The invitation has expired."), field="id")
    return invitation


def _answer(invitation: VendorStaffInvitation, actor: User, status: str) -> None:
    invitation.status = status
    invitation.answered_by = actor
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "answered_by", "answered_at"])


def vendor_staff_invitation_accept(
    *, actor: User, invitation_id: int | None = None, token: str | None = None
) -> VendorStaff:
    """The invited account joins the store in the invited role (one store per account)."""
    with transaction.atomic():
        invitation = invitation_for_invitee(actor=actor, invitation_id=invitation_id, token=token)
        vendor = Vendor.objects.select_for_update().get(pk=invitation.vendor_id)
        _require_open(vendor)
        if actor.is_staff:
            raise DomainError(VendorErrorCode.PERMISSION_DENIED, _("Platform staff cannot work for a store."))
        if VendorStaff.objects.filter(user=actor).exists():
            raise DomainError(VendorErrorCode.ALREADY_VENDOR_STAFF, _("You already work for a store."))
        try:
            with transaction.atomic():
                staff = VendorStaff.objects.create(vendor=vendor, user=actor, role=invitation.role)
        except IntegrityError as exc:
            raise DomainError(VendorErrorCode.ALREADY_VENDOR_STAFF, _("You already work for a store.")) from exc
        _answer(invitation, actor, InvitationStatus.ACCEPTED)
        audit_log(actor=actor, action="vendor.staff_join", target=vendor, user=actor.pk, email=actor.email,
                  role=invitation.role)
    return staff


def vendor_staff_invitation_decline(
    *, actor: User, invitation_id: int | None = None, token: str | None = None
) -> VendorStaffInvitation:
    with transaction.atomic():
        invitation = invitation_for_invitee(actor=actor, invitation_id=invitation_id, token=token)
        _answer(invitation, actor, InvitationStatus.DECLINED)
    return invitation


def vendor_staff_remove(*, actor: User, staff: VendorStaff) -> Vendor:
    with transaction.atomic():
        # Locking the store serialises staff changes, so two owners cannot remove each other.
        vendor = Vendor.objects.select_for_update().get(pk=staff.vendor_id)
        _require_vendor_role(actor, vendor, (VendorRole.OWNER,))
        if staff.role == VendorRole.OWNER and not vendor.staff.filter(role=VendorRole.OWNER).exclude(pk=staff.pk).exists():
            raise DomainError(VendorErrorCode.LAST_OWNER, _("A store keeps at least one owner."), field="id")
        audit_log(
            actor=actor,
            action="vendor.staff_remove",
            target=vendor,
            user=staff.user_id,
            email=staff.user.email,
            role=staff.role,
        )
        staff.delete()
    return vendor


def _vendor_move(*, actor: User, vendor: Vendor, action: str, reason: str = "") -> Vendor:
    """Apply one of VENDOR_ACTIONS to the (locked) store, or refuse with INVALID_TRANSITION."""
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
        previous = vendor.status
        target = VENDOR_ACTIONS[action].get(previous)
        if target is None:
            raise DomainError(
                VendorErrorCode.INVALID_TRANSITION,
                _("%(action)s is not possible for a store that is %(status)s.")
                % {"action": action, "status": _(VendorStatus(previous).label).lower()},
                field="status",
            )
        vendor.status_reason = reason
        VENDOR_MACHINE.apply(vendor, target, update_fields=["status_reason"])
        audit_log(actor=actor, action=action, target=vendor, reason=reason, previous=previous, status=target)
        search_indexing.vendor_changed(vendor.pk)
    return vendor


def vendor_status_apply(*, actor, vendor: Vendor, action: str, reason: str = "") -> Vendor:
    """Apply one of VENDOR_ACTIONS for another domain's automatic decision (finance standing,
    closure settlement). The caller decided; no permission is checked here."""
    return _vendor_move(actor=actor, vendor=vendor, action=action, reason=reason)


def _require_paid_up(vendor: Vendor) -> None:
    """The entry fee for the current fee year is paid and the deposit covers the requirement."""
    from backend.finance.standing import vendor_requirements_unmet

    unmet = vendor_requirements_unmet(vendor)
    if unmet:
        code = VendorErrorCode.ENTRY_FEE_UNPAID if unmet[0].reason == "fee_unpaid" else VendorErrorCode.DEPOSIT_SHORT
        raise DomainError(code, " ".join(item.message for item in unmet), field="status")


def vendor_activate(*, actor: User, vendor: Vendor) -> Vendor:
    """Open the store for business: only once the entry fee and the deposit are paid.

    Paying them activates the store by itself (finance.standing); staff may retry here.
    """
    require_permission(actor, PlatformPermission.MANAGE_VENDORS, VendorErrorCode.PERMISSION_DENIED)
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
        if vendor.status == VendorStatus.ONBOARDING:
            _require_paid_up(vendor)
        return _vendor_move(actor=actor, vendor=vendor, action="vendor.activate")


def vendor_suspend(*, actor: User, vendor: Vendor, reason: str) -> Vendor:
    require_permission(actor, PlatformPermission.MANAGE_VENDORS, VendorErrorCode.PERMISSION_DENIED)
    reason = _clean_text(reason, field="reason", max_length=5000, required=True)
    return _vendor_move(actor=actor, vendor=vendor, action="vendor.suspend", reason=reason)


def vendor_reinstate(*, actor: User, vendor: Vendor, reason: str = "") -> Vendor:
    """Lift a suspension; the store must still be paid up (fee year and deposit)."""
    require_permission(actor, PlatformPermission.MANAGE_VENDORS, VendorErrorCode.PERMISSION_DENIED)
    reason = _clean_text(reason, field="reason", max_length=5000, required=False)
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
        if vendor.status == VendorStatus.SUSPENDED:
            _require_paid_up(vendor)
        vendor = _vendor_move(actor=actor, vendor=vendor, action="vendor.reinstate", reason=reason)
        from backend.finance.standing import vendor_restriction_lift

        vendor_restriction_lift(vendor=vendor)
        return vendor


def vendor_close(*, actor: User, vendor: Vendor, reason: str = "") -> Vendor:
    """Close a store: platform staff, or the store's owner asking to leave.

    A store still onboarding closes at once (any deposit it paid goes back); a
    trading store goes to closing, where it no longer sells while its orders,
    disputes and deposit settle (finance.closure).
    """
    _require_vendor_role(actor, vendor, (VendorRole.OWNER,))
    reason = _clean_text(reason, field="reason", max_length=5000, required=False)
    from backend.finance.closure import vendor_closure_open

    with transaction.atomic():
        vendor = _vendor_move(actor=actor, vendor=vendor, action="vendor.close", reason=reason)
        vendor_closure_open(actor=actor, vendor=vendor)
    return vendor


def vendor_close_complete(*, actor: User, vendor: Vendor) -> Vendor:
    """Finish closing: only once settled (cooling-off over, orders released, no open dispute);
    the deposit and the available balance are paid back on the way (finance.closure)."""
    require_permission(actor, PlatformPermission.MANAGE_VENDORS, VendorErrorCode.PERMISSION_DENIED)
    from backend.finance.closure import vendor_closure_settle

    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
        if vendor.status not in VENDOR_ACTIONS["vendor.close_complete"]:
            raise DomainError(
                VendorErrorCode.INVALID_TRANSITION,
                _("%(action)s is not possible for a store that is %(status)s.")
                % {"action": "vendor.close_complete", "status": _(VendorStatus(vendor.status).label).lower()},
                field="status",
            )
        try:
            return vendor_closure_settle(actor=actor, vendor=vendor)
        except DomainError as error:
            if isinstance(error.code, VendorErrorCode):
                raise
            code = VendorErrorCode.__members__.get(error.code.name, VendorErrorCode.NOT_SETTLED)
            raise DomainError(code, error.message, field=error.field) from error
