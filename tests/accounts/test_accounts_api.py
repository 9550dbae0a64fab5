from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time

from backend.accounts.models import User
from backend.core.permissions import PlatformPermission

from ..conftest import PASSWORD
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient, error_codes

REGISTER = """
mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { user { id email } requiresConfirmation errors { field code message } }
}"""
CONFIRM = """
mutation($email: String!, $token: String!) {
  accountConfirm(email: $email, token: $token) { user { email } errors { field code message } }
}"""
RESET_REQUEST = """
mutation($email: String!) { passwordResetRequest(email: $email) { errors { field code message } } }"""
RESET_CONFIRM = """
mutation($email: String!, $token: String!, $password: String!) {
  passwordResetConfirm(email: $email, token: $token, newPassword: $password) { user { email } errors { field code } }
}"""
TOKEN_CREATE = """
mutation($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) {
    token refreshToken user { email } errors { field code message }
  }
}"""
TOKEN_REFRESH = """
mutation($refreshToken: String!) {
  tokenRefresh(refreshToken: $refreshToken) { token refreshToken errors { field code message } }
}"""
ME = "{ me { id email } }"

pytestmark = pytest.mark.django_db
BOTH = pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL], ids=["core", "storefront"])


@BOTH
def test_register_confirm_sign_in_and_me(url, mailbox):
    api = GraphQLClient(url)
    with mailbox.capture():
        payload = api.mutate(REGISTER, {"input": {"email": "Ann@Example.com", "password": PASSWORD}})
    assert payload == {"user": None, "requiresConfirmation": True, "errors": []}
    user = User.objects.get(email="ann@example.com")
    assert user.email_confirmed is False

    # Unconfirmed: the right password is answered ACCOUNT_NOT_CONFIRMED, no token.
    tokens = api.mutate(TOKEN_CREATE, {"email": "ann@example.com", "password": PASSWORD})
    assert error_codes(tokens) == ["ACCOUNT_NOT_CONFIRMED"] and tokens["token"] is None
    # A wrong password for it is just wrong: strangers learn nothing.
    wrong = api.mutate(TOKEN_CREATE, {"email": "ann@example.com", "password": "Not-The-One-1"})
    assert error_codes(wrong) == ["INVALID_CREDENTIALS"]

    mail = mailbox.only("ann@example.com")
    assert "Confirm" in mail.subject
    bad = api.mutate(CONFIRM, {"email": "ann@example.com", "token": "1-abc"})
    assert error_codes(bad) == ["INVALID_TOKEN"]
    confirmed = api.mutate(CONFIRM, {"email": "ann@example.com", "token": mailbox.token(mail)})
    assert confirmed["errors"] == [] and confirmed["user"]["email"] == "ann@example.com"
    again = api.mutate(CONFIRM, {"email": "ann@example.com", "token": mailbox.token(mail)})
    assert error_codes(again) == ["INVALID_TOKEN"], "a confirmation token works once"

    tokens = api.mutate(TOKEN_CREATE, {"email": "ann@example.com", "password": PASSWORD})
    assert tokens["errors"] == []
    assert api.execute(ME, token=tokens["token"])["me"]["email"] == "ann@example.com"
    assert api.execute(ME)["me"] is None


@BOTH
def test_register_does_not_tell_whether_an_email_is_registered(url, mailbox, user_factory):
    owner = user_factory("owner@example.com")
    api = GraphQLClient(url)
    with mailbox.capture():
        taken = api.mutate(REGISTER, {"input": {"email": "OWNER@example.com", "password": "Squatter-Pass-9"}})
        free = api.mutate(REGISTER, {"input": {"email": "new@example.com", "password": "Squatter-Pass-9"}})
    assert taken == free == {"user": None, "requiresConfirmation": True, "errors": []}
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD), "the registered account is untouched"
    warning = mailbox.only("owner@example.com")
    assert "tried to register" in warning.body and "token:" not in warning.body
    assert "token:" in mailbox.only("new@example.com").body
    # Input errors come first and are the same for both.
    weak = api.mutate(REGISTER, {"input": {"email": "owner@example.com", "password": "123"}})
    assert error_codes(weak) == ["PASSWORD_TOO_WEAK"] and weak["errors"][0]["field"] == "password"
    bad_email = api.mutate(REGISTER, {"input": {"email": "not-an-email", "password": PASSWORD}})
    assert error_codes(bad_email) == ["INVALID"]
    assert User.objects.count() == 2


