import secrets

from django.conf import settings
from django.db import models

from backend.core.models import FastLoad
from backend.core.storage import private_storage


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    INFO_REQUESTED = "info_requested", "Information requested"


class DocumentType(models.TextChoices):
    BUSINESS_LICENSE = "business_license", "Business licence"
    TRADEMARK_CERTIFICATE = "trademark_certificate", "Trademark certificate"
    BRAND_AUTHORIZATION = "brand_authorization", "Brand authorisation"


class VendorApplication(models.Model):
    """A merchant's request to open a store, reviewed by platform staff."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vendor_applications"
    )
    store_name = models.CharField(max_length=128)
    company_name = models.CharField(max_length=256)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=32, blank=True)
    description = models.TextField(blank=True)
    categories = models.ManyToManyField("catalog.Category", related_name="vendor_applications")
    status = models.CharField(
        max_length=32, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED, db_index=True
    )
    decision_reason = models.TextField(blank=True, help_text="Why it was rejected, or what information is needed.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [
            # One open application per applicant, also under concurrent submissions.
            models.UniqueConstraint(
                fields=["applicant"],
                condition=models.Q(status__in=["submitted", "info_requested"]),
                name="vendors_one_open_application_per_applicant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.store_name} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_APPLICATION_STATUSES


OPEN_APPLICATION_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.INFO_REQUESTED)


def document_upload_to(instance, filename):
    """An unguessable name: documents are private and only reachable through signed links.

    The extension comes from the checked content (the caller passes it), never
    from the name the applicant uploaded.
    """
    extension = filename.rsplit(".", 1)[-1]
    return f"vendor-documents/{instance.application_id}/{secrets.token_urlsafe(18)}.{extension}"


class ApplicationDocument(models.Model):
    application = models.ForeignKey(VendorApplication, on_delete=models.CASCADE, related_name="documents")
    document_type = models.CharField(max_length=32, choices=DocumentType.choices)
    # Private: never served by path, only through the signed view (backend/core/storage.py).
    file = models.FileField(upload_to=document_upload_to, storage=private_storage)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} of {self.application}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class VendorStatus(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding (fee or deposit unpaid)"
    ACTIVE = "active", "Active"
    # Fell short of the entry fee or the deposit while trading: cannot sell until it pays.
    RESTRICTED = "restricted", "Restricted (fee or deposit short)"
    SUSPENDED = "suspended", "Suspended"
    CLOSING = "closing", "Closing"
    CLOSED = "closed", "Closed"


class Vendor(FastLoad, models.Model):
    """A store on the marketplace."""

    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=140, unique=True, allow_unicode=True)
    company_name = models.CharField(max_length=256)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=32, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=32, choices=VendorStatus.choices, default=VendorStatus.ONBOARDING, db_index=True
    )
    status_reason = models.TextField(blank=True)
    application = models.OneToOneField(
        VendorApplication, null=True, blank=True, on_delete=models.SET_NULL, related_name="vendor"
    )
    categories = models.ManyToManyField("catalog.Category", related_name="vendors", blank=True)
    # Store profile images: the uploaded original is not kept, only re-encoded renditions.
    logo = models.JSONField(default=dict, blank=True, help_text="Rendition name -> format -> storage path.")
    banner = models.JSONField(default=dict, blank=True, help_text="Rendition name -> format -> storage path.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class VendorRole(models.TextChoices):
    OWNER = "owner", "Owner"
    OPERATOR = "operator", "Operator"
    CUSTOMER_SERVICE = "customer_service", "Customer service"


class VendorStaff(models.Model):
    """A user working for one vendor, with a role."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="staff")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_membership")
    role = models.CharField(max_length=32, choices=VendorRole.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor", "role", "id"]
        verbose_name_plural = "vendor staff"

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.vendor})"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"


class VendorStaffInvitation(models.Model):
    """An invitation to work for a store, answered by the invited account itself.

    Addressed to an email, not to an account: whether that email has an account, and what kind,
    is not the inviting owner's business. Only a hash of the emailed token is stored.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="staff_invitations")
    email = models.EmailField(db_index=True)
    role = models.CharField(max_length=32, choices=VendorRole.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["vendor", "status"])]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()} of {self.vendor}, {self.get_status_display()})"
