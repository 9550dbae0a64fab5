"""Storefront facets and suggestions on the embedded default (database backend), through the API."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.catalog.models import Product
from backend.vendors.models import VendorStatus

from ..catalog.helpers import build_catalog, gid, listed_product, merchant
from ..graphql_client import STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db

FACETS = """
query($filter: ProductFilterInput) {
  productFacets(filter: $filter) {
    totalCount
    categories { slug count selected children { slug count selected children { slug count } } }
    vendors { value label count selected }
    brands { value label count selected }
    attributes { slug name values { value count selected } }
    priceRanges { gte lt count }
    inStock
    ratings { gte count }
  }
}"""
PRODUCTS = """
query($filter: ProductFilterInput, $sortBy: ProductSortingInput) {
  products(first: 50, filter: $filter, sortBy: $sortBy) { totalCount edges { node { name } } }
}"""
SUGGEST = """
query($prefix: String!, $first: Int) { searchSuggestions(prefix: $prefix, first: $first) { text kind slug } }"""


@pytest.fixture
def mall(db):
    catalog = build_catalog()
    apparel, apparel_owner = merchant(name="Sunny Apparel", slug="sunny-apparel")
    phones, phones_owner = merchant(name="Phone Shop", slug="phone-shop")
    made = {
        "tee": listed_product(apparel, apparel_owner, catalog["tshirts"], name="Cotton tee 纯棉T恤", price="59.00",
                              attributes={"material": "Cotton"}),
        "linen": listed_product(apparel, apparel_owner, catalog["tshirts"], name="Linen tee 亚麻T恤", price="129.00",
                                attributes={"material": "Linen"}, stock=0),
        "mate": listed_product(phones, phones_owner, catalog["phones"], name="华为 Mate 60 手机", price="5999.00",
                               attributes={"brand": "华为"}),
        "p60": listed_product(phones, phones_owner, catalog["phones"], name="华为 P60 手机", price="4999.00",
                              attributes={"brand": "华为"}),
        "iphone": listed_product(phones, phones_owner, catalog["phones"], name="Apple iPhone 15 手机", price="6999.00",
                                 attributes={"brand": "Apple"}),
        "case": listed_product(apparel, apparel_owner, catalog["phones"], name="Apple iPhone 15 手机壳", price="39.90",
                               attributes={"brand": "Apple"}),
    }
    Product.objects.filter(pk=made["mate"].pk).update(sales_count=500, rating_avg=Decimal("4.90"))
    Product.objects.filter(pk=made["iphone"].pk).update(sales_count=300, rating_avg=Decimal("4.50"))
    Product.objects.filter(pk=made["tee"].pk).update(sales_count=50, rating_avg=Decimal("3.20"))
    return catalog, made, (apparel, phones)


def facets(api, **filter_input):
    return api.execute(FACETS, {"filter": filter_input})["productFacets"]


def names(api, filter_input, sort_by=None):
    data = api.execute(PRODUCTS, {"filter": filter_input, "sortBy": sort_by})["products"]
    return [edge["node"]["name"] for edge in data["edges"]]


def counts(values):
    return {v["value"] if "value" in v else v["slug"]: v["count"] for v in values}


def test_facets_of_the_whole_catalog(mall):
    api = GraphQLClient(STOREFRONT_URL)
    catalog, made, (apparel, phones) = mall
    result = facets(api)
    assert result["totalCount"] == 6
    assert result["categories"] == [
        {"slug": "3c", "count": 4, "selected": False,
         "children": [{"slug": "phones", "count": 4, "selected": False, "children": []}]},
        {"slug": "apparel", "count": 2, "selected": False,
         "children": [{"slug": "t-shirts", "count": 2, "selected": False, "children": []}]},
    ]
    assert {v["label"]: v["count"] for v in result["vendors"]} == {"Sunny Apparel": 3, "Phone Shop": 3}
    assert result["vendors"][0]["value"] in (gid(apparel), gid(phones))
    assert counts(result["brands"]) == {"华为": 2, "Apple": 2}
    assert result["attributes"] == []  # no category selected
    ranges = {(r["gte"], r["lt"]): r["count"] for r in result["priceRanges"]}
    assert ranges[("0", "50")] == 1 and ranges[("50", "100")] == 1 and ranges[("100", "200")] == 1
    assert ranges[("2000", "5000")] == 1 and ranges[("5000", None)] == 2
    assert sum(ranges.values()) == 6
    assert result["inStock"] == 5
    assert {r["gte"]: r["count"] for r in result["ratings"]} == {"4": 2, "3": 3, "2": 3, "1": 3}


def test_selecting_a_facet_narrows_the_others_but_not_itself(mall):
    api = GraphQLClient(STOREFRONT_URL)
    catalog, made, (apparel, phones) = mall
    result = facets(api, brands=["Apple"])
    assert result["totalCount"] == 2
    # The brand facet ignores its own selection: 华为 stays visible with its count.
    assert {v["value"]: (v["count"], v["selected"]) for v in result["brands"]} == {"华为": (2, False), "Apple": (2, True)}
    # The others count Apple listings only.
    assert {v["label"]: v["count"] for v in result["vendors"]} == {"Sunny Apparel": 1, "Phone Shop": 1}
    assert [(c["slug"], c["count"]) for c in result["categories"]] == [("3c", 2)]

    both = facets(api, brands=["Apple"], vendor=gid(phones))
    assert both["totalCount"] == 1
    assert counts(both["brands"]) == {"华为": 2, "Apple": 1}
    assert {v["label"]: (v["count"], v["selected"]) for v in both["vendors"]} == {
        "Sunny Apparel": (1, False), "Phone Shop": (1, True)
    }
    assert names(api, {"brands": ["Apple"], "vendor": gid(phones)}) == ["Apple iPhone 15 手机"]


def test_category_attributes_and_search_text(mall):
    api = GraphQLClient(STOREFRONT_URL)
    catalog, made, _stores = mall
    shirts = facets(api, category=gid(catalog["apparel"]))
    assert shirts["totalCount"] == 2
    assert shirts["categories"][0]["selected"] is True or shirts["categories"][1]["slug"] == "apparel"
    # Apparel has no listing attribute of its own: T-shirts' material shows once T-shirts is chosen.
    assert shirts["attributes"] == []
    tees = facets(api, category=gid(catalog["tshirts"]), attributes=[{"slug": "material", "values": ["Linen"]}])
    assert tees["totalCount"] == 1
    assert tees["attributes"] == [
        {"slug": "material", "name": "Material",
         "values": [{"value": "Cotton", "count": 1, "selected": False}, {"value": "Linen", "count": 1, "selected": True}]}
    ]
    assert names(api, {"category": gid(catalog["tshirts"]), "attributes": [{"slug": "material", "values": ["Linen"]}]}) == [
        "Linen tee 亚麻T恤"
    ]
    searched = facets(api, search="手机")
    assert searched["totalCount"] == 4
    assert counts(searched["brands"]) == {"华为": 2, "Apple": 2}
    assert facets(api, search="华为", inStock=True, ratingGte="4")["totalCount"] == 1


def test_sorting_by_relevance_price_sales_rating(mall):
    api = GraphQLClient(STOREFRONT_URL)
    phones = {"search": "手机"}
    assert names(api, phones, {"field": "PRICE"})[0] == "Apple iPhone 15 手机壳"
    assert names(api, phones, {"field": "SALES"})[:2] == ["华为 Mate 60 手机", "Apple iPhone 15 手机"]
    assert names(api, phones, {"field": "RATING"})[:2] == ["华为 Mate 60 手机", "Apple iPhone 15 手机"]
    assert set(names(api, phones, {"field": "RELEVANCE"})) == {
        "华为 Mate 60 手机", "华为 P60 手机", "Apple iPhone 15 手机", "Apple iPhone 15 手机壳"
    }
    assert len(names(api, {}, {"field": "RELEVANCE"})) == 6  # newest first without a search


def test_hidden_listings_are_not_counted(mall):
    api = GraphQLClient(STOREFRONT_URL)
    _catalog, _made, (apparel, _phones) = mall
    apparel.status = VendorStatus.SUSPENDED
    apparel.save(update_fields=["status"])
    result = facets(api)
    assert result["totalCount"] == 3
    assert {v["label"] for v in result["vendors"]} == {"Phone Shop"}
    # Nor suggested: the suspended store's phone case and T-shirts are gone, its brands too.
    found = api.execute(SUGGEST, {"prefix": "apple"})["searchSuggestions"]
    assert [s["text"] for s in found] == ["Apple", "Apple iPhone 15 手机"]
    assert api.execute(SUGGEST, {"prefix": "cotton"})["searchSuggestions"] == []


def test_suggestions_complete_brands_and_names_in_chinese_and_english(mall):
    api = GraphQLClient(STOREFRONT_URL)
    found = api.execute(SUGGEST, {"prefix": "华"})["searchSuggestions"]
    assert found[0] == {"text": "华为", "kind": "BRAND", "slug": None}
    assert [s["text"] for s in found[1:]] == ["华为 Mate 60 手机", "华为 P60 手机"]  # most sold first
    found = api.execute(SUGGEST, {"prefix": "iph"})["searchSuggestions"]
    assert {s["text"] for s in found} == {"Apple iPhone 15 手机", "Apple iPhone 15 手机壳"}
    assert all(s["kind"] == "PRODUCT" and s["slug"] for s in found)
    found = api.execute(SUGGEST, {"prefix": "app"})["searchSuggestions"]
    assert found[0]["kind"] == "BRAND" and found[0]["text"] == "Apple"
    # Descriptions do not complete ("About ..." is in every description).
    assert api.execute(SUGGEST, {"prefix": "about"})["searchSuggestions"] == []
    assert api.execute(SUGGEST, {"prefix": "  "})["searchSuggestions"] == []


def test_facets_cost_a_fixed_number_of_queries(db):
    catalog = build_catalog()
    vendors = [merchant(name=f"Store {i}", slug=f"store-{i}") for i in range(3)]
    api = GraphQLClient(STOREFRONT_URL)

    def cost():
        with CaptureQueriesContext(connection) as captured:
            api.execute(FACETS, {"filter": {"search": "tee", "category": gid(catalog["tshirts"])}})
        return len(captured.captured_queries)

    for i in range(3):
        vendor, owner = vendors[i]
        listed_product(vendor, owner, catalog["tshirts"], name=f"Tee {i}", attributes={"material": f"M{i}"})
    small = cost()
    for i in range(3, 30):
        vendor, owner = vendors[i % 3]
        listed_product(vendor, owner, catalog["tshirts"], name=f"Tee {i}", attributes={"material": f"M{i}"})
    assert cost() == small
