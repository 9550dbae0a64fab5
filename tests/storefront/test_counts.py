"""A long list's totalCount is kept a while in the cache; a short one is always counted."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.core.counts import cached_count
from backend.catalog.models import Product

from ..catalog.helpers import build_catalog, listed_product, merchant
from .test_catalog_storefront import PRODUCTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf(db):
    catalog = build_catalog()
    vendor, owner = merchant(name="Sunny Apparel", slug="sunny-apparel")

    def add(name):
        return listed_product(vendor, owner, catalog["tshirts"], name=name)

    add("Tee one")
    add("Tee two")
    return add


def total(storefront_api, **variables):
    payload = storefront_api.execute(PRODUCTS, {"first": 10, **variables})["products"]
    return payload["totalCount"], [edge["node"]["name"] for edge in payload["edges"]]


def test_a_long_lists_count_is_kept_while_its_page_is_fresh(storefront_api, shelf, settings):
    settings.COUNT_CACHE_MIN = 2
    assert total(storefront_api, first=1) == (2, ["Tee two"])
    shelf("Tee three")
    # Same filters (another page size): the count kept; the page itself is read again.
    count, page = total(storefront_api)
    assert count == 2 and set(page) == {"Tee one", "Tee two", "Tee three"}
    # Other filters are counted on their own.
    assert total(storefront_api, filter={"search": "three"}) == (1, ["Tee three"])
    cache.clear()
    assert total(storefront_api)[0] == 3


def test_a_short_lists_count_is_always_exact(storefront_api, shelf, settings):
    settings.COUNT_CACHE_MIN = 10
    assert total(storefront_api)[0] == 2
    shelf("Tee three")
    assert total(storefront_api)[0] == 3


def test_no_cache_when_switched_off(storefront_api, shelf, settings):
    settings.COUNT_CACHE_MIN = 1
    settings.COUNT_CACHE_SECONDS = 0
    assert total(storefront_api)[0] == 2
    shelf("Tee three")
    assert total(storefront_api)[0] == 3


def test_a_kept_count_saves_the_count_query(storefront_api, shelf, settings):
    settings.COUNT_CACHE_MIN = 2
    with CaptureQueriesContext(connection) as first:
        total(storefront_api)
    with CaptureQueriesContext(connection) as second:
        total(storefront_api)
    counts = [q["sql"] for q in first.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and len(second.captured_queries) == len(first.captured_queries) - len(counts)


def test_cached_count_keys_by_the_query(shelf, settings):
    settings.COUNT_CACHE_MIN = 1
    published = Product.objects.filter(name__startswith="Tee")
    assert cached_count(published) == 2
    Product.objects.filter(name="Tee two").delete()
    assert cached_count(published.order_by("-pk")) == 2  # kept: the order does not matter
    assert cached_count(published[:5]) == 1  # a slice is another query
    assert cached_count(Product.objects.filter(name="Tee one")) == 1


@pytest.mark.django_db
def test_a_list_that_can_hold_nothing_counts_zero_without_a_query():
    with CaptureQueriesContext(connection) as queries:
        assert cached_count(Product.objects.none()) == 0
        assert cached_count(Product.objects.filter(pk__in=[])) == 0
    assert len(queries) == 0
