"""Public operations show public data only: published listings of selling stores, as approved,
with approved pictures; no account, no company detail, no listing in any other state, no
revision waiting for review. Anyone may call them, and they take no tenant's private IDs."""

from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from backend.catalog.models import ListingStatus, Product, ProductMedia
from backend.core.permissions import PlatformPermission
from backend.vendors import services as vendors

from .cases import PUBLIC
from .operations import Op, call, leaks

pytestmark = pytest.mark.django_db

STOREFRONT_VISITORS = ("anonymous", "shopper2", "alpha_owner", "superuser")


def public_variables(world, op: Op) -> dict:
    """Arguments that point public operations at tenant A (its slug, its category)."""
    alpha = world.alpha
    published = alpha.products["published"]
    category = world.categories["tshirts"]
    hidden = next(p for p in alpha.products.values() if p.status != ListingStatus.PUBLISHED)
    return {
        Op("core", "query", "category"): {"id": to_global_id("Category", category.pk)},
        Op("core", "query", "categoryFeeTerms"): {"category": to_global_id("Category", category.pk)},
        Op("core", "query", "categoryFeePlans"): {"category": to_global_id("Category", world.categories["apparel"].pk)},
        Op("storefront", "query", "products"): {"first": 100},
        Op("storefront", "query", "product"): {"slug": published.slug},
        Op("storefront", "query", "vendor"): {"slug": alpha.vendor.slug},
        Op("storefront", "query", "category"): {"slug": category.slug},
        Op("storefront", "query", "campaign"): {"slug": world.campaign.slug},
        # The start of a listing shoppers may not see: it must not be suggested.
        Op("storefront", "query", "searchSuggestions"): {"prefix": hidden.name[:2]},
    }.get(op, {})


def private_markers(world) -> set[str]:
    """What only a store's staff (or platform staff) may know of the catalog and the accounts."""
    found = {"shopper1", "shopper2", "charlie", "trading co.", "@alpha.example", "@bravo.example"}
    for tenant in (world.alpha, world.bravo):
        for state, product in tenant.products.items():
            if product.status != ListingStatus.PUBLISHED:
                found |= {product.name, product.slug, to_global_id("Product", product.pk)}
                found |= {v.sku for v in product.variants.all()}
        found.add(tenant.revision.name)  # an edit waiting for review
    # Pictures not (yet) approved: the folder of each rendition is unguessable, so it marks the picture.
    hidden = ProductMedia.objects.exclude(is_live=True, product__status=ListingStatus.PUBLISHED)
    for media in hidden:
        for formats in media.renditions.values():
            for path in formats.values():
                found.add(path.rsplit("/", 2)[-2])
    return found


def test_private_markers_are_found_where_they_are(world):
    """The markers must show up in a response that holds them, or the tests below could not fail."""
    markers = private_markers(world)
    assert len([m for m in markers if len(m) == 32]) >= 5  # hidden pictures' folders
    draft = world.alpha.products["draft"]
    response = call(Op("core", "query", "product"), world.alpha.owner, {"id": to_global_id("Product", draft.pk)},
                    fields="{ name variants { sku } media { url } vendor { companyName staff { user { email } } } }")
    found = leaks(response.text, markers)
    assert {"Alpha Draft Tee", "ALPHA-DRAFT", "trading co.", "@alpha.example"} <= set(found)
    assert any(len(m) == 32 for m in found)


@pytest.mark.parametrize("op", sorted(PUBLIC), ids=str)
@pytest.mark.parametrize("actor", ["anonymous", "bravo_owner"])
def test_public_operations_show_nothing_private(world, op, actor):
    response = call(op, world.users[actor], public_variables(world, op), depth=4 if op.api == "storefront" else 2)
    assert response.status == 200 and response.top_errors == [], response.text[:1500]
    assert leaks(response.text, private_markers(world)) == [], response.text[:3000]


def test_the_storefront_shows_the_approved_version_of_a_revised_listing(world):
    revised = world.alpha.products["revised"]
    query = Op("storefront", "query", "product")
    response = call(query, None, {"slug": revised.slug}, fields="{ name media { url } }")
    product = response.data["product"]
    assert product["name"] == "Alpha Revised Tee"
    live = ProductMedia.objects.filter(product=revised, is_live=True).count()
    assert len(product["media"]) == live == 1


@pytest.mark.parametrize("state", ["draft", "pending", "rejected", "delisted"])
@pytest.mark.parametrize("actor", STOREFRONT_VISITORS)
def test_unpublished_listings_are_not_on_the_storefront(world, state, actor):
    product = world.alpha.products[state]
    response = call(Op("storefront", "query", "product"), world.users[actor], {"slug": product.slug}, fields="{ id }")
    assert response.data == {"product": None}


def test_a_stores_page_lists_its_published_listings_only(world):
    response = call(Op("storefront", "query", "vendor"), None, {"slug": world.alpha.vendor.slug},
                    fields="{ products(first: 100) { edges { node { name } } } }")
    names = {edge["node"]["name"] for edge in response.data["vendor"]["products"]["edges"]}
    assert names == set(
        Product.objects.filter(vendor=world.alpha.vendor, status=ListingStatus.PUBLISHED).values_list("name", flat=True)
    ) == {"Alpha Published Tee", "Alpha Revised Tee", "Alpha Soldout Tee"}


def test_a_suspended_store_leaves_the_storefront(world):
    vendors.vendor_suspend(actor=world.staff[PlatformPermission.MANAGE_VENDORS], vendor=world.bravo.vendor,
                           reason="Counterfeits")
    page = call(Op("storefront", "query", "vendor"), None, {"slug": world.bravo.vendor.slug}, fields="{ id }")
    assert page.data == {"vendor": None}
    listing = call(Op("storefront", "query", "product"), None, {"slug": world.bravo.products["published"].slug},
                   fields="{ id }")
    assert listing.data == {"product": None}
    everything = call(Op("storefront", "query", "products"), None, {"first": 100},
                      fields="{ edges { node { vendor { slug } } } }")
    assert {e["node"]["vendor"]["slug"] for e in everything.data["products"]["edges"]} == {world.alpha.vendor.slug}


@pytest.mark.parametrize("state", ["draft", "pending", "rejected", "delisted"])
def test_unpublished_listings_cannot_be_bought(world, state):
    """The checkout takes variant IDs: one of a listing not on sale is refused, and no checkout is made."""
    variant = world.alpha.products[state].variants.first()
    lines = [{"variantId": to_global_id("ProductVariant", variant.pk), "quantity": 1}]
    before = world.checkout.lines.count()
    created = call(Op("storefront", "mutation", "checkoutCreate"), world.shopper2,
                   {"input": {"lines": lines, "email": "eve@example.com"}}, fields="{ checkout { id } errors { code } }")
    assert created.data["checkoutCreate"]["checkout"] is None and created.data["checkoutCreate"]["errors"]
    added = call(Op("storefront", "mutation", "checkoutLinesAdd"), world.shopper1,
                 {"id": to_global_id("Checkout", world.checkout.pk), "lines": lines},
                 fields="{ checkout { id } errors { code } }")
    assert added.data["checkoutLinesAdd"]["errors"] and world.checkout.lines.count() == before


def test_a_storefront_search_finds_published_listings_only(world):
    response = call(Op("storefront", "query", "products"), None, {"first": 100, "filter": {"search": "Alpha Tee"}},
                    fields="{ edges { node { name } } }")
    names = {edge["node"]["name"] for edge in response.data["products"]["edges"]}
    assert names == {"Alpha Published Tee", "Alpha Revised Tee", "Alpha Soldout Tee"}  # sold out is still listed
