"""NUL and other control characters in any text input are refused with INVALID before anything runs,
on both APIs (backend/graphql/core/hostile_input.py). The suite runs on SQLite and, in CI, on
PostgreSQL, where NUL in text used to raise an unhandled driver error."""

from __future__ import annotations

import json

import pytest
from graphql_relay import to_global_id

from django.core.cache import cache

from backend.accounts import throttle
from backend.accounts.models import User
from backend.catalog.models import Product
from backend.checkout.models import Checkout
from backend.graphql.core.hostile_input import has_forbidden_characters

from ..catalog.helpers import PRODUCT_CREATE, build_catalog, gid
from ..checkout.helpers import listing, store
from ..conftest import PASSWORD, make_user
from ..factories import vendor_with_owner
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db

HOSTILE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f", "\ud800", "\udfff"]
ALLOWED = ["\t", "\n", "\r", "中文", "é", "😀", "\u2028", " ", "\u00a0"]

ACCOUNT_REGISTER = """mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { user { id } errors { field code message } } }"""
TOKEN_CREATE = """mutation($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) { token errors { field code message } } }"""
VENDOR_UPDATE = """mutation($id: ID!, $input: VendorUpdateInput!) {
  vendorUpdate(id: $id, input: $input) { vendor { name description } errors { field code message } } }"""
CHECKOUT_CREATE = """mutation($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) { checkout { id email } errors { field code message } } }"""


def invalid(payload: dict, field: str) -> bool:
    return [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")]


def refused_query(response) -> list[dict]:
    """The top-level errors of a query refused before execution (no data)."""
    body = response.json()
    assert body.get("data") is None, body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"INVALID"}, body
    return body["errors"]


@pytest.mark.parametrize("character", HOSTILE)
def test_control_characters_and_lone_surrogates_are_forbidden(character):
    assert has_forbidden_characters(f"a{character}b")


@pytest.mark.parametrize("character", ALLOWED)
def test_tab_newline_return_and_ordinary_text_are_allowed(character):
    assert not has_forbidden_characters(f"a{character}b")


# --- productCreate (core) ---


def product_input(catalog, **overrides):
    data = {
        "category": gid(catalog["tshirts"]),
        "name": "Linen shirt",
        "description": "Breathable linen.",
        "variants": [{"sku": "LIN-S", "price": "129.00", "stock": 4, "weight": "0.250"}],
    }
    data.update(overrides)
    return data


@pytest.fixture
def merchant_api():
    vendor, owner = vendor_with_owner(name="Sunny Apparel", slug="sunny-apparel")
    return vendor, GraphQLClient(CORE_URL).login(owner)


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x7f", "\x9b"])
def test_product_create_refuses_control_characters_in_the_name(merchant_api, character):
    _vendor, api = merchant_api
    catalog = build_catalog()
    payload = api.mutate(PRODUCT_CREATE, {"input": product_input(catalog, name=f"Linen{character}shirt")})
    assert invalid(payload, "name"), payload
    assert payload["product"] is None
    assert not Product.objects.exists()


def test_product_create_refuses_them_deep_in_a_list_of_inputs(merchant_api):
    _vendor, api = merchant_api
    catalog = build_catalog()
    variants = [{"sku": "LIN-S", "price": "129.00", "stock": 4}, {"sku": "LIN-\x00M", "price": "129.00", "stock": 4}]
    payload = api.mutate(PRODUCT_CREATE, {"input": product_input(catalog, variants=variants)})
    assert invalid(payload, "sku"), payload
    assert not Product.objects.exists()


def test_product_create_refuses_them_in_a_literal_of_the_document(merchant_api):
    _vendor, api = merchant_api
    catalog = build_catalog()
    query = """mutation { productCreate(input: {category: "%s", name: "Linen\\u0000shirt",
      variants: [{sku: "LIN-S", price: "129.00", stock: 1}]}) { product { id } errors { field code } } }""" % gid(
        catalog["tshirts"]
    )
    payload = api.mutate(query)
    assert payload == {"product": None, "errors": [{"field": "name", "code": "INVALID"}]}
    assert not Product.objects.exists()


def test_product_create_keeps_tabs_and_newlines(merchant_api):
    _vendor, api = merchant_api
    catalog = build_catalog()
    payload = api.mutate(PRODUCT_CREATE, {"input": product_input(catalog, description="Line one\r\n\tLine two")})
    assert payload["errors"] == []
    assert Product.objects.get().description == "Line one\r\n\tLine two"


