from __future__ import annotations

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import relay
from strawberry.types import Info
from strawberry_django.relay import DjangoListConnection

from backend.accounts import services
from backend.accounts.error_codes import AccountErrorCode
from backend.accounts.models import User as UserModel
from backend.accounts.selectors import visible_users
from backend.orders.models import Order as OrderModel

from .core import current_user, error_type, run_mutation
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

    @strawberry_django.connection(DjangoListConnection[Order], description="The shopper's orders, newest first.")
    def orders(self) -> QuerySet[OrderModel]:
        return OrderModel.objects.filter(user_id=self.pk).order_by("-created_at", "-id")


@strawberry.input
class AccountRegisterInput:
    email: str
    password: str
    first_name: str | None = None
    last_name: str | None = None


@strawberry.type
class AccountRegisterPayload:
    user: User | None = None
    errors: list[AccountError]


@strawberry.type
class TokenPayload:
    token: str | None = None
    refresh_token: str | None = None
    user: User | None = None
    errors: list[AccountError]


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in shopper, or null.")
    def me(self, info: Info) -> User | None:
        user = current_user(info)
        return user if user.is_authenticated else None


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Register a shopper account.")
    def account_register(self, input: AccountRegisterInput) -> AccountRegisterPayload:
        return run_mutation(
            AccountRegisterPayload,
            AccountError,
            lambda: {
                "user": services.account_register(
                    email=input.email,
                    password=input.password,
                    first_name=input.first_name or "",
                    last_name=input.last_name or "",
                )
            },
        )

    @strawberry.mutation(description="Sign in with email and password.")
    def token_create(self, info: Info, email: str, password: str) -> TokenPayload:
        def action():
            pair = services.token_create(
                email=email, password=password, ip_address=info.context.request.META.get("REMOTE_ADDR")
            )
            return {"token": pair.token, "refresh_token": pair.refresh_token, "user": pair.user}

        # Not atomic: a failed attempt must stay recorded for throttling.
        return run_mutation(TokenPayload, AccountError, action, atomic=False)

    @strawberry.mutation(description="Trade a refresh token for new access and refresh tokens.")
    def token_refresh(self, refresh_token: str) -> TokenPayload:
        def action():
            pair = services.token_refresh(refresh_token=refresh_token)
            return {"token": pair.token, "refresh_token": pair.refresh_token, "user": pair.user}

        return run_mutation(TokenPayload, AccountError, action, atomic=False)