@BOTH
def test_password_reset_by_email(url, mailbox, user_factory):
    user_factory("carol@example.com")
    api = GraphQLClient(url)
    old = api.mutate(TOKEN_CREATE, {"email": "carol@example.com", "password": PASSWORD})
    with mailbox.capture():
        known = api.mutate(RESET_REQUEST, {"email": "carol@example.com"})
        unknown = api.mutate(RESET_REQUEST, {"email": "nobody@example.com"})
    assert known == unknown == {"errors": []}
    assert [m.to for m in mailbox.outbox] == [["carol@example.com"]], "nothing is sent to an unknown address"
    token = mailbox.token(mailbox.only("carol@example.com"))

    for email, tok in (("nobody@example.com", token), ("carol@example.com", "1-bad"), ("carol@example.com", "")):
        refused = api.mutate(RESET_CONFIRM, {"email": email, "token": tok, "password": "Brand-New-Pass-7"})
        assert error_codes(refused) == ["INVALID_TOKEN"], email
    weak = api.mutate(RESET_CONFIRM, {"email": "carol@example.com", "token": token, "password": "123"})
    assert error_codes(weak) == ["PASSWORD_TOO_WEAK"]
    done = api.mutate(RESET_CONFIRM, {"email": "carol@example.com", "token": token, "password": "Brand-New-Pass-7"})
    assert done["errors"] == []
    assert User.objects.get(email="carol@example.com").check_password("Brand-New-Pass-7")
    # The token is single use, and every token issued before the reset is revoked.
    reused = api.mutate(RESET_CONFIRM, {"email": "carol@example.com", "token": token, "password": "Other-Pass-77"})
    assert error_codes(reused) == ["INVALID_TOKEN"]
    assert api.raw(ME, token=old["token"]).status_code == 401
    assert error_codes(api.mutate(TOKEN_REFRESH, {"refreshToken": old["refreshToken"]})) == ["JWT_INVALID_TOKEN"]


def test_password_reset_token_expires(core_api, mailbox, user_factory, settings):
    user_factory("dora@example.com")
    with mailbox.capture():
        core_api.mutate(RESET_REQUEST, {"email": "dora@example.com"})
    token = mailbox.token(mailbox.only("dora@example.com"))
    with freeze_time(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT, days=1)):
        late = core_api.mutate(RESET_CONFIRM, {"email": "dora@example.com", "token": token, "password": "Brand-New-Pass-7"})
    assert error_codes(late) == ["INVALID_TOKEN"]


def test_password_reset_confirms_a_squatted_registration(core_api, mailbox):
    """Someone registered the owner's address first: a password reset (through the owner's mailbox)
    takes the account over and confirms it; the squatter's password stops working."""
    with mailbox.capture():
        core_api.mutate(REGISTER, {"input": {"email": "real@example.com", "password": "Squatter-Pass-9"}})
        core_api.mutate(RESET_REQUEST, {"email": "real@example.com"})
    reset = [m for m in mailbox.outbox if "reset" in m.subject.lower()][0]
    done = core_api.mutate(
        RESET_CONFIRM, {"email": "real@example.com", "token": mailbox.token(reset), "password": "Owner-Pass-2024"}
    )
    assert done["errors"] == []
    assert core_api.mutate(TOKEN_CREATE, {"email": "real@example.com", "password": "Owner-Pass-2024"})["errors"] == []
    squatter = core_api.mutate(TOKEN_CREATE, {"email": "real@example.com", "password": "Squatter-Pass-9"})
    assert error_codes(squatter) == ["INVALID_CREDENTIALS"]


@BOTH
def test_expired_forged_and_missing_tokens(url, user_factory):
    user = user_factory()
    api = GraphQLClient(url).login(user)
    assert api.execute(ME)["me"]["email"] == user.email

    with freeze_time(timezone.now() + settings.JWT_ACCESS_TTL + timedelta(seconds=5)):
        response = api.raw(ME)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "JWT_SIGNATURE_EXPIRED"

    forged = jwt.encode(
        jwt.decode(api.token, options={"verify_signature": False}), "someone-elses-signing-key-of-32-bytes!", algorithm="HS256"
    )
    response = api.raw(ME, token=forged)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "JWT_INVALID_TOKEN"

    response = api.raw(ME, token="not.a.jwt")
    assert response.status_code == 401

    assert api.execute(ME, token="")["me"] is None


@BOTH
def test_refresh_rotates_and_reuse_revokes_family(url, user_factory):
    user_factory("dan@example.com")
    api = GraphQLClient(url)
    first = api.mutate(TOKEN_CREATE, {"email": "dan@example.com", "password": PASSWORD})
    second = api.mutate(TOKEN_REFRESH, {"refreshToken": first["refreshToken"]})
    assert second["errors"] == [] and second["token"] and second["refreshToken"] != first["refreshToken"]

    replay = api.mutate(TOKEN_REFRESH, {"refreshToken": first["refreshToken"]})
    assert error_codes(replay) == ["JWT_REFRESH_TOKEN_REUSED"]
    # The thief's replay also revoked the legitimate successor.
    successor = api.mutate(TOKEN_REFRESH, {"refreshToken": second["refreshToken"]})
    assert error_codes(successor) == ["JWT_INVALID_TOKEN"]

    access = api.mutate(TOKEN_REFRESH, {"refreshToken": first["token"]})
    assert error_codes(access) == ["JWT_INVALID_TOKEN"]


