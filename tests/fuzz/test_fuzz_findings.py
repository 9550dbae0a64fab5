"""Regression tests for what the GraphQL fuzzer found, one per class of bug. Each request here used
to end in a top-level error raised out of a resolver; now it answers a page, null or a payload
error with a code."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from graphql_relay import to_global_id

from backend.catalog.models import ListingStatus
from backend.core.permissions import PlatformPermission
from backend.graphql.core.middleware import page_arguments
from storefront_api.core import UNRESOLVABLE_ID

from ..conftest import image_bytes
from ..factories import ProductFactory, ProductVariantFactory, VendorFactory, vendor_with_owner
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient, error_codes

pytestmark = pytest.mark.django_db


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MALFORMED_IDS = [
    "f",  # not base64
    "UHJvZHVjdDox=====",  # bad padding
    b64("Product"),  # no type separator
    "8J+YgA==",  # base64 of an emoji
    base64.b64encode(b"\xff\xfe:1").decode(),  # not UTF-8 inside
]


@pytest.fixture
def staff_api(superuser):
    return GraphQLClient(CORE_URL).login(superuser)


# --- Core API: page arguments of every connection (graphene-django raised on them) ---------------

VENDORS = """
query($first: Int, $last: Int, $offset: Int, $before: String, $after: String) {
  vendors(first: $first, last: $last, offset: $offset, before: $before, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { slug } }
  }
}"""


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"first": 500}, ["store-a", "store-b", "store-c"]),  # above the limit: cut to it
        ({"last": 500}, ["store-a", "store-b", "store-c"]),
        ({"first": -3}, []),  # a negative page is empty
        ({"last": -3}, []),
        ({"offset": -5, "first": 2}, ["store-a", "store-b"]),  # a negative offset is none
        ({"offset": 1, "before": b64("arrayconnection:2")}, ["store-b"]),  # offset with before
        ({"offset": 1, "after": "garbage", "first": 1}, ["store-b"]),
        ({"after": b64("arrayconnection:-9"), "first": 1}, ["store-a"]),  # negative cursors ignored
        ({"before": b64("arrayconnection:-9")}, ["store-a", "store-b", "store-c"]),
    ],
)
def test_core_connections_serve_any_page_arguments(staff_api, arguments, expected):
    for slug in ("store-a", "store-b", "store-c"):
        VendorFactory(slug=slug, name=slug)
    data = staff_api.execute(VENDORS, arguments)["vendors"]
    assert [edge["node"]["slug"] for edge in data["edges"]] == expected
    assert data["totalCount"] == 3


def test_page_arguments_cut_pages_to_the_limit():
    assert page_arguments({"first": 1000, "last": -1}, max_limit=2) == {"first": 2, "last": 0}


def test_page_arguments_turn_an_offset_into_the_cursor_it_stands_for():
    assert page_arguments({"offset": 3, "first": 1}, max_limit=100)["after"] == b64("arrayconnection:2")
    after = b64("arrayconnection:4")
    assert page_arguments({"offset": 3, "after": after}, max_limit=100)["after"] == b64("arrayconnection:7")
    assert "offset" not in page_arguments({"offset": 0}, max_limit=100)


# --- Core API: node(id) (graphene's node field raised on anything it could not resolve) ---------

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


@pytest.mark.parametrize(
    "global_id",
    [
        *MALFORMED_IDS,
        b64("NoSuchType:1"),
        b64("Money:1"),  # a type of the schema that is not a Node
        b64("Product:abc"),  # a key the type cannot hold
        b64("Product:99999999999999999999999"),  # past a 64-bit integer
        b64("Product:"),
        b64("Product:424242"),  # missing
    ],
)
def test_node_answers_null_for_ids_it_cannot_resolve(staff_api, global_id):
    assert staff_api.execute(NODE, {"id": global_id}) == {"node": None}


def test_node_resolves_through_the_types_visibility_rule(core_api):
    vendor, owner = vendor_with_owner()
    draft = ProductFactory(vendor=vendor, status=ListingStatus.DRAFT)
    product_id = to_global_id("Product", draft.pk)
    core_api.login(owner)
    assert core_api.execute(NODE, {"id": product_id}) == {"node": {"__typename": "Product", "id": product_id}}
    _, rival = vendor_with_owner()
    core_api.login(rival)  # another merchant's draft looks missing
    assert core_api.execute(NODE, {"id": product_id}) == {"node": None}


# --- Storefront: malformed global IDs (strawberry decoded them inside the resolver) -------------


@pytest.mark.parametrize("global_id", [*MALFORMED_IDS, 12345])
def test_storefront_queries_answer_null_for_malformed_ids(storefront_api, shopper, global_id):
    storefront_api.login(shopper)
    data = storefront_api.execute(
        "query($id: ID!) { order(id: $id) { id } dispute(id: $id) { id } checkout(id: $id) { id } }",
        {"id": global_id},
    )
    assert data == {"order": None, "dispute": None, "checkout": None}


@pytest.mark.parametrize("global_id", MALFORMED_IDS)
def test_storefront_mutations_answer_not_found_for_malformed_ids(storefront_api, shopper, global_id):
    storefront_api.login(shopper)
    # Top-level argument, and an ID inside an input list.
    payload = storefront_api.mutate(
        'mutation($id: ID!) { orderConfirmReceipt(id: $id) { order { id } errors { field code } } }',
        {"id": global_id},
    )
    assert payload == {"order": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    payload = storefront_api.mutate(
        "mutation($lines: [CheckoutLineInput!]!) {"
        "  checkoutCreate(input: {lines: $lines}) { checkout { id } errors { field code } } }",
        {"lines": [{"variantId": global_id, "quantity": 1}]},
    )
    assert payload["checkout"] is None
    assert error_codes(payload) == ["NOT_FOUND"]


def test_storefront_filters_with_malformed_ids_match_nothing(storefront_api):
    vendor, _ = vendor_with_owner()
    ProductVariantFactory(product=ProductFactory(vendor=vendor, status=ListingStatus.PUBLISHED))
    data = storefront_api.execute(
        'query { products(filter: {category: "f", vendor: "UHJvZHVjdDox====="}) { totalCount } }'
    )
    assert data == {"products": {"totalCount": 0}}
    assert storefront_api.execute("{ products { totalCount } }") == {"products": {"totalCount": 1}}


def test_the_unresolvable_id_is_a_well_formed_id_of_no_type():
    from strawberry.relay import GlobalID

    assert GlobalID.from_id(UNRESOLVABLE_ID) == GlobalID(type_name="", node_id="")


# --- Storefront: page arguments (strawberry raised on them) --------------------------------------

STOREFRONT_PRODUCTS = """
query($first: Int, $last: Int, $after: String, $before: String) {
  products(first: $first, last: $last, after: $after, before: $before) {
    totalCount edges { node { slug } }
  }
}"""


@pytest.mark.parametrize(
    ("arguments", "count"),
    [
        ({"first": 500}, 3),
        ({"last": 500}, 3),
        ({"first": -1}, 0),
        ({"last": -1}, 0),
        ({"last": 0}, 0),  # strawberry alone serves every item for it
        ({"after": "fees"}, 3),  # not base64: ignored
        ({"after": b64("arrayconnection:x")}, 3),
        ({"after": b64("arrayconnection:-4")}, 3),
        ({"before": b64("other:1")}, 3),
        ({"after": b64("arrayconnection:0")}, 2),  # a real cursor still pages
    ],
)
def test_storefront_connections_serve_any_page_arguments(storefront_api, arguments, count):
    vendor, _ = vendor_with_owner()
    for _ in range(3):
        ProductVariantFactory(product=ProductFactory(vendor=vendor, status=ListingStatus.PUBLISHED))
    data = storefront_api.execute(STOREFRONT_PRODUCTS, arguments)["products"]
    assert data["totalCount"] == 3
    assert len(data["edges"]) == count


# --- Uploads: text where a file belongs (the resolver got an AST node or a string) ----------------


def test_core_upload_given_inline_is_an_unsupported_file(core_api):
    vendor, owner = vendor_with_owner()
    product = ProductFactory(vendor=vendor)
    core_api.login(owner)
    payload = core_api.mutate(
        'mutation($product: ID!) { productMediaCreate(product: $product, image: "photo.png") {'
        "  media { id } errors { field code } } }",
        {"product": to_global_id("Product", product.pk)},
    )
    assert payload == {"media": None, "errors": [{"field": "image", "code": "UNSUPPORTED_FILE_TYPE"}]}
    # A variable holding text instead of a mapped file is refused the same way.
    payload = core_api.mutate(
        "mutation($product: ID!, $image: Upload!) { productMediaCreate(product: $product, image: $image) {"
        "  media { id } errors { field code } } }",
        {"product": to_global_id("Product", product.pk), "image": "photo.png"},
    )
    assert error_codes(payload) == ["UNSUPPORTED_FILE_TYPE"]
    # A real file still goes through.
    upload = SimpleUploadedFile("p.png", image_bytes(), content_type="image/png")
    payload = core_api.mutate(
        "mutation($product: ID!, $image: Upload!) { productMediaCreate(product: $product, image: $image) {"
        "  media { id } errors { field code } } }",
        {"product": to_global_id("Product", product.pk), "image": None},
        files={"variables.image": upload},
    )
    assert payload["errors"] == [] and payload["media"]["id"]


def test_check_image_refuses_what_is_not_a_file():
    from backend.core.exceptions import DomainError
    from backend.core.uploads import check_document, check_image

    for value in ("photo.png", b"bytes", 12, None):
        for check in (check_image, check_document):
            with pytest.raises(DomainError) as caught:
                check(value)
            assert caught.value.code.name == "UNSUPPORTED_FILE_TYPE"


# --- Vendor statements of a year no date can hold -------------------------------------------------


@pytest.mark.parametrize("year", [-36, 0, 10_000, 2_000_000_000, 1999])
def test_statements_of_a_year_without_any_are_empty(core_api, year):
    vendor, owner = vendor_with_owner()
    core_api.login(owner)
    data = core_api.execute(
        "query($id: ID!, $year: Int) { node(id: $id) { ... on Vendor { statements(year: $year) { from } } } }",
        {"id": to_global_id("Vendor", vendor.pk), "year": year},
    )
    statements = data["node"]["statements"]
    assert statements == ([] if year else statements)  # 0 means "this year", like null


def test_statements_of_this_year_are_still_listed(core_api, staff_factory):
    vendor, _ = vendor_with_owner()
    core_api.login(staff_factory(PlatformPermission.MANAGE_FINANCE))
    data = core_api.execute(
        "query($id: ID!) { node(id: $id) { ... on Vendor { statements { from } } } }",
        {"id": to_global_id("Vendor", vendor.pk)},
    )
    assert len(data["node"]["statements"]) >= 1


# --- Decimal inputs: non-finite and oversized amounts -----------------------------------------


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "sNaN", "Infinity"])
def test_storefront_decimals_must_be_finite(storefront_api, value):
    response = storefront_api.raw(
        "query($price: Decimal) { products(filter: {priceGte: $price}) { totalCount } }", {"price": value}
    )
    errors = response.json()["errors"]
    assert errors and all("path" not in error for error in errors)  # refused before any resolver
    assert "cannot represent a Decimal" in errors[0]["message"]
    literal = storefront_api.raw('{ products(filter: {priceLte: "%s"}) { totalCount } }' % value).json()
    assert literal["errors"] and "path" not in literal["errors"][0]


def test_storefront_decimal_filters_still_take_amounts(storefront_api):
    data = storefront_api.execute('{ products(filter: {priceGte: "0.50", priceLte: 100}) { totalCount } }')
    assert data == {"products": {"totalCount": 0}}


@pytest.mark.parametrize("amount", ["1e20", "99999999999999999999999999.99", "1E+400", "10000000000"])
def test_amounts_beyond_the_columns_are_invalid(core_api, amount):
    vendor, owner = vendor_with_owner()
    core_api.login(owner)
    payload = core_api.mutate(
        "mutation($vendor: ID!, $amount: Decimal) { vendorDepositTopUp(vendor: $vendor, amount: $amount) {"
        "  payment { id } errors { field code message } } }",
        {"vendor": to_global_id("Vendor", vendor.pk), "amount": amount},
    )
    assert payload["payment"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("amount", "INVALID")]


def test_parse_amount_bounds():
    from backend.core.money import MAX_AMOUNT, parse_amount

    assert parse_amount("9999999999.99", "CNY") == MAX_AMOUNT - Decimal("0.01")
    for value in ("1e10", "-1e10", "1E+400", "NaN"):
        with pytest.raises(ValueError):
            parse_amount(value, "CNY")


# --- Text longer than its column, and duplicates (PostgreSQL raised DataError/IntegrityError) ---

LONG = "长" * 300


def test_account_register_refuses_text_longer_than_its_columns(core_api):
    document = (
        "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) { user { id } errors { field code } } }"
    )
    for field, value in (("email", "a" * 250 + "@example.com"), ("firstName", LONG), ("lastName", LONG)):
        values = {"email": "new@example.com", "password": "Correct-Horse-42", field: value}
        payload = core_api.mutate(document, {"input": values})
        assert payload == {"user": None, "errors": [{"field": field, "code": "INVALID"}]}


def test_token_create_with_an_overlong_email_is_wrong_credentials(storefront_api):
    payload = storefront_api.mutate(
        "mutation($email: String!) { tokenCreate(email: $email, password: \"x\") { token errors { code } } }",
        {"email": "a" * 300 + "@example.com"},
    )
    assert payload == {"token": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}


def test_permission_group_names_are_checked_on_create_and_update(staff_api):
    create = "mutation($name: String!) { permissionGroupCreate(name: $name, permissions: []) { group { id } errors { field code } } }"
    update = "mutation($id: ID!, $name: String) { permissionGroupUpdate(id: $id, name: $name) { group { name } errors { field code } } }"
    assert staff_api.mutate(create, {"name": LONG})["errors"] == [{"field": "name", "code": "INVALID"}]
    first = staff_api.mutate(create, {"name": "Reviewers"})["group"]["id"]
    staff_api.mutate(create, {"name": "Arbiters"})
    # Renaming onto another group's name raised an IntegrityError.
    assert staff_api.mutate(update, {"id": first, "name": "Arbiters"})["errors"] == [{"field": "name", "code": "UNIQUE"}]
    assert staff_api.mutate(update, {"id": first, "name": LONG})["errors"] == [{"field": "name", "code": "INVALID"}]
    assert staff_api.mutate(update, {"id": first, "name": "Reviewers"}) == {"group": {"name": "Reviewers"}, "errors": []}
