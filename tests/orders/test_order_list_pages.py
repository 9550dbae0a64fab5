"""A store's order list pages without COUNT(*): totalCount is counted only when the query selects it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ..checkout.helpers import complete, listing, ready_checkout, store

pytestmark = pytest.mark.django_db

PAGE = """query($first: Int, $after: String) { orders(first: $first, after: $after) {
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { email } } } }"""
COUNTED = """query($first: Int, $after: String) { orders(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage } edges { node { email } } } }"""


@pytest.fixture
def shop(db):
    vendor, owner = store("Tea House")
    variant = listing(vendor, price="20.00", stock=20)
    for number in range(3):
        complete(ready_checkout(None, [(variant, 1)], email=f"s{number}@example.com"))
    _other, other_owner = store("Other House")
    return owner, other_owner


def counts(captured) -> int:
    return sum("COUNT(" in q["sql"].upper() for q in captured.captured_queries)


def test_pages_without_total_count_run_no_count(core_api, shop):
    owner, _other = shop
    core_api.login(owner)
    with CaptureQueriesContext(connection) as captured:
        first = core_api.execute(PAGE, {"first": 2})["orders"]
    assert counts(captured) == 0
    # Newest first; a next page is known from the one row read beyond the page.
    assert [e["node"]["email"] for e in first["edges"]] == ["s2@example.com", "s1@example.com"]
    assert first["pageInfo"]["hasNextPage"] is True and first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    rest = core_api.execute(PAGE, {"first": 2, "after": first["pageInfo"]["endCursor"]})["orders"]
    assert [e["node"]["email"] for e in rest["edges"]] == ["s0@example.com"]
    assert rest["pageInfo"]["hasNextPage"] is False
    beyond = core_api.execute(PAGE, {"first": 2, "after": rest["pageInfo"]["endCursor"]})["orders"]
    assert beyond["edges"] == [] and beyond["pageInfo"]["hasNextPage"] is False
    assert beyond["pageInfo"]["endCursor"] is None


def test_total_count_is_counted_when_selected(core_api, shop):
    owner, other_owner = shop
    core_api.login(owner)
    with CaptureQueriesContext(connection) as captured:
        page = core_api.execute(COUNTED, {"first": 2})["orders"]
    assert counts(captured) == 1
    assert page["totalCount"] == 3 and len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"] is True
    # The count is the caller's own orders (the visibility rule), like the page.
    core_api.login(other_owner)
    assert core_api.execute(COUNTED, {"first": 2})["orders"] == {
        "totalCount": 0, "pageInfo": {"hasNextPage": False}, "edges": []
    }


def test_pages_from_the_end_go_the_usual_way(core_api, shop):
    owner, _other = shop
    core_api.login(owner)
    last = core_api.execute(
        "{ orders(last: 2) { totalCount pageInfo { hasPreviousPage } edges { node { email } } } }"
    )["orders"]
    assert last["totalCount"] == 3 and last["pageInfo"]["hasPreviousPage"] is True
    assert [e["node"]["email"] for e in last["edges"]] == ["s1@example.com", "s0@example.com"]
