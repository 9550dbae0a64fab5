"""Search on Elasticsearch through a real gunicorn instance: indexed after commit, the database
answering while Elasticsearch is down, and the missed updates replayed once it is back."""

import json
import time

from ..search.fake_elasticsearch import FakeElasticsearch
from . import journey

ALIAS = "marketplace-products"
SEARCH = """
query ServedSearch($text: String!) {
  products(first: 10, filter: {search: $text}) { edges { node { name } } }
  productFacets(filter: {search: $text}) { totalCount vendors { label count } }
}"""


def names(data):
    return sorted(edge["node"]["name"] for edge in data["products"]["edges"])


def test_search_falls_back_to_the_database_and_catches_up(start_served):
    fake = FakeElasticsearch()
    try:
        instance = start_served(
            {
                "ELASTICSEARCH_URL": fake.url,
                "ELASTICSEARCH_TIMEOUT_SECONDS": "0.5",
                "ELASTICSEARCH_RETRY_AFTER_SECONDS": "1",
            }
        )
        staff = journey.staff_token(instance)
        category = journey.categories(instance)["specialty-food"]
        journey.fee_plans(instance, staff, category)
        store = journey.open_store(instance, staff, category, "Tea House")
        journey.list_product(instance, staff, store, category, name="West Lake Longjing 龙井茶", price="300.00")
        # Written by the web process after the approval committed.
        assert [doc["name"] for doc in fake.docs(ALIAS).values()] == ["West Lake Longjing 龙井茶"]

        fake.respond_with("/_search", {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}, "aggregations": {
            "all": {"doc_count": 1}, "categories": {"values": {"buckets": []}},
            "vendors": {"values": {"buckets": []}}, "brands": {"values": {"buckets": []}},
            "prices": {"values": {"buckets": []}}, "in_stock": {"doc_count": 1},
            "ratings": {"values": {"buckets": {k: {"doc_count": 0} for k in ("4", "3", "2", "1")}}}}},
            when=lambda body: "aggs" in body)
        data = journey.call(instance, SEARCH, {"text": "龙井"}, endpoint="storefront")
        assert names(data) == ["West Lake Longjing 龙井茶"]
        assert len(fake.bodies("/_search")) == 2  # products and facets both asked Elasticsearch

        fake.down = True
        for _ in range(4):  # whichever worker answers
            data = journey.call(instance, SEARCH, {"text": "龙井"}, endpoint="storefront")
            assert names(data) == ["West Lake Longjing 龙井茶"]
            assert data["productFacets"]["totalCount"] == 1
            assert data["productFacets"]["vendors"] == [{"label": "Tea House", "count": 1}]
        status, _, body = instance.get("/health/ready")
        assert status == 200 and json.loads(body)["degraded"] == ["search"]
        assert "answering from the database" in instance.log()

        # Listed while Elasticsearch is down: found from the database now, written to the index later.
        journey.list_product(instance, staff, store, category, name="Longjing gift box 龙井礼盒", price="600.00")
        data = journey.call(instance, SEARCH, {"text": "龙井"}, endpoint="storefront")
        assert names(data) == ["Longjing gift box 龙井礼盒", "West Lake Longjing 龙井茶"]
        assert len(fake.docs(ALIAS)) == 1

        fake.down = False
        time.sleep(1.2)  # the fault window (ELASTICSEARCH_RETRY_AFTER) is over
        replay = instance.manage("run_task", "search.replay_pending")
        assert replay.returncode == 0, replay.stderr
        assert sorted(doc["name"] for doc in fake.docs(ALIAS).values()) == [
            "Longjing gift box 龙井礼盒", "West Lake Longjing 龙井茶"
        ]
        status, _, body = instance.get("/health/ready")
        assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        fake.close()
