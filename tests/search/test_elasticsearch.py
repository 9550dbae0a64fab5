"""The Elasticsearch backend against a loopback fake: the mapping and request bodies it sends,
the responses it parses, indexing after commit, the alias swap, and the database fallback."""

import logging
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from backend.catalog import services
from backend.catalog.models import Product
from backend.search import get_search_backend
from backend.search.indexing import replay_pending
from backend.search.models import PendingIndex
from backend.vendors.services import vendor_status_apply

from ..catalog.helpers import build_catalog, gid, listed_product, merchant, reviewer
from ..graphql_client import STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db
ALIAS = "marketplace-products"

SEARCH = """
query($filter: ProductFilterInput, $sortBy: ProductSortingInput) {
  products(first: 20, filter: $filter, sortBy: $sortBy) { totalCount edges { node { name } } }
}"""
FACETS = """
query($filter: ProductFilterInput) {
  productFacets(filter: $filter) {
    totalCount
    categories { slug count selected children { slug count } }
    vendors { value label count selected }
    brands { value count selected }
    attributes { slug values { value count selected } }
    priceRanges { gte lt count }
    inStock
    ratings { gte count }
  }
}"""
SUGGEST = "query($prefix: String!) { searchSuggestions(prefix: $prefix) { text kind slug } }"


@pytest.fixture
def shop(fake_es, django_capture_on_commit_callbacks):
    catalog = build_catalog()
    phones, owner = merchant(name="Phone Shop", slug="phone-shop")
    with django_capture_on_commit_callbacks(execute=True):
        mate = listed_product(phones, owner, catalog["phones"], name="华为 Mate 60 手机", price="5999.00",
                              attributes={"brand": "华为"})
        iphone = listed_product(phones, owner, catalog["phones"], name="Apple iPhone 15", price="6999.00",
                                attributes={"brand": "Apple"}, stock=0)
    return catalog, phones, owner, {"mate": mate, "iphone": iphone}


def test_the_index_is_created_with_an_explicit_mapping(fake_es, settings, django_capture_on_commit_callbacks):
    settings.SEARCH_SYNONYMS = ["phone, mobile, 手机", "tee => t-shirt"]
    catalog = build_catalog()
    vendor, owner = merchant()
    with django_capture_on_commit_callbacks(execute=True):
        listed_product(vendor, owner, catalog["tshirts"], name="Tee")
    (created,) = [b for m, p, b in fake_es.requests if m == "PUT" and p.startswith(f"/{ALIAS}-")]
    assert created["aliases"] == {ALIAS: {}}
    analysis = created["settings"]["analysis"]
    assert analysis["filter"]["marketplace_synonyms"] == {
        "type": "synonym_graph", "synonyms": ["phone, mobile, 手机", "tee => t-shirt"], "lenient": True
    }
    assert analysis["analyzer"]["latin_search"]["filter"][-1] == "marketplace_synonyms"
    assert "marketplace_synonyms" not in analysis["analyzer"]["latin"]["filter"]  # synonyms at query time only
    mapping = created["mappings"]
    assert mapping["dynamic"] == "strict"
    props = mapping["properties"]
    assert props["name"]["fields"]["cjk"] == {"type": "text", "analyzer": "cjk"}
    assert props["name"]["analyzer"] == "latin" and props["name"]["search_analyzer"] == "latin_search"
    assert props["body"]["fields"]["cjk"]["analyzer"] == "cjk"
    for keyword in ("category_path", "vendor_id", "brand", "attributes", "slug"):
        assert props[keyword] == {"type": "keyword"}
    assert props["price_min"] == {"type": "scaled_float", "scaling_factor": 100}
    assert props["suggest"] == {"type": "completion", "analyzer": "suggest"}
    assert props["brand_suggest"]["type"] == "completion"
    assert created["settings"]["number_of_shards"] == 1


