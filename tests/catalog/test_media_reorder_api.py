"""productMediaReorder: a listing's pictures in the merchant's order (the first is the thumbnail)."""

import pytest
from graphql_relay import to_global_id

from backend.catalog import services
from backend.catalog.models import ListingStatus

from ..graphql_client import CORE_URL, GraphQLClient, error_codes
from .helpers import gid, listed_product, reviewer, upload

pytestmark = pytest.mark.django_db

REORDER = """
mutation($product: ID!, $media: [ID!]!) {
  productMediaReorder(product: $product, media: $media) {
    product { status media { id sortOrder } thumbnail { id } pendingRevision { id } }
    errors { field code message }
  }
}"""


def _with_pictures(vendor, owner, category, count=3, publish=False):
    product = listed_product(vendor, owner, category, status=ListingStatus.DRAFT)
    for _ in range(count - 1):
        media = services.product_media_create(actor=owner, product=product, image=upload())
        services.product_media_render(media_id=media.pk, original=media.path("card", "webp"))
    if publish:
        services.product_submit_for_review(actor=owner, product=product)
        product = services.product_approve(actor=reviewer(), product=product)
    return product


def test_the_owner_reorders_pictures_and_the_first_becomes_the_thumbnail(catalog, vendor_and_owner, media_root):
    vendor, owner = vendor_and_owner
    product = _with_pictures(vendor, owner, catalog["apparel"])
    ids = [gid(m) for m in product.media.all()]
    new_order = [ids[2], ids[0], ids[1]]
    payload = GraphQLClient(CORE_URL).login(owner).mutate(REORDER, {"product": gid(product), "media": new_order})
    assert payload["errors"] == []
    assert [m["id"] for m in payload["product"]["media"]] == new_order
    assert [m["sortOrder"] for m in payload["product"]["media"]] == [1, 2, 3]
    assert payload["product"]["thumbnail"]["id"] == ids[2]


def test_reordering_a_published_listing_applies_at_once_without_a_revision(catalog, vendor_and_owner, media_root):
    vendor, owner = vendor_and_owner
    product = _with_pictures(vendor, owner, catalog["apparel"], count=2, publish=True)
    ids = [gid(m) for m in product.media.all()]
    payload = GraphQLClient(CORE_URL).login(owner).mutate(REORDER, {"product": gid(product), "media": ids[::-1]})
    assert payload["errors"] == []
    assert payload["product"]["status"] == "PUBLISHED" and payload["product"]["pendingRevision"] is None
    assert [m["id"] for m in payload["product"]["media"]] == ids[::-1]


@pytest.mark.parametrize("change", ["missing", "twice", "foreign", "not_media"])
def test_the_list_must_be_exactly_the_listings_pictures(catalog, vendor_and_owner, other_vendor_and_owner, media_root, change):
    vendor, owner = vendor_and_owner
    product = _with_pictures(vendor, owner, catalog["apparel"])
    ids = [gid(m) for m in product.media.all()]
    other = listed_product(*other_vendor_and_owner, catalog["apparel"], status=ListingStatus.DRAFT)
    media = {
        "missing": ids[:2],
        "twice": [ids[0], ids[0], ids[1], ids[2]],
        "foreign": ids[:2] + [gid(other.media.first())],
        "not_media": ids[:2] + [to_global_id("Product", product.pk)],
    }[change]
    before = list(product.media.values_list("pk", "sort_order"))
    payload = GraphQLClient(CORE_URL).login(owner).mutate(REORDER, {"product": gid(product), "media": media})
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("media", "INVALID")]
    assert list(product.media.values_list("pk", "sort_order")) == before


def test_another_store_cannot_reorder(catalog, vendor_and_owner, other_vendor_and_owner, media_root):
    vendor, owner = vendor_and_owner
    product = _with_pictures(vendor, owner, catalog["apparel"], count=2)
    ids = [gid(m) for m in product.media.all()]
    _, other_owner = other_vendor_and_owner
    payload = GraphQLClient(CORE_URL).login(other_owner).mutate(REORDER, {"product": gid(product), "media": ids[::-1]})
    assert error_codes(payload) == ["NOT_FOUND"]
    assert [gid(m) for m in product.media.all()] == ids
