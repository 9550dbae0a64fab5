"""The Elasticsearch backend against a real node: set TEST_ELASTICSEARCH_URL (see the README).

Skipped with the reason printed otherwise; everything here also runs against the fake
in test_elasticsearch.py, which checks the request bodies instead of the answers.
"""

import os
import secrets

import pytest

from backend.search import get_search_backend
from backend.search.indexing import sync_products
from backend.search.query import ProductQuery

from ..catalog.helpers import build_catalog, listed_product, merchant

URL = os.environ.get("TEST_ELASTICSEARCH_URL", "")
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not URL, reason="TEST_ELASTICSEARCH_URL is not set: no Elasticsearch node to test against"),
]


@pytest.fixture
def live(settings):
    settings.ELASTICSEARCH_URL = URL
    settings.SEARCH_BACKEND = "backend.search.backends.elasticsearch.ElasticsearchBackend"
    settings.ELASTICSEARCH_INDEX = f"test-products-{secrets.token_hex(4)}"
    settings.ELASTICSEARCH_TIMEOUT = 10
    settings.SEARCH_SYNONYMS = ["mobile, phone"]
    backend = get_search_backend()
    backend.reset()
    yield backend
    backend.client.options(ignore_status=404).indices.delete(index=f"{settings.ELASTICSEARCH_INDEX}-*")
    backend.reset()


@pytest.fixture
def listed(live):
    catalog = build_catalog()
    vendor, owner = merchant(name="Phone Shop", slug="phone-shop")
    made = [
        listed_product(vendor, owner, catalog["phones"], name="华为 Mate 60 手机", price="5999.00", attributes={"brand": "华为"}),
        listed_product(vendor, owner, catalog["phones"], name="Apple iPhone 15 phone", price="6999.00",
                       attributes={"brand": "Apple"}, stock=0),
        listed_product(vendor, owner, catalog["tshirts"], name="Cotton tee 纯棉T恤", price="59.00",
                       attributes={"material": "Cotton"}),
    ]
    sync_products([p.pk for p in made])
    live.client.indices.refresh(index=live.alias)
    return catalog, made


def test_chinese_latin_prefix_typo_and_synonym_search(live, listed):
    _catalog, (mate, iphone, tee) = listed
    assert live.search("手机") == [mate.pk]
    assert live.search("T恤") == [tee.pk]
    assert live.search("iph") == [iphone.pk]
    assert live.search("iphnoe") == [iphone.pk]  # a typo
    assert live.search("mobile") == [iphone.pk]  # a synonym
    assert live.available()


def test_facets_and_suggestions(live, listed):
    catalog, (mate, iphone, tee) = listed
    facets = live.facets(None, ProductQuery(brands=("Apple",)))
    assert facets.source == "elasticsearch" and facets.total == 1
    assert {v.value: v.count for v in facets.brands} == {"华为": 1, "Apple": 1}
    assert [(c.slug, c.count) for c in facets.categories] == [("3c", 1)]
    assert facets.in_stock == 0
    shirts = live.facets(None, ProductQuery(category_id=catalog["tshirts"].pk))
    assert [(a.slug, [(v.value, v.count) for v in a.values]) for a in shirts.attributes] == [("material", [("Cotton", 1)])]
    found = live.suggest(None, "华")
    assert [(s.kind, s.text) for s in found] == [("brand", "华为"), ("product", "华为 Mate 60 手机")]


def test_rebuild_swaps_the_alias(live, listed):
    before = set(live.client.indices.get_alias(name=live.alias).body)
    _catalog, made = listed
    name = live.rebuild([[p.pk for p in made]])
    assert set(live.client.indices.get_alias(name=live.alias).body) == {name} != before
    live.client.indices.refresh(index=live.alias)
    assert live.search("手机") == [made[0].pk]
