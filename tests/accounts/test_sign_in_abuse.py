"""Sign-in abuse: throttles per client address and email, the per-request budget, equal work for
unknown emails, no lock-out of the owner, the admin login under the same rules."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from ..conftest import PASSWORD
from ..graphql_client import CORE_URL, STOREFRONT_URL

pytestmark = pytest.mark.django_db
BOTH = pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL], ids=["core", "storefront"])
SIGN_IN = "tokenCreate(email: %s, password: %s) { token errors { field code } }"


def post(url, query, variables=None, address="10.0.0.1", **headers):
    response = Client().post(
        url,
        json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        REMOTE_ADDR=address,
        **headers,
    )
    assert response.status_code == 200, response.content[:500]
    return response.json()


def sign_in(url, email, password, address="10.0.0.1", **headers) -> str:
    """The error code of one tokenCreate, or "OK"."""
    data = post(url, "mutation { %s }" % (SIGN_IN % (json.dumps(email), json.dumps(password))), address=address,
                **headers)
    payload = data["data"]["tokenCreate"]
    return payload["errors"][0]["code"] if payload["errors"] else "OK"


@pytest.fixture
def limits(settings):
    settings.LOGIN_THROTTLE_PER_CLIENT = 20
    settings.LOGIN_THROTTLE_PER_CLIENT_EMAIL = 5
    settings.LOGIN_THROTTLE_ATTEMPTS = 5
    settings.LOGIN_THROTTLE_MAX_DELAY = timedelta(seconds=60)
    settings.AUTH_OPERATIONS_PER_REQUEST = 3
    # Above the query limits' alias cap, so these tests reach the sign-in throttle itself.
    settings.GRAPHQL_QUERY_MAX_ALIASES = 100
    return settings


@BOTH
def test_one_client_hammering_one_email_is_refused_while_the_owner_elsewhere_signs_in(url, limits, user_factory):
    user_factory("owner@example.com")
    codes = [sign_in(url, "owner@example.com", f"guess-{i}", "10.0.0.66") for i in range(5)]
    assert codes == ["INVALID_CREDENTIALS"] * 5
    # The attacker's address is refused for this email, even with the right password.
    assert sign_in(url, "owner@example.com", PASSWORD, "10.0.0.66") == "LOGIN_THROTTLED"
    # The owner, from another address, waits at most a short delay, never the attacker's window.
    with freeze_time(timezone.now() + timedelta(seconds=3)):
        assert sign_in(url, "owner@example.com", PASSWORD, "10.0.0.7") == "OK"
        assert sign_in(url, "owner@example.com", PASSWORD, "10.0.0.66") == "LOGIN_THROTTLED"


@BOTH
def test_one_client_spraying_many_emails_is_refused(url, limits, user_factory):
    user_factory("victim@example.com")
    codes = [sign_in(url, f"user{i}@example.com", "Spring2024!", "10.0.0.66") for i in range(20)]
    assert codes == ["INVALID_CREDENTIALS"] * 20
    assert sign_in(url, "victim@example.com", PASSWORD, "10.0.0.66") == "LOGIN_THROTTLED"
    assert sign_in(url, "victim@example.com", PASSWORD, "10.0.0.7") == "OK"


@BOTH
def test_aliased_sign_ins_are_capped_and_all_counted(url, limits, user_factory):
    user_factory("victim@example.com")
    fields = "\n".join(
        f"a{i}: " + SIGN_IN % (json.dumps(f"user{i}@example.com"), json.dumps("Spring2024!")) for i in range(50)
    )
    data = post(url, "mutation { %s }" % fields, address="10.0.0.66")["data"]
    codes = [data[f"a{i}"]["errors"][0]["code"] for i in range(50)]
    assert codes == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_OPERATIONS"] * 47
    assert all(data[f"a{i}"]["token"] is None for i in range(50))
    # All 50 counted against the address: it is refused now, with the right password too.
    assert sign_in(url, "victim@example.com", PASSWORD, "10.0.0.66") == "LOGIN_THROTTLED"
    assert sign_in(url, "victim@example.com", PASSWORD, "10.0.0.7") == "OK"


@BOTH
def test_other_auth_operations_share_the_request_budget(url, limits, user_factory, mailbox):
    user_factory("victim@example.com")
    fields = "\n".join(f'r{i}: passwordResetRequest(email: "victim@example.com") {{ errors {{ code }} }}' for i in range(5))
    with mailbox.capture():
        data = post(url, "mutation { %s }" % fields)["data"]
    assert [data[f"r{i}"]["errors"] for i in range(5)] == [[]] * 3 + [[{"code": "TOO_MANY_OPERATIONS"}]] * 2
    assert len(mailbox.outbox) == 3


@BOTH
def test_strangers_everywhere_only_delay_the_owner(url, limits, user_factory):
    """Failures for one email from many addresses give growing delays, capped, never a lock-out."""
    user_factory("owner@example.com")
    start = timezone.now()
    for i in range(5):
        assert sign_in(url, "owner@example.com", "guess", f"10.1.0.{i}") == "INVALID_CREDENTIALS"
    assert sign_in(url, "owner@example.com", PASSWORD, "10.0.0.7") == "LOGIN_THROTTLED"
    now = start
    for round_ in range(12):  # far past the cap: delays 2, 4, ... 60, 60 ...
        now += timedelta(seconds=61)
        with freeze_time(now):
            assert sign_in(url, "owner@example.com", "guess", f"10.2.{round_}.1") == "INVALID_CREDENTIALS"
    with freeze_time(now + timedelta(seconds=30)):
        assert sign_in(url, "owner@example.com", PASSWORD, "10.0.0.7") == "LOGIN_THROTTLED"
    with freeze_time(now + timedelta(seconds=61)):
        assert sign_in(url, "owner@example.com", PASSWORD, "10.0.0.7") == "OK"


def test_forwarded_for_counts_only_behind_a_trusted_proxy(limits, user_factory):
    user_factory("owner@example.com")
    limits.LOGIN_THROTTLE_PER_CLIENT = 3
    for i in range(3):
        # A client rotating X-Forwarded-For itself: without TRUSTED_PROXY the header is ignored.
        sign_in(CORE_URL, f"u{i}@example.com", "x", "10.0.0.66", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert sign_in(CORE_URL, "owner@example.com", PASSWORD, "10.0.0.66", HTTP_X_FORWARDED_FOR="192.0.2.9") == (
        "LOGIN_THROTTLED"
    )
    limits.TRUSTED_PROXY = True
    # Behind the proxy (one REMOTE_ADDR for everyone), the first hop is the client.
    for i in range(3):
        sign_in(CORE_URL, f"u{i}@example.com", "x", "10.9.9.9", HTTP_X_FORWARDED_FOR=f"198.51.100.1, 10.9.9.9")
    assert sign_in(CORE_URL, "owner@example.com", PASSWORD, "10.9.9.9", HTTP_X_FORWARDED_FOR="198.51.100.1") == (
        "LOGIN_THROTTLED"
    )
    assert sign_in(CORE_URL, "owner@example.com", PASSWORD, "10.9.9.9", HTTP_X_FORWARDED_FOR="198.51.100.2") == "OK"


class CountingHasher(MD5PasswordHasher):
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@BOTH
def test_unknown_and_known_emails_cost_the_same_hashing(url, settings, user_factory):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    user_factory("known@example.com")
    work = {}
    for email in ("known@example.com", "unknown@example.com"):
        CountingHasher.calls = 0
        assert sign_in(url, email, "wrong-password") == "INVALID_CREDENTIALS"
        work[email] = CountingHasher.calls
    assert work["known@example.com"] == work["unknown@example.com"] == 1


def admin_login(client, email, password, address="10.0.0.1"):
    client.get("/admin/login/", REMOTE_ADDR=address)
    return client.post(
        "/admin/login/?next=/admin/", {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_admin_login_is_throttled_by_the_same_rules(limits, staff_factory):
    staff_factory(email="staff@example.com")
    attacker = Client()
    for i in range(5):
        response = admin_login(attacker, "staff@example.com", f"guess-{i}", "10.0.0.66")
        assert response.status_code == 200 and b"correct email" in response.content.lower()
    refused = admin_login(attacker, "staff@example.com", PASSWORD, "10.0.0.66")
    assert refused.status_code == 200
    assert re.search(rb"Too many failed sign-in attempts", refused.content)
    # API failures and admin failures are one count: the API refuses this address too.
    assert sign_in(CORE_URL, "staff@example.com", PASSWORD, "10.0.0.66") == "LOGIN_THROTTLED"
    with freeze_time(timezone.now() + timedelta(seconds=3)):
        owner = admin_login(Client(), "staff@example.com", PASSWORD, "10.0.0.7")
    assert owner.status_code == 302 and owner["Location"] == "/admin/"


def test_admin_login_of_an_unknown_email_looks_like_a_wrong_password(limits, staff_factory):
    staff_factory(email="staff@example.com")
    known = admin_login(Client(), "staff@example.com", "wrong-password")
    unknown = admin_login(Client(), "nobody@example.com", "wrong-password")
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(rb"csrfmiddlewaretoken\" value=\"[^\"]+\"|name=\"username\"[^>]*")
    assert strip.sub(b"", known.content) == strip.sub(b"", unknown.content)


@BOTH
def test_account_emails_to_one_address_are_capped(url, settings, mailbox, user_factory):
    settings.ACCOUNT_EMAILS_PER_ADDRESS = 2
    settings.AUTH_OPERATIONS_PER_REQUEST = 10
    user_factory("victim@example.com")
    with mailbox.capture():
        for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
            data = post(url, 'mutation { passwordResetRequest(email: "victim@example.com") { errors { code } } }',
                        address=address)
            assert data["data"]["passwordResetRequest"]["errors"] == []
    assert len(mailbox.outbox) == 2


@BOTH
def test_account_email_requests_per_client_are_limited(url, settings, mailbox):
    settings.ACCOUNT_EMAIL_REQUESTS_PER_CLIENT = 2
    codes = []
    with mailbox.capture():
        for i in range(3):
            data = post(url, 'mutation { passwordResetRequest(email: "x%d@example.com") { errors { code } } }' % i)
            codes.append([e["code"] for e in data["data"]["passwordResetRequest"]["errors"]])
    assert codes == [[], [], ["LOGIN_THROTTLED"]]
