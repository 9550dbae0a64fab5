"""Account services: registration and confirmation, password reset, sign-in and tokens, staff and
permission groups."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission, require_permission

from . import emails, throttle
from . import jwt as tokens
from .error_codes import AccountErrorCode
from .models import RefreshToken, User


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
        raise DomainError(AccountErrorCode.INVALID, _("Enter a valid email address."), field="email") from exc
    if len(email) > User._meta.get_field("email").max_length:
        raise DomainError(AccountErrorCode.INVALID, _("The email address is too long."), field="email")
    return email


def _check_length(value: str, model, model_field: str, field: str) -> str:
    """Text longer than its column is an INVALID input (PostgreSQL would refuse to store it)."""
    limit = model._meta.get_field(model_field).max_length
    if len(value) > limit:
        raise DomainError(AccountErrorCode.INVALID, _("At most %(limit)d characters.") % {"limit": limit}, field=field)
    return value


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(
            AccountErrorCode.PASSWORD_TOO_WEAK, " ".join(exc.messages), field="password"
        ) from exc


def account_create(
    *, email: str, password: str, first_name: str = "", last_name: str = "", email_confirmed: bool = True
) -> User:
    """Create an account directly (staff accounts, demo data); UNIQUE when the email is taken.

    Not for self-registration, which must not tell whether an email is registered: account_register.
    """
    email = _check_email(email)
    user = User(
        email=email,
        first_name=_check_length(first_name or "", User, "first_name", "firstName"),
        last_name=_check_length(last_name or "", User, "last_name", "lastName"),
        email_confirmed=email_confirmed,
    )
    _check_password(password, user)
    if User.objects.filter(email=email).exists():
        raise DomainError(AccountErrorCode.UNIQUE, _("An account with this email exists."), field="email")
    user.set_password(password)
    user.save()
    return user


class _ConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Email confirmation tokens: signed, expiring (PASSWORD_RESET_TIMEOUT), void once confirmed."""

    key_salt = "backend.accounts.services.confirmation"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.email}{user.email_confirmed}{user.password}{timestamp}"


confirmation_tokens = _ConfirmationTokenGenerator()
# Django's own: signed, expiring, void once the password (or last_login) changes.
password_reset_tokens = PasswordResetTokenGenerator()


def account_register(
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    language: str = "",
    client: throttle.Client | None = None,
) -> None:
    """Register an account that signs in once its email is confirmed.

    The answer is the same whether or not the email is registered: a new address gets a
    confirmation email; an unconfirmed account gets it again; a confirmed one is told that someone
    tried to register with it. Input errors (email, password) come before any of that.
    """
    client = client or throttle.no_client()
    client.spend()
    email = _check_email(email)
    candidate = User(
        email=email,
        first_name=_check_length(first_name or "", User, "first_name", "firstName"),
        last_name=_check_length(last_name or "", User, "last_name", "lastName"),
        email_confirmed=False,
        language_code=emails.supported_language(language or translation.get_language()),
    )
    _check_password(password, candidate)
    throttle.account_email_request(client)
    existing = User.objects.filter(email=email).first()
    # The password is hashed either way: the same work for a new and a registered email.
    candidate.set_password(password)
    if existing is None:
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:  # registered at this very moment by another request
            return None
        emails.send_confirmation(candidate, confirmation_tokens.make_token(candidate))
    elif not existing.email_confirmed:
        emails.send_confirmation(existing, confirmation_tokens.make_token(existing))
    else:
        emails.send_registration_attempt(existing)
    return None


def _invalid_token() -> DomainError:
    return DomainError(AccountErrorCode.INVALID_TOKEN, _("The token is wrong or has expired."), field="token")


def _user_by_email(email: str) -> User | None:
    email = (email or "").strip().lower()
    if not email or len(email) > User._meta.get_field("email").max_length:
        return None
    return User.objects.filter(email=email).first()


def account_confirm(*, email: str, token: str, client: throttle.Client | None = None) -> User:
    """Confirm an account's email with the emailed token; the account may sign in from then on."""
    (client or throttle.no_client()).spend()
    user = _user_by_email(email)
    if user is None or user.email_confirmed or not confirmation_tokens.check_token(user, token or ""):
        raise _invalid_token()
    user.email_confirmed = True
    user.save(update_fields=["email_confirmed"])
    return user


def password_reset_request(*, email: str, client: throttle.Client | None = None) -> None:
    """Email a password reset token to the account, if there is one; the answer is the same either way."""
    client = client or throttle.no_client()
    client.spend()
    email = _check_email(email)
    throttle.account_email_request(client)
    user = _user_by_email(email)
    if user is not None and user.is_active:
        emails.send_password_reset(user, password_reset_tokens.make_token(user))


def password_reset_confirm(
    *, email: str, token: str, new_password: str, client: throttle.Client | None = None
) -> User:
    """Set a new password with the emailed token. Every token issued before stops working, and the
    email counts as confirmed (the token came through it)."""
    (client or throttle.no_client()).spend()
    user = _user_by_email(email)
    if user is None or not user.is_active or not password_reset_tokens.check_token(user, token or ""):
        raise _invalid_token()
    _check_password(new_password, user)
    user.set_password(new_password)
    user.email_confirmed = True
    user.save(update_fields=["password", "jwt_token_key", "email_confirmed"])
    RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return user


