"""The signed tracking webhook: signatures, status mapping, duplicates, out-of-order events."""

import json

import pytest
from django.test import Client

from backend.logistics import services
from backend.logistics.models import ShipmentStatus, TrackingEvent
from plugins.logistics.tracking import sign

from ..graphql_client import GraphQLClient
from .conftest import HTTP_CARRIER, TABLE_RATE, WEBHOOK_SECRET, configure_plugin, make_shipment

pytestmark = pytest.mark.django_db
URL = f"/webhooks/carriers/{TABLE_RATE}/tracking/"


def event(event_id, status, at, tracking_number="MP0001", **extra):
    return {"id": event_id, "tracking_number": tracking_number, "status": status,
            "occurred_at": f"2026-12-01T{at}:00+08:00", **extra}


def post(events, *, secret=WEBHOOK_SECRET, url=URL, body=None, signature=None):
    body = body if body is not None else json.dumps({"events": events}).encode()
    headers = {}
    if secret is not None or signature is not None:
        headers["HTTP_X_CARRIER_SIGNATURE"] = signature if signature is not None else sign(secret, body)
    return Client().post(url, body, content_type="application/json", **headers)


@pytest.fixture
def delivered_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "SHIPMENT_DELIVERED_HANDLERS", [calls.append])
    return calls


@pytest.fixture
def shipment(vendor, webhook_secret):
    return make_shipment(vendor)


def test_signed_events_move_the_shipment_to_delivered(shipment, delivered_calls):
    response = post([
        event("e1", "COLLECTED", "09:00", location="Hangzhou"),
        event("e2", "DEPARTED_HUB", "13:00", location="Hangzhou hub"),
        event("e3", "OUT_FOR_DELIVERY", "18:00"),
        event("e4", "SIGNED", "19:30", description="Signed for at the door"),
    ])
    assert response.status_code == 200, response.content
    assert response.json() == {"recorded": 4, "applied": 4, "duplicates": 0, "unknown_tracking_numbers": []}
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.delivered_at.isoformat() == "2026-12-01T11:30:00+00:00"
    assert [(e.status, e.carrier_status) for e in shipment.events.all()] == [
        ("picked_up", "COLLECTED"), ("in_transit", "DEPARTED_HUB"), ("out_for_delivery", "OUT_FOR_DELIVERY"),
        ("delivered", "SIGNED"),
    ]
    assert [s.pk for s in delivered_calls] == [shipment.pk]


def test_single_event_body_and_bare_hex_signature(shipment):
    body = json.dumps(event("e1", "PICKED_UP", "09:00")).encode()
    response = post(None, body=body, signature=sign(WEBHOOK_SECRET, body).removeprefix("sha256="))
    assert response.status_code == 200
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKED_UP


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "someone-elses-secret"},
        {"secret": None},
        {"signature": "sha256="},
        {"signature": "sha256=" + "0" * 64},
    ],
    ids=["wrong-secret", "missing", "empty", "zeros"],
)
def test_bad_signatures_are_refused_and_record_nothing(shipment, kwargs):
    response = post([event("e1", "SIGNED", "10:00")], **kwargs)
    assert response.status_code == 401 and response.json()["error"] == "INVALID_SIGNATURE"
    assert not TrackingEvent.objects.exists()
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.INFO_RECEIVED


def test_signature_covers_the_raw_body(shipment):
    signed = json.dumps({"events": [event("e1", "PICKED_UP", "10:00")]}).encode()
    tampered = signed.replace(b"PICKED_UP", b"SIGNED")
    response = post(None, body=tampered, signature=sign(WEBHOOK_SECRET, signed))
    assert response.status_code == 401
    assert not TrackingEvent.objects.exists()


def test_carrier_without_secret_takes_no_events(vendor):
    make_shipment(vendor)
    response = post([event("e1", "SIGNED", "10:00")], secret="anything")
    assert response.status_code == 403 and response.json()["error"] == "WEBHOOK_NOT_CONFIGURED"


