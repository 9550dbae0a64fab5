"""Served: the hostile requests of the security review, repeated against gunicorn (DEBUG off).

Each is refused with a coded error and leaves nothing changed. (Query cost limits, aliased
sign-ins and refresh-token races have their own served modules: test_query_limits.py and
test_auth_served.py.)
"""

from __future__ import annotations

import io
import json

from PIL import Image

from . import journey as j

ERRORS = j.ERRORS

PRODUCT_BY_NAME = """
query Mine($search: String!) { products(first: 5, filter: {search: $search}) { totalCount } }"""
VENDOR_LOGO = f"""
mutation Logo($id: ID!, $input: VendorUpdateInput!) {{
  vendorUpdate(id: $id, input: $input) {{ vendor {{ logo {{ url }} }} {ERRORS} }}
}}"""
STORE_LOGO = """
query Store($id: ID!) { vendor(id: $id) { logo { url } } }"""
INVITE = f"""
mutation Invite($vendor: ID!, $email: String!) {{
  vendorStaffInvite(vendor: $vendor, email: $email, role: OPERATOR) {{ invitation {{ email role status }} {ERRORS} }}
}}"""
PAYOUT_WITH_KEY = f"""
mutation PayOut($vendor: ID!, $key: String!) {{
  payoutCreate(vendor: $vendor, amount: "100.00", idempotencyKey: $key) {{
    payout {{ id amount {{ amount }} vendor {{ slug }} }} {ERRORS}
  }}
}}"""
PAYOUTS = """
query Payouts { payouts(first: 50) { edges { node { id vendor { slug } } } } }"""


def test_nul_bytes_are_refused_before_any_query_and_nothing_is_written(served, marketplace):
    tea = marketplace["tea"]
    name = j.unique("Longjing") + "\x00"
    status, body = served.graphql(
        j.PRODUCT_CREATE,
        {"input": {"category": marketplace["category"], "name": name, "description": "x",
                   "variants": [{"sku": j.unique("sku"), "price": "10.00", "stock": 1}]}},
        token=tea.owner_token,
    )
    assert status == 200 and not body.get("errors"), body
    payload = body["data"]["productCreate"]
    assert payload["product"] is None and [e["code"] for e in payload["errors"]] == ["INVALID"], payload
    mine = j.call(served, PRODUCT_BY_NAME, {"search": name.rstrip("\x00")}, token=tea.owner_token)
    assert mine["products"]["totalCount"] == 0

    for endpoint in ("core", "storefront"):
        status, body = served.graphql(
            j.ACCOUNT_REGISTER, {"input": {"email": f"nul\x00{j.unique('x')}@example.com", "password": j.PASSWORD}},
            endpoint=endpoint,
        )
        assert status == 200, body
        assert [e["code"] for e in body["data"]["accountRegister"]["errors"]] == ["INVALID"], body


def test_a_body_that_is_not_utf8_is_a_400_on_both_apis(served):
    for path in ("/graphql/", "/storefront/graphql/"):
        status, _, content = served.post(path, b'{"query": "{ __typename \xff\xfe }"}', {"Content-Type": "application/json"})
        assert status == 400, (path, content[:300])


def test_a_small_png_declaring_6000_by_6000_is_refused_and_the_logo_stays(served, marketplace):
    silk = marketplace["silk"]
    before = j.call(served, STORE_LOGO, {"id": silk.vendor_id}, token=silk.owner_token)["vendor"]["logo"]
    buffer = io.BytesIO()
    Image.new("1", (6000, 6000)).save(buffer, "PNG", optimize=True)
    bomb = buffer.getvalue()
    assert len(bomb) < 20_000
    status, body = served.graphql_multipart(
        VENDOR_LOGO, {"id": silk.vendor_id, "input": {"logo": None}},
        {"variables.input.logo": ("logo.png", bomb, "image/png")}, token=silk.owner_token,
    )
    assert status == 200 and not body.get("errors"), body
    payload = body["data"]["vendorUpdate"]
    assert [e["code"] for e in payload["errors"]] == ["IMAGE_TOO_LARGE"], payload
    after = j.call(served, STORE_LOGO, {"id": silk.vendor_id}, token=silk.owner_token)["vendor"]["logo"]
    assert after == before


