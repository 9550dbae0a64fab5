"""Shoppers browse published listings of sellable stores only, as last approved."""

from decimal import Decimal

import pytest

from backend.catalog import services
from backend.catalog.models import ListingStatus, Product
from backend.catalog.vendor_rules import vendor_is_shown
from backend.vendors.models import VendorStatus

from ..catalog.helpers import build_catalog, gid, listed_product, merchant, reviewer, upload

pytestmark = pytest.mark.django_db

PRODUCTS = """
query($filter: ProductFilterInput, $sortBy: ProductSortingInput, $first: Int, $after: String) {
  products(first: $first, after: $after, filter: $filter, sortBy: $sortBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name slug inStock priceRange { start { amount currency } stop { amount } } } }
  }
}"""
DETAIL = """
query($slug: String!) {
  product(slug: $slug) {
    id name description slug rating { average count } salesCount
    category { slug parent { slug } }
    vendor { name slug }
    attributes { slug name value }
    variants { sku price { amount currency } quantityAvailable weight attributes { slug name value } }
    media { width height url jpeg: url(size: DETAIL, format: JPEG) }
    thumbnail { url(size: THUMBNAIL) }
  }
}"""
STORE = """
query($slug: String!) {
  vendor(slug: $slug) { name slug products(first: 10) { totalCount edges { node { name } } } }
}"""
CATEGORIES = """
{ categories { slug attributes { slug name variant choices } children { slug attributes { slug } children { slug } } } }"""


def names(payload):
    return [edge["node"]["name"] for edge in payload["products"]["edges"]]


@pytest.fixture
def catalog(db):
    return build_catalog()


@pytest.fixture
def store(db):
    return merchant(name="Sunny Apparel", slug="sunny-apparel")


def test_only_published_listings_of_sellable_vendors_show(storefront_api, catalog, store):
    vendor, owner = store
    for status in ListingStatus:
        listed_product(vendor, owner, catalog["tshirts"], name=f"Shirt {status.value}", status=status)
    shown = {"Shirt published"}
    for status in VendorStatus:
        if status == VendorStatus.ACTIVE:
            continue
        other, other_owner = merchant(name=f"Store {status}", slug=f"store-{status}")
        listed_product(other, other_owner, catalog["tshirts"], name=f"Shirt of {status}")
        other.status = status
        other.save()
        # Which stores shoppers see is decided once, in catalog.vendor_rules.
        if vendor_is_shown(other):
            shown.add(f"Shirt of {status}")
    assert not any(s in shown for s in ("Shirt of suspended", "Shirt of closing", "Shirt of closed"))

    payload = storefront_api.execute(PRODUCTS, {"first": 50})
    assert set(names(payload)) == shown
    assert payload["products"]["totalCount"] == len(shown)
    for product in Product.objects.exclude(name__in=shown):
        assert storefront_api.execute(DETAIL, {"slug": product.slug})["product"] is None
    assert storefront_api.execute(STORE, {"slug": "store-suspended"})["vendor"] is None


def test_product_detail(storefront_api, catalog, store):
    vendor, owner = store
    product = listed_product(
        vendor,
        owner,
        catalog["tshirts"],
        name="Linen shirt",
        attributes={"material": "Linen"},
        variant_attributes={"size": "L", "colour": "Blue"},
        price="129.00",
    )
    detail = storefront_api.execute(DETAIL, {"slug": product.slug})["product"]
    assert detail["name"] == "Linen shirt"
    assert detail["category"] == {"slug": "t-shirts", "parent": {"slug": "apparel"}}
    assert detail["vendor"] == {"name": "Sunny Apparel", "slug": "sunny-apparel"}
    assert detail["attributes"] == [{"slug": "material", "name": "Material", "value": "Linen"}]
    variant = detail["variants"][0]
    assert variant["price"] == {"amount": "129.00", "currency": "CNY"}
    assert variant["weight"] == "0.200" and variant["quantityAvailable"] == 5
    assert variant["attributes"] == [
        {"slug": "size", "name": "Size", "value": "L"},
        {"slug": "colour", "name": "Colour", "value": "Blue"},
    ]
    image = detail["media"][0]
    assert image["url"].startswith("http://testserver/media/products/") and image["url"].endswith("/card.webp")
    assert image["jpeg"].endswith("/detail.jpg")
    assert detail["thumbnail"]["url"].endswith("/thumbnail.webp")