def test_changes_are_indexed_after_commit(shop, fake_es, django_capture_on_commit_callbacks):
    catalog, phones, owner, made = shop
    docs = fake_es.docs(ALIAS)
    mate = docs[str(made["mate"].pk)]
    assert mate["name"] == "华为 Mate 60 手机" and mate["brand"] == "华为"
    assert mate["category_path"] == [str(catalog["electronics"].pk), str(catalog["phones"].pk)]
    assert mate["price_min"] == "5999.00" and mate["in_stock"] is True and mate["vendor_name"] == "Phone Shop"
    assert mate["suggest"] == {"input": ["华为 Mate 60 手机"], "weight": 1}
    assert mate["brand_suggest"]["input"] == ["华为"]
    assert docs[str(made["iphone"].pk)]["in_stock"] is False
    assert PendingIndex.objects.count() == 0

    # Nothing is sent before the transaction commits.
    sent = len(fake_es.requests)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        variant = made["mate"].variants.get()
        services.product_variant_update(actor=owner, variant=variant, price="4999.00", stock=0)
    assert len(fake_es.requests) == sent and PendingIndex.objects.count() == 1
    for callback in callbacks:
        callback()
    assert fake_es.docs(ALIAS)[str(made["mate"].pk)]["price_min"] == "4999.00"
    assert fake_es.docs(ALIAS)[str(made["mate"].pk)]["in_stock"] is False
    assert PendingIndex.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.product_delist(actor=owner, product=made["iphone"])
    assert str(made["iphone"].pk) not in fake_es.docs(ALIAS)

    with django_capture_on_commit_callbacks(execute=True):
        vendor_status_apply(actor=None, vendor=phones, action="vendor.suspend", reason="Fake goods")
    assert fake_es.docs(ALIAS) == {}
    with django_capture_on_commit_callbacks(execute=True):
        vendor_status_apply(actor=None, vendor=phones, action="vendor.reinstate")
    assert set(fake_es.docs(ALIAS)) == {str(made["mate"].pk)}


def test_a_revision_shows_once_approved(shop, fake_es, django_capture_on_commit_callbacks):
    _catalog, _phones, owner, made = shop
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(actor=owner, product=made["mate"], name="华为 Mate 70 手机")
    assert fake_es.docs(ALIAS)[str(made["mate"].pk)]["name"] == "华为 Mate 60 手机"
    with django_capture_on_commit_callbacks(execute=True):
        services.product_approve(actor=reviewer(), product=made["mate"])
    assert fake_es.docs(ALIAS)[str(made["mate"].pk)]["name"] == "华为 Mate 70 手机"


def test_search_sends_cjk_and_fuzzy_queries_and_keeps_the_database_filters(shop, fake_es):
    api = GraphQLClient(STOREFRONT_URL)
    data = api.execute(SEARCH, {"filter": {"search": "Mate"}})["products"]
    assert [e["node"]["name"] for e in data["edges"]] == ["华为 Mate 60 手机"]
    (body,) = fake_es.bodies("/_search")
    should = body["query"]["bool"]["should"]
    assert should[0]["multi_match"] == {
        "query": "Mate", "fields": ["name^3", "body"], "operator": "and", "fuzziness": "AUTO", "prefix_length": 1
    }
    assert should[1]["multi_match"]["type"] == "bool_prefix"
    assert should[2]["multi_match"]["fields"] == ["name.cjk^4", "body.cjk"]
    assert body["_source"] is False and body["size"] == 1000  # the best 1000 by relevance
    assert body["sort"] == ["_score", {"sales": "desc"}]
    # Filters the index does not need (here: in stock) stay in SQL.
    data = api.execute(SEARCH, {"filter": {"search": "Apple", "inStock": True}})["products"]
    assert data["totalCount"] == 0


