import graphene

from backend.core.exceptions import DomainError
from backend.vendors import selectors

from ..core.nodes import get_node
from .mutations import (
    VendorActivate,
    VendorApplicationApprove,
    VendorApplicationCreate,
    VendorApplicationReject,
    VendorApplicationRequestInfo,
    VendorApplicationUpdate,
    VendorClose,
    VendorCloseComplete,
    VendorReinstate,
    VendorStaffInvitationAccept,
    VendorStaffInvitationDecline,
    VendorStaffInvitationRevoke,
    VendorStaffInvite,
    VendorStaffRemove,
    VendorSuspend,
    VendorUpdate,
)
from .types import (
    VendorApplicationConnectionField,
    VendorApplicationStatusEnum,
    VendorApplicationType,
    VendorConnectionField,
    VendorStatusEnum,
    VendorType,
)


class VendorApplicationFilterInput(graphene.InputObjectType):
    status = VendorApplicationStatusEnum()


class VendorFilterInput(graphene.InputObjectType):
    status = VendorStatusEnum()
    search = graphene.String(description="Part of the store's name, address (slug) or company name.")


def _enum_value(value):
    return value.value if value is not None else None


class VendorQueries(graphene.ObjectType):
    vendor_application = graphene.Field(
        VendorApplicationType,
        id=graphene.ID(required=True),
        description="An application: staff managing vendors see every one, an applicant their own.",
    )
    vendor_applications = VendorApplicationConnectionField(
        VendorApplicationType,
        filter=VendorApplicationFilterInput(),
        description="Applications, oldest first: staff managing vendors see all, an applicant their own.",
    )
    vendor = graphene.Field(
        VendorType,
        id=graphene.ID(),
        slug=graphene.String(),
        description="A store by ID or slug: staff see every store, a merchant its own.",
    )
    vendors = VendorConnectionField(VendorType, filter=VendorFilterInput(), description="Stores the caller may see.")

    @staticmethod
    def resolve_vendor_application(_root, info, id):
        try:
            return get_node(info, id, VendorApplicationType)
        except DomainError:
            return None

    @staticmethod
    def resolve_vendor_applications(_root, info, filter=None, **_kwargs):
        status = _enum_value(filter.get("status")) if filter else None
        return selectors.applications_for_list(info.context.user, status=status)

    @staticmethod
    def resolve_vendor(_root, info, id=None, slug=None):
        if id:
            try:
                return get_node(info, id, VendorType)
            except DomainError:
                return None
        if slug:
            return selectors.visible_vendors(info.context.user).filter(slug=slug).first()
        return None

    @staticmethod
    def resolve_vendors(_root, info, filter=None, **_kwargs):
        filter = filter or {}
        return selectors.vendors_for_list(
            info.context.user, status=_enum_value(filter.get("status")), search=filter.get("search")
        )


class VendorMutations(graphene.ObjectType):
    vendor_application_create = VendorApplicationCreate.Field()
    vendor_application_update = VendorApplicationUpdate.Field()
    vendor_application_approve = VendorApplicationApprove.Field()
    vendor_application_reject = VendorApplicationReject.Field()
    vendor_application_request_info = VendorApplicationRequestInfo.Field()
    vendor_update = VendorUpdate.Field()
    vendor_staff_invite = VendorStaffInvite.Field()
    vendor_staff_invitation_revoke = VendorStaffInvitationRevoke.Field()
    vendor_staff_invitation_accept = VendorStaffInvitationAccept.Field()
    vendor_staff_invitation_decline = VendorStaffInvitationDecline.Field()
    vendor_staff_remove = VendorStaffRemove.Field()
    vendor_activate = VendorActivate.Field()
    vendor_suspend = VendorSuspend.Field()
    vendor_reinstate = VendorReinstate.Field()
    vendor_close = VendorClose.Field()
    vendor_close_complete = VendorCloseComplete.Field()
