"""Browser clients: CORS for the storefront API from configured origins only, and both APIs
refusing cross-site simple requests (backend/graphql/core/csrf_prevention.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from graphql_relay import to_global_id

from backend.accounts.models import User

from ..conftest import image_bytes
from ..factories import vendor_with_owner
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com"
ELSEWHERE = "https://attacker.example.net"
REGISTER = (
    'mutation { accountRegister(input: {email: "victim@example.com", password: "Correct-Horse-42"}) '
    "{ user { email } errors { code } } }"
)


@pytest.fixture
def shop_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [SHOP]


def preflight(url: str, origin: str, headers: str = "authorization,content-type"):
    return Client().options(
        url, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST", HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers
    )


def post_json(url: str, query: str, **headers):
    return Client().post(url, json.dumps({"query": query}), content_type="application/json", **headers)


# --- CORS on the storefront ---


def test_no_origin_is_allowed_by_default():
    response = preflight(STOREFRONT_URL, SHOP)
    assert "access-control-allow-origin" not in response.headers
    response = post_json(STOREFRONT_URL, "{ __typename }", HTTP_ORIGIN=SHOP)
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


def test_a_configured_origin_may_call_the_storefront(shop_origin):
    response = preflight(STOREFRONT_URL, SHOP)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert {m.strip() for m in response.headers["access-control-allow-methods"].split(",")} == {"GET", "OPTIONS", "POST"}
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "access-control-allow-credentials" not in response.headers  # bearer tokens, no cookies

    response = post_json(STOREFRONT_URL, "{ categories { id } }", HTTP_ORIGIN=SHOP)
    assert response.status_code == 200 and response.json() == {"data": {"categories": []}}
    assert response.headers["access-control-allow-origin"] == SHOP


def test_errors_carry_the_cors_headers_too(shop_origin):
    response = Client().post(STOREFRONT_URL, b"{not json", content_type="application/json", HTTP_ORIGIN=SHOP)
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == SHOP


def test_other_origins_get_no_cors_headers(shop_origin):
    assert "access-control-allow-origin" not in preflight(STOREFRONT_URL, ELSEWHERE).headers
    response = post_json(STOREFRONT_URL, "{ __typename }", HTTP_ORIGIN=ELSEWHERE)
    assert "access-control-allow-origin" not in response.headers


def test_the_core_api_gets_no_cors_headers_even_for_a_configured_origin(shop_origin):
    assert "access-control-allow-origin" not in preflight(CORE_URL, SHOP).headers
    response = post_json(CORE_URL, "{ __typename }", HTTP_ORIGIN=SHOP)
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


def test_allowed_origins_come_from_the_environment():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "DJANGO_SETTINGS_MODULE": "backend.settings",
           "CORS_ALLOWED_ORIGINS": f"{SHOP}, https://m.shop.example.com"}
    script = "from django.conf import settings; print(settings.CORS_ALLOWED_ORIGINS, settings.CORS_URLS_REGEX)"
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"['{SHOP}', 'https://m.shop.example.com'] ^/storefront/graphql/$"


# --- both APIs refuse cross-site simple requests ---


def refused(response) -> bool:
    return response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "CROSS_SITE_REQUEST_REFUSED"


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
@pytest.mark.parametrize(
    "body, content_type",
    [
        ({"query": REGISTER}, "application/x-www-form-urlencoded"),
        (json.dumps({"query": REGISTER}), "text/plain"),
        (json.dumps({"query": REGISTER}), "text/plain; charset=utf-8"),
        ({"operations": json.dumps({"query": REGISTER}), "map": "{}"}, "multipart/form-data"),
    ],
)
def test_cross_site_simple_posts_are_refused_and_change_nothing(url, body, content_type):
    client = Client()
    if content_type == "multipart/form-data":
        response = client.post(url, body, HTTP_ORIGIN=ELSEWHERE)
    elif content_type == "application/x-www-form-urlencoded":
        response = client.post(url, urlencode(body), content_type=content_type, HTTP_ORIGIN=ELSEWHERE)
    else:
        response = client.post(url, body, content_type=content_type, HTTP_ORIGIN=ELSEWHERE)
    assert refused(response), response.content
    assert not User.objects.exists()


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_a_post_without_content_type_is_refused(url):
    client = Client()
    response = client.generic("POST", url, json.dumps({"query": REGISTER}).encode(), content_type="")
    assert refused(response)
    assert not User.objects.exists()


def test_a_form_post_with_an_empty_preflight_header_is_refused():
    response = Client().post(CORE_URL, {"query": REGISTER}, HTTP_APOLLO_REQUIRE_PREFLIGHT="  ")
    assert refused(response)


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_json_posts_are_served(url):
    response = post_json(url, REGISTER, HTTP_ORIGIN=ELSEWHERE)
    assert response.status_code == 200
    # accountRegister answers the same for every address (user is always null); the account exists.
    assert response.json()["data"]["accountRegister"] == {"user": None, "errors": []}
    assert User.objects.filter(email="victim@example.com").exists()


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
@pytest.mark.parametrize(
    "header", ["HTTP_APOLLO_REQUIRE_PREFLIGHT", "HTTP_X_APOLLO_OPERATION_NAME", "HTTP_X_REQUESTED_WITH"]
)
def test_anonymous_multipart_with_a_preflight_header_is_served(url, header):
    body = {"operations": json.dumps({"query": REGISTER}), "map": "{}"}
    response = Client().post(url, body, **{header: "true"})
    assert response.status_code == 200, response.content
    assert response.json()["data"]["accountRegister"]["errors"] == []
    assert User.objects.filter(email="victim@example.com").exists()


def test_multipart_upload_with_the_bearer_token_is_served(media_root):
    """The README's `curl -F` examples: a signed-in upload needs no other header."""
    vendor, owner = vendor_with_owner(name="Tea House", slug="tea-house")
    query = """mutation($id: ID!, $input: VendorUpdateInput!) {
      vendorUpdate(id: $id, input: $input) { vendor { logo { format width } } errors { field code } } }"""
    variables = {"id": to_global_id("Vendor", vendor.pk), "input": {"logo": None}}
    logo = SimpleUploadedFile("logo.png", image_bytes(size=(300, 300), fmt="PNG"), content_type="image/png")
    body = {"operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps({"0": ["variables.input.logo"]}), "0": logo}
    token = GraphQLClient(CORE_URL).login(owner).token
    response = Client().post(CORE_URL, body, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ORIGIN=ELSEWHERE)
    assert response.status_code == 200, response.content
    payload = response.json()["data"]["vendorUpdate"]
    assert payload["errors"] == [] and payload["vendor"]["logo"]
    # The same upload without the token (and no other header) is refused before anything runs.
    logo.seek(0)
    assert refused(Client().post(CORE_URL, body))


def test_a_refusal_from_the_storefront_still_carries_its_cors_headers(shop_origin):
    response = Client().post(STOREFRONT_URL, {"operations": json.dumps({"query": REGISTER}), "map": "{}"}, HTTP_ORIGIN=SHOP)
    assert refused(response)
    assert response.headers["access-control-allow-origin"] == SHOP
    assert not User.objects.exists()


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_graphiql_page_is_still_served_on_get(url):
    response = Client().get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b'id="graphiql"' in response.content
