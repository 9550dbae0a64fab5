"""Refused qualification documents leave nothing behind: no rows, no files."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from backend.core.models import AuditLogEntry
from backend.vendors import services
from backend.vendors.models import ApplicationDocument, DocumentType, VendorApplication

from .conftest import media_files, pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def assert_nothing_stored(private_media_root):
    assert not VendorApplication.objects.exists()
    assert not ApplicationDocument.objects.exists()
    assert not AuditLogEntry.objects.exists()
    assert media_files(private_media_root) == []


def big_png(size) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 0).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def test_text_named_png_is_refused(apply, user_factory, private_media_root):
    fake = SimpleUploadedFile("licence.png", b"just some text pretending to be a picture", content_type="image/png")
    payload = apply(user_factory(), documents=[("BUSINESS_LICENSE", fake)])
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("UNSUPPORTED_FILE_TYPE", "documents")]
    assert payload["vendorApplication"] is None
    assert_nothing_stored(private_media_root)


def test_truncated_pdf_is_refused(apply, user_factory, private_media_root):
    whole = pdf_upload().read()
    truncated = SimpleUploadedFile("licence.pdf", whole[: len(whole) // 2], content_type="application/pdf")
    payload = apply(user_factory(), documents=[("BUSINESS_LICENSE", truncated)])
    assert [e["code"] for e in payload["errors"]] == ["UNSUPPORTED_FILE_TYPE"]
    assert_nothing_stored(private_media_root)


def test_oversized_file_is_refused(apply, user_factory, private_media_root, settings):
    upload = pdf_upload()
    settings.UPLOAD_MAX_BYTES = upload.size - 1
    payload = apply(user_factory(), documents=[("BUSINESS_LICENSE", upload)])
    assert [e["code"] for e in payload["errors"]] == ["FILE_TOO_LARGE"]
    assert_nothing_stored(private_media_root)


def test_decompression_bomb_is_refused(apply, user_factory, private_media_root, settings):
    # A few kilobytes on the wire, millions of pixels once decoded.
    settings.UPLOAD_MAX_IMAGE_PIXELS = 1_000_000
    bomb = SimpleUploadedFile("scan.png", big_png((4000, 4000)), content_type="image/png")
    assert bomb.size < 100_000
    payload = apply(user_factory(), documents=[("BUSINESS_LICENSE", bomb)])
    assert [e["code"] for e in payload["errors"]] == ["IMAGE_TOO_LARGE"]
    assert_nothing_stored(private_media_root)


def test_corrupt_image_is_refused(apply, user_factory, private_media_root):
    data = png_upload().read()
    broken = SimpleUploadedFile("scan.png", data[:60], content_type="image/png")
    payload = apply(user_factory(), documents=[("BUSINESS_LICENSE", broken)])
    assert [e["code"] for e in payload["errors"]] == ["INVALID_IMAGE"]
    assert_nothing_stored(private_media_root)


def test_one_bad_file_among_good_ones_stores_nothing(apply, user_factory, private_media_root):
    fake = SimpleUploadedFile("brand.pdf", b"%PDF-1.4 but never finished", content_type="application/pdf")
    payload = apply(
        user_factory(),
        documents=[("BUSINESS_LICENSE", pdf_upload()), ("TRADEMARK_CERTIFICATE", png_upload()), ("BRAND_AUTHORIZATION", fake)],
    )
    assert [e["code"] for e in payload["errors"]] == ["UNSUPPORTED_FILE_TYPE"]
    assert_nothing_stored(private_media_root)


def test_files_written_before_a_failure_are_removed(user_factory, categories, private_media_root, monkeypatch):
    """A failure while storing (after some files were written) rolls back rows and removes the files."""
    original_save = ApplicationDocument.save
    calls = {"n": 0}

    def failing_save(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(ApplicationDocument, "save", failing_save)
    with pytest.raises(OSError):
        services.vendor_application_create(
            applicant=user_factory(),
            store_name="Store",
            company_name="Co.",
            contact_email="shop@example.com",
            categories=categories[:1],
            documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload()), (DocumentType.TRADEMARK_CERTIFICATE, png_upload())],
        )
    assert calls["n"] == 2
    assert_nothing_stored(private_media_root)


def test_unknown_document_type_and_too_many_documents(user_factory, categories, private_media_root):
    from backend.core.exceptions import DomainError

    common = dict(
        applicant=user_factory(), store_name="Store", company_name="Co.", contact_email="s@example.com", categories=categories
    )
    with pytest.raises(DomainError) as unknown:
        services.vendor_application_create(**common, documents=[("passport", pdf_upload())])
    assert unknown.value.code.name == "INVALID"
    with pytest.raises(DomainError) as too_many:
        services.vendor_application_create(
            **common, documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload()) for _ in range(services.MAX_DOCUMENTS + 1)]
        )
    assert too_many.value.code.name == "INVALID"
    assert_nothing_stored(private_media_root)
