"""Platform staff permissions and the one place they are checked, for both APIs."""

from __future__ import annotations

from enum import Enum

from .error_codes import CoreErrorCode
from .exceptions import DomainError


class PlatformPermission(Enum):
    MANAGE_VENDORS = "manage_vendors"
    REVIEW_LISTINGS = "review_listings"
    MANAGE_FINANCE = "manage_finance"
    ARBITRATE_DISPUTES = "arbitrate_disputes"
    MANAGE_ORDERS = "manage_orders"
    MANAGE_PLUGINS = "manage_plugins"
    MANAGE_STAFF = "manage_staff"

    @property
    def codename(self) -> str:
        return self.value

    @property
    def perm(self) -> str:
        """The Django permission string; the permissions live on the accounts app."""
        return f"accounts.{self.value}"

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


def has_permission(user, permission: PlatformPermission) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(permission.perm)
    )


def require_permission(user, permission: PlatformPermission, error_code: Enum | None = None) -> None:
    if not has_permission(user, permission):
        raise DomainError(
            error_code or CoreErrorCode.PERMISSION_DENIED,
            f"You need the {permission.name} permission for this action.",
        )


def require_authenticated(user, error_code: Enum | None = None) -> None:
    if user is None or not user.is_authenticated:
        raise DomainError(error_code or CoreErrorCode.PERMISSION_DENIED, "You need to sign in.")


def user_permissions(user) -> list[PlatformPermission]:
    return [p for p in PlatformPermission if has_permission(user, p)]
