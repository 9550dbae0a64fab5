"""Image uploads: a decoded-pixel limit per use, checked on the header before any decoding, and
renditions made in the worker after commit, the original shown until they exist."""

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile

from backend.catalog import services
from backend.catalog.models import ListingStatus, ProductMedia
from backend.core.exceptions import DomainError
from backend.core.uploads import check_document, check_image
from backend.vendors import services as vendor_services

from ..graphql_client import error_codes
from .helpers import MEDIA_CREATE, gid, listed_product, upload

pytestmark = pytest.mark.django_db

PRODUCT_MEDIA = "query Media($id: ID!) { product(id: $id) { media { url thumb: url(size: THUMBNAIL, format: JPEG) } } }"


def _declared_6000x6000_png() -> bytes:
    """The issue's file: a few kB of PNG declaring 6000x6000 (36 million pixels) of one colour."""
    buffer = io.BytesIO()
    Image.new("1", (6000, 6000)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


BOMB = _declared_6000x6000_png()


def declared_6000x6000_png() -> bytes:
    return BOMB


def picture(size, fmt="PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(buffer, fmt)
    return SimpleUploadedFile(f"picture.{fmt.lower()}", buffer.getvalue(), content_type=f"image/{fmt.lower()}")


@pytest.fixture
def no_decoding(monkeypatch):
    """Any pixel decoding fails loudly (as INVALID_IMAGE), so IMAGE_TOO_LARGE proves the header sufficed."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)


@pytest.fixture
def draft(catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    return listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, image=False), owner


@pytest.mark.parametrize("use", ["document", "evidence", "product_media", "store_image"])
def test_the_small_png_declaring_6000x6000_is_refused_from_its_header(no_decoding, use):
    content = declared_6000x6000_png()
    assert len(content) < 12 * 1024
    with pytest.raises(DomainError) as refused:
        check_image(SimpleUploadedFile("bomb.png", content), use=use)
    assert refused.value.code.name == "IMAGE_TOO_LARGE"
    assert "6000x6000" in refused.value.message


def test_documents_use_their_own_limit(no_decoding, settings):
    settings.UPLOAD_IMAGE_PIXEL_LIMITS = {**settings.UPLOAD_IMAGE_PIXEL_LIMITS, "document": 40_000_000}
    with pytest.raises(DomainError) as refused:  # now past the header check: decoding is attempted
        check_document(SimpleUploadedFile("scan.png", declared_6000x6000_png()))
    assert refused.value.code.name == "INVALID_IMAGE"


def test_each_use_has_its_own_limit(settings):
    limits = settings.UPLOAD_IMAGE_PIXEL_LIMITS
    assert limits["store_image"] < limits["product_media"] <= limits["document"] <= settings.UPLOAD_MAX_IMAGE_PIXELS
    nine_megapixels = picture((3000, 3000)).read()
    assert check_image(SimpleUploadedFile("p.png", nine_megapixels), use="product_media").width == 3000
    with pytest.raises(DomainError) as refused:
        check_image(SimpleUploadedFile("p.png", nine_megapixels), use="store_image")
    assert refused.value.code.name == "IMAGE_TOO_LARGE"
    # A use's limit never exceeds the global one.
    settings.UPLOAD_MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(DomainError):
        check_image(SimpleUploadedFile("p.png", nine_megapixels), use="product_media")


def test_the_api_refuses_it_and_stores_nothing(core_api, draft, media_root):
    product, owner = draft
    payload = core_api.login(owner).mutate(
        MEDIA_CREATE, {"product": gid(product), "image": None},
        files={"variables.image": SimpleUploadedFile("bomb.png", declared_6000x6000_png(), content_type="image/png")},
    )
    assert error_codes(payload) == ["IMAGE_TOO_LARGE"]
    assert not ProductMedia.objects.exists()
    assert [f for _, _, files in os.walk(media_root) for f in files] == []


def test_listing_renditions_are_made_after_commit_showing_the_original_meanwhile(
    core_api, draft, media_root, django_capture_on_commit_callbacks
):
    product, owner = draft
    api = core_api.login(owner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        payload = api.mutate(
            MEDIA_CREATE, {"product": gid(product), "image": None}, files={"variables.image": picture((900, 600), "JPEG")}
        )
    assert payload["errors"] == [] and len(callbacks) == 1
    # No worker yet: every size shows the stored original.
    before = api.execute(PRODUCT_MEDIA, {"id": gid(product)})["product"]["media"]
    assert before == [{"url": payload["media"]["url"], "thumb": payload["media"]["url"]}]
    assert before[0]["url"].endswith("/original.jpg")
    original = before[0]["url"].removeprefix("http://testserver/media/")
    assert os.path.exists(os.path.join(media_root, original))

    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # what the worker runs once the upload has committed
    after = api.execute(PRODUCT_MEDIA, {"id": gid(product)})["product"]["media"]
    assert after[0]["url"].endswith("/card.webp") and after[0]["thumb"].endswith("/thumbnail.jpg")
    assert not os.path.exists(os.path.join(media_root, original))
    with Image.open(os.path.join(media_root, after[0]["thumb"].removeprefix("http://testserver/media/"))) as thumb:
        assert thumb.size == (200, 200)
    # Run again (a redelivered task): nothing left to do.
    assert services.product_media_render(media_id=ProductMedia.objects.get().pk, original=original) is False


def test_a_removed_image_is_not_rendered(draft, django_capture_on_commit_callbacks):
    product, owner = draft
    with django_capture_on_commit_callbacks(execute=False):
        media = services.product_media_create(actor=owner, product=product, image=upload())
    original = media.path("card", "webp")
    services.product_media_delete(actor=owner, media=media)
    assert services.product_media_render(media_id=media.pk, original=original) is False


def test_store_logo_renditions_are_made_after_commit_and_a_newer_upload_wins(
    make_store, media_root, django_capture_on_commit_callbacks
):
    vendor, owner = make_store
    with django_capture_on_commit_callbacks(execute=False) as first:
        vendor_services.vendor_update(actor=owner, vendor=vendor, logo=picture((400, 400)))
    assert len(first) == 1  # the renditions wait for the worker
    vendor.refresh_from_db()
    first_original = vendor.logo["64"]["webp"]
    assert {p for f in vendor.logo.values() for p in f.values()} == {first_original}
    with django_capture_on_commit_callbacks(execute=False) as second:
        vendor_services.vendor_update(actor=owner, vendor=vendor, logo=picture((500, 500)))
    # The first upload's task comes late: the newer logo stays.
    assert vendor_services.vendor_image_render(vendor_id=vendor.pk, kind="logo", original=first_original) is False
    second[-1]()
    vendor.refresh_from_db()
    assert vendor.logo["256"]["jpeg"].endswith("/256.jpg")
    with Image.open(os.path.join(media_root, vendor.logo["256"]["jpeg"])) as logo:
        assert logo.size == (256, 256)


@pytest.fixture
def make_store(db):
    from ..factories import vendor_with_owner

    return vendor_with_owner()
