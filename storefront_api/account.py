from __future__ import annotations

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import relay
from strawberry.types import Info
from strawberry_django.relay import DjangoListConnection

from backend.accounts import services, throttle
from backend.accounts.error_codes import AccountErrorCode
from backend.accounts.models import User as UserModel
from backend.accounts.selectors import visible_users
from backend.orders.models import Order as OrderModel

from .core import current_user, error_type, run_mutation
from .members import MemberPoints, MemberTierStatus, member_points, member_tier
from .orders import Order

AccountError = error_type("AccountError", AccountErrorCode)


@strawberry_django.type(UserModel, name="User")
class User(relay.Node):
    id: relay.NodeID[int]
    email: strawberry.auto
    first_name: strawberry.auto
    last_name: strawberry.auto

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return visible_users(current_user(info), queryset)

    @strawberry_django.field(description="Your points: the balance and its history.")
    def points(self, info: Info) -> MemberPoints:
        return member_points(self)

    @strawberry_django.field(description="Your member tier, its benefits and what is left to spend for the next.")
    def tier(self, info: Info) -> MemberTierStatus:
        return member_tier(self)

    @strawberry_django.connection(DjangoListConnection[Order], description="The shopper's orders, newest first.")
    def orders(self) -> QuerySet[OrderModel]:
        return OrderModel.objects.filter(user_id=self.pk).order_by("-created_at", "-id")


@strawberry.input
class AccountRegisterInput:
    email: str
    password: str
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = strawberry.field(
        default=None, description="Language of the account's emails: en or zh-hans (default: Accept-Language)."
    )


@strawberry.type
class AccountRegisterPayload:
    user: User | None = strawberry.field(
        default=None, deprecation_reason="Always null: the answer does not tell whether the email was registered."
    )
    requires_confirmation: bool = strawberry.field(
        default=False,
        description="True: the account signs in once the emailed token confirms it (accountConfirm).",
    )
    errors: list[AccountError]


@strawberry.type
class AccountConfirmPayload:
    user: User | None = None
    errors: list[AccountError]


@strawberry.type
class PasswordResetRequestPayload:
    errors: list[AccountError]


@strawberry.type
class PasswordResetConfirmPayload:
    user: User | None = None
    errors: list[AccountError]


@strawberry.type
class TokenPayload:
    token: str | None = None
    refresh_token: str | None = None
    user: User | None = None
    errors: list[AccountError]


@strawberry.type
class TokenRevokePayload:
    revoked: bool | None = strawberry.field(default=None, description="True once the sign-in is revoked (also when it already was).")
    errors: list[AccountError]


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in shopper, or null.")
    def me(self, info: Info) -> User | None:
        user = current_user(info)
        return user if user.is_authenticated else None


def _client(info: Info):
    return throttle.client_of(info.context.request)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Register a shopper account. The same answer whether or not the email is registered; "
        "a confirmation email follows."
    )
    def account_register(self, info: Info, input: AccountRegisterInput) -> AccountRegisterPayload:
        def action():
            services.account_register(
                email=input.email,
                password=input.password,
                first_name=input.first_name or "",
                last_name=input.last_name or "",
                language=input.language_code or "",
                client=_client(info),
            )
            return {"requires_confirmation": True}

        return run_mutation(AccountRegisterPayload, AccountError, action)

    @strawberry.mutation(description="Confirm a registered account's email; it may sign in from then on.")
    def account_confirm(self, info: Info, email: str, token: str) -> AccountConfirmPayload:
        return run_mutation(
            AccountConfirmPayload,
            AccountError,
            lambda: {"user": services.account_confirm(email=email, token=token, client=_client(info))},
        )

    @strawberry.mutation(
        description="Email a password reset token; the same answer whether or not the email is registered."
    )
    def password_reset_request(self, info: Info, email: str) -> PasswordResetRequestPayload:
        def action():
            services.password_reset_request(email=email, client=_client(info))
            return {}

        return run_mutation(PasswordResetRequestPayload, AccountError, action)

    @strawberry.mutation(
        description="Set a new password with the emailed token; every token issued before stops working."
    )
    def password_reset_confirm(
        self, info: Info, email: str, token: str, new_password: str
    ) -> PasswordResetConfirmPayload:
        return run_mutation(
            PasswordResetConfirmPayload,
            AccountError,
            lambda: {
                "user": services.password_reset_confirm(
                    email=email, token=token, new_password=new_password, client=_client(info)
                )
            },
        )

    @strawberry.mutation(description="Sign in with email and password.")
    def token_create(self, info: Info, email: str, password: str) -> TokenPayload:
        def action():
            pair = services.token_create(email=email, password=password, client=_client(info))
            return {"token": pair.token, "refresh_token": pair.refresh_token, "user": pair.user}

        return run_mutation(TokenPayload, AccountError, action)

    @strawberry.mutation(description="Trade a refresh token for new access and refresh tokens.")
    def token_refresh(self, refresh_token: str) -> TokenPayload:
        def action():
            pair = services.token_refresh(refresh_token=refresh_token)
            return {"token": pair.token, "refresh_token": pair.refresh_token, "user": pair.user}

        # Not atomic: the service commits a reuse's revocation itself.
        return run_mutation(TokenPayload, AccountError, action, atomic=False)

    @strawberry.mutation(
        description="Sign out: revoke the sign-in the refresh token belongs to (its refresh and access tokens) at once."
    )
    def token_revoke(self, refresh_token: str) -> TokenRevokePayload:
        return run_mutation(TokenRevokePayload, AccountError, lambda: {"revoked": services.token_revoke(refresh_token=refresh_token)})