def authenticate_credentials(*, email: str, password: str, client: throttle.Client) -> User:
    """The one check of an email and password, for tokenCreate on both APIs and the admin login.

    Throttled per client address and email (see throttle); an unknown email costs the same password
    hashing as a known one, so neither the answer nor its time tells whether an account exists.
    """
    client.spend()
    email = (email or "").strip().lower()
    throttle.sign_in_check(email, client)
    user = _user_by_email(email)
    if user is None:
        make_password(password)  # the work check_password would have done
        valid = False
    else:
        valid = user.check_password(password)
    if not valid:
        throttle.sign_in_failed(email, client)
        raise DomainError(AccountErrorCode.INVALID_CREDENTIALS, _("Wrong email or password."), field="email")
    if not user.is_active:
        raise DomainError(AccountErrorCode.INACTIVE, _("This account is inactive."), field="email")
    if not user.email_confirmed:
        raise DomainError(
            AccountErrorCode.ACCOUNT_NOT_CONFIRMED,
            _("Confirm your email address first (accountConfirm with the emailed token)."),
            field="email",
        )
    throttle.sign_in_succeeded(email, client)
    return user


def token_create(*, email: str, password: str, client: throttle.Client | None = None) -> TokenPair:
    user = authenticate_credentials(email=email, password=password, client=client or throttle.no_client())
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    family = secrets.token_hex(16)
    return TokenPair(
        token=tokens.create_access_token(user, family=family),
        refresh_token=tokens.create_refresh_token(user, family=family),
        user=user,
    )


def token_revoke(*, refresh_token: str) -> bool:
    """Sign out: revoke the sign-in (the family) the refresh token belongs to, its refresh tokens and
    its access tokens, at once. Other sign-ins of the account keep working. Revoking a sign-in
    already revoked (or already signed out) answers the same; a token that is not ours is refused."""
    try:
        payload = tokens.decode_token(refresh_token, tokens.REFRESH)
    except tokens.TokenError as exc:
        raise DomainError(AccountErrorCode[exc.code], exc.message, field="refreshToken") from exc
    record = RefreshToken.objects.select_related("user").filter(jti=payload.jti).first()
    if record is None or record.user.jwt_token_key != payload.token_key:
        raise DomainError(AccountErrorCode.JWT_INVALID_TOKEN, _("The refresh token is not valid."), field="refreshToken")
    RefreshToken.objects.filter(family=record.family, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return True


def token_refresh(*, refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair, once.

    The token is claimed with one conditional UPDATE, so of several concurrent refreshes of one
    token exactly one wins, on SQLite as on PostgreSQL. Any other use of a used token is reuse:
    its whole family (refresh and access tokens) is revoked, committed whatever the caller does.
    """
    try:
        payload = tokens.decode_token(refresh_token, tokens.REFRESH)
    except tokens.TokenError as exc:
        raise DomainError(AccountErrorCode[exc.code], exc.message, field="refreshToken") from exc
    revoked = DomainError(
        AccountErrorCode.JWT_INVALID_TOKEN, _("The refresh token has been revoked."), field="refreshToken"
    )
    now = timezone.now()
    with transaction.atomic():
        # The claim is the transaction's first statement: on SQLite it takes the write lock at once
        # (a read first would fail to upgrade under contention), on PostgreSQL it locks the row.
        claimed = RefreshToken.objects.filter(
            jti=payload.jti, used_at__isnull=True, revoked_at__isnull=True
        ).update(used_at=now)
        record = RefreshToken.objects.select_related("user").filter(jti=payload.jti).first()
        if record is None or record.user.jwt_token_key != payload.token_key or record.revoked_at:
            raise revoked  # rolls the claim back
        user = record.user
        if not user.is_active:
            raise DomainError(AccountErrorCode.INACTIVE, _("This account is inactive."))
        if claimed:
            return TokenPair(
                token=tokens.create_access_token(user, family=record.family),
                refresh_token=tokens.create_refresh_token(user, family=record.family),
                user=user,
            )
    # Reuse: outside the transaction above, so the revocation stands even though the call fails.
    RefreshToken.objects.filter(family=record.family, revoked_at__isnull=True).update(revoked_at=timezone.now())
    raise DomainError(
        AccountErrorCode.JWT_REFRESH_TOKEN_REUSED,
        _("This refresh token was already used; all tokens of this sign-in are revoked."),
        field="refreshToken",
    )


def password_change(*, user: User, old_password: str, new_password: str) -> User:
    if not user.check_password(old_password):
        raise DomainError(
            AccountErrorCode.INVALID_CREDENTIALS, _("The old password is wrong."), field="oldPassword"
        )
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
    user = account_create(email=email, password=password, first_name=first_name, last_name=last_name)
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
