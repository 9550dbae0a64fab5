"""Refresh-token reuse revokes the sign-in's access tokens too; concurrent refreshes of one token
yield one new pair, on SQLite as on PostgreSQL."""

import pytest

from backend.accounts import services
from backend.accounts.models import RefreshToken
from backend.core.exceptions import DomainError

from ..concurrency import race, sqlite_file_database
from ..conftest import PASSWORD, make_user
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient, error_codes

ME = "{ me { email } }"
SIGN_IN = """
mutation($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) { token refreshToken errors { code } }
}"""
REFRESH = """
mutation($token: String!) { tokenRefresh(refreshToken: $token) { token refreshToken errors { code } } }"""
BOTH = pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL], ids=["core", "storefront"])


@BOTH
@pytest.mark.django_db
def test_reuse_revokes_the_access_tokens_of_the_sign_in(url, user_factory):
    user_factory("dan@example.com")
    api = GraphQLClient(url)
    thief_and_owner = api.mutate(SIGN_IN, {"email": "dan@example.com", "password": PASSWORD})
    other_sign_in = api.mutate(SIGN_IN, {"email": "dan@example.com", "password": PASSWORD})
    refreshed = api.mutate(REFRESH, {"token": thief_and_owner["refreshToken"]})
    assert api.execute(ME, token=refreshed["token"])["me"]["email"] == "dan@example.com"
    assert api.execute(ME, token=thief_and_owner["token"])["me"]["email"] == "dan@example.com"

    replay = api.mutate(REFRESH, {"token": thief_and_owner["refreshToken"]})
    assert error_codes(replay) == ["JWT_REFRESH_TOKEN_REUSED"]
    # Every access token of that sign-in stops working at once, not when it expires.
    for token in (thief_and_owner["token"], refreshed["token"]):
        response = api.raw(ME, token=token)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "JWT_INVALID_TOKEN"
    # Another sign-in of the same account is not touched.
    assert api.execute(ME, token=other_sign_in["token"])["me"]["email"] == "dan@example.com"
    assert api.mutate(REFRESH, {"token": other_sign_in["refreshToken"]})["errors"] == []


def _concurrent_refreshes(count: int):
    user = make_user("racer@example.com")
    pair = services.token_create(email=user.email, password=PASSWORD)

    def work(_index):
        try:
            return services.token_refresh(refresh_token=pair.refresh_token)
        except DomainError as exc:
            return exc.code.name

    return user, race(work, count)


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_one_pair():
    """Threads on their own connections, committed transactions: on SQLite (the embedded default)
    and, with DATABASE_URL, on PostgreSQL."""
    with sqlite_file_database():
        user, results = _concurrent_refreshes(4)
        family = list(RefreshToken.objects.filter(user=user).values_list("revoked_at", flat=True))
    pairs = [r for r in results if isinstance(r, services.TokenPair)]
    others = [r for r in results if not isinstance(r, services.TokenPair)]
    assert len(pairs) == 1, results
    # The first loser is reuse and revokes the family; a later one may find it revoked already.
    assert len(others) == 3 and "JWT_REFRESH_TOKEN_REUSED" in others, results
    assert set(others) <= {"JWT_REFRESH_TOKEN_REUSED", "JWT_INVALID_TOKEN"}, results
    # One new refresh token was issued besides the sign-in's, and the reuse revoked the family.
    assert len(family) == 2 and None not in family


REVOKE = """
mutation($token: String!) { tokenRevoke(refreshToken: $token) { revoked errors { field code } } }"""


@BOTH
@pytest.mark.django_db
def test_signing_out_revokes_that_sign_in_at_once_and_only_that_one(url, user_factory):
    user_factory("erin@example.com")
    api = GraphQLClient(url)
    signed_out = api.mutate(SIGN_IN, {"email": "erin@example.com", "password": PASSWORD})
    other = api.mutate(SIGN_IN, {"email": "erin@example.com", "password": PASSWORD})
    refreshed = api.mutate(REFRESH, {"token": signed_out["refreshToken"]})

    # The newest refresh token of the sign-in (or any older one) signs it out.
    assert api.mutate(REVOKE, {"token": refreshed["refreshToken"]}) == {"revoked": True, "errors": []}
    for token in (signed_out["token"], refreshed["token"]):
        response = api.raw(ME, token=token)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "JWT_INVALID_TOKEN"
    assert error_codes(api.mutate(REFRESH, {"token": refreshed["refreshToken"]})) == ["JWT_INVALID_TOKEN"]
    # Signing out twice answers the same; the other sign-in is untouched.
    assert api.mutate(REVOKE, {"token": signed_out["refreshToken"]}) == {"revoked": True, "errors": []}
    assert api.execute(ME, token=other["token"])["me"]["email"] == "erin@example.com"
    assert api.mutate(REFRESH, {"token": other["refreshToken"]})["errors"] == []


@BOTH
@pytest.mark.django_db
def test_revoking_needs_a_real_refresh_token(url, user_factory):
    user_factory("finn@example.com")
    api = GraphQLClient(url)
    pair = api.mutate(SIGN_IN, {"email": "finn@example.com", "password": PASSWORD})
    for token in ("not-a-token", pair["token"]):  # garbage, or an access token
        answer = api.mutate(REVOKE, {"token": token})
        assert answer["revoked"] is None
        assert [(e["field"], e["code"]) for e in answer["errors"]] == [("refreshToken", "JWT_INVALID_TOKEN")]
    assert api.execute(ME, token=pair["token"])["me"]["email"] == "finn@example.com"
