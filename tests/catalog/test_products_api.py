"""Merchants manage their listings through the core API, and only their own."""

import io
import os
from decimal import Decimal

import pytest
from django.conf import settings
from PIL import Image

from backend.catalog.models import ListingStatus, Product, ProductMedia, ProductVariant
from backend.core.permissions import PlatformPermission

from ..graphql_client import error_codes
from .helpers import (
    MEDIA_CREATE,
    MEDIA_DELETE,
    PRODUCT,
    PRODUCT_CREATE,
    PRODUCT_DELETE,
    PRODUCT_UPDATE,
    PRODUCTS,
    VARIANT_CREATE,
    VARIANT_DELETE,
    VARIANT_UPDATE,
    gid,
    listed_product,
    upload,
)

pytestmark = pytest.mark.django_db


def create_input(catalog, **overrides):
    data = {
        "category": gid(catalog["tshirts"]),
        "name": "Linen shirt 亚麻衬衫",
        "description": "Breathable linen.",
        "attributes": [{"attribute": "material", "value": "Linen"}],
        "variants": [
            {"sku": "LIN-S", "price": "129.00", "stock": 4, "weight": "0.250",
             "attributes": [{"attribute": "size", "value": "S"}, {"attribute": "colour", "value": "White"}]},
            {"sku": "LIN-M", "price": "139.50", "stock": 0, "weight": "0.260",
             "attributes": [{"attribute": "size", "value": "M"}]},
        ],
    }
    data.update(overrides)
    return data