def test_facets_are_one_request_each_facet_without_its_own_filter(shop, fake_es):
    catalog, phones, _owner, made = shop
    fake_es.respond_with("/_search", {
        "took": 2, "timed_out": False, "hits": {"total": {"value": 1, "relation": "eq"}, "hits": []},
        "aggregations": {
            "all": {"doc_count": 1},
            "categories": {"doc_count": 2, "values": {"buckets": [
                {"key": str(catalog["electronics"].pk), "doc_count": 2}, {"key": str(catalog["phones"].pk), "doc_count": 2}]}},
            "vendors": {"doc_count": 1, "values": {"buckets": [{"key": str(phones.pk), "doc_count": 1}]}},
            "brands": {"doc_count": 2, "values": {"buckets": [{"key": "华为", "doc_count": 1}, {"key": "Apple", "doc_count": 1}]}},
            "prices": {"doc_count": 1, "values": {"buckets": [
                {"key": "2000", "from": 2000, "to": 5000, "doc_count": 0}, {"key": "5000", "from": 5000, "doc_count": 1}]}},
            "in_stock": {"doc_count": 1},
            "ratings": {"doc_count": 1, "values": {"buckets": {"4": {"doc_count": 0}, "3": {"doc_count": 0},
                                                                "2": {"doc_count": 0}, "1": {"doc_count": 0}}}},
        },
    })
    api = GraphQLClient(STOREFRONT_URL)
    result = api.execute(FACETS, {"filter": {"search": "手机", "brands": ["华为"], "category": gid(catalog["phones"])}})
    facets = result["productFacets"]
    assert facets["totalCount"] == 1
    assert facets["categories"] == [
        {"slug": "3c", "count": 2, "selected": False, "children": [{"slug": "phones", "count": 2}]}
    ]
    assert facets["vendors"] == [{"value": gid(phones), "label": "Phone Shop", "count": 1, "selected": False}]
    assert facets["brands"] == [{"value": "华为", "count": 1, "selected": True}, {"value": "Apple", "count": 1, "selected": False}]
    assert {(r["gte"], r["count"]) for r in facets["priceRanges"]} >= {("5000", 1), ("2000", 0), ("0", 0)}
    assert facets["inStock"] == 1

    (body,) = fake_es.bodies("/_search")
    assert body["size"] == 0 and body["query"]["bool"]["should"][2]["multi_match"]["query"] == "手机"
    aggs = body["aggs"]
    brand_filter = {"terms": {"brand": ["华为"]}}
    category_filter = {"term": {"category_path": str(catalog["phones"].pk)}}
    assert aggs["all"]["filter"]["bool"]["filter"] == [category_filter, brand_filter]
    assert aggs["brands"]["filter"]["bool"]["filter"] == [category_filter]
    assert aggs["categories"]["filter"]["bool"]["filter"] == [brand_filter]
    assert aggs["vendors"]["filter"]["bool"]["filter"] == [category_filter, brand_filter]
    assert aggs["brands"]["aggs"]["values"]["terms"] == {"field": "brand", "size": 30}
    assert aggs["prices"]["aggs"]["values"]["range"]["ranges"][-1] == {"key": "5000", "from": "5000"}
    assert aggs["ratings"]["aggs"]["values"]["filters"]["filters"]["4"] == {"range": {"rating": {"gte": "4"}}}


def test_attribute_facets_use_the_flattened_keyword_field(fake_es):
    from backend.search.query import ProductQuery

    catalog = build_catalog()
    body, attributes = get_search_backend().facets_body(
        ProductQuery(category_id=catalog["tshirts"].pk, attributes=(("material", ("Linen",)),))
    )
    assert [a.slug for a in attributes] == ["material"]
    agg = body["aggs"]["attribute:material"]
    assert agg["aggs"]["values"]["terms"] == {"field": "attributes", "size": 30, "include": "material=.*"}
    assert agg["filter"]["bool"]["filter"] == [{"term": {"category_path": str(catalog["tshirts"].pk)}}]
    assert {"terms": {"attributes": ["material=Linen"]}} in body["aggs"]["brands"]["filter"]["bool"]["filter"]


def test_suggestions_from_completion_fields(shop, fake_es):
    _catalog, _phones, _owner, made = shop
    fake_es.respond_with("/_search", {
        "took": 1, "timed_out": False, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
        "suggest": {
            "brands": [{"text": "华", "offset": 0, "length": 1, "options": [{"text": "华为", "_id": "1", "_score": 1.0}]}],
            "products": [{"text": "华", "offset": 0, "length": 1, "options": [
                {"text": "华为 Mate 60 手机", "_id": str(made["mate"].pk), "_score": 1.0,
                 "_source": {"name": "华为 Mate 60 手机", "slug": made["mate"].slug}}]}],
        },
    })
    found = GraphQLClient(STOREFRONT_URL).execute(SUGGEST, {"prefix": "华"})["searchSuggestions"]
    assert found == [
        {"text": "华为", "kind": "BRAND", "slug": None},
        {"text": "华为 Mate 60 手机", "kind": "PRODUCT", "slug": made["mate"].slug},
    ]
    (body,) = fake_es.bodies("/_search")
    assert body["suggest"]["products"] == {
        "prefix": "华", "completion": {"field": "suggest", "size": 8, "skip_duplicates": True}
    }
    assert body["suggest"]["brands"]["completion"]["field"] == "brand_suggest"


