"""Served: the remaining write paths that lock rows or replace files, with real commits.

- shipmentCancel locks the shipment and gives the carrier quota back: two cancellations sent at
  once cancel it once, the loser gets a coded error, never a raw database error;
- orderShip claims the order before calling the carrier with no lock held: four requests at once
  book one parcel;
- an information request answered with a new document (multipart) replaces the stored file after
  the commit: the signed link serves the new file and the application is submitted again.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from graphql_relay import from_global_id

from fixtures.demo.documents import minimal_pdf

from . import journey

ERRORS = journey.ERRORS

SHIP = f"""
mutation Ship($order: ID!) {{
  orderShip(id: $order, input: {{carrier: "{journey.TABLE_RATE}"}}) {{
    order {{ id shipment {{ id status trackingNumber }} }} {ERRORS}
  }}
}}"""
CANCEL = f"""
mutation CancelShipment($id: ID!) {{
  shipmentCancel(id: $id, reason: "Booked the wrong service.") {{ shipment {{ id status }} {ERRORS} }}
}}"""
ORDER_SHIPMENT = """
query OrderShipment($id: ID!) { order(id: $id) { shipment { id status } } }"""

REQUEST_INFO = f"""
mutation RequestInfo($id: ID!) {{
  vendorApplicationRequestInfo(id: $id, message: "The licence is unreadable; upload a clear copy.") {{
    vendorApplication {{ id status }} {ERRORS}
  }}
}}"""
UPDATE = f"""
mutation Resubmit($id: ID!, $input: VendorApplicationUpdateInput!) {{
  vendorApplicationUpdate(id: $id, input: $input) {{
    vendorApplication {{ id status documents {{ documentType size url }} }} {ERRORS}
  }}
}}"""
APPLY = journey.APPLY


def test_two_concurrent_shipment_cancellations_cancel_once(served, marketplace):
    tea = marketplace["tea"]
    _, order = journey.paid_order(served, tea)
    shipped = journey.mutate(served, SHIP, {"order": order["id"]}, token=tea.owner_token)["order"]
    shipment = shipped["shipment"]
    assert shipment["status"] == "INFO_RECEIVED"

    answers = journey.race(2, lambda _: served.graphql(CANCEL, {"id": shipment["id"]}, token=tea.owner_token))
    for status, body in answers:
        assert status == 200 and not body.get("errors"), body
    payloads = [body["data"]["shipmentCancel"] for _, body in answers]
    winners = [p for p in payloads if not p["errors"]]
    losers = [p for p in payloads if p["errors"]]
    assert len(winners) == 1 and winners[0]["shipment"]["status"] == "CANCELLED", payloads
    # The loser came after the cancellation (INVALID_TRANSITION) or while the carrier was being told.
    assert len(losers) == 1 and losers[0]["errors"][0]["code"] in {
        "INVALID_TRANSITION", "CARRIER_CALL_IN_PROGRESS"
    }, payloads

    current = journey.call(served, ORDER_SHIPMENT, {"id": order["id"]}, token=tea.owner_token)["order"]
    assert current["shipment"] is None or current["shipment"]["status"] == "CANCELLED", current


def test_four_ship_requests_at_once_book_one_parcel(served, marketplace):
    """The order is claimed in a short transaction before the carrier is called with no lock held:
    requests racing for one order make one booking; the others get a coded error."""
    tea = marketplace["tea"]
    _, order = journey.paid_order(served, tea)
    answers = journey.race(4, lambda _: served.graphql(SHIP, {"order": order["id"]}, token=tea.owner_token))
    for status, body in answers:
        assert status == 200 and not body.get("errors"), body
    payloads = [body["data"]["orderShip"] for _, body in answers]
    winners = [p for p in payloads if not p["errors"]]
    # A request that found the booking under way and then finished (the same booking) answers with it too.
    assert winners and len({json.dumps(p["order"]["shipment"]) for p in winners}) == 1, payloads
    assert {p["errors"][0]["code"] for p in payloads if p["errors"]} <= {
        "INVALID_TRANSITION", "CARRIER_CALL_IN_PROGRESS"
    }, payloads
    booked = winners[0]["order"]["shipment"]
    assert booked["status"] == "INFO_RECEIVED" and booked["trackingNumber"]
    current = journey.call(served, ORDER_SHIPMENT, {"id": order["id"]}, token=tea.owner_token)["order"]
    assert current["shipment"]["id"] == booked["id"]
    pk = from_global_id(order["id"])[1]
    counted = served.manage(
        "shell", "-c",
        f"from backend.logistics.models import Shipment; print(Shipment.objects.filter(reference='{pk}').count())",
    )
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.strip().splitlines()[-1] == "1", "one booking for the order"
    # A retry after it shipped books nothing more.
    again = journey.call(served, SHIP, {"order": order["id"]}, token=tea.owner_token)["orderShip"]
    assert again["errors"][0]["code"] == "INVALID_TRANSITION"


def test_an_information_request_is_answered_with_a_new_document(served, marketplace):
    staff, category = marketplace["staff"], marketplace["category"]
    email = f"{journey.unique('applicant')}@jade-garden.example.com"
    token = journey.register(served, email)
    first = minimal_pdf(["BUSINESS LICENCE", "blurred"])
    application = journey.mutate(
        served,
        APPLY,
        {
            "input": {
                "storeName": "Jade Garden",
                "companyName": "Jade Garden Co., Ltd.",
                "contactEmail": email,
                "categories": [category],
                "documents": [{"documentType": "BUSINESS_LICENSE", "file": None}],
            }
        },
        token=token,
        files={"variables.input.documents.0.file": ("licence.pdf", first, "application/pdf")},
    )["vendorApplication"]
    asked = journey.mutate(served, REQUEST_INFO, {"id": application["id"]}, token=staff)["vendorApplication"]
    assert asked["status"] == "INFO_REQUESTED"

    clear = minimal_pdf(["BUSINESS LICENCE", "Jade Garden Co., Ltd.", "Unified social credit code 91330100"])
    assert clear != first
    resubmitted = journey.mutate(
        served,
        UPDATE,
        {"id": application["id"], "input": {"documents": [{"documentType": "BUSINESS_LICENSE", "file": None}]}},
        token=token,
        files={"variables.input.documents.0.file": ("licence-clear.pdf", clear, "application/pdf")},
    )["vendorApplication"]
    assert resubmitted["status"] == "SUBMITTED"
    (document,) = resubmitted["documents"]
    assert document["size"] == len(clear)

    link = urlsplit(document["url"])
    status, headers, content = served.get(link.path + (f"?{link.query}" if link.query else ""))
    assert status == 200 and content == clear, (status, headers)
