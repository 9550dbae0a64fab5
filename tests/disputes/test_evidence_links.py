"""Evidence pictures are private: served only through signed, expiring links (like vendor documents),
never from their storage path, to the dispute's parties and arbitration staff."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.core.signed_files import sign_file_token
from backend.core.storage import private_storage
from backend.disputes import services
from backend.disputes.files import EVIDENCE_LINK_SALT, evidence_link_path
from backend.disputes.models import DisputeEvidence
from backend.vendors.files import DOCUMENT_LINK_SALT

from ..conftest import make_user
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient
from .helpers import make_world, open_dispute, upload, worker_runs

pytestmark = pytest.mark.django_db

SF_EVIDENCE = """
query($id: ID!) { dispute(id: $id) { messages { evidence { thumbnailUrl url } } } }"""
CORE_EVIDENCE = """
query($id: ID!) { dispute(id: $id) { messages { evidence { thumbnailUrl url renditions { size format url } } } } }"""


@pytest.fixture
def evidence_dispute():
    world = make_world()
    dispute = open_dispute(world, reason="damaged", evidence=[upload()])
    return world, dispute, DisputeEvidence.objects.get()


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_each_party_and_staff_get_working_signed_links_never_the_storage_path(evidence_dispute, staff_factory):
    world, dispute, evidence = evidence_dispute
    stored = [path for formats in evidence.renditions.values() for path in formats.values()]
    dispute_id = to_global_id("Dispute", dispute.pk)
    shopper = GraphQLClient(STOREFRONT_URL).login(world.shopper)
    response = shopper.raw(SF_EVIDENCE, {"id": dispute_id})
    assert not any(path in response.content.decode() for path in stored)
    (picture,) = response.json()["data"]["dispute"]["messages"][0]["evidence"]
    merchant = GraphQLClient(CORE_URL).login(world.owner)
    arbiter = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.ARBITRATE_DISPUTES))
    for api in (merchant, arbiter):
        response = api.raw(CORE_EVIDENCE, {"id": dispute_id})
        assert not any(path in response.content.decode() for path in stored)
        (seen,) = response.json()["data"]["dispute"]["messages"][0]["evidence"]
        assert {(r["size"], r["format"]) for r in seen["renditions"]} == {
            ("thumbnail", "jpeg"), ("thumbnail", "webp"), ("large", "jpeg"), ("large", "webp"),
        }
        for rendition in seen["renditions"]:
            served = Client().get(path_of(rendition["url"]))
            assert served.status_code == 200
            assert served["Content-Type"] == f"image/{rendition['format']}"
            expected = private_storage().open(evidence.renditions[rendition["size"]][rendition["format"]]).read()
            assert b"".join(served.streaming_content) == expected

    served = Client().get(path_of(picture["thumbnailUrl"]))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "private, no-store" and served["X-Content-Type-Options"] == "nosniff"
    assert Client().get(path_of(picture["url"])).status_code == 200
    # Another shopper sees no dispute, so no link.
    other = GraphQLClient(STOREFRONT_URL).login(make_user())
    assert other.execute(SF_EVIDENCE, {"id": dispute_id})["dispute"] is None


def test_links_expire_and_cannot_be_forged_or_reused_for_other_files(evidence_dispute, settings):
    _world, _dispute, evidence = evidence_dispute
    settings.DISPUTE_EVIDENCE_LINK_MAX_AGE = 60
    path = evidence_link_path(evidence, "large")
    assert path.startswith("/dispute-evidence/")
    assert Client().get(path).status_code == 200
    assert Client().get(path[:-3] + "xx/").status_code == 404
    with freeze_time(timezone.now() + timedelta(seconds=120)):
        assert Client().get(path).status_code == 404
    # A vendor document's token (another salt) opens no evidence, and an evidence token no document.
    document_token = sign_file_token({"e": evidence.pk, "s": "large", "f": "jpeg"}, salt=DOCUMENT_LINK_SALT)
    assert Client().get(reverse("dispute-evidence", kwargs={"token": document_token})).status_code == 404
    evidence_token = sign_file_token({"d": evidence.pk}, salt=EVIDENCE_LINK_SALT)
    assert Client().get(reverse("vendor-document", kwargs={"token": evidence_token})).status_code == 404
    # A well-signed token for a rendition that does not exist.
    missing = sign_file_token({"e": evidence.pk, "s": "original", "f": "png"}, salt=EVIDENCE_LINK_SALT)
    assert Client().get(reverse("dispute-evidence", kwargs={"token": missing})).status_code == 404
    assert evidence_link_path(evidence, "original") is None


def test_the_staff_console_shows_evidence_through_signed_links(evidence_dispute, superuser):
    world, dispute, evidence = evidence_dispute
    with worker_runs():
        services.dispute_message_add(actor=world.owner, dispute=dispute, body="Packed with care.", evidence=[upload()])
    # One more picture whose renditions the worker has not made yet: staff see it as processing, no link.
    services.dispute_message_add(actor=world.owner, dispute=dispute, body="And the box.", evidence=[upload()])
    console = Client()
    console.force_login(superuser)
    page = console.get(reverse("admin:disputes_dispute_change", args=[dispute.pk])).content.decode()
    assert page.count('<img src="/dispute-evidence/') == 2
    assert "1 picture(s) processing" in page and "None" not in page.split("And the box.")[1][:400]
    assert "/media/disputes/" not in page
