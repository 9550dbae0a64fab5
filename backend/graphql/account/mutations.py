import graphene

from backend.accounts import services, throttle
from backend.core.permissions import PlatformPermission

from ..core.mutations import BaseMutation
from ..core.nodes import get_nodes
from ..core.types import PermissionEnum
from .types import AccountError, PermissionGroupType, UserType


def client(info):
    return throttle.client_of(info.context)


class AccountRegisterInput(graphene.InputObjectType):
    email = graphene.String(required=True)
    password = graphene.String(required=True)
    first_name = graphene.String()
    last_name = graphene.String()
    language_code = graphene.String(description="Language of the account's emails: en or zh-hans (default: Accept-Language).")


class AccountRegister(BaseMutation):
    user = graphene.Field(
        UserType, deprecation_reason="Always null: the answer does not tell whether the email was registered."
    )
    requires_confirmation = graphene.Boolean(
        required=True, description="True: the account signs in once the emailed token confirms it (accountConfirm)."
    )

    class Arguments:
        input = AccountRegisterInput(required=True)

    class Meta:
        description = (
            "Register a shopper or merchant account. The same answer whether or not the email is registered; "
            "a confirmation email follows."
        )
        error_type_class = AccountError

    @classmethod
    def perform_mutation(cls, _root, info, input):
        services.account_register(
            email=input.email,
            password=input.password,
            first_name=input.get("first_name") or "",
            last_name=input.get("last_name") or "",
            language=input.get("language_code") or "",
            client=client(info),
        )
        return cls(user=None, requires_confirmation=True, errors=[])

    @classmethod
    def failure(cls, errors):
        payload = super().failure(errors)
        payload.requires_confirmation = False
        return payload


class AccountConfirm(BaseMutation):
    user = graphene.Field(UserType)

    class Arguments:
        email = graphene.String(required=True)
        token = graphene.String(required=True, description="The token from the confirmation email.")

    class Meta:
        description = "Confirm a registered account's email; it may sign in from then on."
        error_type_class = AccountError

    @classmethod
    def perform_mutation(cls, _root, info, email, token):
        return cls(user=services.account_confirm(email=email, token=token, client=client(info)), errors=[])


class PasswordResetRequest(BaseMutation):
    class Arguments:
        email = graphene.String(required=True)

    class Meta:
        description = "Email a password reset token; the same answer whether or not the email is registered."
        error_type_class = AccountError

    @classmethod
    def perform_mutation(cls, _root, info, email):
        services.password_reset_request(email=email, client=client(info))
        return cls(errors=[])


class PasswordResetConfirm(BaseMutation):
    user = graphene.Field(UserType)

    class Arguments:
        email = graphene.String(required=True)
        token = graphene.String(required=True, description="The token from the password reset email.")
        new_password = graphene.String(required=True)

    class Meta:
        description = "Set a new password with the emailed token; every token issued before stops working."
        error_type_class = AccountError

    @classmethod
    def perform_mutation(cls, _root, info, email, token, new_password):
        user = services.password_reset_confirm(email=email, token=token, new_password=new_password, client=client(info))
        return cls(user=user, errors=[])


class TokenCreate(BaseMutation):
    token = graphene.String(description="Access token for the Authorization: Bearer header.")
    refresh_token = graphene.String(description="Single-use token for tokenRefresh.")
    user = graphene.Field(UserType)

    class Arguments:
        email = graphene.String(required=True)
        password = graphene.String(required=True)

    class Meta:
        description = "Sign in with email and password."
        error_type_class = AccountError

    @classmethod
    def perform_mutation(cls, _root, info, email, password):
        pair = services.token_create(email=email, password=password, client=client(info))
        return cls(token=pair.token, refresh_token=pair.refresh_token, user=pair.user, errors=[])


