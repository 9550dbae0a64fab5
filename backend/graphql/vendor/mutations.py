import graphene

from backend.catalog.models import Category
from backend.core.permissions import PlatformPermission
from backend.vendors import services

from ..catalog.types import CategoryType
from ..core.mutations import BaseMutation
from ..core.nodes import get_node, get_nodes
from ..core.scalars import Upload
from .types import (
    DocumentTypeEnum,
    VendorApplicationType,
    VendorError,
    VendorRoleEnum,
    VendorStaffInvitationType,
    VendorStaffType,
    VendorType,
)


def categories_from_ids(info, global_ids) -> list[Category]:
    return get_nodes(info, global_ids, CategoryType, field="categories")


def documents_from_input(documents) -> list[tuple[str, object]]:
    return [(document.document_type.value, document.file) for document in documents or []]


class VendorApplicationDocumentInput(graphene.InputObjectType):
    document_type = DocumentTypeEnum(required=True)
    file = Upload(required=True, description="A PDF or an image (JPEG, PNG, WebP), sent as a multipart upload.")


class VendorApplicationCreateInput(graphene.InputObjectType):
    store_name = graphene.String(required=True)
    company_name = graphene.String(required=True)
    contact_email = graphene.String(required=True)
    contact_phone = graphene.String()
    description = graphene.String()
    categories = graphene.List(graphene.NonNull(graphene.ID), required=True, description="Categories to sell in.")
    documents = graphene.List(
        graphene.NonNull(VendorApplicationDocumentInput),
        required=True,
        description="Qualification documents; a business licence is required.",
    )


class VendorApplicationUpdateInput(graphene.InputObjectType):
    store_name = graphene.String()
    company_name = graphene.String()
    contact_email = graphene.String()
    contact_phone = graphene.String()
    description = graphene.String()
    categories = graphene.List(graphene.NonNull(graphene.ID))
    documents = graphene.List(
        graphene.NonNull(VendorApplicationDocumentInput),
        description="New documents; each replaces the stored documents of its type.",
    )


class VendorApplicationCreate(BaseMutation):
    vendor_application = graphene.Field(VendorApplicationType)

    class Arguments:
        input = VendorApplicationCreateInput(required=True)

    class Meta:
        description = "Apply to open a store, with qualification documents."
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, input):
        application = services.vendor_application_create(
            applicant=info.context.user,
            store_name=input.store_name,
            company_name=input.company_name,
            contact_email=input.contact_email,
            contact_phone=input.get("contact_phone") or "",
            description=input.get("description") or "",
            categories=categories_from_ids(info, input.categories),
            documents=documents_from_input(input.documents),
        )
        return cls(vendor_application=application, errors=[])


class VendorApplicationUpdate(BaseMutation):
    vendor_application = graphene.Field(VendorApplicationType)

    class Arguments:
        id = graphene.ID(required=True)
        input = VendorApplicationUpdateInput(required=True)

    class Meta:
        description = "Answer a request for information: edit the application and resubmit it."
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        application = get_node(info, id, VendorApplicationType)
        categories = input.get("categories")
        application = services.vendor_application_update(
            actor=info.context.user,
            application=application,
            store_name=input.get("store_name"),
            company_name=input.get("company_name"),
            contact_email=input.get("contact_email"),
            contact_phone=input.get("contact_phone"),
            description=input.get("description"),
            categories=categories_from_ids(info, categories) if categories is not None else None,
            documents=documents_from_input(input.get("documents")),
        )
        return cls(vendor_application=application, errors=[])


class VendorApplicationApprove(BaseMutation):
    vendor_application = graphene.Field(VendorApplicationType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Approve an application: the store opens in onboarding with the applicant as owner."
        error_type_class = VendorError
        permission = PlatformPermission.MANAGE_VENDORS

    @classmethod
    def perform_mutation(cls, _root, info, id):
        application = services.vendor_application_approve(
            actor=info.context.user, application=get_node(info, id, VendorApplicationType)
        )
        return cls(vendor_application=application, errors=[])


class VendorApplicationReject(BaseMutation):
    vendor_application = graphene.Field(VendorApplicationType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True, description="Shown to the applicant.")

    class Meta:
        error_type_class = VendorError
        permission = PlatformPermission.MANAGE_VENDORS

    @classmethod
    def perform_mutation(cls, _root, info, id, reason):
        application = services.vendor_application_reject(
            actor=info.context.user, application=get_node(info, id, VendorApplicationType), reason=reason
        )
        return cls(vendor_application=application, errors=[])


class VendorApplicationRequestInfo(BaseMutation):
    vendor_application = graphene.Field(VendorApplicationType)

    class Arguments:
        id = graphene.ID(required=True)
        message = graphene.String(required=True, description="What the applicant must add or change.")

    class Meta:
        error_type_class = VendorError
        permission = PlatformPermission.MANAGE_VENDORS

    @classmethod
    def perform_mutation(cls, _root, info, id, message):
        application = services.vendor_application_request_info(
            actor=info.context.user, application=get_node(info, id, VendorApplicationType), message=message
        )
        return cls(vendor_application=application, errors=[])


class VendorUpdateInput(graphene.InputObjectType):
    name = graphene.String()
    description = graphene.String()
    contact_email = graphene.String()
    contact_phone = graphene.String()
    logo = Upload(description="Square store logo; re-encoded to 64, 128 and 256 pixels.")
    banner = Upload(description="Store banner; re-encoded to 1200x300 and 600x150.")
    shipping_origin = graphene.String(
        description="Region code (GB/T 2260, a province or city of shippingRegions) the store's packages leave from."
    )


class VendorUpdate(BaseMutation):
    vendor = graphene.Field(VendorType)

    class Arguments:
        id = graphene.ID(required=True)
        input = VendorUpdateInput(required=True)

    class Meta:
        description = "Edit the store profile (the store's owner or operator, or staff managing vendors)."
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        vendor = services.vendor_update(
            actor=info.context.user,
            vendor=get_node(info, id, VendorType),
            name=input.get("name"),
            description=input.get("description"),
            contact_email=input.get("contact_email"),
            contact_phone=input.get("contact_phone"),
            logo=input.get("logo"),
            banner=input.get("banner"),
            shipping_origin=input.get("shipping_origin"),
        )
        return cls(vendor=vendor, errors=[])


class VendorStaffInvite(BaseMutation):
    invitation = graphene.Field(VendorStaffInvitationType)

    class Arguments:
        vendor = graphene.ID(required=True)
        email = graphene.String(required=True, description="Where the invitation is sent.")
        role = VendorRoleEnum(required=True)

    class Meta:
        description = (
            "Invite someone to the store's staff (the store's owner). The answer is the same whatever the email "
            "is; the invited account accepts or declines itself."
        )
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, vendor, email, role):
        invitation = services.vendor_staff_invite(
            actor=info.context.user,
            vendor=get_node(info, vendor, VendorType, field="vendor", for_update=True),
            email=email,
            role=role.value,
        )
        return cls(invitation=invitation, errors=[])


