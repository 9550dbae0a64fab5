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
  accountRegister(input: $input) { user { id email } errors { field code message } }
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
def test_register_sign_in_and_me(url):
    api = GraphQLClient(url)
    payload = api.mutate(REGISTER, {"input": {"email": "Ann@Example.com", "password": PASSWORD}})
    assert payload["errors"] == []
    assert payload["user"]["email"] == "ann@example.com"

    tokens = api.mutate(TOKEN_CREATE, {"email": "ann@example.com", "password": PASSWORD})
    assert tokens["errors"] == []
    assert api.execute(ME, token=tokens["token"])["me"]["email"] == "ann@example.com"
    assert api.execute(ME)["me"] is None


@BOTH
def test_register_rejects_duplicates_and_weak_passwords(url):
    api = GraphQLClient(url)
    api.mutate(REGISTER, {"input": {"email": "ann@example.com", "password": PASSWORD}})
    again = api.mutate(REGISTER, {"input": {"email": "ANN@example.com", "password": PASSWORD}})
    assert error_codes(again) == ["UNIQUE"]
    weak = api.mutate(REGISTER, {"input": {"email": "bob@example.com", "password": "123"}})
    assert error_codes(weak) == ["PASSWORD_TOO_WEAK"]
    assert weak["errors"][0]["field"] == "password"
    bad_email = api.mutate(REGISTER, {"input": {"email": "not-an-email", "password": PASSWORD}})
    assert error_codes(bad_email) == ["INVALID"]
    assert User.objects.count() == 1


@BOTH
def test_wrong_password_then_throttled(url, settings, user_factory):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    user_factory("carol@example.com")
    api = GraphQLClient(url)
    for _ in range(3):
        payload = api.mutate(TOKEN_CREATE, {"email": "carol@example.com", "password": "wrong-one"})
        assert error_codes(payload) == ["INVALID_CREDENTIALS"]
    # Even the right password is refused while throttled.
    payload = api.mutate(TOKEN_CREATE, {"email": "carol@example.com", "password": PASSWORD})
    assert error_codes(payload) == ["LOGIN_THROTTLED"]
    assert payload["token"] is None
    with freeze_time(timezone.now() + settings.LOGIN_THROTTLE_WINDOW + timedelta(seconds=1)):
        payload = api.mutate(TOKEN_CREATE, {"email": "carol@example.com", "password": PASSWORD})
        assert payload["errors"] == []


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
