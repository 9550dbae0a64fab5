"""Shipments: tracking numbers, idempotency, quotas, cancellation, the status machine."""

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import product
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from backend.core.audit import audit_trail
from backend.core.exceptions import DomainError
from backend.logistics.models import (
    CarrierQuota,
    CarrierQuotaUsage,
    QuotaExhaustedPolicy,
    Region,
    Shipment,
    ShipmentStatus,
)
from backend.logistics.services import quote_package, shipment_cancel, shipment_create, tracking_event_record
from backend.logistics.states import SHIPMENT_STATUS
from plugins.logistics.interface import Package, TrackingEventData

from .conftest import HANGZHOU, SHANGHAI, TABLE_RATE, URUMQI, configure_plugin, make_shipment, parcel, shipment_request

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")
QUIET_DAY = "2026-12-01 10:00:00+08:00"


def set_quota(limit, policy=QuotaExhaustedPolicy.DROP_GUARANTEE, carrier=TABLE_RATE, origin="330000"):
    return CarrierQuota.objects.update_or_create(
        carrier_id=carrier, origin=Region.objects.get(code=origin),
        defaults={"daily_limit": limit, "when_exhausted": policy},
    )[0]


def codes_of(error: pytest.ExceptionInfo) -> tuple[str, str | None]:
    return error.value.code.name, error.value.field


@freeze_time(QUIET_DAY)
def test_shipment_gets_tracking_number_label_and_price(vendor):
    shipment = shipment_create(request=shipment_request(vendor, service="express", weight="2.3"))
    assert shipment.tracking_number.startswith("MP261201") and len(shipment.tracking_number) == 18
    assert shipment.status == ShipmentStatus.INFO_RECEIVED
    assert (shipment.carrier_id, shipment.service_code, shipment.service_name) == (TABLE_RATE, "express", "Express next day")
    assert str(shipment.price.amount) == "27.00" and shipment.currency == "CNY"
    assert shipment.promised_days == 2 and shipment.time_guaranteed is True
    assert shipment.weight == Decimal("2.3") and shipment.chargeable_weight == Decimal("2.5")
    assert shipment.parcels == [{"weight": "2.3", "length": "30", "width": "20", "height": "10"}]
    assert shipment.label_data["barcode"] == shipment.tracking_number
    assert shipment.label_data["sender"] == vendor.name and shipment.label_data["reference"] == "order-1"
    # counted against the demo quota from Zhejiang
    usage = CarrierQuotaUsage.objects.get(pk=shipment.quota_usage_id)
    assert usage.used == 1 and usage.day.isoformat() == "2026-12-01"


def test_tracking_numbers_are_unique(vendor):
    numbers = {shipment_create(request=shipment_request(vendor, reference=f"o-{i}")).tracking_number for i in range(5)}
    assert len(numbers) == 5


def test_repeating_a_request_with_its_idempotency_key_returns_the_first_shipment(vendor, other_vendor_and_owner):
    first = shipment_create(request=shipment_request(vendor, key="order-1-package-1"))
    again = shipment_create(request=shipment_request(vendor, key="order-1-package-1"))
    assert again.pk == first.pk and Shipment.objects.count() == 1
    assert CarrierQuotaUsage.objects.get().used == 1
    with pytest.raises(DomainError) as caught:
        shipment_create(request=shipment_request(other_vendor_and_owner[0], key="order-1-package-1"))
    assert codes_of(caught) == ("INVALID", "idempotencyKey")


@freeze_time(QUIET_DAY)
def test_shipment_price_includes_pricing_rules(vendor):
    from backend.logistics.models import NegotiatedRate

    NegotiatedRate.objects.create(vendor=vendor, carrier_id=TABLE_RATE, discount_percent=Decimal(10))
    shipment = shipment_create(request=shipment_request(vendor, service="economy", weight="2"))
    assert str(shipment.price.amount) == "16.20"


@pytest.mark.parametrize(
    "changes, code, field",
    [
        ({"service": "overnight"}, "SERVICE_NOT_AVAILABLE", "serviceCode"),
        ({"service": "express", "weight": "25"}, "SERVICE_NOT_AVAILABLE", "serviceCode"),
        ({"carrier": "logistics.http_carrier"}, "CARRIER_NOT_FOUND", "carrier"),
        ({"carrier": "nobody"}, "CARRIER_NOT_FOUND", "carrier"),
        ({"destination": "000000"}, "UNKNOWN_REGION", "destination"),
        ({"weight": "0"}, "INVALID", "parcels"),
    ],
)
def test_shipment_create_refusals_leave_nothing(vendor, changes, code, field):
    with pytest.raises(DomainError) as caught:
        shipment_create(request=shipment_request(vendor, **changes))
    assert codes_of(caught) == (code, field)
    assert not Shipment.objects.exists()
    assert not CarrierQuotaUsage.objects.filter(used__gt=0).exists()


def test_switched_off_carrier_books_nothing(vendor):
    configure_plugin(TABLE_RATE, active=False)
    with pytest.raises(DomainError) as caught:
        shipment_create(request=shipment_request(vendor))
    assert codes_of(caught) == ("CARRIER_NOT_FOUND", "carrier")
    assert quote_package(package=Package(parcels=(parcel(1),)), origin=HANGZHOU, destination=SHANGHAI).quotes == []


# --- Peak-season quota -------------------------------------------------------------


