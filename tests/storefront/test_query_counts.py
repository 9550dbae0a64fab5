"""No N+1: a page of 10 and a page of 100 cost the same number of SQL queries, in both APIs."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.catalog.models import ListingStatus, Product, ProductMedia, ProductRevision, ProductVariant
from backend.core.permissions import PlatformPermission

from ..catalog.helpers import build_catalog, merchant
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

pytestmark = pytest.mark.django_db

STOREFRONT_LIST = """
query($first: Int!) {
  products(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name slug inStock rating { average count } salesCount
      thumbnail { url(size: THUMBNAIL) }
      priceRange { start { amount currency } stop { amount currency } }
      category { id name slug }
      vendor { name slug }
    } }
  }
}"""
STOREFRONT_DETAIL = """
query($slug: String!) {
  product(slug: $slug) {
    id name slug description inStock rating { average count }
    category { name slug parent { name slug } }
    vendor { id name slug logoUrl }
    attributes { slug name value }
    variants { id sku price { amount currency } quantityAvailable weight attributes { slug name value } }
    media { alt width height url jpeg: url(format: JPEG) }
    thumbnail { url(size: THUMBNAIL) }
    priceRange { start { amount } stop { amount } }
  }
}"""
CORE_LIST = """
query($first: Int!) {
  products(first: $first) {
    totalCount
    edges { node {
      id name slug status reviewRequestedAt
      category { id name } vendor { id name }
      attributes { slug name value }
      variants { id sku price { amount currency } stock weight attributes { slug value } }
      media { id isLive url }
      thumbnail { url(size: THUMBNAIL) }
      priceRange { start { amount } stop { amount } }
      pendingRevision { id name attributes { slug value } mediaAdded { id } }
    } }
  }
}"""


@pytest.fixture
def many_products(db):
    """120 published listings from three stores, each with two variants, two images and some revisions."""
    catalog = build_catalog()
    stores = [merchant(name=f"Store {i}", slug=f"store-{i}") for i in range(3)]
    now = timezone.now()
    products = Product.objects.bulk_create(
        [
            Product(
                vendor=stores[i % 3][0],
                category=catalog["tshirts"] if i % 2 else catalog["phones"],
                name=f"Listing {i}",
                slug=f"listing-{i}",
                attributes={"material": "Cotton"} if i % 2 else {"brand": "Acme"},
                status=ListingStatus.PUBLISHED,
                published_at=now,
                price_min_amount=Decimal("10.00"),
                price_max_amount=Decimal("20.00"),
            )
            for i in range(120)
        ]
    )
    ProductVariant.objects.bulk_create(
        [
            ProductVariant(
                product=p, vendor=p.vendor, sku=f"{p.slug}-{n}", price_amount=Decimal(10 + n * 10), stock=n,
                attributes={"size": "M"} if p.category.slug == "t-shirts" else {"capacity": "128GB"},
            )
            for p in products
            for n in range(2)
        ]
    )
    ProductMedia.objects.bulk_create(
        [
            ProductMedia(
                product=p, width=800, height=800, sha256="0" * 64, is_live=True, sort_order=n,
                renditions={size: {"webp": f"products/{p.pk}/{n}/{size}.webp", "jpeg": f"products/{p.pk}/{n}/{size}.jpg"}
                            for size in ("thumbnail", "card", "detail")},
            )
            for p in products
            for n in range(2)
        ]
    )
    ProductRevision.objects.bulk_create(
        [ProductRevision(product=p, name=f"{p.name} v2", category=p.category) for p in products[::4]]
    )
    return products, stores


def count_queries(api: GraphQLClient, query: str, variables: dict) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        data = api.execute(query, variables)
    return len(captured.captured_queries), data


def test_storefront_list_costs_the_same_for_10_and_100(many_products):
    api = GraphQLClient(STOREFRONT_URL)
    small, data_small = count_queries(api, STOREFRONT_LIST, {"first": 10})
    large, data_large = count_queries(api, STOREFRONT_LIST, {"first": 100})
    assert len(data_small["products"]["edges"]) == 10 and len(data_large["products"]["edges"]) == 100
    assert data_large["products"]["totalCount"] == 120
    assert small == large
    assert large <= 5, large


def test_storefront_detail_is_at_most_8_queries(many_products):
    api = GraphQLClient(STOREFRONT_URL)
    queries, data = count_queries(api, STOREFRONT_DETAIL, {"slug": "listing-7"})
    product = data["product"]
    assert len(product["variants"]) == 2 and len(product["media"]) == 2
    assert product["variants"][0]["attributes"] == [{"slug": "size", "name": "Size", "value": "M"}]
    assert queries <= 8, queries


def test_store_page_costs_the_same_for_small_and_large_pages(many_products):
    api = GraphQLClient(STOREFRONT_URL)
    query = """query($first: Int!) { vendor(slug: "store-1") { name products(first: $first) {
        totalCount edges { node { name thumbnail { url } vendor { name } category { name } priceRange { start { amount } } } } } } }"""
    small, _ = count_queries(api, query, {"first": 5})
    large, data = count_queries(api, query, {"first": 40})
    assert len(data["vendor"]["products"]["edges"]) == 40
    assert small == large


@pytest.mark.parametrize("who", ["vendor", "reviewer"])
def test_merchant_list_costs_the_same_for_10_and_100(many_products, staff_factory, who):
    _products, stores = many_products
    user = stores[0][1] if who == "vendor" else staff_factory(PlatformPermission.REVIEW_LISTINGS)
    api = GraphQLClient(CORE_URL).login(user)
    small, data_small = count_queries(api, CORE_LIST, {"first": 10})
    large, data_large = count_queries(api, CORE_LIST, {"first": 100})
    assert len(data_small["products"]["edges"]) == 10
    assert len(data_large["products"]["edges"]) == (40 if who == "vendor" else 100)
    assert small == large, (small, large)