def test_password_change_revokes_every_token(core_api, user_factory):
    user = user_factory("eve@example.com")
    tokens = core_api.mutate(TOKEN_CREATE, {"email": "eve@example.com", "password": PASSWORD})
    core_api.login(user)
    payload = core_api.mutate(
        """mutation($old: String!, $new: String!) {
             passwordChange(oldPassword: $old, newPassword: $new) { errors { code } } }""",
        {"old": PASSWORD, "new": "Another-Secret-77"},
    )
    assert payload["errors"] == []
    assert core_api.raw(ME, token=tokens["token"]).status_code == 401
    assert core_api.raw(ME).status_code == 401
    core_api.logout()
    refreshed = core_api.mutate(TOKEN_REFRESH, {"refreshToken": tokens["refreshToken"]})
    assert error_codes(refreshed) == ["JWT_INVALID_TOKEN"]


STAFF_CREATE = """
mutation($input: StaffCreateInput!) {
  staffCreate(input: $input) { user { id email isStaff permissions } errors { field code message } }
}"""


def test_staff_create_with_permissions_through_groups(core_api, staff_factory):
    admin = staff_factory(PlatformPermission.MANAGE_STAFF, PlatformPermission.MANAGE_VENDORS)
    core_api.login(admin)
    payload = core_api.mutate(
        STAFF_CREATE,
        {"input": {"email": "reviewer@example.com", "password": PASSWORD, "permissions": ["MANAGE_VENDORS"]}},
    )
    assert payload["errors"] == []
    assert payload["user"]["isStaff"] is True
    assert payload["user"]["permissions"] == ["MANAGE_VENDORS"]
    created = User.objects.get(email="reviewer@example.com")
    assert created.user_permissions.count() == 0 and created.groups.count() == 1

    # Nobody grants what they do not hold.
    payload = core_api.mutate(
        STAFF_CREATE,
        {"input": {"email": "x@example.com", "password": PASSWORD, "permissions": ["MANAGE_FINANCE"]}},
    )
    assert error_codes(payload) == ["OUT_OF_SCOPE_PERMISSION"]
    assert not User.objects.filter(email="x@example.com").exists()


def test_staff_create_needs_manage_staff(core_api, user_factory, staff_factory):
    for caller in (None, user_factory(), staff_factory(PlatformPermission.MANAGE_VENDORS)):
        core_api.logout()
        if caller:
            core_api.login(caller)
        payload = core_api.mutate(
            STAFF_CREATE, {"input": {"email": "y@example.com", "password": PASSWORD, "permissions": []}}
        )
        assert error_codes(payload) == ["PERMISSION_DENIED"]
    assert not User.objects.filter(email="y@example.com").exists()


def test_createsuperuser_holds_every_permission(core_api, superuser):
    core_api.login(superuser)
    me = core_api.execute("{ me { isStaff permissions } }")["me"]
    assert me["isStaff"] is True
    assert set(me["permissions"]) == {p.name for p in PlatformPermission}


def test_permission_groups(core_api, staff_factory):
    admin = staff_factory(PlatformPermission.MANAGE_STAFF, PlatformPermission.REVIEW_LISTINGS)
    core_api.login(admin)
    created = core_api.mutate(
        """mutation { permissionGroupCreate(name: "Reviewers", permissions: [REVIEW_LISTINGS]) {
             group { id name permissions } errors { code } } }"""
    )
    assert created["errors"] == [] and created["group"]["permissions"] == ["REVIEW_LISTINGS"]
    result = core_api.mutate(
        """mutation($input: StaffCreateInput!) { staffCreate(input: $input) {
             user { permissions } errors { code } } }""",
        {"input": {"email": "r@example.com", "password": PASSWORD, "groups": [created["group"]["id"]]}},
    )
    assert result["user"]["permissions"] == ["REVIEW_LISTINGS"]
    listed = core_api.execute("{ permissionGroups(first: 10) { totalCount edges { node { name } } } }")
    assert "Reviewers" in [e["node"]["name"] for e in listed["permissionGroups"]["edges"]]


def test_malformed_ids_answer_not_found(core_api, staff_factory):
    from graphql_relay import to_global_id

    core_api.login(staff_factory(PlatformPermission.MANAGE_STAFF))
    for bad in (to_global_id("PermissionGroup", "abc"), to_global_id("User", "1"), "%%%", ""):
        payload = core_api.mutate(
            STAFF_CREATE,
            {"input": {"email": "z@example.com", "password": PASSWORD, "groups": [bad]}},
        )
        assert error_codes(payload) == ["NOT_FOUND"], bad
        assert payload["errors"][0]["field"] == "groups"
    assert not User.objects.filter(email="z@example.com").exists()
