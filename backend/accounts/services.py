"""Account services: registration, tokens, staff and permission groups."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission, require_permission

from . import jwt as tokens
from .error_codes import AccountErrorCode
from .models import FailedLogin, RefreshToken, User


@dataclass
class TokenPair:
    token: str
    refresh_token: str
    user: User


def _check_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(AccountErrorCode.INVALID, "Enter a valid email address.", field="email") from exc
    if len(email) > User._meta.get_field("email").max_length:
        raise DomainError(AccountErrorCode.INVALID, "The email address is too long.", field="email")
    return email


def _check_length(value: str, model, model_field: str, field: str) -> str:
    """Text longer than its column is an INVALID input (PostgreSQL would refuse to store it)."""
    limit = model._meta.get_field(model_field).max_length
    if len(value) > limit:
        raise DomainError(AccountErrorCode.INVALID, f"At most {limit} characters.", field=field)
    return value


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(
            AccountErrorCode.PASSWORD_TOO_WEAK, " ".join(exc.messages), field="password"
        ) from exc


def account_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    email = _check_email(email)
    if User.objects.filter(email=email).exists():
        raise DomainError(AccountErrorCode.UNIQUE, "An account with this email exists.", field="email")
    user = User(
        email=email,
        first_name=_check_length(first_name or "", User, "first_name", "firstName"),
        last_name=_check_length(last_name or "", User, "last_name", "lastName"),
    )
    _check_password(password, user)
    user.set_password(password)
    user.save()
    return user


def _throttled(email: str) -> bool:
    since = timezone.now() - settings.LOGIN_THROTTLE_WINDOW
    return FailedLogin.objects.filter(email=email, created_at__gte=since).count() >= settings.LOGIN_THROTTLE_ATTEMPTS


def token_create(*, email: str, password: str, ip_address: str | None = None) -> TokenPair:
    email = (email or "").strip().lower()
    if len(email) > FailedLogin._meta.get_field("email").max_length:
        # No account has so long an address (and the failed sign-in could not be recorded).
        raise DomainError(AccountErrorCode.INVALID_CREDENTIALS, "Wrong email or password.", field="email")
    if _throttled(email):
        raise DomainError(
            AccountErrorCode.LOGIN_THROTTLED,
            "Too many failed sign-in attempts for this email; try again later.",
            field="email",
        )
    user = User.objects.filter(email=email).first()
    if user is None or not user.check_password(password):
        # Callers must not roll this back: tokenCreate runs outside a transaction.
        FailedLogin.objects.create(email=email, ip_address=ip_address)
        raise DomainError(AccountErrorCode.INVALID_CREDENTIALS, "Wrong email or password.", field="email")
    if not user.is_active:
        raise DomainError(AccountErrorCode.INACTIVE, "This account is inactive.", field="email")
    FailedLogin.objects.filter(email=email).delete()
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return TokenPair(
        token=tokens.create_access_token(user),
        refresh_token=tokens.create_refresh_token(user),
        user=user,
    )


def token_refresh(*, refresh_token: str) -> TokenPair:
    try:
        payload = tokens.decode_token(refresh_token, tokens.REFRESH)
    except tokens.TokenError as exc:
        raise DomainError(AccountErrorCode[exc.code], exc.message, field="refreshToken") from exc
    # The row lock needs a transaction of its own (the mutation runs outside one, so that a
    # reuse's revocation sticks): the revocation commits here, the error is raised after.
    with transaction.atomic():
        record = (
            RefreshToken.objects.select_for_update().select_related("user").filter(jti=payload.jti).first()
        )
        if record is None or record.user.jwt_token_key != payload.token_key or record.revoked_at:
            raise DomainError(
                AccountErrorCode.JWT_INVALID_TOKEN, "The refresh token has been revoked.", field="refreshToken"
            )
        now = timezone.now()
        reused = record.used_at is not None
        if reused:
            RefreshToken.objects.filter(family=record.family, revoked_at__isnull=True).update(revoked_at=now)
        else:
            user = record.user
            if not user.is_active:
                raise DomainError(AccountErrorCode.INACTIVE, "This account is inactive.")
            record.used_at = now
            record.save(update_fields=["used_at"])
            pair = TokenPair(
                token=tokens.create_access_token(user),
                refresh_token=tokens.create_refresh_token(user, family=record.family),
                user=user,
            )
    if reused:
        raise DomainError(
            AccountErrorCode.JWT_REFRESH_TOKEN_REUSED,
            "This refresh token was already used; all tokens of this sign-in are revoked.",
            field="refreshToken",
        )
    return pair


def password_change(*, user: User, old_password: str, new_password: str) -> User:
    if not user.check_password(old_password):
        raise DomainError(AccountErrorCode.INVALID_CREDENTIALS, "The old password is wrong.", field="oldPassword")
    _check_password(new_password, user)
    user.set_password(new_password)  # replaces the token key: every token is revoked
    user.save(update_fields=["password", "jwt_token_key"])
    RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return user


def _permission_objects(permissions: list[PlatformPermission]):
    return Permission.objects.filter(
        content_type__app_label="accounts", codename__in=[p.codename for p in permissions]
    )


def _check_grantable(actor: User, permissions: list[PlatformPermission]) -> None:
    missing = [p.name for p in permissions if not has_permission(actor, p)]
    if missing:
        raise DomainError(
            AccountErrorCode.OUT_OF_SCOPE_PERMISSION,
            f"You cannot grant permissions you do not hold: {', '.join(missing)}.",
            field="permissions",
        )


def _check_group_name(name: str, *, group: Group | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(AccountErrorCode.REQUIRED, "A group needs a name.", field="name")
    _check_length(name, Group, "name", "name")
    if Group.objects.filter(name=name).exclude(pk=group.pk if group else None).exists():
        raise DomainError(AccountErrorCode.UNIQUE, "A group with this name exists.", field="name")
    return name


def permission_group_create(*, actor: User, name: str, permissions: list[PlatformPermission]) -> Group:
    require_permission(actor, PlatformPermission.MANAGE_STAFF, AccountErrorCode.PERMISSION_DENIED)
    name = _check_group_name(name)
    _check_grantable(actor, permissions)
    group = Group.objects.create(name=name)
    group.permissions.set(_permission_objects(permissions))
    audit_log(actor=actor, action="permission_group.create", target=group, permissions=[p.name for p in permissions])
    return group


def _group_permissions(group: Group) -> list[PlatformPermission]:
    codenames = set(group.permissions.filter(content_type__app_label="accounts").values_list("codename", flat=True))
    return [p for p in PlatformPermission if p.codename in codenames]


def _check_group_in_scope(actor: User, group: Group) -> None:
    """A group is changed only by staff holding all it grants: renaming, emptying or re-granting
    someone else's group would otherwise take permissions from staff one cannot manage."""
    missing = [p.name for p in _group_permissions(group) if not has_permission(actor, p)]
    if missing:
        raise DomainError(
            AccountErrorCode.OUT_OF_SCOPE_PERMISSION,
            f"You cannot change a group granting permissions you do not hold: {', '.join(missing)}.",
            field="id",
        )


