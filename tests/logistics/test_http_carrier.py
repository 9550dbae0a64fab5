"""The HTTP carrier against a carrier simulator on 127.0.0.1: quotes, bookings, tracking, failures."""

import socket
from decimal import Decimal

import pytest
from freezegun import freeze_time

from backend.core.exceptions import DomainError
from backend.logistics.models import CarrierQuota, CarrierQuotaUsage, NegotiatedRate, Region, Shipment, ShipmentStatus
from backend.logistics.services import quote_package, shipment_cancel, shipment_create, shipment_tracking_refresh
from plugins.logistics.interface import Package

from .carrier_simulator import CarrierSimulator
from .conftest import HANGZHOU, HTTP_CARRIER, SHANGHAI, TABLE_RATE, configure_plugin, parcel, shipment_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulator():
    simulator = CarrierSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture
def http_carrier(simulator):
    configure_plugin(
        HTTP_CARRIER, base_url=simulator.base_url, api_key="key-123", timeout_seconds="0.3", webhook_secret="whsec-http"
    )
    return simulator


def book(vendor, **kwargs):
    kwargs.setdefault("service", "standard")
    return shipment_create(request=shipment_request(vendor, carrier=HTTP_CARRIER, **kwargs))


def error_of(caught) -> tuple[str, str | None]:
    return caught.value.code.name, caught.value.field


def test_quotes_come_from_both_carriers(http_carrier):
    result = quote_package(
        package=Package(parcels=(parcel("1.5", 20, 10, 10), parcel("0.5"))), origin=HANGZHOU, destination=SHANGHAI
    )
    assert result.carrier_errors == []
    by_carrier = {(q.carrier, q.service_code): q for q in result.quotes}
    standard = by_carrier[(HTTP_CARRIER, "standard")]
    assert str(standard.price.amount) == "13.00" and standard.promised_days == 3 and not standard.time_guaranteed
    assert by_carrier[(HTTP_CARRIER, "next-day")].time_guaranteed is True
    assert (TABLE_RATE, "economy") in by_carrier
    (request,) = http_carrier.requests
    assert request["headers"]["Authorization"] == "Bearer key-123"
    assert request["json"] == {
        "origin": HANGZHOU, "destination": SHANGHAI,
        "parcels": [{"weight": "1.5", "length": "20", "width": "10", "height": "10"},
                    {"weight": "0.5", "length": "0", "width": "0", "height": "0"}],
    }


def test_platform_pricing_rules_apply_to_http_quotes(http_carrier, vendor):
    NegotiatedRate.objects.create(vendor=vendor, carrier_id=HTTP_CARRIER, discount_percent=Decimal("12.5"))
    with freeze_time("2026-12-01 10:00:00+08:00"):
        quotes = quote_package(package=Package(parcels=(parcel(1),), vendor_id=vendor.pk), origin=HANGZHOU,
                               destination=SHANGHAI, carrier=HTTP_CARRIER).quotes
    assert {q.service_code: str(q.price.amount) for q in quotes} == {"standard": "8.75", "next-day": "17.50"}


def test_booking_gets_the_carriers_tracking_number_and_label(http_carrier, vendor):
    shipment = book(vendor, key="order-7-package-1", weight="2")
    assert shipment.tracking_number == "SIM000000001" and shipment.carrier_reference == "bk_1"
    assert shipment.label_data == {"format": "zpl", "data": "^XA^FDSIM000000001^FS^XZ"}
    assert str(shipment.price.amount) == "13.00" and shipment.status == ShipmentStatus.INFO_RECEIVED
    booking = http_carrier.requests[-1]
    assert booking["path"] == "/v1/shipments" and booking["headers"]["Idempotency-Key"] == "order-7-package-1"
    assert booking["json"]["service_code"] == "standard" and booking["json"]["sender"] == {"name": vendor.name}


def test_a_refused_booking_leaves_no_shipment_and_no_quota_used(http_carrier, vendor):
    CarrierQuota.objects.create(carrier_id=HTTP_CARRIER, origin=Region.objects.get(code="330000"), daily_limit=5)
    # The quote succeeds, then the carrier refuses the booking (HTTP 4xx): nothing was booked.
    http_carrier.mode, http_carrier.mode_only_for = "reject", "/v1/shipments"
    with pytest.raises(DomainError) as caught:
        book(vendor, key="order-8")
    assert error_of(caught) == ("CARRIER_REJECTED", "carrier")
    assert "Express API carrier" in caught.value.message
    assert not Shipment.objects.exists()
    assert not CarrierQuotaUsage.objects.filter(used__gt=0).exists()


