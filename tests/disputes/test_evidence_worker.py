"""Evidence pictures are re-encoded in the worker, after the upload commits; until then the
evidence is PROCESSING: its uploader gets a link to their own upload, the other party and
staff no link at all, so the original's EXIF (a GPS position) never reaches them."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.core.storage import private_storage
from backend.disputes import services, tasks
from backend.disputes.files import evidence_link_path
from backend.disputes.models import DisputeEvidence, EvidenceStatus

from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient
from .helpers import carries_exif, gps_jpeg, make_world, open_dispute, worker_runs

pytestmark = pytest.mark.django_db

SF_EVIDENCE = "query($id: ID!) { dispute(id: $id) { messages { role evidence { status thumbnailUrl url } } } }"
CORE_EVIDENCE = """
query($id: ID!) {
  dispute(id: $id) { messages { role evidence { status thumbnailUrl url renditions { size format url } } } }
}"""
SF_OPEN = """
mutation($order: ID!, $input: DisputeOpenInput!) {
  disputeOpen(order: $order, input: $input) {
    dispute { id messages { evidence { status url } } } errors { field code message }
  }
}"""


def photo(name="photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, gps_jpeg(), content_type="image/jpeg")


def fetch(url: str) -> bytes:
    response = Client().get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def arbiter(staff_factory):
    return staff_factory(PlatformPermission.ARBITRATE_DISPUTES)


def test_the_upload_is_stored_as_it_came_and_rendered_after_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        dispute = open_dispute(world, evidence=[photo()], rendered=False)
    evidence = DisputeEvidence.objects.get(message__dispute=dispute)
    # Nothing re-encoded in the request: one task queued for after the commit (and the
    # notifications outbox's deliveries of dispute.opened).
    assert (evidence.status, evidence.renditions, evidence.uploaded_by_id) == (
        EvidenceStatus.PROCESSING, {}, world.shopper.pk
    )
    assert len(queued) == 2
    with private_storage().open(evidence.original) as stored:
        assert carries_exif(stored.read())
    original = evidence.original

    with worker_runs():  # the replaced original is deleted after the worker's commit
        for callback in queued:
            callback()  # the worker (eager here)
    evidence.refresh_from_db()
    assert (evidence.status, evidence.original) == (EvidenceStatus.READY, "")
    assert set(evidence.renditions) == {"thumbnail", "large"}
    for formats in evidence.renditions.values():
        for path in formats.values():
            with private_storage().open(path) as stored:
                assert not carries_exif(stored.read()), path
    assert not private_storage().exists(original), "the original goes once the renditions exist"
    # A second run (a duplicated task) finds nothing to do and keeps the renditions.
    kept = dict(evidence.renditions)
    assert tasks.evidence_render(evidence.pk) is False
    evidence.refresh_from_db()
    assert evidence.renditions == kept


def test_while_processing_only_the_uploader_gets_a_link(world, arbiter):
    dispute = open_dispute(world, evidence=[photo()], rendered=False)
    evidence = DisputeEvidence.objects.get(message__dispute=dispute)
    assert evidence_link_path(evidence, "large", viewer=world.owner) is None
    assert evidence_link_path(evidence, "large", viewer=arbiter) is None
    assert evidence_link_path(evidence, "large") is None
    mine = evidence_link_path(evidence, "large", viewer=world.shopper)
    assert fetch(mine) == gps_jpeg()  # the uploader's own picture, as sent

    with worker_runs():
        tasks.evidence_render(evidence.pk)
    evidence.refresh_from_db()
    # The original is gone; the link to it no longer serves anything.
    assert Client().get(mine).status_code == 404
    for viewer in (world.owner, arbiter, world.shopper):
        assert not carries_exif(fetch(evidence_link_path(evidence, "large", viewer=viewer)))


def test_both_apis_show_processing_without_links_to_the_other_party(world, arbiter):
    shop = GraphQLClient(STOREFRONT_URL).login(world.shopper)
    payload = shop.mutate(
        SF_OPEN,
        {
            "order": to_global_id("Order", world.order.pk),
            "input": {"reason": "DAMAGED", "description": "Crushed.", "requestedAmount": "10.00", "evidence": [None]},
        },
        files={"variables.input.evidence.0": photo()},
    )
    assert payload["errors"] == []
    dispute_id = payload["dispute"]["id"]
    (mine,) = payload["dispute"]["messages"][0]["evidence"]
    assert mine["status"] == "PROCESSING" and carries_exif(fetch(mine["url"]))  # the shopper's own upload

    merchant = GraphQLClient(CORE_URL).login(world.owner)
    staff = GraphQLClient(CORE_URL).login(arbiter)
    for api in (merchant, staff):
        (seen,) = api.execute(CORE_EVIDENCE, {"id": dispute_id})["dispute"]["messages"][0]["evidence"]
        assert seen == {"status": "PROCESSING", "thumbnailUrl": None, "url": None, "renditions": []}

    # The vendor answers with a photo of its own: the shopper sees it processing, without a link.
    dispute = services.Dispute.objects.get()
    services.dispute_message_add(actor=world.owner, dispute=dispute, body="Packed well.", evidence=[photo()])
    messages = shop.execute(SF_EVIDENCE, {"id": dispute_id})["dispute"]["messages"]
    assert messages[-1]["role"] == "VENDOR"
    assert messages[-1]["evidence"] == [{"status": "PROCESSING", "thumbnailUrl": None, "url": None}]

    with worker_runs():
        for evidence in DisputeEvidence.objects.all():
            tasks.evidence_render(evidence.pk)
    for message in shop.execute(SF_EVIDENCE, {"id": dispute_id})["dispute"]["messages"]:
        for picture in message["evidence"]:
            assert picture["status"] == "READY"
            assert not carries_exif(fetch(picture["url"])) and not carries_exif(fetch(picture["thumbnailUrl"]))
    for api in (merchant, staff):
        for message in api.execute(CORE_EVIDENCE, {"id": dispute_id})["dispute"]["messages"]:
            for picture in message["evidence"]:
                assert picture["status"] == "READY" and len(picture["renditions"]) == 4
                for rendition in picture["renditions"]:
                    assert not carries_exif(fetch(rendition["url"]))


def test_evidence_whose_task_was_lost_is_rendered_by_the_periodic_task(world, settings):
    settings.DISPUTE_EVIDENCE_RENDER_RETRY_AFTER = 300
    dispute = open_dispute(world, evidence=[photo()], rendered=False)  # its task never ran
    evidence = DisputeEvidence.objects.get(message__dispute=dispute)
    assert services.disputes_render_pending_evidence() == 0, "a fresh upload is left to its own task"
    later = timezone.now() + timedelta(seconds=301)
    with worker_runs():
        assert services.disputes_render_pending_evidence(now=later) == 1
    evidence.refresh_from_db()
    assert evidence.status == EvidenceStatus.READY
    assert services.disputes_render_pending_evidence(now=later) == 0