class VendorStaffInvitationRevoke(BaseMutation):
    invitation = graphene.Field(VendorStaffInvitationType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Revoke a pending staff invitation (the store's owner)."
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        invitation = services.vendor_staff_invitation_revoke(
            actor=info.context.user, invitation=get_node(info, id, VendorStaffInvitationType)
        )
        return cls(invitation=invitation, errors=[])


def _invitee_arguments(info, id, token) -> dict:
    """By the invitation's ID (from me.vendorStaffInvitations) or by the emailed token."""
    if token:
        return {"token": token}
    if id:
        return {"invitation_id": get_node(info, id, VendorStaffInvitationType).pk}
    return {}


class VendorStaffInvitationAccept(BaseMutation):
    vendor_staff = graphene.Field(VendorStaffType)

    class Arguments:
        id = graphene.ID(description="The invitation, from me.vendorStaffInvitations.")
        token = graphene.String(description="Or the token from the invitation email.")

    class Meta:
        description = "Join the store that invited the signed-in account (its confirmed email)."
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, id=None, token=None):
        staff = services.vendor_staff_invitation_accept(actor=info.context.user, **_invitee_arguments(info, id, token))
        return cls(vendor_staff=staff, errors=[])


class VendorStaffInvitationDecline(BaseMutation):
    invitation = graphene.Field(VendorStaffInvitationType)

    class Arguments:
        id = graphene.ID(description="The invitation, from me.vendorStaffInvitations.")
        token = graphene.String(description="Or the token from the invitation email.")

    class Meta:
        description = "Decline an invitation addressed to the signed-in account."
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, id=None, token=None):
        invitation = services.vendor_staff_invitation_decline(
            actor=info.context.user, **_invitee_arguments(info, id, token)
        )
        return cls(invitation=invitation, errors=[])


class VendorStaffRemove(BaseMutation):
    vendor = graphene.Field(VendorType)

    class Arguments:
        id = graphene.ID(required=True, description="The VendorStaff membership.")

    class Meta:
        description = "Remove someone from the store's staff; the last owner stays."
        error_type_class = VendorError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        vendor = services.vendor_staff_remove(actor=info.context.user, staff=get_node(info, id, VendorStaffType))
        return cls(vendor=vendor, errors=[])


class VendorStatusMutation(BaseMutation):
    """A store status change: fetch the store the caller may see, call the service."""

    vendor = graphene.Field(VendorType)

    class Meta:
        abstract = True

    @classmethod
    def change(cls, actor, vendor, **data):
        raise NotImplementedError

    @classmethod
    def perform_mutation(cls, _root, info, id, **data):
        vendor = cls.change(info.context.user, get_node(info, id, VendorType), **data)
        return cls(vendor=vendor, errors=[])


class VendorActivate(VendorStatusMutation):
    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Open an onboarding store for business."
        error_type_class = VendorError
        permission = PlatformPermission.MANAGE_VENDORS

    @classmethod
    def change(cls, actor, vendor):
        return services.vendor_activate(actor=actor, vendor=vendor)


class VendorSuspend(VendorStatusMutation):
    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True)

    class Meta:
        error_type_class = VendorError
        permission = PlatformPermission.MANAGE_VENDORS

    @classmethod
    def change(cls, actor, vendor, reason):
        return services.vendor_suspend(actor=actor, vendor=vendor, reason=reason)


class VendorReinstate(VendorStatusMutation):
    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String()

    class Meta:
        error_type_class = VendorError
        permission = PlatformPermission.MANAGE_VENDORS

    @classmethod
    def change(cls, actor, vendor, reason=None):
        return services.vendor_reinstate(actor=actor, vendor=vendor, reason=reason or "")


class VendorClose(VendorStatusMutation):
    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String()

    class Meta:
        description = (
            "Close a store (staff managing vendors, or the store's owner). An onboarding store closes at once; "
            "a trading store goes to CLOSING until its orders and deposit are settled."
        )
        error_type_class = VendorError

    @classmethod
    def change(cls, actor, vendor, reason=None):
        return services.vendor_close(actor=actor, vendor=vendor, reason=reason or "")


class VendorCloseComplete(VendorStatusMutation):
    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Finish closing a store: CLOSING -> CLOSED."
        error_type_class = VendorError
        permission = PlatformPermission.MANAGE_VENDORS

    @classmethod
    def change(cls, actor, vendor):
        return services.vendor_close_complete(actor=actor, vendor=vendor)