def test_a_cross_site_form_post_is_refused_and_registers_nobody(served):
    email = f"{j.unique('form')}@example.com"
    query = 'mutation { accountRegister(input: {email: "%s", password: "%s"}) { errors { code } } }' % (email, j.PASSWORD)
    for path in ("/graphql/", "/storefront/graphql/"):
        status, _, content = served.post(
            path, f"query={query}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example.net"},
        )
        assert status == 400, content[:300]
        assert json.loads(content)["errors"][0]["extensions"]["code"] == "CROSS_SITE_REQUEST_REFUSED"
    # Nobody was registered: a sign-in with those credentials fails like any unknown account.
    status, body = served.graphql(j.TOKEN_CREATE, {"email": email, "password": j.PASSWORD})
    assert [e["code"] for e in body["data"]["tokenCreate"]["errors"]] == ["INVALID_CREDENTIALS"], body


def test_storefront_cors_answers_only_the_configured_origin(start_served):
    shop = start_served({"CORS_ALLOWED_ORIGINS": "https://shop.example.com"})
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = shop._session().options(shop.storefront_url, headers={"Origin": "https://shop.example.com", **preflight})
    assert allowed.headers.get("access-control-allow-origin") == "https://shop.example.com"
    other = shop._session().options(shop.storefront_url, headers={"Origin": "https://evil.example.net", **preflight})
    assert "access-control-allow-origin" not in {key.lower() for key in other.headers}
    core = shop._session().options(shop.core_url, headers={"Origin": "https://shop.example.com", **preflight})
    assert "access-control-allow-origin" not in {key.lower() for key in core.headers}


def test_staff_invitations_answer_the_same_whatever_the_email_is(served, marketplace):
    tea = marketplace["tea"]
    shopper_email = j.shopper(served)[1]
    emails = [
        f"{j.unique('nobody')}@example.com",  # no account
        j.STAFF_EMAIL,  # platform staff
        marketplace["silk"].owner_email,  # another store's owner
        shopper_email,  # a shopper
    ]
    answers = []
    for email in emails:
        payload = j.mutate(served, INVITE, {"vendor": tea.vendor_id, "email": email}, token=tea.owner_token)
        answers.append({**payload["invitation"], "email": "<email>"})
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0]["status"] == "PENDING"


def test_an_idempotency_key_never_returns_another_stores_payout(served, marketplace):
    tea, silk, staff = marketplace["tea"], marketplace["silk"], marketplace["staff"]
    for store, quantity in ((tea, 1), (silk, 2)):
        shopper_token, order = j.paid_order(served, store, quantity=quantity)
        j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=store.owner_token)
        j.mutate(served, j.CONFIRM, {"order": order["id"]}, endpoint="storefront", token=shopper_token)
    key = j.unique("march")
    squat = j.mutate(served, PAYOUT_WITH_KEY, {"vendor": silk.vendor_id, "key": key}, token=silk.owner_token)["payout"]
    own = j.mutate(served, PAYOUT_WITH_KEY, {"vendor": tea.vendor_id, "key": key}, token=tea.owner_token)["payout"]
    assert own["id"] != squat["id"] and own["vendor"]["slug"] == tea.slug and squat["vendor"]["slug"] == silk.slug
    # A retry with that key in each store finds that store's own payout.
    again = j.mutate(served, PAYOUT_WITH_KEY, {"vendor": tea.vendor_id, "key": key}, token=tea.owner_token)["payout"]
    assert again["id"] == own["id"]
    seen = j.call(served, PAYOUTS, token=tea.owner_token)["payouts"]["edges"]
    assert {edge["node"]["vendor"]["slug"] for edge in seen} == {tea.slug}
    assert squat["id"] not in {edge["node"]["id"] for edge in seen}
