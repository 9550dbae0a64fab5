import graphene
from graphene_django.fields import DjangoConnectionField

from .mutations import (
    AccountConfirm,
    AccountRegister,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    PermissionGroupCreate,
    PermissionGroupUpdate,
    StaffCreate,
    TokenCreate,
    TokenRefresh,
    TokenRevoke,
)
from .types import PermissionGroupType, UserType


class AccountQueries(graphene.ObjectType):
    me = graphene.Field(UserType, description="The signed-in user, or null.")
    staff_users = DjangoConnectionField(UserType, description="Platform staff (MANAGE_STAFF).")
    permission_groups = DjangoConnectionField(PermissionGroupType, description="Permission groups (MANAGE_STAFF).")

    @staticmethod
    def resolve_me(_root, info):
        user = info.context.user
        return user if user.is_authenticated else None

    @staticmethod
    def resolve_staff_users(_root, info, **_kwargs):
        return UserType.get_queryset(UserType._meta.model.objects.filter(is_staff=True), info)

    @staticmethod
    def resolve_permission_groups(_root, info, **_kwargs):
        return PermissionGroupType.get_queryset(PermissionGroupType._meta.model.objects.all(), info)


class AccountMutations(graphene.ObjectType):
    account_register = AccountRegister.Field()
    account_confirm = AccountConfirm.Field()
    password_reset_request = PasswordResetRequest.Field()
    password_reset_confirm = PasswordResetConfirm.Field()
    token_create = TokenCreate.Field()
    token_refresh = TokenRefresh.Field()
    token_revoke = TokenRevoke.Field()
    password_change = PasswordChange.Field()
    staff_create = StaffCreate.Field()
    permission_group_create = PermissionGroupCreate.Field()
    permission_group_update = PermissionGroupUpdate.Field()