def test_unknown_or_inactive_carrier_is_not_found(shipment):
    assert post([event("e1", "SIGNED", "10:00")], url="/webhooks/carriers/nobody/tracking/").status_code == 404
    # the HTTP carrier is inactive by default
    assert post([event("e1", "SIGNED", "10:00")], url=f"/webhooks/carriers/{HTTP_CARRIER}/tracking/").status_code == 404
    configure_plugin(TABLE_RATE, active=False, webhook_secret=WEBHOOK_SECRET)
    assert post([event("e1", "SIGNED", "10:00")]).status_code == 404
    assert Client().get(URL).status_code == 405


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b'{"events": []}', json.dumps({"events": [event("e1", "TELEPORTED", "10:00")]}).encode(),
     json.dumps({"events": [{"id": "e1", "tracking_number": "MP0001", "status": "SIGNED"}]}).encode(),
     json.dumps({"events": [{"id": "e1", "tracking_number": "MP0001", "status": "SIGNED", "occurred_at": "2026-12-01T10:00:00"}]}).encode()],
    ids=["not-json", "no-events", "empty", "unknown-status", "no-time", "naive-time"],
)
def test_malformed_events_are_bad_requests(shipment, body):
    response = post(None, body=body, secret=WEBHOOK_SECRET)
    assert response.status_code == 400 and response.json()["error"] == "INVALID"
    assert not TrackingEvent.objects.exists()


def test_duplicate_events_are_recorded_once(shipment, delivered_calls):
    events = [event("e1", "IN_TRANSIT", "09:00"), event("e2", "DELIVERED", "15:00")]
    assert post(events).json()["recorded"] == 2
    again = post(events).json()
    assert again == {"recorded": 0, "applied": 0, "duplicates": 2, "unknown_tracking_numbers": []}
    # the same id twice in one delivery
    same = post([event("e3", "DELIVERED", "16:00"), event("e3", "DELIVERED", "16:00")]).json()
    assert (same["recorded"], same["duplicates"]) == (1, 1)
    assert TrackingEvent.objects.count() == 3
    assert len(delivered_calls) == 1


def test_out_of_order_events_never_move_status_back(shipment, delivered_calls):
    post([event("e3", "DELIVERED", "18:00")])
    late = post([event("e1", "COLLECTED", "09:00"), event("e2", "IN_TRANSIT", "12:00")]).json()
    assert (late["recorded"], late["applied"]) == (2, 0)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    # the timeline is in event time, older events included
    assert [(e.event_id, e.applied) for e in shipment.events.all()] == [("e1", False), ("e2", False), ("e3", True)]
    # a newer event that would go backwards is recorded but does not apply either
    newer = post([event("e4", "IN_TRANSIT", "20:00")]).json()
    assert (newer["recorded"], newer["applied"]) == (1, 0)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert len(delivered_calls) == 1


def test_an_older_event_after_a_newer_one_keeps_the_newer_status(shipment):
    post([event("e2", "OUT_FOR_DELIVERY", "15:00")])
    post([event("e1", "IN_TRANSIT", "10:00")])
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.OUT_FOR_DELIVERY
    assert shipment.last_event_at.isoformat() == "2026-12-01T07:00:00+00:00"


def test_events_for_unknown_tracking_numbers_are_reported(shipment):
    result = post([event("e1", "SIGNED", "10:00", tracking_number="NOPE")]).json()
    assert result["unknown_tracking_numbers"] == ["NOPE"] and result["recorded"] == 0


def test_events_of_other_carriers_do_not_touch_our_shipments(vendor, webhook_secret):
    make_shipment(vendor, carrier=HTTP_CARRIER)
    result = post([event("e1", "SIGNED", "10:00")]).json()
    assert result["unknown_tracking_numbers"] == ["MP0001"]


def test_status_map_is_configurable(shipment):
    configure_plugin(TABLE_RATE, webhook_secret=WEBHOOK_SECRET, status_map={"已签收": "delivered", "运输中": "in_transit"})
    assert post([event("e1", "运输中", "09:00"), event("e2", "已签收", "10:00")]).status_code == 200
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert post([event("e3", "SIGNED", "11:00")]).status_code == 400


SHIPMENT = """
query($id: ID!) { shipment(id: $id) { trackingNumber status carrier price { amount currency }
  events { eventId status carrierStatus occurredAt location applied } } }
"""


def test_merchant_reads_the_timeline(shipment, merchant, other_vendor_and_owner):
    from graphql_relay import to_global_id

    post([event("e2", "IN_TRANSIT", "12:00", location="Hangzhou hub"), event("e1", "COLLECTED", "09:00")])
    api = GraphQLClient("/graphql/").login(merchant)
    data = api.execute(SHIPMENT, {"id": to_global_id("Shipment", shipment.pk)})["shipment"]
    assert data["status"] == "IN_TRANSIT" and data["price"] == {"amount": "24.00", "currency": "CNY"}
    assert [(e["eventId"], e["status"], e["applied"]) for e in data["events"]] == [
        ("e1", "PICKED_UP", False), ("e2", "IN_TRANSIT", True)
    ]
    other = GraphQLClient("/graphql/").login(other_vendor_and_owner[1])
    assert other.execute(SHIPMENT, {"id": to_global_id("Shipment", shipment.pk)})["shipment"] is None
