"""Zones, weight rounding, volumetric and heavy parcels, surcharges, event and negotiated prices."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from backend.core.exceptions import DomainError
from backend.logistics import pricing
from backend.logistics.models import NegotiatedRate, PricingEvent, Region, ShippingService, ZoneAssignment, ZoneRate
from backend.logistics.services import quote_package
from backend.logistics.zones import route_lookup
from plugins.logistics.interface import Package

from .conftest import GUANGZHOU, HANGZHOU, NINGBO, SHANGHAI, SHENZHEN, TABLE_RATE, URUMQI, ZHEJIANG, parcel

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")
OUTSIDE_EVENTS = datetime(2026, 12, 1, 12, 0, tzinfo=CST)
DOUBLE_ELEVEN = datetime(2026, 11, 11, 12, 0, tzinfo=CST)


def prices(origin, destination, *parcels, vendor_id=None, at=OUTSIDE_EVENTS) -> dict[str, str]:
    package = Package(parcels=tuple(parcels), vendor_id=vendor_id, ship_at=at)
    result = quote_package(package=package, origin=origin, destination=destination)
    assert result.carrier_errors == []
    return {q.service_code: str(q.price.amount) for q in result.quotes}


def quotes(origin, destination, *parcels, **kwargs):
    package = Package(parcels=tuple(parcels), ship_at=kwargs.pop("at", OUTSIDE_EVENTS), **kwargs)
    return {q.service_code: q for q in quote_package(package=package, origin=origin, destination=destination).quotes}


# --- Zones ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin, destination, zone, remote",
    [
        (HANGZHOU, HANGZHOU, "same_city", False),
        (HANGZHOU, NINGBO, "same_province", False),
        (HANGZHOU, ZHEJIANG, "same_province", False),
        (SHANGHAI, SHANGHAI, "same_city", False),
        (SHENZHEN, GUANGZHOU, "same_province", False),
        (HANGZHOU, SHANGHAI, "zone_1", False),
        (HANGZHOU, "320100", "zone_1", False),
        (HANGZHOU, "420000", "zone_2", False),
        (HANGZHOU, GUANGZHOU, "zone_3", False),
        (HANGZHOU, "510100", "zone_4", False),
        (HANGZHOU, URUMQI, "zone_5", True),
        (SHANGHAI, "540000", "zone_5", True),
        (SHENZHEN, "630000", "zone_5", True),
        (SHENZHEN, "150000", "zone_5", True),
        (GUANGZHOU, "450000", "zone_1", False),
        (GUANGZHOU, HANGZHOU, "zone_2", False),
        ("110000", SHANGHAI, None, False),  # no zone chart from Beijing in the demo data
    ],
)
def test_zone_lookup(origin, destination, zone, remote):
    route = route_lookup(origin, destination)
    assert (route.zone, route.remote) == (zone, remote)


@pytest.mark.parametrize("origin, destination, field", [("999999", SHANGHAI, "origin"), (HANGZHOU, "", "destination")])
def test_unknown_regions_are_refused(origin, destination, field):
    with pytest.raises(DomainError) as caught:
        route_lookup(origin, destination)
    assert caught.value.code.name == "UNKNOWN_REGION" and caught.value.field == field


def test_every_mainland_province_has_a_zone_from_each_demo_origin():
    provinces = Region.objects.filter(parent__isnull=True)
    assert provinces.count() == 31
    for origin in ("330000", "310000", "440000"):
        assigned = set(ZoneAssignment.objects.filter(origin__code=origin).values_list("destination__code", flat=True))
        assert assigned == set(provinces.exclude(code=origin).values_list("code", flat=True))


def test_origin_without_zone_chart_gets_no_table_quotes():
    assert prices("110000", SHANGHAI, parcel(1)) == {}


# --- Weight -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weight, step, rounded",
    [("0.2", "0.5", "0.5"), ("0.5", "0.5", "0.5"), ("0.501", "0.5", "1.0"), ("2.3", "0.5", "2.5"),
     ("0.2", "1", "1"), ("1", "1", "1"), ("1.01", "1", "2"), ("19.999", "1", "20")],
)
def test_weight_rounds_up_to_the_configured_step(weight, step, rounded):
    assert pricing.round_up_weight(Decimal(weight), Decimal(step)) == Decimal(rounded)


def test_volumetric_weight_counts_when_larger():
    box = parcel("1", 60, 40, 30)  # 72,000 cm3
    assert pricing.volumetric_weight(box, 6000) == Decimal(12)
    assert pricing.chargeable_weight(box, step=Decimal("0.5"), volumetric_divisor=6000) == Decimal(12)
    assert pricing.chargeable_weight(box, step=Decimal(1), volumetric_divisor=None) == Decimal(1)
    dense = parcel("15", 30, 20, 10)
    assert pricing.chargeable_weight(dense, step=Decimal(1), volumetric_divisor=6000) == Decimal(15)


# --- Demo tariff: the right quote from each service ----------------------------------


@pytest.mark.parametrize(
    "origin, destination, expected",
    [
        # economy: 1 kg steps, per-kg level of the zone for the first and each further kg
        # express: 0.5 kg steps, first kg + per kg; flat: 8.00 per parcel up to 3 kg
        (HANGZHOU, HANGZHOU, {"economy": "18.00", "express": "15.00", "flat-small": "8.00"}),   # 3 kg x 6; 12 + 1.5 x 2
        (HANGZHOU, NINGBO, {"economy": "27.00", "express": "20.00", "flat-small": "8.00"}),     # 3 x 9; 14 + 1.5 x 4
        (HANGZHOU, SHANGHAI, {"economy": "27.00", "express": "27.00", "flat-small": "8.00"}),   # 3 x 9; 18 + 1.5 x 6
        (HANGZHOU, GUANGZHOU, {"economy": "36.00", "express": "37.00", "flat-small": "8.00"}),  # 3 x 12; 22 + 1.5 x 10
        # zone 5 is remote: + 10.00 economy and flat, + 15.00 express per parcel
        (HANGZHOU, URUMQI, {"economy": "55.00", "express": "70.00", "flat-small": "18.00"}),   # 45 + 10; 28 + 27 + 15
    ],
)
def test_demo_tariff_quotes(origin, destination, expected):
    assert prices(origin, destination, parcel("2.3", 20, 15, 10)) == expected


def test_quote_details_and_order():
    by_code = quotes(HANGZHOU, GUANGZHOU, parcel("2.3", 20, 15, 10))
    express = by_code["express"]
    assert (express.carrier, express.promised_days, express.time_guaranteed) == (TABLE_RATE, 3, True)
    assert express.chargeable_weight == Decimal("2.5")
    assert (by_code["economy"].promised_days, by_code["economy"].time_guaranteed) == (5, False)
    assert by_code["economy"].chargeable_weight == Decimal(3)
    assert str(express.price.currency) == "CNY"
    package = Package(parcels=(parcel("2.3"),), ship_at=OUTSIDE_EVENTS)
    ordered = quote_package(package=package, origin=HANGZHOU, destination=GUANGZHOU).quotes
    assert [q.service_code for q in ordered] == ["flat-small", "economy", "express"]


def test_remote_surcharge_is_noted():
    by_code = quotes(HANGZHOU, URUMQI, parcel(1))
    assert "remote-area surcharge" in by_code["economy"].notes
    assert "remote-area surcharge" not in quotes(HANGZHOU, SHANGHAI, parcel(1))["economy"].notes


def test_volumetric_weight_prices_light_bulky_boxes():
    # 1 kg in a 60 x 40 x 30 cm box: express (divisor 6000) charges 12 kg, economy (12000) 6 kg,
    # the one-price service (divisor 8000, up to 3 kg) does not take it.
    assert prices(HANGZHOU, SHANGHAI, parcel(1, 60, 40, 30)) == {"economy": "54.00", "express": "84.00"}


def test_heavy_parcels_have_their_own_price_or_are_not_served():
    # economy over 20 kg: 9 + 19 x 9 for the first 20 kg, then 8 per heavy kg
    assert prices(HANGZHOU, SHANGHAI, parcel(25)) == {"economy": str(Decimal(9 + 19 * 9 + 5 * 8)) + ".00"}
    # exactly at the threshold express still serves
    assert prices(HANGZHOU, SHANGHAI, parcel(20))["express"] == "132.00"
    # above the economy maximum of 50 kg nothing is offered
    assert prices(HANGZHOU, SHANGHAI, parcel(51)) == {}
    # the one-price service stops at 3 kg
    assert "flat-small" not in prices(HANGZHOU, SHANGHAI, parcel("3.1"))


def test_packages_are_priced_per_parcel():
    two = prices(HANGZHOU, URUMQI, parcel(1), parcel("1.5"))
    # economy: (15 + 10) + (15 + 15 + 10); express: (28 + 15) + (28 + 9 + 15); flat: 2 x (8 + 10)
    assert two == {"economy": "65.00", "express": "95.00", "flat-small": "36.00"}


def test_tariff_is_configured_from_data():
    ZoneRate.objects.filter(service__code="economy", zone="zone_1").update(first_weight_price=Decimal("5.50"))
    ShippingService.objects.filter(code="flat-small").update(active=False)
    ShippingService.objects.filter(code="express").update(weight_step=Decimal("1.00"))
    assert prices(HANGZHOU, SHANGHAI, parcel("2.3")) == {"economy": "23.50", "express": "30.00"}
    ZoneAssignment.objects.filter(origin__code="330000", destination__code="650000").update(zone="zone_3")
    Region.objects.filter(code="650000").update(is_remote=False)
    assert prices(HANGZHOU, URUMQI, parcel(1))["economy"] == "12.00"


# --- Pricing rules on top of tables ---------------------------------------------------


def test_event_pricing_applies_inside_its_window_only():
    at_start = datetime(2026, 11, 9, 0, 0, tzinfo=CST)
    at_end = datetime(2026, 11, 16, 0, 0, tzinfo=CST)
    inside = quotes(HANGZHOU, SHANGHAI, parcel(2), at=DOUBLE_ELEVEN)
    # demo 11.11 event: +20 % and one more day on every service of the table-rate carrier
    assert str(inside["economy"].price.amount) == "21.60" and inside["economy"].promised_days == 4
    assert str(inside["economy"].list_price.amount) == "18.00"
    assert "event price: 11.11 peak season 2026" in inside["economy"].notes
    assert str(quotes(HANGZHOU, SHANGHAI, parcel(2), at=at_start)["economy"].price.amount) == "21.60"
    assert str(quotes(HANGZHOU, SHANGHAI, parcel(2), at=at_end)["economy"].price.amount) == "18.00"
    assert quotes(HANGZHOU, SHANGHAI, parcel(2), at=at_end)["economy"].promised_days == 3
    PricingEvent.objects.update(active=False)
    assert str(quotes(HANGZHOU, SHANGHAI, parcel(2), at=DOUBLE_ELEVEN)["economy"].price.amount) == "18.00"


def test_event_for_one_service_and_explicit_rounding():
    PricingEvent.objects.update(active=False)
    PricingEvent.objects.create(
        name="Express promotion", carrier_id=TABLE_RATE, service_code="express", percent_change=Decimal("-12.5"),
        starts_at=DOUBLE_ELEVEN - timedelta(days=1), ends_at=DOUBLE_ELEVEN + timedelta(days=1),
    )
    by_code = quotes(HANGZHOU, GUANGZHOU, parcel("2.3"), at=DOUBLE_ELEVEN)
    assert str(by_code["express"].price.amount) == "32.38"  # 37.00 x 0.875 = 32.375, half up
    assert str(by_code["economy"].price.amount) == "36.00"


def test_negotiated_discount_for_one_vendor(vendor, other_vendor_and_owner):
    other_vendor = other_vendor_and_owner[0]
    NegotiatedRate.objects.create(vendor=vendor, carrier_id=TABLE_RATE, service_code="economy", discount_percent=Decimal(15))
    NegotiatedRate.objects.create(vendor=vendor, carrier_id=TABLE_RATE, discount_percent=Decimal(5))
    NegotiatedRate.objects.create(vendor=vendor, carrier_id="logistics.http_carrier", discount_percent=Decimal(50))
    NegotiatedRate.objects.create(
        vendor=vendor, carrier_id=TABLE_RATE, discount_percent=Decimal(60), valid_until=date(2026, 11, 10)
    )
    mine = prices(HANGZHOU, SHANGHAI, parcel(2), vendor_id=vendor.pk)
    # the largest applicable discount counts: 15 % on economy, 5 % on the rest; expired 60 % ignored
    assert mine == {"economy": "15.30", "express": "22.80", "flat-small": "7.60"}
    assert prices(HANGZHOU, SHANGHAI, parcel(2), vendor_id=other_vendor.pk) == {
        "economy": "18.00", "express": "24.00", "flat-small": "8.00"
    }
    # event and negotiated price together: 18 x 1.2 x 0.85
    assert prices(HANGZHOU, SHANGHAI, parcel(2), vendor_id=vendor.pk, at=DOUBLE_ELEVEN)["economy"] == "18.36"


@pytest.mark.parametrize("weight", ["0", "-1", "1001"])
def test_bad_parcels_are_refused(weight):
    with pytest.raises(DomainError) as caught:
        quote_package(package=Package(parcels=(parcel(weight),)), origin=HANGZHOU, destination=SHANGHAI)
    assert caught.value.code.name == "INVALID" and caught.value.field == "parcels"
    with pytest.raises(DomainError) as caught:
        quote_package(package=Package(parcels=()), origin=HANGZHOU, destination=SHANGHAI)
    assert caught.value.code.name == "REQUIRED"


@freeze_time("2026-11-11 10:00:00+08:00")
def test_event_pricing_uses_the_current_time_by_default():
    result = quote_package(package=Package(parcels=(parcel(2),)), origin=HANGZHOU, destination=SHANGHAI)
    assert {q.service_code: str(q.price.amount) for q in result.quotes}["economy"] == "21.60"
