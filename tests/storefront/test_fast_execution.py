"""The storefront's fast completion path (storefront_api/fast_execution.py) answers exactly what
graphql-core answers, errors included, and each root resolver still runs once per request."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from graphql import (
    ExecutionContext,
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
)

from storefront_api import fast_execution
from storefront_api.fast_execution import MISSING, FastCompletion, mark_fast

from ..catalog.helpers import build_catalog, listed_product, merchant

URL = "/storefront/graphql/"


class FastContext(FastCompletion, ExecutionContext):
    pass


# --- A schema of its own: every way a field can go wrong, on both paths ---


class Row:
    def __init__(self, **values):
        self.__dict__.update(values)


GETTER_CALLS = []


def _getter(name):
    def get(source, arguments, info):
        GETTER_CALLS.append(name)
        return source.__dict__.get(name, MISSING)

    return get


def _field(type_, name, *, fast=True, **kwargs):
    def resolve(source, info, **arguments):
        value = getattr(source, name, None)
        if isinstance(value, Exception):
            raise value
        return value

    field = GraphQLField(type_, resolve=resolve, **kwargs)
    if fast:
        mark_fast(field, _getter(name))
    return field


def _schema():
    def shout(source, arguments, info):
        return source.text.upper() * arguments.get("times", 1)

    leaf = GraphQLObjectType(
        "Leaf",
        lambda: {
            "text": _field(GraphQLString, "text"),
            "must": _field(GraphQLNonNull(GraphQLString), "must"),
            "number": _field(GraphQLInt, "number"),
            "slow": _field(GraphQLString, "text", fast=False),
        },
        is_type_of=lambda value, info: getattr(value, "kind", "leaf") == "leaf",
    )
    shouted = GraphQLField(
        GraphQLString,
        args={"times": GraphQLArgument(GraphQLInt)},
        resolve=lambda source, info, times=1: source.text.upper() * times,
    )
    mark_fast(shouted, shout)
    leaf.fields["shout"] = shouted
    node = GraphQLObjectType(
        "Node",
        lambda: {
            "name": _field(GraphQLString, "name"),
            "leaf": _field(leaf, "leaf"),
            "strict": _field(GraphQLNonNull(leaf), "leaf"),
            "leaves": _field(GraphQLList(leaf), "leaves"),
            "strictLeaves": _field(GraphQLList(GraphQLNonNull(leaf)), "leaves"),
            "tags": _field(GraphQLList(GraphQLNonNull(GraphQLString)), "tags"),
            "counts": _field(GraphQLList(GraphQLInt), "counts"),
        },
    )
    query = GraphQLObjectType("Query", {"nodes": _field(GraphQLList(node), "nodes", fast=False)})
    return GraphQLSchema(query)


SCHEMA = _schema()
DOCUMENT = parse(
    """query($times: Int) { nodes {
      name
      leaf { text must number slow shout(times: $times) __typename }
      strict { text must }
      leaves { text must }
      strictLeaves { text }
      tags
      counts
      ... on Node { name again: name }
    } }"""
)


def both(root, variables=None):
    plain = execute(SCHEMA, DOCUMENT, root, variable_values=variables)
    fast = execute(SCHEMA, DOCUMENT, root, variable_values=variables, execution_context_class=FastContext)
    shape = lambda result: (result.data, sorted((e.message, tuple(e.path or ())) for e in result.errors or ()))  # noqa: E731
    assert shape(fast) == shape(plain)
    return fast


def leaf(**values):
    return Row(**{"text": "tea", "must": "ok", "number": 3, **values})


def node(**values):
    return Row(**{"name": "n", "leaf": leaf(), "leaves": [leaf(), leaf(text="oolong")], "tags": ["a"], "counts": [1, None], **values})


def test_plain_values_are_answered_the_same():
    GETTER_CALLS.clear()
    result = both(Row(nodes=[node(), node(name="两个")]), {"times": 2})
    assert not result.errors
    assert GETTER_CALLS.count("name") == 4 and GETTER_CALLS.count("text") == 2 * (1 + 1 + 2 + 2)  # fast path taken
    assert result.data["nodes"][1]["name"] == "两个" and result.data["nodes"][0]["leaf"]["shout"] == "TEATEA"


@pytest.mark.parametrize(
    "broken",
    [
        {"leaf": leaf(must=None)},  # a non-null leaf is null: the nullable parent becomes null
        {"leaf": None},  # the strict field's object is null: the node becomes null
        {"leaves": [leaf(), None]},  # a null item of a non-null list item type
        {"leaves": [leaf(must=None)]},  # a non-null error inside a list item
        {"tags": ["a", None]},  # a null in a list of non-null strings
        {"counts": [1, "many"]},  # a value the scalar refuses
        {"number": "x"},  # not on the node: ignored
        {"leaf": Row(kind="other", text="t", must="m", number=1)},  # is_type_of says no
        {"leaves": "not a list"},
        {"name": ValueError("broken name")},  # the getter's value is an exception object: the resolver raises it
    ],
)
def test_errors_are_reported_where_graphql_core_reports_them(broken):
    result = both(Row(nodes=[node(), node(**broken)]))
    assert result.data["nodes"][0] is not None


def test_a_value_the_getter_does_not_have_is_resolved_by_graphql_core():
    missing = node()
    del missing.__dict__["name"]
    missing.__class__ = type("WithName", (Row,), {"name": "from the class"})
    result = both(Row(nodes=[missing]))
    assert result.data["nodes"][0]["name"] == "from the class" and result.data["nodes"][0]["again"] == "from the class"


# --- The storefront itself: the same answers with the fast path on and off ---


@pytest.fixture
def catalog(db):
    categories = build_catalog()
    tea_house, owner = merchant(name="West Lake Tea", slug="west-lake-tea")
    phones, phone_owner = merchant(name="华强北手机", slug="hqb-phones")
    products = [
        listed_product(tea_house, owner, categories["tshirts"], name="龙井 Longjing", price="128.00"),
        listed_product(tea_house, owner, categories["tshirts"], name="碧螺春", price="88.50"),
        listed_product(phones, phone_owner, categories["phones"], name="手机 Mate", price="4999.00", stock=0),
    ]
    return products


QUERIES = [
    (
        """query($first: Int!) { products(first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
          id name slug thumbnail { url(size: THUMBNAIL) alt width }
          priceRange { start { amount currency } stop { amount currency } }
          category { id name slug parent { name } } vendor { name slug } inStock __typename } } } }""",
        {"first": 10},
    ),
    (
        """query($slug: String!) { product(slug: $slug) {
          id name slug description inStock rating { average count }
          category { name slug parent { name slug } }
          vendor { id name slug logoUrl }
          attributes { slug name value }
          variants { id sku price { amount currency } quantityAvailable weight attributes { slug name value } }
          media { alt width height url jpeg: url(format: JPEG) }
          priceRange { start { amount } stop { amount } } } }""",
        {"slug": None},
    ),
    (
        """query { products(first: 2, filter: {search: "手机"}) { edges { node { ...card } } } }
           fragment card on Product { id name priceRange { start { amount } } thumbnail { small: url(size: THUMBNAIL) } }""",
        {},
    ),
    ("""query { categories { slug name children { slug name parent { slug } } } }""", {}),
]


def _post(client, query, variables):
    response = client.post(URL, json.dumps({"query": query, "variables": variables}), content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_the_storefront_answers_the_same_on_both_paths(catalog, monkeypatch, index):
    query, variables = QUERIES[index]
    if "slug" in variables:
        variables = {"slug": catalog[0].slug}
    client = Client()
    monkeypatch.setattr(fast_execution, "ENABLED", False)
    plain = _post(client, query, variables)
    monkeypatch.setattr(fast_execution, "ENABLED", True)
    fast = _post(client, query, variables)
    assert plain == fast
    assert plain[0] == 200 and "errors" not in plain[1], plain


def test_the_list_page_takes_the_fast_path(catalog, monkeypatch):
    executed = []
    original = FastCompletion.execute_fields

    def counting(self, parent_type, source, path, fields):
        executed.append(parent_type.name)
        return original(self, parent_type, source, path, fields)

    taken = []
    original_complete = FastCompletion._fast_complete

    def completing(self, step, parent_type, value, path):
        taken.append(f"{parent_type.name}.{step.key}")
        return original_complete(self, step, parent_type, value, path)

    monkeypatch.setattr(FastCompletion, "execute_fields", counting)
    monkeypatch.setattr(FastCompletion, "_fast_complete", completing)
    status, payload = _post(Client(), QUERIES[0][0], {"first": 10})
    assert status == 200 and len(payload["data"]["products"]["edges"]) == 3
    for field in ("Product.name", "Product.id", "Product.category", "Category.slug", "ProductEdge.node", "Money.amount"):
        assert field in taken, field
    assert taken.count("Product.name") == 3


def test_each_root_resolver_runs_once_per_request(catalog, monkeypatch):
    from storefront_api import catalog as storefront_catalog

    calls = []
    for name in ("product_viewed", "searched", "store_viewed"):
        original = getattr(storefront_catalog.analytics, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(storefront_catalog.analytics, name, counted)
    client = Client()
    _post(client, QUERIES[0][0], {"first": 10})
    assert calls == ["searched"]
    calls.clear()
    _post(client, QUERIES[1][0], {"slug": catalog[0].slug})
    assert calls == ["product_viewed"]
    calls.clear()
    _post(client, "query($slug: String!) { vendor(slug: $slug) { name slug } }", {"slug": "west-lake-tea"})
    assert calls == ["store_viewed"]


def test_money_keeps_its_decimal_string(catalog):
    status, payload = _post(Client(), QUERIES[0][0], {"first": 10})
    amounts = {edge["node"]["name"]: edge["node"]["priceRange"]["start"]["amount"] for edge in payload["data"]["products"]["edges"]}
    assert Decimal(amounts["碧螺春"]) == Decimal("88.50") and isinstance(amounts["碧螺春"], str)