def test_pending_revision_keeps_the_approved_version_on_sale(storefront_api, catalog, store):
    vendor, owner = store
    product = listed_product(vendor, owner, catalog["tshirts"], name="Original name")
    live_image = product.media.get()
    services.product_update(actor=owner, product=product, name="Edited name", description="Edited")
    services.product_media_create(actor=owner, product=product, image=upload(color=(1, 2, 3)))
    services.product_media_delete(actor=owner, media=live_image)

    detail = storefront_api.execute(DETAIL, {"slug": product.slug})["product"]
    assert detail["name"] == "Original name" and detail["description"] == "About Original name"
    assert len(detail["media"]) == 1 and live_image.renditions["card"]["webp"] in detail["media"][0]["url"]
    assert names(storefront_api.execute(PRODUCTS, {"filter": {"search": "Edited"}})) == []
    assert names(storefront_api.execute(PRODUCTS, {"filter": {"search": "Original"}})) == ["Original name"]

    services.product_approve(actor=reviewer(), product=product)
    detail = storefront_api.execute(DETAIL, {"slug": product.slug})["product"]
    assert detail["name"] == "Edited name"
    assert len(detail["media"]) == 1 and live_image.renditions["card"]["webp"] not in detail["media"][0]["url"]
    assert names(storefront_api.execute(PRODUCTS, {"filter": {"search": "Edited"}})) == ["Edited name"]


def test_store_page_lists_the_vendors_published_listings(storefront_api, catalog, store):
    vendor, owner = store
    listed_product(vendor, owner, catalog["tshirts"], name="On sale")
    listed_product(vendor, owner, catalog["tshirts"], name="Draft", status=ListingStatus.DRAFT)
    other, other_owner = merchant()
    listed_product(other, other_owner, catalog["tshirts"], name="Elsewhere")
    page = storefront_api.execute(STORE, {"slug": "sunny-apparel"})["vendor"]
    assert page["name"] == "Sunny Apparel"
    assert page["products"]["totalCount"] == 1
    assert [e["node"]["name"] for e in page["products"]["edges"]] == ["On sale"]


def test_category_tree_with_inherited_attributes(storefront_api, catalog):
    tree = {c["slug"]: c for c in storefront_api.execute(CATEGORIES)["categories"]}
    assert set(tree) == {"apparel", "3c"}
    apparel = tree["apparel"]
    assert [a["slug"] for a in apparel["attributes"]] == ["size", "colour"]
    assert apparel["attributes"][0] == {"slug": "size", "name": "Size", "variant": True, "choices": ["S", "M", "L"]}
    assert apparel["children"] == [
        {"slug": "t-shirts", "attributes": [{"slug": "size"}, {"slug": "colour"}, {"slug": "material"}], "children": []}
    ]


@pytest.fixture
def shelf(catalog, store):
    vendor, owner = store
    other, other_owner = merchant(name="Phone Shop", slug="phone-shop")
    made = {
        "tee": listed_product(vendor, owner, catalog["tshirts"], name="Cotton tee 纯棉T恤", price="59.00"),
        "hoodie": listed_product(vendor, owner, catalog["apparel"], name="Warm hoodie 卫衣", price="199.00", stock=0),
        "mate": listed_product(other, other_owner, catalog["phones"], name="华为 Mate 60 手机", price="5999.00"),
        "iphone": listed_product(other, other_owner, catalog["phones"], name="Apple iPhone 15 手机壳", price="39.90"),
    }
    Product.objects.filter(pk=made["tee"].pk).update(sales_count=50, rating_avg=Decimal("4.20"))
    Product.objects.filter(pk=made["mate"].pk).update(sales_count=500, rating_avg=Decimal("4.90"))
    Product.objects.filter(pk=made["iphone"].pk).update(sales_count=5)
    return made, other


@pytest.mark.parametrize(
    "filter_input, expected",
    [
        ({"search": "手机"}, {"华为 Mate 60 手机", "Apple iPhone 15 手机壳"}),
        ({"search": "华为"}, {"华为 Mate 60 手机"}),
        ({"search": "华为手机"}, {"华为 Mate 60 手机"}),
        ({"search": "mate"}, {"华为 Mate 60 手机"}),
        ({"search": "IPHO"}, {"Apple iPhone 15 手机壳"}),
        ({"search": "ｍａｔｅ ６０"}, {"华为 Mate 60 手机"}),
        ({"search": "T恤"}, {"Cotton tee 纯棉T恤"}),
        ({"search": "卫"}, {"Warm hoodie 卫衣"}),
        ({"search": "衣"}, {"Warm hoodie 卫衣"}),
        ({"search": "cotton hoodie"}, set()),
        ({"search": "\"*) OR 1=1 --"}, set()),
        ({"priceGte": "100"}, {"Warm hoodie 卫衣", "华为 Mate 60 手机"}),
        ({"priceLte": "59.00"}, {"Cotton tee 纯棉T恤", "Apple iPhone 15 手机壳"}),
        ({"priceGte": "50", "priceLte": "200"}, {"Cotton tee 纯棉T恤", "Warm hoodie 卫衣"}),
        ({"inStock": True}, {"Cotton tee 纯棉T恤", "华为 Mate 60 手机", "Apple iPhone 15 手机壳"}),
        ({"inStock": False}, {"Warm hoodie 卫衣"}),
    ],
)
def test_filters(storefront_api, shelf, filter_input, expected):
    assert set(names(storefront_api.execute(PRODUCTS, {"filter": filter_input, "first": 20}))) == expected


