import graphene
from django.contrib.auth.models import Group
from graphene_django import DjangoObjectType

from backend.accounts.error_codes import AccountErrorCode
from backend.accounts.models import User
from backend.accounts.selectors import visible_users
from backend.core.permissions import PlatformPermission, user_permissions

from ..core.types import CountableConnection, PermissionEnum, error_type

AccountError = error_type("AccountError", AccountErrorCode)


class UserType(DjangoObjectType):
    permissions = graphene.List(graphene.NonNull(PermissionEnum), required=True)
    vendor_membership = graphene.Field("backend.graphql.vendor.types.VendorStaffType")
    vendor_staff_invitations = graphene.List(
        graphene.NonNull("backend.graphql.vendor.types.VendorStaffInvitationType"),
        required=True,
        description="Store staff invitations waiting for this account's answer (itself only).",
    )

    class Meta:
        model = User
        name = "User"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "email", "first_name", "last_name", "is_staff", "is_active", "date_joined")

    @classmethod
    def get_queryset(cls, queryset, info):
        return visible_users(info.context.user, queryset)

    @staticmethod
    def resolve_permissions(root: User, _info):
        return user_permissions(root)

    @staticmethod
    def resolve_vendor_staff_invitations(root: User, info):
        from backend.vendors.selectors import pending_invitations_for

        if info.context.user.pk != root.pk:
            return []
        return pending_invitations_for(root)

    @staticmethod
    def resolve_vendor_membership(root: User, _info):
        return getattr(root, "vendor_membership", None)


class PermissionGroupType(DjangoObjectType):
    permissions = graphene.List(graphene.NonNull(PermissionEnum), required=True)

    class Meta:
        model = Group
        name = "PermissionGroup"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "name")

    @classmethod
    def get_queryset(cls, queryset, info):
        from backend.core.permissions import has_permission

        if has_permission(info.context.user, PlatformPermission.MANAGE_STAFF):
            return queryset
        return queryset.none()

    @staticmethod
    def resolve_permissions(root: Group, _info):
        codenames = {p.codename for p in root.permissions.all()}
        return [p for p in PlatformPermission if p.codename in codenames]