def permission_group_update(
    *, actor: User, group: Group, permissions: list[PlatformPermission] | None = None, name: str | None = None
) -> Group:
    require_permission(actor, PlatformPermission.MANAGE_STAFF, AccountErrorCode.PERMISSION_DENIED)
    _check_group_in_scope(actor, group)
    if name:
        group.name = _check_group_name(name, group=group)
        group.save(update_fields=["name"])
    if permissions is not None:
        _check_grantable(actor, permissions)
        group.permissions.set(_permission_objects(permissions))
    audit_log(
        actor=actor,
        action="permission_group.update",
        target=group,
        permissions=[p.name for p in permissions] if permissions is not None else None,
    )
    return group


def staff_create(
    *,
    actor: User,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    permissions: list[PlatformPermission] | None = None,
    groups: list[Group] | None = None,
) -> User:
    """Create a platform staff user.

    Permissions always come from groups: the given groups, plus (when
    `permissions` is passed) the group that holds exactly that set, created
    on first use and named after it.
    """
    require_permission(actor, PlatformPermission.MANAGE_STAFF, AccountErrorCode.PERMISSION_DENIED)
    permissions = permissions or []
    groups = list(groups or [])
    _check_grantable(actor, permissions)
    for group in groups:
        _check_grantable(actor, _group_permissions(group))
    user = account_register(email=email, password=password, first_name=first_name, last_name=last_name)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    if permissions:
        name = "Staff: " + ", ".join(sorted(p.name for p in permissions))
        group, created = Group.objects.get_or_create(name=name)
        if created:
            group.permissions.set(_permission_objects(permissions))
        groups.append(group)
    user.groups.add(*groups)
    audit_log(
        actor=actor,
        action="staff.create",
        target=user,
        permissions=sorted(p.name for p in permissions),
        groups=[g.name for g in groups],
    )
    return user