def test_filter_by_category_includes_descendants_and_by_vendor(storefront_api, catalog, shelf):
    _made, phone_shop = shelf
    apparel = storefront_api.execute(PRODUCTS, {"filter": {"category": gid(catalog["apparel"])}})
    assert set(names(apparel)) == {"Cotton tee 纯棉T恤", "Warm hoodie 卫衣"}
    tshirts = storefront_api.execute(PRODUCTS, {"filter": {"category": gid(catalog["tshirts"])}})
    assert names(tshirts) == ["Cotton tee 纯棉T恤"]
    shop = storefront_api.execute(PRODUCTS, {"filter": {"vendor": gid(phone_shop), "search": "手机"}})
    assert set(names(shop)) == {"华为 Mate 60 手机", "Apple iPhone 15 手机壳"}
    wrong_type = storefront_api.execute(PRODUCTS, {"filter": {"category": gid(phone_shop)}})
    assert names(wrong_type) == []


@pytest.mark.parametrize(
    "sort_by, expected",
    [
        ({"field": "PRICE"}, ["Apple iPhone 15 手机壳", "Cotton tee 纯棉T恤", "Warm hoodie 卫衣", "华为 Mate 60 手机"]),
        ({"field": "PRICE", "direction": "DESC"},
         ["华为 Mate 60 手机", "Warm hoodie 卫衣", "Cotton tee 纯棉T恤", "Apple iPhone 15 手机壳"]),
        ({"field": "NAME"}, ["Apple iPhone 15 手机壳", "Cotton tee 纯棉T恤", "Warm hoodie 卫衣", "华为 Mate 60 手机"]),
        ({"field": "NEWEST"}, ["Apple iPhone 15 手机壳", "华为 Mate 60 手机", "Warm hoodie 卫衣", "Cotton tee 纯棉T恤"]),
        ({"field": "NEWEST", "direction": "ASC"},
         ["Cotton tee 纯棉T恤", "Warm hoodie 卫衣", "华为 Mate 60 手机", "Apple iPhone 15 手机壳"]),
        ({"field": "SALES"}, ["华为 Mate 60 手机", "Cotton tee 纯棉T恤", "Apple iPhone 15 手机壳", "Warm hoodie 卫衣"]),
        ({"field": "RATING"}, ["华为 Mate 60 手机", "Cotton tee 纯棉T恤", "Apple iPhone 15 手机壳", "Warm hoodie 卫衣"]),
    ],
)
def test_sorting(storefront_api, shelf, sort_by, expected):
    assert names(storefront_api.execute(PRODUCTS, {"sortBy": sort_by, "first": 20})) == expected


def test_cursor_pagination(storefront_api, shelf):
    first = storefront_api.execute(PRODUCTS, {"first": 3, "sortBy": {"field": "PRICE"}})["products"]
    assert first["totalCount"] == 4 and first["pageInfo"]["hasNextPage"] is True
    rest = storefront_api.execute(
        PRODUCTS, {"first": 3, "after": first["pageInfo"]["endCursor"], "sortBy": {"field": "PRICE"}}
    )["products"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["华为 Mate 60 手机"]
    assert rest["pageInfo"]["hasNextPage"] is False


THUMBNAILS = """query { products(first: 10, sortBy: {field: NAME, direction: ASC}) { edges { node { name
  thumbnail { url(size: THUMBNAIL) } } } } }"""


def test_each_listing_shows_its_first_approved_image_as_thumbnail(storefront_api, catalog, store):
    from backend.catalog.models import ProductMedia

    vendor, owner = store
    first = listed_product(vendor, owner, catalog["tshirts"], name="A shirt")
    second = listed_product(vendor, owner, catalog["tshirts"], name="B shirt")
    third = listed_product(vendor, owner, catalog["tshirts"], name="C shirt")
    ProductMedia.objects.filter(product__in=[first, second, third]).delete()

    def media(product, order, live, tag):
        ProductMedia.objects.create(product=product, sort_order=order, is_live=live, width=100, height=100,
                                    renditions={"thumbnail": {"webp": f"products/{tag}/thumbnail.webp"}})

    media(first, 0, False, "waiting")  # added to a revision: not shown yet
    media(first, 2, True, "a-later")
    media(first, 1, True, "a-first")
    media(second, 0, True, "b-only")
    shown = {e["node"]["name"]: e["node"]["thumbnail"] for e in storefront_api.execute(THUMBNAILS)["products"]["edges"]}
    assert shown["A shirt"]["url"].endswith("/products/a-first/thumbnail.webp")
    assert shown["B shirt"]["url"].endswith("/products/b-only/thumbnail.webp")
    assert shown["C shirt"] is None
