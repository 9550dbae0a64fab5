"""Served: a phone photo with GPS EXIF sent as dispute evidence never reaches the other party
with its EXIF. The instance runs no worker (Celery not eager, nothing consumes the queue), so the
evidence stays PROCESSING until the worker's job runs (`manage.py run_task`, as an operator or
beat would after a lost task); then the vendor and staff get the re-encoded picture only.
"""

from __future__ import annotations

import json

import pytest

from ..disputes.helpers import EXIF_MARKER, carries_exif, gps_jpeg
from . import journey as j

SF_OPEN = f"""
mutation Dispute($order: ID!, $input: DisputeOpenInput!) {{
  disputeOpen(order: $order, input: $input) {{
    dispute {{ id messages {{ evidence {{ status url thumbnailUrl }} }} }} {j.ERRORS}
  }}
}}"""
CORE_EVIDENCE = """
query Evidence($id: ID!) {
  dispute(id: $id) { messages { evidence { status url thumbnailUrl renditions { size format url } } } }
}"""


@pytest.fixture(scope="module")
def no_worker(start_served):
    return start_served({"CELERY_TASK_ALWAYS_EAGER": "0", "DISPUTE_EVIDENCE_RENDER_RETRY_AFTER_SECONDS": "0"})


def evidence_seen(served, dispute_id: str, token: str) -> tuple[list[dict], bytes]:
    status, headers, content = served.post(
        "/graphql/",
        json.dumps({"query": CORE_EVIDENCE, "variables": {"id": dispute_id}}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert status == 200, content[:2000]
    body = json.loads(content)
    assert not body.get("errors"), body
    return body["data"]["dispute"]["messages"][0]["evidence"], content


def download(served, url: str) -> bytes:
    status, headers, content = served.get(url)
    assert status == 200, (status, content[:300])
    assert headers["Cache-Control"] == "private, no-store"
    return content


def test_the_other_party_never_receives_the_exif_and_gets_the_rendition_after_the_worker(no_worker):
    served = no_worker
    staff = j.staff_token(served)
    category = j.categories(served)["specialty-food"]
    j.fee_plans(served, staff, category)
    store = j.open_store(served, staff, category, "Evidence Teas")
    j.list_product(served, staff, store, category, name="Biluochun", price="120.00")
    shopper, order = j.paid_order(served, store)

    photo = gps_jpeg()
    assert carries_exif(photo)
    opened = j.mutate(
        served,
        SF_OPEN,
        {"order": order["id"], "input": {
            "reason": "NOT_AS_DESCRIBED", "description": "Not the tea in the pictures.", "requestedAmount": "50.00",
            "evidence": [None],
        }},
        endpoint="storefront",
        token=shopper,
        files={"variables.input.evidence.0": ("photo.jpg", photo, "image/jpeg")},
    )["dispute"]
    (mine,) = opened["messages"][0]["evidence"]
    # The shopper sees their own upload while it is processing.
    assert mine["status"] == "PROCESSING"
    assert download(served, mine["url"]) == photo

    # The store and staff: processing, no link, nothing of the file in the answer.
    for token in (store.owner_token, staff):
        (seen,), raw = evidence_seen(served, opened["id"], token)
        assert seen == {"status": "PROCESSING", "url": None, "thumbnailUrl": None, "renditions": []}
        assert EXIF_MARKER not in raw

    # The worker's job: the renditions are made and the original is removed.
    ran = served.manage("run_task", "disputes.render_pending_evidence")
    assert ran.returncode == 0, ran.stderr
    assert "result 1" in ran.stdout, ran.stdout

    for token in (store.owner_token, staff):
        (seen,), raw = evidence_seen(served, opened["id"], token)
        assert seen["status"] == "READY" and len(seen["renditions"]) == 4
        assert EXIF_MARKER not in raw
        for url in (seen["url"], seen["thumbnailUrl"], *(r["url"] for r in seen["renditions"])):
            picture = download(served, url)
            assert picture != photo and not carries_exif(picture)
    # The link to the original the shopper was given serves nothing any more.
    status, _headers, _content = served.get(mine["url"])
    assert status == 404
