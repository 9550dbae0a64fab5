"""Private files (qualification documents, dispute evidence) are never served by path.

They are stored under PRIVATE_MEDIA_ROOT, apart from MEDIA_ROOT, so GET /media/<stored name>
is 404 even in DEBUG, where /media/ serves public pictures; only the signed views read them.
"""

import importlib
import os

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import clear_url_caches

from backend.core.storage import move_to_private, private_file_names, private_storage
from backend.disputes.files import evidence_link_path
from backend.disputes.models import DisputeEvidence
from backend.vendors import services as vendor_services
from backend.vendors.files import document_link_path
from backend.vendors.models import ApplicationDocument, DocumentType

from ..checkout.helpers import logistics_data, marketplace_plugins  # noqa: F401 - autouse fixtures
from ..disputes.helpers import dispute_plugins, make_world, open_dispute, upload  # noqa: F401
from ..factories import CategoryFactory
from ..vendors.conftest import pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings):
    """The URLs as `make run` serves them: DEBUG on, /media/ served from MEDIA_ROOT."""
    import backend.urls

    settings.DEBUG = True
    importlib.reload(backend.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(backend.urls)
    clear_url_caches()


@pytest.fixture
def document(user_factory):
    application = vendor_services.vendor_application_create(
        applicant=user_factory(),
        store_name="Private Store",
        company_name="Private Co.",
        contact_email="private@example.com",
        categories=[CategoryFactory()],
        documents=[(DocumentType.BUSINESS_LICENSE, pdf_upload())],
    )
    return application.documents.get()


def test_documents_are_stored_outside_media_root(document, media_root, private_media_root):
    name = document.file.name
    assert os.path.exists(os.path.join(private_media_root, name))
    assert not os.path.exists(os.path.join(media_root, name))
    assert not os.path.realpath(private_media_root).startswith(os.path.realpath(media_root))
    with pytest.raises(ValueError):
        private_storage().url(name)


def test_documents_are_not_served_by_path_in_debug_only_by_signed_link(document, debug_urls, media_root):
    client = Client()
    # /media/ does serve public files in DEBUG: the route under test is there.
    default_storage.save("vendors/1/logo/public.txt", ContentFile(b"public"))
    assert client.get("/media/vendors/1/logo/public.txt").status_code == 200
    assert client.get(f"/media/{document.file.name}").status_code == 404
    # Nor by climbing out of MEDIA_ROOT (refused as a suspicious path).
    climbing = client.get(f"/media/../{os.path.basename(private_storage().location)}/{document.file.name}")
    assert climbing.status_code in (400, 404)
    signed = client.get(document_link_path(document))
    assert signed.status_code == 200 and signed["Content-Type"] == "application/pdf"
    assert b"".join(signed.streaming_content).startswith(b"%PDF-")


def test_evidence_is_not_served_by_path_in_debug_only_by_signed_link(debug_urls, media_root, private_media_root):
    world = make_world()
    dispute = open_dispute(world, evidence=[upload()])
    evidence = DisputeEvidence.objects.get(message__dispute=dispute)
    client = Client()
    for formats in evidence.renditions.values():
        for name in formats.values():
            assert os.path.exists(os.path.join(private_media_root, name))
            assert not os.path.exists(os.path.join(media_root, name))
            assert client.get(f"/media/{name}").status_code == 404
    assert client.get(evidence_link_path(evidence, "large")).status_code == 200


def test_the_web_server_sends_private_files_when_configured(document, settings):
    settings.PRIVATE_MEDIA_ACCEL_REDIRECT = "/private-media/"
    response = Client().get(document_link_path(document))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/private-media/{document.file.name}"
    assert response["Content-Type"] == "application/pdf" and response.content == b""
    assert response["Cache-Control"] == "private, no-store" and response["X-Content-Type-Options"] == "nosniff"


def test_files_stored_before_are_moved_out_of_media_root(document, media_root, private_media_root):
    """As left by the layout before private storage: the document inside MEDIA_ROOT."""
    name = document.file.name
    content = private_storage().open(name).read()
    private_storage().delete(name)
    default_storage.save(name, ContentFile(content))
    world = make_world()
    dispute = open_dispute(world, evidence=[upload()])
    evidence_names = [p for f in DisputeEvidence.objects.get(message__dispute=dispute).renditions.values()
                      for p in f.values()]
    for evidence_name in evidence_names:
        default_storage.save(evidence_name, private_storage().open(evidence_name))
        private_storage().delete(evidence_name)
    assert set(private_file_names()) == {name, *evidence_names}

    call_command("move_private_files")
    for moved in (name, *evidence_names):
        assert not os.path.exists(os.path.join(media_root, moved))
        assert os.path.exists(os.path.join(private_media_root, moved))
    assert private_storage().open(name).read() == content
    # Idempotent: nothing left to move.
    assert move_to_private(private_file_names()) == 0
    assert Client().get(document_link_path(ApplicationDocument.objects.get(pk=document.pk))).status_code == 200


class BucketStorage(Storage):
    """Stands for a private bucket: no local paths; its URLs are the bucket's signed ones."""

    files: dict[str, bytes] = {}

    def _save(self, name, content):
        self.files[name] = content.read()
        return name

    def _open(self, name, mode="rb"):
        return ContentFile(self.files[name], name=name)

    def exists(self, name):
        return name in self.files

    def delete(self, name):
        self.files.pop(name, None)

    def url(self, name):
        return f"https://private-bucket.example/signed/{name}"


def test_a_private_bucket_is_answered_with_its_signed_url(document, settings):
    settings.STORAGES = {**settings.STORAGES, "private": {"BACKEND": f"{__name__}.BucketStorage"}}
    private_storage().save(document.file.name, ContentFile(b"%PDF-1.4 bucket copy"))
    response = Client().get(document_link_path(document))
    assert response.status_code == 302
    assert response["Location"] == f"https://private-bucket.example/signed/{document.file.name}"
    assert response["Cache-Control"] == "private, no-store"
    # The token is checked first: a forged link is 404, whatever the storage.
    assert Client().get(document_link_path(document).replace("/vendor-documents/", "/vendor-documents/x")).status_code == 404
