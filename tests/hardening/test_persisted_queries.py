"""Automatic persisted queries on both APIs (backend/graphql/core/persisted_queries.py).

The Apollo convention: a hash the server does not know answers PersistedQueryNotFound; the
client then sends the document with its hash once, and from then on the hash alone (by POST or
by GET) runs the document. A hash that is not the document's is refused; the query limits apply
to a persisted document as to a sent one.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

import pytest
from backend.graphql.core import persisted_queries

from ..catalog.helpers import build_catalog, listed_product, merchant
from ..graphql_client import CORE_URL, STOREFRONT_URL

pytestmark = pytest.mark.django_db

STOREFRONT_QUERY = "query Names($first: Int) { products(first: $first) { edges { node { name } } } }"
CORE_QUERY = "query Kind { kind: __typename }"


@pytest.fixture(autouse=True)
def empty_store():
    """The shared cache is emptied for every test (tests/conftest.py); the worker's copy here."""
    persisted_queries.local_copy.clear()
    yield
    persisted_queries.local_copy.clear()


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(query_hash: str, version=1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": query_hash}}


def post(client, url: str, body: dict):
    response = client.post(url, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def codes(body: dict) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


@pytest.fixture
def listed():
    vendor, owner = merchant(name="West Lake Tea", slug="west-lake-tea")
    return listed_product(vendor, owner, build_catalog()["tshirts"], name="龙井 Longjing")


@pytest.mark.parametrize(
    ("url", "query", "variables"),
    [(STOREFRONT_URL, STOREFRONT_QUERY, {"first": 5}), (CORE_URL, CORE_QUERY, {})],
    ids=["storefront", "core"],
)
def test_an_unknown_hash_is_not_found_then_registered_then_run_from_its_hash(client, url, query, variables):
    key = sha(query)
    _status, body = post(client, url, {"extensions": apq(key), "variables": variables})
    assert codes(body) == [persisted_queries.NOT_FOUND]
    assert body["errors"][0]["message"] == "PersistedQueryNotFound"

    _status, registered = post(client, url, {"query": query, "extensions": apq(key), "variables": variables})
    assert "errors" not in registered, registered

    # Another worker has no copy of its own: the shared cache answers.
    persisted_queries.local_copy.clear()
    status, again = post(client, url, {"extensions": apq(key), "variables": variables})
    assert status == 200 and again == registered


def test_the_storefront_runs_a_persisted_query_by_get_with_its_variables(client, listed):
    key = sha(STOREFRONT_QUERY)
    post(client, STOREFRONT_URL, {"query": STOREFRONT_QUERY, "extensions": apq(key), "variables": {"first": 5}})
    params = urlencode({"extensions": json.dumps(apq(key)), "variables": json.dumps({"first": 5})})
    response = client.get(f"{STOREFRONT_URL}?{params}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert [e["node"]["name"] for e in response.json()["data"]["products"]["edges"]] == ["龙井 Longjing"]


def test_the_core_api_runs_a_persisted_query_by_get(client):
    key = sha(CORE_QUERY)
    post(client, CORE_URL, {"query": CORE_QUERY, "extensions": apq(key)})
    response = client.get(f"{CORE_URL}?{urlencode({'extensions': json.dumps(apq(key))})}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["data"] == {"kind": "Query"}


@pytest.mark.parametrize("url", [STOREFRONT_URL, CORE_URL], ids=["storefront", "core"])
def test_a_hash_that_is_not_the_documents_is_refused_and_nothing_is_stored(client, url):
    wrong = sha("query Other { __typename }")
    _status, body = post(client, url, {"query": "query Shop { __typename }", "extensions": apq(wrong)})
    assert codes(body) == [persisted_queries.HASH_MISMATCH] and body.get("data") is None
    _status, lookup = post(client, url, {"extensions": apq(wrong)})
    assert codes(lookup) == [persisted_queries.NOT_FOUND]


@pytest.mark.parametrize(
    ("extensions", "code"),
    [
        (apq(sha(CORE_QUERY), version=2), persisted_queries.NOT_SUPPORTED),
        ({"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}}, persisted_queries.INVALID),
        ({"persistedQuery": "yes"}, persisted_queries.NOT_SUPPORTED),
    ],
)
@pytest.mark.parametrize("url", [STOREFRONT_URL, CORE_URL], ids=["storefront", "core"])
def test_malformed_persisted_query_extensions_answer_a_coded_error(client, url, extensions, code):
    _status, body = post(client, url, {"extensions": extensions})
    assert codes(body) == [code]


def test_a_persisted_document_is_held_to_the_query_limits(client, settings):
    settings.GRAPHQL_QUERY_MAX_ALIASES = 3
    query = "query Many { " + " ".join(f"a{i}: __typename" for i in range(5)) + " }"
    key = sha(query)
    _status, first = post(client, STOREFRONT_URL, {"query": query, "extensions": apq(key)})
    assert codes(first) == ["TOO_MANY_ALIASES"], first
    _status, again = post(client, STOREFRONT_URL, {"extensions": apq(key)})
    assert codes(again) == codes(first)


def test_long_documents_run_but_are_not_kept(client, settings):
    settings.PERSISTED_QUERY_MAX_LENGTH = 20
    key = sha(STOREFRONT_QUERY)
    _status, body = post(client, STOREFRONT_URL, {"query": STOREFRONT_QUERY, "extensions": apq(key), "variables": {"first": 1}})
    assert "errors" not in body
    _status, lookup = post(client, STOREFRONT_URL, {"extensions": apq(key), "variables": {"first": 1}})
    assert codes(lookup) == [persisted_queries.NOT_FOUND]


def test_persisted_queries_can_be_switched_off(client, settings):
    settings.PERSISTED_QUERIES_ENABLED = False
    _status, body = post(client, STOREFRONT_URL, {"query": STOREFRONT_QUERY, "extensions": apq(sha(STOREFRONT_QUERY))})
    assert codes(body) == [persisted_queries.NOT_SUPPORTED]


def test_the_projects_own_messages_are_translated_and_apollos_are_not(client):
    response = client.post(
        STOREFRONT_URL, json.dumps({"extensions": apq(sha(CORE_QUERY), version=2)}),
        content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )
    assert response.json()["errors"][0]["message"] == "不支持的持久化查询版本；请使用版本 1。"
    response = client.post(
        STOREFRONT_URL, json.dumps({"extensions": apq(sha(CORE_QUERY))}),
        content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"
