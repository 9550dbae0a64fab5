"""Sign-in against a served instance (gunicorn, 2 workers, DEBUG off): concurrent refreshes of one
token from several connections, reuse revoking the access tokens of the sign-in in every worker,
the per-request cap on aliased sign-ins, and one answer for registered and new emails."""

import json
import threading
from pathlib import Path

import pytest

if not (Path(__file__).parent / "server.py").exists():
    pytest.skip("needs the served instance fixture (tests/served/server.py, conftest.py)", allow_module_level=True)

EMAIL = "served-owner@example.com"
PASSWORD = "Served-Owner-2024"
SIGN_IN = "mutation($e: String!, $p: String!) { tokenCreate(email: $e, password: $p) { token refreshToken errors { code } } }"
REFRESH = "mutation($t: String!) { tokenRefresh(refreshToken: $t) { token refreshToken errors { code } } }"
ME = "{ me { email } }"


@pytest.fixture(scope="module")
def account(served):
    result = served.manage(
        "createsuperuser", "--noinput", "--email", EMAIL, env={**served.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
    )
    assert result.returncode == 0, result.stderr
    return EMAIL


def sign_in(served, endpoint="core"):
    status, body = served.graphql(SIGN_IN, {"e": EMAIL, "p": PASSWORD}, endpoint=endpoint)
    assert status == 200, body
    payload = body["data"]["tokenCreate"]
    assert payload["errors"] == [], payload
    return payload


@pytest.mark.parametrize("endpoint", ["core", "storefront"])
def test_concurrent_refreshes_yield_one_pair_and_reuse_revokes_access(served, account, endpoint):
    pair = sign_in(served, endpoint)
    barrier = threading.Barrier(6)
    results = [None] * 6

    def refresh(index):
        barrier.wait(timeout=30)
        results[index] = served.graphql(REFRESH, {"t": pair["refreshToken"]}, endpoint=endpoint)

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(status == 200 for status, _ in results), results
    payloads = [body["data"]["tokenRefresh"] for _, body in results]
    winners = [p for p in payloads if not p["errors"]]
    losers = [p["errors"][0]["code"] for p in payloads if p["errors"]]
    assert len(winners) == 1, payloads
    assert "JWT_REFRESH_TOKEN_REUSED" in losers
    assert set(losers) <= {"JWT_REFRESH_TOKEN_REUSED", "JWT_INVALID_TOKEN"}
    # The reuse revoked the sign-in's access tokens in every worker, old and new.
    for token in (pair["token"], winners[0]["token"]):
        for _ in range(4):  # both workers answer
            status, body = served.graphql(ME, endpoint=endpoint, token=token)
            assert status == 401 and body["errors"][0]["extensions"]["code"] == "JWT_INVALID_TOKEN", body


def test_aliased_sign_ins_are_capped(served, account):
    fields = " ".join(
        f'a{i}: tokenCreate(email: "spray{i}@example.com", password: "Spring2024!") {{ token errors {{ code }} }}'
        for i in range(10)
    )
    status, body = served.graphql("mutation Spray { %s }" % fields)
    assert status == 200, body
    codes = [body["data"][f"a{i}"]["errors"][0]["code"] for i in range(10)]
    assert codes == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_OPERATIONS"] * 7


def test_registration_answers_the_same_for_a_registered_email(served, account):
    document = (
        'mutation Register($e: String!) { accountRegister(input: {email: $e, password: "Another-Pass-2024"}) '
        "{ user { id } requiresConfirmation errors { code } } }"
    )
    answers = [served.graphql(document, {"e": email}, endpoint="storefront") for email in (EMAIL, "fresh@example.com")]
    assert answers[0] == answers[1] == (
        200, {"data": {"accountRegister": {"user": None, "requiresConfirmation": True, "errors": []}}}
    ), json.dumps(answers)