def test_a_refused_root_field_leaves_the_other_mutations_of_the_request_alone(merchant_api):
    _vendor, api = merchant_api
    catalog = build_catalog()
    query = """mutation($good: ProductCreateInput!, $bad: ProductCreateInput!) {
      good: productCreate(input: $good) { product { name } errors { field code } }
      bad: productCreate(input: $bad) { product { name } errors { field code } } }"""
    data = api.execute(query, {"good": product_input(catalog), "bad": product_input(catalog, name="x\x00")})
    assert data["good"] == {"product": {"name": "Linen shirt"}, "errors": []}
    assert data["bad"] == {"product": None, "errors": [{"field": "name", "code": "INVALID"}]}
    assert Product.objects.count() == 1


def test_hostile_text_below_a_mutation_field_refuses_that_field(merchant_api):
    """A forbidden character in an argument of a field below the root field (through a fragment
    here) refuses the root field before it runs."""
    _vendor, api = merchant_api
    catalog = build_catalog()
    query = """mutation($input: ProductCreateInput!, $after: String) {
      productCreate(input: $input) { ...Created errors { field code } } }
      fragment Created on ProductCreate { product { name vendor { ledger(first: 1, after: $after) { totalCount } } } }"""
    payload = api.mutate(query, {"input": product_input(catalog), "after": "\x00"})
    assert payload == {"product": None, "errors": [{"field": "after", "code": "INVALID"}]}
    assert not Product.objects.exists()
    clean = api.mutate(query, {"input": product_input(catalog), "after": None})
    assert clean["errors"] == [] and clean["product"]["name"] == "Linen shirt"


# --- vendorUpdate (core) ---


def test_vendor_update_refuses_control_characters(merchant_api):
    vendor, api = merchant_api
    payload = api.mutate(VENDOR_UPDATE, {"id": to_global_id("Vendor", vendor.pk), "input": {"description": "Tea\x1b[31m"}})
    assert invalid(payload, "description"), payload
    vendor.refresh_from_db()
    assert "\x1b" not in vendor.description
    clean = api.mutate(VENDOR_UPDATE, {"id": to_global_id("Vendor", vendor.pk), "input": {"description": "Tea\nhouse"}})
    assert clean["errors"] == [] and clean["vendor"]["description"] == "Tea\nhouse"


# --- accountRegister and tokenCreate (both APIs) ---


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
@pytest.mark.parametrize("field", ["email", "password", "firstName"])
def test_account_register_refuses_control_characters(url, field):
    account = {"email": "new@example.com", "password": "Correct-Horse-42", "firstName": "Ada"}
    account[field] = account[field][:2] + "\x00" + account[field][2:]
    payload = GraphQLClient(url).mutate(ACCOUNT_REGISTER, {"input": account})
    assert invalid(payload, field), payload
    assert payload["user"] is None
    assert not User.objects.exists()


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_token_create_refuses_control_characters_and_records_no_attempt(url):
    make_user("owner@example.com")
    api = GraphQLClient(url)
    payload = api.mutate(TOKEN_CREATE, {"email": "owner@example.com\x00", "password": PASSWORD})
    assert invalid(payload, "email") and payload["token"] is None
    payload = api.mutate(TOKEN_CREATE, {"email": "owner@example.com", "password": PASSWORD + "\x00"})
    assert invalid(payload, "password") and payload["token"] is None
    # No failed attempt counted for the email or the client address.
    assert cache.get(throttle._key("email", "owner@example.com")) is None
    assert cache.get(throttle._key("client", "127.0.0.1")) is None
    assert api.mutate(TOKEN_CREATE, {"email": "owner@example.com", "password": PASSWORD})["token"]


def test_a_lone_surrogate_in_the_json_body_is_refused():
    """JSON's \\ud800 decodes to a lone surrogate, which no database driver can encode."""
    body = '{"query": "%s", "variables": {"input": {"email": "a\\ud800@example.com", "password": "Correct-Horse-42"}}}' % (
        ACCOUNT_REGISTER.replace("\n", " ").replace('"', '\\"')
    )
    response = GraphQLClient(STOREFRONT_URL).client.post(STOREFRONT_URL, body, content_type="application/json")
    payload = response.json()["data"]["accountRegister"]
    assert invalid(payload, "email"), payload
    assert not User.objects.exists()


# --- checkoutCreate (storefront) ---


@pytest.fixture
def variant():
    vendor, _owner = store("Tea House")
    return listing(vendor, price="30.00", stock=4)


