"""A listing image that fails half-way leaves nothing behind: no row, no files."""

import os

import pytest
from django.core.files.storage import default_storage

from backend.catalog import services
from backend.catalog.models import ListingStatus, ProductMedia

from .helpers import listed_product, upload

pytestmark = pytest.mark.django_db


def stored_files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


@pytest.fixture
def draft(catalog, vendor_and_owner):
    vendor, owner = vendor_and_owner
    return listed_product(vendor, owner, catalog["tshirts"], status=ListingStatus.DRAFT, image=False), owner


def test_files_written_before_the_row_fails_are_removed(draft, media_root, monkeypatch):
    product, owner = draft

    def failing_create(*args, **kwargs):
        raise OSError("database gone")

    monkeypatch.setattr(ProductMedia.objects, "create", failing_create)
    with pytest.raises(OSError):
        services.product_media_create(actor=owner, product=product, image=upload())
    assert stored_files(media_root) == []


def test_a_storage_failure_half_way_removes_the_renditions_already_written(draft, media_root, monkeypatch):
    """The renditions are written by the worker: a failure half-way through removes those
    already written and leaves the listing showing the original."""
    product, owner = draft
    media = services.product_media_create(actor=owner, product=product, image=upload())
    [original] = stored_files(media_root)
    original_save = default_storage.save
    written = []

    def failing_save(name, content, *args, **kwargs):
        if len(written) == 3:
            raise OSError("disk full")
        written.append(original_save(name, content, *args, **kwargs))
        return written[-1]

    monkeypatch.setattr(default_storage, "save", failing_save)
    with pytest.raises(OSError):
        services.product_media_render(media_id=media.pk, original=original)
    assert len(written) == 3
    assert stored_files(media_root) == [original]
    media.refresh_from_db()
    assert {path for formats in media.renditions.values() for path in formats.values()} == {original}
