"""Account emails in English or Simplified Chinese, sent after the transaction commits.

Each is written in the account's language (User.language_code) or, for an address with no
account, the request's language (Accept-Language, activated by LocaleMiddleware).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# Store roles as named in invitation emails (VendorRole labels), for the translation catalogue.
ROLE_LABELS = (gettext_noop("Owner"), gettext_noop("Operator"), gettext_noop("Customer service"))

from .throttle import account_email_allowed


def language_for(user=None) -> str:
    if user is not None and user.language_code:
        return user.language_code
    return supported_language(translation.get_language())


def supported_language(code: str | None) -> str:
    codes = {c for c, _name in settings.LANGUAGES}
    code = (code or "").lower()
    if code in codes:
        return code
    if code.startswith("zh"):
        return "zh-hans"
    return settings.LANGUAGE_CODE


def _queue(to: str, language: str, subject_and_body) -> None:
    if not account_email_allowed(to):
        return
    with translation.override(language):
        subject, body = subject_and_body()

    def send():
        from .tasks import send_account_email

        send_account_email.delay(subject, body, to)

    transaction.on_commit(send)


def send_confirmation(user, token: str) -> None:
    _queue(
        user.email,
        language_for(user),
        lambda: (
            _("Confirm your email address"),
            _(
                "Welcome to the marketplace.\n\n"
                "Confirm your email address with this token (accountConfirm):\n\n"
                "email: %(email)s\ntoken: %(token)s\n\n"
                "If you did not register, ignore this email."
            )
            % {"email": user.email, "token": token},
        ),
    )


def send_registration_attempt(user) -> None:
    _queue(
        user.email,
        language_for(user),
        lambda: (
            _("Someone tried to register with your email address"),
            _(
                "Someone tried to register a new account with %(email)s, which already has one.\n\n"
                "If it was you, sign in; if you forgot your password, ask for a reset "
                "(passwordResetRequest). Otherwise you need not do anything."
            )
            % {"email": user.email},
        ),
    )


def send_password_reset(user, token: str) -> None:
    _queue(
        user.email,
        language_for(user),
        lambda: (
            _("Reset your password"),
            _(
                "Someone asked to reset the password of %(email)s.\n\n"
                "Set a new password with this token (passwordResetConfirm):\n\n"
                "email: %(email)s\ntoken: %(token)s\n\n"
                "The token works once and expires. If you did not ask, ignore this email: "
                "your password stays as it is."
            )
            % {"email": user.email, "token": token},
        ),
    )


def send_staff_invitation(*, email: str, user, vendor_name: str, role_label: str, token: str) -> None:
    _queue(
        email,
        language_for(user),
        lambda: (
            _("You are invited to join %(store)s") % {"store": vendor_name},
            _(
                "The owner of %(store)s invites you to work for the store as %(role)s.\n\n"
                "Sign in (or register) with %(email)s and accept or decline the invitation "
                "(vendorStaffInvitationAccept / vendorStaffInvitationDecline) with this token, "
                "or from the pending invitations of your account:\n\n"
                "token: %(token)s\n\n"
                "If you do not know the store, ignore this email."
            )
            % {"store": vendor_name, "role": _(role_label), "email": email, "token": token},
        ),
    )