def test_checkout_create_refuses_control_characters(variant):
    api = GraphQLClient(STOREFRONT_URL)
    lines = [{"variantId": to_global_id("ProductVariant", variant.pk), "quantity": 1}]
    payload = api.mutate(CHECKOUT_CREATE, {"input": {"email": "guest\x00@example.com", "lines": lines}})
    assert invalid(payload, "email"), payload
    address = {"region": "310000", "streetAddress1": "1 Nanjing Road\x00"}
    payload = api.mutate(CHECKOUT_CREATE, {"input": {"email": "guest@example.com", "lines": lines, "shippingAddress": address}})
    assert invalid(payload, "streetAddress1"), payload
    assert not Checkout.objects.exists()
    clean = api.mutate(CHECKOUT_CREATE, {"input": {"email": "guest@example.com", "lines": lines}})
    assert clean["errors"] == [] and Checkout.objects.count() == 1


def test_an_id_with_a_nul_is_refused_too(variant):
    api = GraphQLClient(STOREFRONT_URL)
    payload = api.mutate(CHECKOUT_CREATE, {"input": {"email": "guest@example.com", "lines": [{"variantId": "\x00", "quantity": 1}]}})
    assert invalid(payload, "variantId"), payload


# --- slugs and other query arguments (both APIs) ---


@pytest.mark.parametrize(
    "url, query",
    [
        (STOREFRONT_URL, 'query { product(slug: "tea\\u0000") { id } }'),
        (STOREFRONT_URL, 'query { vendor(slug: "\\u0000") { id } }'),
        (STOREFRONT_URL, 'query { categories { id } category(slug: "a\\u001fb") { id } }'),
        (STOREFRONT_URL, 'query { products(first: 5, filter: {search: "\\u0000"}) { totalCount } }'),
        (CORE_URL, 'query { vendor(slug: "tea\\u0000") { id } }'),
        (CORE_URL, 'query { ...V } fragment V on Query { vendor(slug: "\\u0007") { id } }'),
    ],
)
def test_queries_with_control_characters_get_a_coded_error_and_no_data(url, query):
    errors = refused_query(GraphQLClient(url).raw(query))
    assert errors[0]["extensions"]["field"] in {"slug", "search"}
    assert "control characters" in errors[0]["message"]


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_query_variables_and_variable_defaults_are_checked(url):
    api = GraphQLClient(url)
    query = "query($slug: String!) { vendor(slug: $slug) { id } }"
    errors = refused_query(api.raw(query, {"slug": "tea\x00"}))
    assert errors[0]["extensions"] == {"code": "INVALID", "field": "slug"}
    errors = refused_query(api.raw('query($slug: String! = "tea\\u0000") { vendor(slug: $slug) { id } }'))
    assert errors[0]["extensions"]["field"] == "slug"
    # The same query with clean text runs (and finds nothing).
    assert api.execute(query, {"slug": "tea\ttime"}) == {"vendor": None}


def test_core_answers_400_to_a_refused_query_like_to_any_validation_error():
    response = GraphQLClient(CORE_URL).raw('query { vendor(slug: "\\u0000") { id } }')
    assert response.status_code == 400


# --- bodies that are not UTF-8 JSON ---


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
@pytest.mark.parametrize(
    "body", [b'{"query": "{ __typename \xff }"}', b"\xc3\x28", b'{"query": "\xed\xa0\x80"}', b"{not json"]
)
def test_a_body_that_is_not_utf8_json_answers_400(url, body):
    response = GraphQLClient(url).client.post(url, body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_json_bodies_still_work(url):
    response = GraphQLClient(url).client.post(url, json.dumps({"query": "{ __typename }"}), content_type="application/json")
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


# --- every mutation can answer INVALID in its payload ---


def test_every_core_mutation_can_answer_invalid_in_its_payload():
    from backend.graphql.api import schema
    from backend.graphql.core.mutations import BaseMutation

    mutation_type = schema.graphql_schema.mutation_type
    missing = []
    for name, field in mutation_type.fields.items():
        mutation = getattr(field.type, "graphene_type", None) or getattr(getattr(field.type, "of_type", None), "graphene_type", None)
        assert isinstance(mutation, type) and issubclass(mutation, BaseMutation), name
        if "INVALID" not in mutation._meta.code_enum.__members__:
            missing.append(name)
    assert missing == []


def test_every_storefront_mutation_can_answer_invalid_in_its_payload():
    from graphql import get_nullable_type

    from storefront_api.schema import schema

    missing = []
    for name, field in schema._schema.mutation_type.fields.items():
        definition = get_nullable_type(field.type).extensions["strawberry-definition"]
        errors = definition.get_field("errors")
        assert errors is not None, name
        if "INVALID" not in errors.type.of_type.__annotations__["code"].__members__:
            missing.append(name)
    assert missing == []
