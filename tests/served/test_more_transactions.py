"""Served: the remaining write paths that lock rows or replace files, with real commits.

- shipmentCancel locks the shipment and gives the carrier quota back: two cancellations sent at
  once cancel it once, the loser gets a coded error, never a raw database error;
- an information request answered with a new document (multipart) replaces the stored file after
  the commit: the signed link serves the new file and the application is submitted again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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
    assert len(losers) == 1 and losers[0]["errors"][0]["code"] == "INVALID_TRANSITION", payloads

    current = journey.call(served, ORDER_SHIPMENT, {"id": order["id"]}, token=tea.owner_token)["order"]
    assert current["shipment"] is None or current["shipment"]["status"] == "CANCELLED", current


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