def test_down_elasticsearch_falls_back_to_the_database_and_replays_missed_updates(
    shop, fake_es, client, caplog, django_capture_on_commit_callbacks
):
    _catalog, _phones, owner, made = shop
    api = GraphQLClient(STOREFRONT_URL)
    fake_es.down = True
    with caplog.at_level(logging.WARNING, logger="backend.search"):
        data = api.execute(SEARCH, {"filter": {"search": "华为"}})["products"]
    assert [e["node"]["name"] for e in data["edges"]] == ["华为 Mate 60 手机"]
    assert "answering from the database" in caplog.text
    # Facets and suggestions too, without asking the fake again during the fault window.
    asked = len(fake_es.requests)
    facets = api.execute(FACETS, {"filter": {"search": "手机"}})["productFacets"]
    assert facets["totalCount"] == 1 and facets["brands"] == [{"value": "华为", "count": 1, "selected": False}]
    assert api.execute(SUGGEST, {"prefix": "iph"})["searchSuggestions"][0]["text"] == "Apple iPhone 15"
    assert len(fake_es.requests) == asked

    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["degraded"] == ["search"]

    # A change while it is down is recorded, not lost.
    with django_capture_on_commit_callbacks(execute=True):
        services.product_delist(actor=owner, product=made["mate"])
    assert list(PendingIndex.objects.values_list("product_id", "attempts")) == [(made["mate"].pk, 1)]
    assert str(made["mate"].pk) in fake_es.docs(ALIAS)  # stale meanwhile
    assert replay_pending() == 0  # still in the fault window: not even tried

    fake_es.down = False
    get_search_backend().reset()  # the fault window is over
    assert replay_pending() == 1
    assert str(made["mate"].pk) not in fake_es.docs(ALIAS)
    assert PendingIndex.objects.count() == 0
    assert client.get("/health/ready").json()["status"] == "ok"


def test_slow_elasticsearch_times_out_into_the_database(shop, fake_es, settings):
    settings.ELASTICSEARCH_TIMEOUT = 0.2
    fake_es.delay = 1.0
    data = GraphQLClient(STOREFRONT_URL).execute(SEARCH, {"filter": {"search": "iphone"}})["products"]
    assert [e["node"]["name"] for e in data["edges"]] == ["Apple iPhone 15"]
    assert not get_search_backend().available()


def test_a_sync_racing_a_newer_change_leaves_its_record(shop, fake_es):
    from backend.search import indexing

    _catalog, _phones, _owner, made = shop
    indexing.products_changed([made["mate"].pk])
    old_token = PendingIndex.objects.get().token
    indexing.products_changed([made["mate"].pk])  # a newer change, its sync still to come
    assert PendingIndex.objects.get().token != old_token
    indexing._clear([(made["mate"].pk, old_token)])  # what the first sync clears
    assert PendingIndex.objects.count() == 1


def test_reindex_builds_a_new_index_and_swaps_the_alias(shop, fake_es, django_capture_on_commit_callbacks):
    _catalog, _phones, owner, made = shop
    old = fake_es.live_index(ALIAS)
    Product.objects.filter(pk=made["mate"].pk).update(sales_count=42)  # a change no service announced
    PendingIndex.objects.create(product_id=made["iphone"].pk, token="x", queued_at=made["iphone"].created_at)
    out, err = StringIO(), StringIO()
    call_command("search_index", "--batch-size", "1", stdout=out, stderr=err)
    new = fake_es.live_index(ALIAS)
    assert new != old and old not in fake_es.indices
    assert set(fake_es.docs(ALIAS)) == {str(made["mate"].pk), str(made["iphone"].pk)}
    assert fake_es.docs(ALIAS)[str(made["mate"].pk)]["sales"] == 42
    assert "marketplace-products-building" not in fake_es.aliases
    assert PendingIndex.objects.count() == 0
    assert "Indexed 2 listings" in out.getvalue()
    assert "listing" in err.getvalue()  # the progress bar
    (swap,) = fake_es.bodies("/_aliases", "POST")
    assert swap["actions"] == [
        {"remove": {"index": old, "alias": ALIAS}},
        {"add": {"index": new, "alias": ALIAS}},
        {"remove": {"index": new, "alias": "marketplace-products-building"}},
    ]


def test_syncs_during_a_rebuild_keep_their_records_for_the_new_index(shop, fake_es):
    from backend.search import indexing

    _catalog, _phones, _owner, made = shop
    fake_es.aliases["marketplace-products-building"] = {fake_es.live_index(ALIAS)}
    indexing.products_changed([made["mate"].pk])
    assert indexing.sync_products([made["mate"].pk]) == 1
    assert PendingIndex.objects.count() == 1
