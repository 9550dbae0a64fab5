import graphene
from graphene_django import DjangoObjectType

from backend.vendors import models, selectors
from backend.vendors.error_codes import VendorErrorCode

from ..core.types import CountableConnection, error_type

VendorError = error_type("VendorError", VendorErrorCode)

VendorStatusEnum = graphene.Enum(
    "VendorStatus", [(value.upper(), value) for value, _ in models.VendorStatus.choices]
)
VendorApplicationStatusEnum = graphene.Enum(
    "VendorApplicationStatus", [(value.upper(), value) for value, _ in models.ApplicationStatus.choices]
)
DocumentTypeEnum = graphene.Enum(
    "DocumentType", [(value.upper(), value) for value, _ in models.DocumentType.choices]
)
VendorRoleEnum = graphene.Enum("VendorRole", [(value.upper(), value) for value, _ in models.VendorRole.choices])


class VendorStaffType(DjangoObjectType):
    role = VendorRoleEnum(required=True)

    class Meta:
        model = models.VendorStaff
        name = "VendorStaff"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "vendor", "user", "added_at")

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_vendor_staff(info.context.user, queryset)


class VendorType(DjangoObjectType):
    status = VendorStatusEnum(required=True)

    class Meta:
        model = models.Vendor
        name = "Vendor"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id",
            "name",
            "slug",
            "company_name",
            "contact_email",
            "contact_phone",
            "description",
            "status_reason",
            "categories",
            "created_at",
        )

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_vendors(info.context.user, queryset)