@freeze_time(QUIET_DAY)
def test_used_up_quota_drops_the_time_guarantee(vendor):
    set_quota(2)
    made = [shipment_create(request=shipment_request(vendor, reference=f"o-{i}")) for i in range(3)]
    assert [s.time_guaranteed for s in made] == [True, True, False]
    assert [s.quota_usage_id is not None for s in made] == [True, True, False]
    assert CarrierQuotaUsage.objects.get(quota__carrier_id=TABLE_RATE, quota__origin__code="330000").used == 2

    express = {q.service_code: q for q in quote_package(
        package=Package(parcels=(parcel(1),)), origin=HANGZHOU, destination=SHANGHAI
    ).quotes}["express"]
    assert express.time_guaranteed is False and "peak-season capacity used up" in express.notes
    # other origins keep their own quota
    from_shanghai = {q.service_code: q for q in quote_package(
        package=Package(parcels=(parcel(1),)), origin=SHANGHAI, destination=HANGZHOU
    ).quotes}["express"]
    assert from_shanghai.time_guaranteed is True

    # a new day brings a new quota
    with freeze_time("2026-12-02 09:00:00+08:00"):
        assert shipment_create(request=shipment_request(vendor, reference="next-day")).time_guaranteed is True


@freeze_time(QUIET_DAY)
def test_used_up_quota_can_hide_the_carrier(vendor):
    set_quota(1, QuotaExhaustedPolicy.HIDE_SERVICE)
    shipment_create(request=shipment_request(vendor))
    assert quote_package(package=Package(parcels=(parcel(1),)), origin=HANGZHOU, destination=SHANGHAI).quotes == []
    with pytest.raises(DomainError) as caught:
        shipment_create(request=shipment_request(vendor, reference="o-2"))
    assert codes_of(caught) == ("CAPACITY_EXHAUSTED", "carrier")
    assert Shipment.objects.count() == 1


@freeze_time(QUIET_DAY)
def test_cancelling_gives_the_quota_back(vendor, superuser):
    set_quota(1)
    first = shipment_create(request=shipment_request(vendor))
    second = shipment_create(request=shipment_request(vendor, reference="o-2"))
    assert second.time_guaranteed is False
    shipment_cancel(shipment=first, actor=superuser, reason="order cancelled")
    first.refresh_from_db()
    assert first.status == ShipmentStatus.CANCELLED and first.cancelled_at is not None and first.quota_usage is None
    assert CarrierQuotaUsage.objects.get(quota__origin__code="330000").used == 0
    assert shipment_create(request=shipment_request(vendor, reference="o-3")).time_guaranteed is True
    (entry,) = audit_trail(first)
    assert entry.action == "shipment.cancel" and entry.reason == "order cancelled"


def test_cancel_after_pickup_is_refused(vendor):
    shipment = make_shipment(vendor, status=ShipmentStatus.PICKED_UP)
    with pytest.raises(DomainError) as caught:
        shipment_cancel(shipment=shipment)
    assert caught.value.code.name == "INVALID_TRANSITION"
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKED_UP


def test_remote_destination_quote_and_shipment_agree(vendor):
    shipment = shipment_create(request=shipment_request(vendor, service="economy", destination=URUMQI, weight="1"))
    assert str(shipment.price.amount) in {"25.00", "31.00"}  # 15 + 10, or +20 % inside the 11.11 window
    assert shipment.destination_code == URUMQI


# --- The status machine, transition by transition --------------------------------------

STATUSES = list(ShipmentStatus.values)
ALLOWED = {
    ("info_received", t) for t in ("picked_up", "in_transit", "out_for_delivery", "delivered", "exception", "returned", "cancelled")
} | {("picked_up", t) for t in ("in_transit", "out_for_delivery", "delivered", "exception", "returned")} | {
    ("in_transit", t) for t in ("out_for_delivery", "delivered", "exception", "returned")
} | {("out_for_delivery", t) for t in ("in_transit", "delivered", "exception", "returned")} | {
    ("exception", t) for t in ("picked_up", "in_transit", "out_for_delivery", "delivered", "returned")
} | {("booking", "info_received"), ("booking", "cancelled")}
# Moves only the platform makes (a booking's answer), never a carrier's tracking event.
NOT_BY_EVENTS = {("booking", "info_received")}


def test_state_machine_table():
    for source, target in product(STATUSES, STATUSES):
        if source != target:
            assert SHIPMENT_STATUS.can(source, target) == ((source, target) in ALLOWED), (source, target)


@pytest.mark.parametrize(
    "source, target",
    [(s, t) for s, t in product(STATUSES, STATUSES) if s != t and t != "cancelled"],
)
def test_carrier_events_follow_the_state_machine(vendor, source, target):
    earlier = datetime(2026, 12, 1, 8, 0, tzinfo=CST)
    shipment = make_shipment(vendor, status=source, last_event_at=earlier)
    record = tracking_event_record(
        carrier_id=TABLE_RATE,
        event=TrackingEventData(
            event_id=f"{source}-{target}", tracking_number=shipment.tracking_number, status=target,
            occurred_at=earlier + timedelta(hours=1),
        ),
    )
    shipment.refresh_from_db()
    allowed = (source, target) in ALLOWED - NOT_BY_EVENTS
    assert record.applied is allowed
    assert shipment.status == (target if allowed else source)
    assert shipment.events.count() == 1  # recorded on the timeline either way
