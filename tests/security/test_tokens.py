"""Tokens at their edges, through both APIs: a deactivated user's, a refresh token presented as an
access token (and the reverse), tokens from before a password change, expired, forged and
tampered tokens. A bad token is answered 401 and never treated as anonymous or as someone else."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.accounts.jwt import create_access_token, create_refresh_token
from backend.accounts.models import User
from backend.vendors import services as vendors

from ..conftest import PASSWORD
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db

APIS = [CORE_URL, STOREFRONT_URL]
ME = "{ me { id email } }"
REFRESH = """
mutation($token: String!) {
  tokenRefresh(refreshToken: $token) { token refreshToken user { email } errors { field code message } }
}"""
SIGN_IN = """
mutation($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) { token refreshToken errors { field code message } }
}"""
PASSWORD_CHANGE = """
mutation($old: String!, $new: String!) {
  passwordChange(oldPassword: $old, newPassword: $new) { errors { code } }
}"""


def me(url: str, token: str):
    return GraphQLClient(url).raw(ME, token=token)


def assert_rejected(response, code: str = "JWT_INVALID_TOKEN") -> None:
    assert response.status_code == 401, response.content[:500]
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


def refresh(url: str, token: str) -> dict:
    return GraphQLClient(url).mutate(REFRESH, {"token": token})


@pytest.mark.parametrize("url", APIS)
def test_a_signed_in_users_token_works(world, url):
    """The control for every refusal below."""
    response = me(url, create_access_token(world.shopper1))
    assert response.status_code == 200
    assert response.json()["data"]["me"]["email"] == world.shopper1.email


@pytest.mark.parametrize("url", APIS)
def test_a_deactivated_users_tokens_stop_working(world, url):
    user = world.alpha.operator
    access, refresh_token = create_access_token(user), create_refresh_token(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_rejected(me(url, access))
    payload = refresh(url, refresh_token)
    assert payload["token"] is None and payload["refreshToken"] is None
    assert [e["code"] for e in payload["errors"]] == ["INACTIVE"]
    signed_in = GraphQLClient(url).mutate(SIGN_IN, {"email": user.email, "password": PASSWORD})
    assert signed_in["token"] is None and [e["code"] for e in signed_in["errors"]] == ["INACTIVE"]


def test_a_deactivated_merchants_token_reaches_nothing_of_its_store(world):
    """A store's staff member who is deactivated loses its data at once, not when the token expires."""
    user = world.alpha.owner
    token = create_access_token(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = GraphQLClient(CORE_URL).raw("query($id: ID!) { vendor(id: $id) { name } }",
                                           {"id": to_global_id("Vendor", world.alpha.vendor.pk)}, token=token)
    assert_rejected(response)


@pytest.mark.parametrize("url", APIS)
def test_a_refresh_token_is_no_access_token(world, url):
    assert_rejected(me(url, create_refresh_token(world.shopper1)))


@pytest.mark.parametrize("url", APIS)
def test_an_access_token_is_no_refresh_token(world, url):
    payload = refresh(url, create_access_token(world.shopper1))
    assert payload["token"] is None and payload["refreshToken"] is None
    assert [e["code"] for e in payload["errors"]] == ["JWT_INVALID_TOKEN"]


@pytest.mark.parametrize("url", APIS)
def test_a_password_change_revokes_every_earlier_token(world, url):
    user = world.shopper2
    old_access, old_refresh = create_access_token(user), create_refresh_token(user)
    changed = GraphQLClient(CORE_URL).login(user).mutate(PASSWORD_CHANGE, {"old": PASSWORD, "new": "Another-Horse-77"})
    assert changed["errors"] == []
    assert_rejected(me(url, old_access))
    payload = refresh(url, old_refresh)
    assert payload["token"] is None and [e["code"] for e in payload["errors"]] == ["JWT_INVALID_TOKEN"]
    # The new password signs in, and its token works.
    fresh = GraphQLClient(url).mutate(SIGN_IN, {"email": user.email, "password": "Another-Horse-77"})
    assert me(url, fresh["token"]).json()["data"]["me"]["email"] == user.email


@pytest.mark.parametrize("url", APIS)
def test_an_expired_token_is_refused(world, url):
    token = create_access_token(world.shopper1)
    with freeze_time(timezone.now() + settings.JWT_ACCESS_TTL + timedelta(seconds=5)):
        assert_rejected(me(url, token), "JWT_SIGNATURE_EXPIRED")


@pytest.mark.parametrize("url", APIS)
def test_forged_and_tampered_tokens_are_refused(world, url):
    token = create_access_token(world.shopper1)
    claims = jwt.decode(token, options={"verify_signature": False})
    # Someone else's user id under the same (now wrong) signature.
    header, _body, signature = token.split(".")
    other = jwt.encode({**claims, "sub": str(world.alpha.owner.pk)}, "not-the-key", algorithm="HS256")
    assert_rejected(me(url, f"{header}.{other.split('.')[1]}.{signature}"))
    # Signed with another key, or not signed at all.
    assert_rejected(me(url, other))
    unsigned = jwt.encode({**claims, "sub": str(world.superuser.pk)}, key=None, algorithm="none")
    assert_rejected(me(url, unsigned))
    assert_rejected(me(url, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")))


@pytest.mark.parametrize("url", APIS)
def test_a_token_of_a_deleted_account_is_refused(world, url):
    user = User.objects.create_user("short-lived@example.com", PASSWORD)
    token = create_access_token(user)
    user.delete()
    assert_rejected(me(url, token))


def test_permissions_are_read_at_each_request_not_kept_in_the_token(world):
    """Taking a permission away works at once for a token already handed out."""
    token = create_access_token(world.user("staff_manage_plugins"))
    client = GraphQLClient(CORE_URL)
    plugins = "{ plugins { id } }"
    assert client.raw(plugins, token=token).json()["data"]["plugins"] != []
    world.user("staff_manage_plugins").groups.clear()
    assert client.raw(plugins, token=token).json()["data"]["plugins"] == []
    # Nor does a group grant anything to a user who is not staff.
    Group.objects.get(name="Full access").user_set.add(world.shopper1)
    assert client.raw(plugins, token=create_access_token(world.shopper1)).json()["data"]["plugins"] == []


def test_someone_removed_from_a_stores_staff_loses_its_data_at_once(world):
    """The membership is read at each request: a token handed out before the removal opens nothing."""
    operator = world.alpha.operator
    token = create_access_token(operator)
    query = "query($id: ID!) { order(id: $id) { id } }"
    variables = {"id": to_global_id("Order", world.alpha.order_unshipped.pk)}
    client = GraphQLClient(CORE_URL)
    assert client.raw(query, variables, token=token).json()["data"]["order"] is not None
    vendors.vendor_staff_remove(actor=world.alpha.owner, staff=world.alpha.operator_membership)
    assert client.raw(query, variables, token=token).json()["data"]["order"] is None