@pytest.mark.parametrize(
    "mode, code", [("error", "CARRIER_UNAVAILABLE"), ("slow", "CARRIER_TIMEOUT"), ("garbage", "CARRIER_ERROR")],
)
def test_a_booking_with_an_unknown_outcome_stays_booking_and_the_retry_finishes_it(http_carrier, vendor, mode, code):
    CarrierQuota.objects.create(carrier_id=HTTP_CARRIER, origin=Region.objects.get(code="330000"), daily_limit=5)
    http_carrier.mode, http_carrier.mode_only_for = mode, "/v1/shipments"
    with pytest.raises(DomainError) as caught:
        book(vendor, key="order-8")
    assert error_of(caught) == (code, "carrier")
    # The carrier may have booked: the claim stays (quota counted), free for the next attempt.
    (pending,) = Shipment.objects.all()
    assert (pending.status, pending.tracking_number, pending.carrier_call_started_at) == (
        ShipmentStatus.BOOKING, "", None
    )
    assert pending.booking_error.startswith(code)
    assert CarrierQuotaUsage.objects.get().used == 1
    http_carrier.mode = "ok"
    shipment = book(vendor, key="order-8")
    assert shipment.pk == pending.pk and shipment.status == ShipmentStatus.INFO_RECEIVED
    keys = {r["headers"].get("Idempotency-Key") for r in http_carrier.requests if r["path"] == "/v1/shipments"}
    assert keys == {"order-8"}
    assert CarrierQuotaUsage.objects.get().used == 1


def test_retry_after_a_timeout_gets_the_first_booking(http_carrier, vendor):
    http_carrier.mode = "slow"
    with pytest.raises(DomainError) as caught:
        book(vendor, key="order-9")
    assert error_of(caught)[0] == "CARRIER_TIMEOUT"
    http_carrier.mode = "ok"
    shipment = book(vendor, key="order-9")
    # The carrier had booked during the slow call; the same key gives that booking back.
    assert shipment.tracking_number == "SIM000000001" and len(http_carrier.bookings) == 1
    assert Shipment.objects.count() == 1


@pytest.mark.parametrize("mode, code", [("error", "CARRIER_UNAVAILABLE"), ("slow", "CARRIER_TIMEOUT")])
def test_a_failing_carrier_does_not_stop_other_quotes(http_carrier, mode, code):
    http_carrier.mode = mode
    result = quote_package(package=Package(parcels=(parcel(1),)), origin=HANGZHOU, destination=SHANGHAI)
    assert {q.carrier for q in result.quotes} == {TABLE_RATE}
    assert [(e.code.name, e.field) for e in result.carrier_errors] == [(code, HTTP_CARRIER)]


def test_unreachable_carrier(vendor):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    configure_plugin(HTTP_CARRIER, base_url=f"http://127.0.0.1:{closed_port}", timeout_seconds="0.3")
    with pytest.raises(DomainError) as caught:
        book(vendor)
    assert error_of(caught) == ("CARRIER_UNAVAILABLE", "carrier")
    configure_plugin(HTTP_CARRIER, base_url="")
    result = quote_package(package=Package(parcels=(parcel(1),)), origin=HANGZHOU, destination=SHANGHAI)
    assert [e.code.name for e in result.carrier_errors] == ["CARRIER_UNAVAILABLE"]


def test_tracking_is_pulled_from_the_carrier(http_carrier, vendor):
    shipment = book(vendor)
    http_carrier.events[shipment.tracking_number] = [
        {"id": "s-1", "tracking_number": shipment.tracking_number, "status": "PICKED_UP",
         "occurred_at": "2026-12-01T09:00:00+08:00", "location": "Hangzhou"},
        {"id": "s-2", "tracking_number": shipment.tracking_number, "status": "DELIVERED",
         "occurred_at": "2026-12-02T15:00:00+08:00"},
    ]
    summary = shipment_tracking_refresh(shipment=shipment)
    assert (summary["recorded"], summary["applied"]) == (2, 2)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment_tracking_refresh(shipment=shipment)["duplicates"] == 2


def test_http_carrier_webhook_uses_its_own_secret(http_carrier, vendor):
    import json

    from django.test import Client

    from plugins.logistics.tracking import sign

    shipment = book(vendor)
    body = json.dumps({"events": [{"id": "w-1", "tracking_number": shipment.tracking_number, "status": "DELIVERED",
                                   "occurred_at": "2026-12-02T15:00:00+08:00"}]}).encode()
    url = f"/webhooks/carriers/{HTTP_CARRIER}/tracking/"
    wrong = Client().post(url, body, content_type="application/json", HTTP_X_CARRIER_SIGNATURE=sign("whsec-table", body))
    assert wrong.status_code == 401
    right = Client().post(url, body, content_type="application/json", HTTP_X_CARRIER_SIGNATURE=sign("whsec-http", body))
    assert right.status_code == 200 and right.json()["applied"] == 1


def test_cancel_reaches_the_carrier(http_carrier, vendor):
    shipment = book(vendor)
    http_carrier.mode = "error"
    with pytest.raises(DomainError) as caught:
        shipment_cancel(shipment=shipment)
    assert caught.value.code.name == "CARRIER_UNAVAILABLE"
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.INFO_RECEIVED
    http_carrier.mode = "ok"
    shipment_cancel(shipment=shipment)
    assert http_carrier.cancelled == [shipment.tracking_number]
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.CANCELLED
