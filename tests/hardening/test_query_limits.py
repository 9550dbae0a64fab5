"""Depth, alias and cost limits on both GraphQL APIs (backend/core/query_cost.py).

Hostile documents are refused before validation and execution: a coded error in
`extensions.code`, and not one SQL statement sent.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import parse

from backend.core import query_cost
from backend.graphql.api import schema as core_schema
from storefront_api.schema import schema as storefront_schema

from ..factories import ProductFactory, vendor_with_owner
from ..graphql_client import CORE_URL, STOREFRONT_URL

pytestmark = pytest.mark.django_db

LIMITS = query_cost.QueryLimits(
    max_depth=15, max_aliases=30, max_cost=500_000, max_tokens=5_000, page_size=100, list_size=10
)


def nested_selection(levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = f"vendor {{ name products(first: 100) {{ edges {{ node {{ name {inner} }} }} }} }}"
    return inner


def nested_vendor_products(levels: int) -> str:
    """vendor -> products(first: 100) -> vendor -> products ... `levels` times (the issue's attack)."""
    return f'query Nested {{ product(slug: "x") {{ {nested_selection(levels)} }} }}'


def many_aliases(count: int, endpoint: str) -> str:
    field = "products(first: 100) { edges { node { name } } }"
    return "query Aliases { " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def deep_categories(levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = f"name parent {{ {inner} }}"
    return f'query Deep {{ category(slug: "x") {{ {inner} }} }}'


def post(client, url: str, query: str, variables=None, **extra):
    body = {"query": query, "variables": variables or {}}
    body.update(extra.pop("body", {}))
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def codes(body: dict) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


# --- the measurement ----------------------------------------------------------------------


def test_a_connection_multiplies_what_it_selects():
    one_page = query_cost.measure(
        storefront_schema._schema, parse("{ products(first: 10) { edges { node { name vendor { name } } } } }"),
        limits=LIMITS,
    )
    # products: (1 + edges (1 + node (1 + vendor 1))) x 10
    assert one_page.cost == (1 + 1 + 1 + 1) * 10
    assert one_page.depth == 5 and one_page.aliases == 0
    nested = query_cost.measure(storefront_schema._schema, parse(nested_vendor_products(2)), limits=LIMITS)
    single = query_cost.measure(storefront_schema._schema, parse(nested_vendor_products(1)), limits=LIMITS)
    assert nested.cost > 50 * single.cost


def test_page_arguments_come_from_variables_and_are_capped_at_the_page_size():
    document = parse("query($n: Int) { products(first: $n) { edges { node { name } } } }")
    small = query_cost.measure(storefront_schema._schema, document, variables={"n": 2}, limits=LIMITS)
    huge = query_cost.measure(storefront_schema._schema, document, variables={"n": 10**9}, limits=LIMITS)
    absent = query_cost.measure(storefront_schema._schema, document, variables={}, limits=LIMITS)
    assert small.cost == 3 * 2
    assert huge.cost == absent.cost == 3 * 100


def test_plain_lists_count_the_list_size_and_scalars_and_introspection_are_free():
    lists = query_cost.measure(storefront_schema._schema, parse("{ categories { name } }"), limits=LIMITS)
    assert lists.cost == 10
    scalars = query_cost.measure(storefront_schema._schema, parse("{ __typename }"), limits=LIMITS)
    assert scalars.cost == 0
    from graphql import get_introspection_query

    introspection = query_cost.measure(core_schema.graphql_schema, parse(get_introspection_query()), limits=LIMITS)
    assert introspection.cost == 0 and introspection.depth <= LIMITS.max_depth


def test_fragments_are_measured_once_however_often_they_are_spread():
    # Each fragment spreads the next one twice: 2**40 fields if expanded, measured in linear time.
    fragments = ["fragment F40 on Product { name }"]
    for level in range(39, -1, -1):
        fragments.append(f"fragment F{level} on Product {{ a{level}: name ...F{level + 1} ...F{level + 1} }}")
    document = parse("{ product(slug: \"x\") { ...F0 } } " + " ".join(fragments))
    measured = query_cost.measure(storefront_schema._schema, document, limits=LIMITS)
    assert measured.aliases > LIMITS.max_aliases


def test_cyclic_fragments_do_not_loop():
    document = parse('{ product(slug: "x") { ...A } } fragment A on Product { vendor { name } ...B } '
                     "fragment B on Product { ...A }")
    assert query_cost.measure(storefront_schema._schema, document, limits=LIMITS).depth == 3


# --- refused through both APIs, before any SQL --------------------------------------------------


HOSTILE = [
    ("storefront", STOREFRONT_URL, nested_vendor_products(4), "QUERY_TOO_COMPLEX"),
    # 500 aliases (the attack) is ~8,500 tokens: refused while read, before it is parsed.
    ("storefront", STOREFRONT_URL, many_aliases(500, "storefront"), "QUERY_TOO_COMPLEX"),
    ("storefront", STOREFRONT_URL, many_aliases(100, "storefront"), "TOO_MANY_ALIASES"),
    ("storefront", STOREFRONT_URL, deep_categories(20), "QUERY_TOO_DEEP"),
    ("core", CORE_URL, "query Children { categories { children(first: 100) { edges { node { children(first: 100) "
     "{ edges { node { children(first: 100) { edges { node { name } } } } } } } } } } }", "QUERY_TOO_COMPLEX"),
    ("core", CORE_URL, many_aliases(500, "core"), "QUERY_TOO_COMPLEX"),
    ("core", CORE_URL, many_aliases(100, "core"), "TOO_MANY_ALIASES"),
    ("core", CORE_URL, deep_categories(20), "QUERY_TOO_DEEP"),
]


@pytest.mark.parametrize(("api", "url", "query", "code"), HOSTILE, ids=[f"{h[0]}-{n}-{h[3]}" for n, h in enumerate(HOSTILE)])
def test_hostile_queries_are_refused_before_any_sql(client, api, url, query, code):
    with CaptureQueriesContext(connection) as queries:
        response = post(client, url, query)
    body = response.json()
    assert code in codes(body), body
    assert body.get("data") is None
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_refusals_say_what_was_asked_and_what_is_allowed(client):
    body = post(client, STOREFRONT_URL, many_aliases(100, "storefront")).json()
    aliases = next(e for e in body["errors"] if e["extensions"]["code"] == "TOO_MANY_ALIASES")
    assert aliases["extensions"]["aliases"] == 100 and aliases["extensions"]["maximumAliases"] == 30
    for url in (CORE_URL, STOREFRONT_URL):
        long = post(client, url, many_aliases(500, "")).json()
        assert long["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "maximumTokens": 5_000}
    # Every limit broken is reported: 500 aliases, of a deep nesting of full pages.
    inner = nested_selection(4)
    query = "query Both { " + " ".join(f'a{i}: product(slug: "x") {{ {inner} }}' for i in range(40)) + " }"
    body = post(client, STOREFRONT_URL, query).json()
    assert sorted(codes(body)) == ["QUERY_TOO_COMPLEX", "QUERY_TOO_DEEP", "TOO_MANY_ALIASES"]


def test_the_limits_come_from_settings(client, settings):
    query = "query Page { products(first: 50) { edges { node { name } } } }"
    assert "errors" not in post(client, STOREFRONT_URL, query).json()
    settings.GRAPHQL_QUERY_MAX_COST = 100
    assert codes(post(client, STOREFRONT_URL, query).json()) == ["QUERY_TOO_COMPLEX"]
    assert codes(post(client, CORE_URL, query).json()) == ["QUERY_TOO_COMPLEX"]
    settings.GRAPHQL_QUERY_MAX_COST = 500_000
    settings.GRAPHQL_QUERY_MAX_DEPTH = 3
    assert codes(post(client, STOREFRONT_URL, query).json()) == ["QUERY_TOO_DEEP"]


def test_legitimate_queries_are_answered(client):
    vendor, _owner = vendor_with_owner()
    ProductFactory(vendor=vendor, name="Teapot")
    body = post(client, STOREFRONT_URL, nested_vendor_products(1)).json()
    assert "errors" not in body, body
    page = "query Page($n: Int) { products(first: $n) { edges { node { name vendor { name } } } } }"
    assert "errors" not in post(client, STOREFRONT_URL, page, {"n": 20}).json()
    assert "errors" not in post(client, CORE_URL, "query Cats { categories { name children(first: 20) { edges { node { name } } } } }").json()


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_the_cost_is_reported_when_asked(client, url):
    query = "query Page { products(first: 7) { edges { node { name } } } }"
    silent = post(client, url, query).json()
    assert "cost" not in silent.get("extensions", {})
    by_header = post(client, url, query, HTTP_X_QUERY_COST="1").json()
    by_flag = post(client, url, query, body={"extensions": {"cost": True}}).json()
    for body in (by_header, by_flag):
        assert body["extensions"]["cost"] == {
            "requestedQueryCost": 21,
            "maximumAvailable": 500_000,
            "depth": 4,
            "maximumDepth": 15,
            "aliases": 0,
            "maximumAliases": 30,
        }
    refused = post(client, url, nested_vendor_products(4) if url == STOREFRONT_URL else deep_categories(20),
                   HTTP_X_QUERY_COST="1").json()
    assert refused["extensions"]["cost"]["depth"] > 15


@pytest.mark.parametrize("url", [CORE_URL, STOREFRONT_URL])
def test_introspection_is_on_by_default_and_can_be_turned_off(client, settings, url):
    query = "query Types { __schema { queryType { name } } }"
    assert "errors" not in post(client, url, query).json()
    settings.GRAPHQL_INTROSPECTION = False
    body = post(client, url, query).json()
    assert body.get("data") is None and "introspection" in body["errors"][0]["message"].lower()
    # Ordinary queries are unaffected, __typename included.
    assert "errors" not in post(client, url, "query Name { __typename }").json()


def test_the_token_limit_reads_no_further_than_it_needs():
    limits = LIMITS
    assert query_cost.too_many_tokens("{ " + "a " * 4_990 + "}", limits) is None
    assert query_cost.too_many_tokens("{ " + "a " * 5_000 + "}", limits).extensions["code"] == "QUERY_TOO_COMPLEX"
    # Text that does not lex is left to the parser's own error; so is anything not a string.
    assert query_cost.too_many_tokens('{ "' + "a" * 6_000, limits) is None
    assert query_cost.too_many_tokens(None, limits) is None


def test_the_kept_measure_follows_the_page_variables_and_the_language(client, settings):
    """The storefront keeps a document's measure per text, operation and integer variables: the
    same text with a bigger page costs more, and a refusal is worded in each request's language."""
    page = "query Page($n: Int) { products(first: $n) { edges { node { name } } } }"
    small = post(client, STOREFRONT_URL, page, {"n": 2}, HTTP_X_QUERY_COST="1").json()
    large = post(client, STOREFRONT_URL, page, {"n": 90}, HTTP_X_QUERY_COST="1").json()
    again = post(client, STOREFRONT_URL, page, {"n": 2}, HTTP_X_QUERY_COST="1").json()
    assert small["extensions"]["cost"]["requestedQueryCost"] == again["extensions"]["cost"]["requestedQueryCost"] == 6
    assert large["extensions"]["cost"]["requestedQueryCost"] == 270
    settings.GRAPHQL_QUERY_MAX_COST = 100  # the limits are part of the key
    assert codes(post(client, STOREFRONT_URL, page, {"n": 90}).json()) == ["QUERY_TOO_COMPLEX"]
    assert "errors" not in post(client, STOREFRONT_URL, page, {"n": 2}).json()
    english = post(client, STOREFRONT_URL, page, {"n": 90}).json()["errors"][0]["message"]
    chinese = post(client, STOREFRONT_URL, page, {"n": 90}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["errors"][0]["message"]
    assert english != chinese