def test_vendor_staff_create_a_draft_listing_with_variants(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    payload = core_api.login(owner).mutate(PRODUCT_CREATE, {"input": create_input(catalog)})
    assert payload["errors"] == []
    product = payload["product"]
    assert product["status"] == "DRAFT"
    assert product["vendor"]["name"] == "Sunny Apparel"
    assert product["slug"].startswith("linen-shirt-亚麻衬衫")
    assert product["attributes"] == [{"slug": "material", "name": "Material", "value": "Linen"}]
    first, second = product["variants"]
    assert first["price"] == {"amount": "129.00", "currency": settings.DEFAULT_CURRENCY}
    assert first["weight"] == "0.250"
    assert first["attributes"] == [{"slug": "size", "value": "S"}, {"slug": "colour", "value": "White"}]
    assert second["stock"] == 0
    assert product["priceRange"] == {"start": {"amount": "129.00", "currency": "CNY"}, "stop": {"amount": "139.50"}}
    stored = Product.objects.get()
    assert stored.price_min_amount == Decimal("129.00") and stored.vendor == vendor


@pytest.mark.parametrize(
    "overrides, code, field",
    [
        ({"name": "  "}, "REQUIRED", "name"),
        ({"attributes": [{"attribute": "brand", "value": "X"}]}, "INVALID", "attributes"),
        ({"variants": [{"sku": "A", "price": "10.001"}]}, "INVALID", "variants.0.price"),
        ({"variants": [{"sku": "A", "price": "0"}]}, "INVALID", "variants.0.price"),
        ({"variants": [{"sku": "A", "price": "10", "stock": -1}]}, "INVALID", "variants.0.stock"),
        ({"variants": [{"sku": "A", "price": "10", "weight": "-1"}]}, "INVALID", "variants.0.weight"),
        ({"variants": [{"sku": "A", "price": "10", "attributes": [{"attribute": "size", "value": "XXL"}]}]},
         "INVALID", "variants.0.attributes"),
        ({"variants": [{"sku": "A", "price": "10"}, {"sku": "A", "price": "12"}]}, "UNIQUE", "variants.1.sku"),
        ({"category": "Q2F0ZWdvcnk6OTk5OQ=="}, "NOT_FOUND", "category"),
    ],
)
def test_create_refuses_bad_input(core_api, catalog, vendor_and_owner, overrides, code, field):
    _vendor, owner = vendor_and_owner
    payload = core_api.login(owner).mutate(PRODUCT_CREATE, {"input": create_input(catalog, **overrides)})
    assert error_codes(payload) == [code]
    assert payload["errors"][0]["field"] == field
    assert Product.objects.count() == 0 and ProductVariant.objects.count() == 0


def test_sku_is_unique_per_vendor_only(core_api, catalog, vendor_and_owner, other_vendor_and_owner):
    _vendor, owner = vendor_and_owner
    _other, other_owner = other_vendor_and_owner
    assert core_api.login(owner).mutate(PRODUCT_CREATE, {"input": create_input(catalog)})["errors"] == []
    again = core_api.mutate(PRODUCT_CREATE, {"input": create_input(catalog)})
    assert error_codes(again) == ["UNIQUE"]
    assert core_api.login(other_owner).mutate(PRODUCT_CREATE, {"input": create_input(catalog)})["errors"] == []


def test_shoppers_cannot_list_and_staff_must_name_the_vendor(core_api, catalog, shopper, vendor_and_owner, review_staff):
    vendor, _owner = vendor_and_owner
    assert error_codes(core_api.login(shopper).mutate(PRODUCT_CREATE, {"input": create_input(catalog)})) == [
        "PERMISSION_DENIED"
    ]
    assert error_codes(core_api.logout().mutate(PRODUCT_CREATE, {"input": create_input(catalog)})) == [
        "PERMISSION_DENIED"
    ]
    assert error_codes(core_api.login(review_staff).mutate(PRODUCT_CREATE, {"input": create_input(catalog)})) == [
        "REQUIRED"
    ]
    payload = core_api.mutate(PRODUCT_CREATE, {"input": create_input(catalog, vendor=gid(vendor))})
    assert payload["errors"] == [] and payload["product"]["vendor"]["name"] == vendor.name


def test_vendor_staff_cannot_list_for_another_vendor(core_api, catalog, vendor_and_owner, other_vendor_and_owner):
    _vendor, owner = vendor_and_owner
    other, _ = other_vendor_and_owner
    payload = core_api.login(owner).mutate(PRODUCT_CREATE, {"input": create_input(catalog, vendor=gid(other))})
    assert error_codes(payload) == ["NOT_FOUND"]
    assert Product.objects.count() == 0


def test_update_a_draft_applies_at_once(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT)
    payload = core_api.login(owner).mutate(
        PRODUCT_UPDATE,
        {"id": gid(product), "input": {"name": "Heavy T-shirt", "category": gid(catalog["apparel"])}},
    )
    assert payload["errors"] == []
    assert payload["product"]["name"] == "Heavy T-shirt"
    assert payload["product"]["category"]["slug"] == "apparel"
    assert payload["product"]["pendingRevision"] is None


def test_variant_management(core_api, catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"])
    api = core_api.login(owner)
    created = api.mutate(
        VARIANT_CREATE, {"product": gid(product), "input": {"sku": "NEW-1", "price": "59.90", "stock": 3}}
    )
    assert created["errors"] == []
    variant_id = created["productVariant"]["id"]
    updated = api.mutate(VARIANT_UPDATE, {"id": variant_id, "input": {"price": "49.90", "stock": 7, "weight": "1.5"}})
    assert updated["errors"] == []
    assert updated["productVariant"]["price"]["amount"] == "49.90"
    assert updated["productVariant"]["weight"] == "1.500"
    product.refresh_from_db()
    # Price and stock changes need no review: the listing stays published without a revision.
    assert product.status == ListingStatus.PUBLISHED and not product.revisions.exists()
    assert product.price_min_amount == Decimal("49.90")
    assert api.mutate(VARIANT_DELETE, {"id": variant_id})["errors"] == []
    only = product.variants.get()
    assert error_codes(api.mutate(VARIANT_DELETE, {"id": gid(only)})) == ["INVALID"]


def test_media_upload_is_reencoded_without_exif(
    core_api, catalog, vendor_and_owner, media_root, django_capture_on_commit_callbacks
):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, image=False)
    picture = Image.new("RGB", (1600, 1000), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = SimpleUploadedFile("holiday.jpg", buffer.getvalue(), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):  # the worker's renditions, after commit
        payload = core_api.login(owner).mutate(
            MEDIA_CREATE, {"product": gid(product), "image": None}, files={"variables.image": image}
        )
    assert payload["errors"] == []
    media = payload["media"]
    assert (media["width"], media["height"]) == (1600, 1000)
    # Answered before the renditions exist: the original stands in for each of them.
    assert media["url"].startswith("http://testserver/media/products/") and media["url"].endswith("/original.jpg")
    assert media["thumb"] == media["url"]
    stored = ProductMedia.objects.get()
    original = media["url"].removeprefix("http://testserver/media/")
    assert not os.path.exists(os.path.join(media_root, original))  # removed once the renditions exist
    assert set(stored.renditions) == {"thumbnail", "card", "detail"}
    for size, formats in stored.renditions.items():
        for fmt, path in formats.items():
            with Image.open(os.path.join(media_root, path)) as rendition:
                assert rendition.format == {"webp": "WEBP", "jpeg": "JPEG"}[fmt]
                assert not rendition.getexif()
                if size == "thumbnail":
                    assert rendition.size == (200, 200)
                elif size == "detail":
                    assert rendition.size == (1200, 750)


def test_media_upload_refuses_what_is_not_an_image(core_api, catalog, vendor_and_owner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, image=False)
    fake = SimpleUploadedFile("x.png", b"<?php echo 1; ?>", content_type="image/png")
    payload = core_api.login(owner).mutate(
        MEDIA_CREATE, {"product": gid(product), "image": None}, files={"variables.image": fake}
    )
    assert error_codes(payload) == ["UNSUPPORTED_FILE_TYPE"] or error_codes(payload) == ["INVALID_IMAGE"]
    assert not ProductMedia.objects.exists()


def test_delete_a_draft_but_not_a_published_listing(
    core_api, catalog, vendor_and_owner, media_root, django_capture_on_commit_callbacks
):
    vendor, owner = vendor_and_owner
    draft = listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, name="Draft")
    live = listed_product(vendor, owner, catalog["tshirts"], name="Live")
    api = core_api.login(owner)
    files = [p for m in draft.media.all() for f in m.renditions.values() for p in f.values()]
    assert files and all(os.path.exists(os.path.join(media_root, p)) for p in files)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.mutate(PRODUCT_DELETE, {"id": gid(draft)})["errors"] == []
    assert not Product.objects.filter(pk=draft.pk).exists()
    assert not any(os.path.exists(os.path.join(media_root, p)) for p in files)
    assert error_codes(api.mutate(PRODUCT_DELETE, {"id": gid(live)})) == ["INVALID_TRANSITION"]


# --- Scoping: another vendor's staff reach nothing, for every operation ---


@pytest.fixture
def rival_setup(catalog, vendor_and_owner, other_vendor_and_owner):
    vendor, owner = vendor_and_owner
    product = listed_product(vendor, owner, catalog["tshirts"])
    _other, rival = other_vendor_and_owner
    return product, rival


def snapshot(product):
    product.refresh_from_db()
    return (
        product.name,
        product.status,
        list(product.variants.values_list("sku", "price_amount", "stock")),
        list(product.media.values_list("pk", "is_live", "removal_requested")),
        product.revisions.count(),
    )


def scoped_operations(product):
    variant = product.variants.first()
    media = product.media.first()
    return [
        (PRODUCT_UPDATE, {"id": gid(product), "input": {"name": "Hijacked"}}, None),
        (PRODUCT_DELETE, {"id": gid(product)}, None),
        (VARIANT_CREATE, {"product": gid(product), "input": {"sku": "X", "price": "1.00"}}, None),
        (VARIANT_UPDATE, {"id": gid(variant), "input": {"price": "1.00"}}, None),
        (VARIANT_DELETE, {"id": gid(variant)}, None),
        (MEDIA_CREATE, {"product": gid(product), "image": None}, {"variables.image": upload()}),
        (MEDIA_DELETE, {"id": gid(media)}, None),
        ("mutation($id: ID!) { productSubmitForReview(id: $id) { errors { code } } }", {"id": gid(product)}, None),
        ("mutation($id: ID!) { productDelist(id: $id) { errors { code } } }", {"id": gid(product)}, None),
    ]


def test_another_vendors_staff_get_not_found_for_every_operation(core_api, rival_setup):
    product, rival = rival_setup
    before = snapshot(product)
    api = core_api.login(rival)
    for document, variables, files in scoped_operations(product):
        payload = api.mutate(document, variables, files=files)
        assert error_codes(payload) == ["NOT_FOUND"], (document, payload)
    assert snapshot(product) == before
    assert api.execute(PRODUCT, {"id": gid(product)})["product"] is None
    assert api.execute(PRODUCTS)["products"]["totalCount"] == 0
    for node_type, obj in (("ProductVariant", product.variants.first()), ("ProductMedia", product.media.first())):
        query = "query($id: ID!) { node(id: $id) { id } }"
        assert api.execute(query, {"id": gid(obj)})["node"] is None, node_type


def test_shoppers_see_no_listings_in_the_core_api(core_api, rival_setup, shopper):
    product, _rival = rival_setup
    api = core_api.login(shopper)
    assert api.execute(PRODUCT, {"id": gid(product)})["product"] is None
    assert api.execute(PRODUCTS)["products"]["totalCount"] == 0
    for document, variables, files in scoped_operations(product):
        assert error_codes(api.mutate(document, variables, files=files)) == ["NOT_FOUND"]


def test_products_list_scoped_and_filtered(core_api, catalog, vendor_and_owner, other_vendor_and_owner, staff_factory):
    vendor, owner = vendor_and_owner
    other, rival = other_vendor_and_owner
    listed_product(vendor, owner, catalog["tshirts"], name="Mine published")
    listed_product(vendor, owner, catalog["tshirts"], name="Mine draft", status=ListingStatus.DRAFT)
    listed_product(other, rival, catalog["phones"], name="Theirs", attributes={"brand": "Acme"})
    api = core_api.login(owner)
    names = {e["node"]["name"] for e in api.execute(PRODUCTS, {"first": 10})["products"]["edges"]}
    assert names == {"Mine published", "Mine draft"}
    drafts = api.execute(PRODUCTS, {"first": 10, "filter": {"status": "DRAFT"}})["products"]
    assert [e["node"]["name"] for e in drafts["edges"]] == ["Mine draft"]
    # Filtering by another vendor does not widen the scope.
    theirs = api.execute(PRODUCTS, {"first": 10, "filter": {"vendor": gid(other)}})["products"]
    assert theirs["totalCount"] == 0
    staff = core_api.login(staff_factory(PlatformPermission.REVIEW_LISTINGS))
    assert staff.execute(PRODUCTS, {"first": 10})["products"]["totalCount"] == 3
    electronics = staff.execute(PRODUCTS, {"first": 10, "filter": {"category": gid(catalog["electronics"])}})
    assert [e["node"]["name"] for e in electronics["products"]["edges"]] == ["Theirs"]
    found = staff.execute(PRODUCTS, {"first": 10, "filter": {"search": "draft"}})["products"]
    assert [e["node"]["name"] for e in found["edges"]] == ["Mine draft"]
    # Staff without a catalog permission see nothing.
    plain = core_api.login(staff_factory())
    assert plain.execute(PRODUCTS, {"first": 10})["products"]["totalCount"] == 0