class TokenRefresh(BaseMutation):
    token = graphene.String()
    refresh_token = graphene.String()
    user = graphene.Field(UserType)

    class Arguments:
        refresh_token = graphene.String(required=True)

    class Meta:
        description = "Trade a refresh token for a new access token and a new refresh token."
        error_type_class = AccountError
        # Reuse of a refresh token revokes its family; that must stick.
        atomic = False

    @classmethod
    def perform_mutation(cls, _root, _info, refresh_token):
        pair = services.token_refresh(refresh_token=refresh_token)
        return cls(token=pair.token, refresh_token=pair.refresh_token, user=pair.user, errors=[])


class TokenRevoke(BaseMutation):
    revoked = graphene.Boolean(description="True once the sign-in is revoked (also when it already was).")

    class Arguments:
        refresh_token = graphene.String(required=True)

    class Meta:
        description = (
            "Sign out: revoke the sign-in the refresh token belongs to (its refresh and access tokens) at once; "
            "other sign-ins of the account keep working."
        )
        error_type_class = AccountError

    @classmethod
    def perform_mutation(cls, _root, _info, refresh_token):
        return cls(revoked=services.token_revoke(refresh_token=refresh_token), errors=[])


class PasswordChange(BaseMutation):
    user = graphene.Field(UserType)

    class Arguments:
        old_password = graphene.String(required=True)
        new_password = graphene.String(required=True)

    class Meta:
        description = "Change the signed-in user's password; every issued token stops working."
        error_type_class = AccountError

    @classmethod
    def perform_mutation(cls, _root, info, old_password, new_password):
        from backend.accounts.error_codes import AccountErrorCode
        from backend.core.permissions import require_authenticated

        require_authenticated(info.context.user, AccountErrorCode.PERMISSION_DENIED)
        user = services.password_change(
            user=info.context.user, old_password=old_password, new_password=new_password
        )
        return cls(user=user, errors=[])


class StaffCreateInput(graphene.InputObjectType):
    email = graphene.String(required=True)
    password = graphene.String(required=True)
    first_name = graphene.String()
    last_name = graphene.String()
    permissions = graphene.List(graphene.NonNull(PermissionEnum))
    groups = graphene.List(graphene.NonNull(graphene.ID))


class StaffCreate(BaseMutation):
    user = graphene.Field(UserType)

    class Arguments:
        input = StaffCreateInput(required=True)

    class Meta:
        description = "Create a platform staff user; permissions are granted through groups."
        error_type_class = AccountError
        permission = PlatformPermission.MANAGE_STAFF

    @classmethod
    def perform_mutation(cls, _root, info, input):
        groups = get_nodes(info, input.get("groups") or [], PermissionGroupType, field="groups")
        user = services.staff_create(
            actor=info.context.user,
            email=input.email,
            password=input.password,
            first_name=input.get("first_name") or "",
            last_name=input.get("last_name") or "",
            permissions=[PlatformPermission(p) for p in input.get("permissions") or []],
            groups=groups,
        )
        return cls(user=user, errors=[])


class PermissionGroupCreate(BaseMutation):
    group = graphene.Field(PermissionGroupType)

    class Arguments:
        name = graphene.String(required=True)
        permissions = graphene.List(graphene.NonNull(PermissionEnum), required=True)

    class Meta:
        error_type_class = AccountError
        permission = PlatformPermission.MANAGE_STAFF

    @classmethod
    def perform_mutation(cls, _root, info, name, permissions):
        group = services.permission_group_create(
            actor=info.context.user, name=name, permissions=[PlatformPermission(p) for p in permissions]
        )
        return cls(group=group, errors=[])


class PermissionGroupUpdate(BaseMutation):
    group = graphene.Field(PermissionGroupType)

    class Arguments:
        id = graphene.ID(required=True)
        name = graphene.String()
        permissions = graphene.List(graphene.NonNull(PermissionEnum))

    class Meta:
        error_type_class = AccountError
        permission = PlatformPermission.MANAGE_STAFF

    @classmethod
    def perform_mutation(cls, _root, info, id, name=None, permissions=None):
        from ..core.nodes import get_node

        group = get_node(info, id, PermissionGroupType)
        group = services.permission_group_update(
            actor=info.context.user,
            group=group,
            name=name,
            permissions=None if permissions is None else [PlatformPermission(p) for p in permissions],
        )
        return cls(group=group, errors=[])
