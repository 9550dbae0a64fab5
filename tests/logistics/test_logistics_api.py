"""Core API: carriers, shippingQuote, shipments, shipmentCancel; carriers switched with pluginUpdate."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.logistics.models import NegotiatedRate, ShipmentStatus

from ..graphql_client import GraphQLClient, error_codes
from .carrier_simulator import CarrierSimulator
from .conftest import HANGZHOU, HTTP_CARRIER, SHANGHAI, TABLE_RATE, URUMQI, configure_plugin, make_shipment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet_day")]

CARRIERS = "{ carriers { id name services { code name timeGuaranteed } } }"
QUOTE = """
query($input: ShippingQuoteInput!) {
  shippingQuote(input: $input) {
    quotes { carrier carrierName serviceCode serviceName price { amount currency } listPrice { amount }
             promisedDays timeGuaranteed chargeableWeight notes }
    carrierErrors { field code message }
    errors { field code message }
  }
}"""
PLUGIN_UPDATE = """
mutation($id: ID!, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, input: $input) { plugin { id active } errors { code } }
}"""
SHIPMENTS = "{ shipments(first: 50) { totalCount edges { node { trackingNumber status carrier events { status } vendor { name } } } } }"
CANCEL = """
mutation($id: ID!) { shipmentCancel(id: $id, reason: "order cancelled") { shipment { status } errors { field code } } }
"""


@pytest.fixture
def quiet_day():
    from django.urls import resolve

    # Import both APIs' schemas before the clock is frozen: building types under a fake
    # datetime class fails.
    resolve("/graphql/")
    with freeze_time("2026-12-01 10:00:00+08:00", tick=True):
        yield


def quote_input(**changes):
    data = {"origin": HANGZHOU, "destination": SHANGHAI, "parcels": [{"weight": "2.3", "length": "30", "width": "20", "height": "10"}]}
    data.update(changes)
    return {"input": data}


def test_merchants_see_active_carriers(merchant, user_factory, staff_factory):
    api = GraphQLClient("/graphql/").login(merchant)
    (carrier,) = api.execute(CARRIERS)["carriers"]
    assert carrier["id"] == TABLE_RATE and carrier["name"] == "Marketplace Post"
    assert [(s["code"], s["timeGuaranteed"]) for s in carrier["services"]] == [
        ("economy", False), ("express", True), ("flat-small", False)
    ]
    assert GraphQLClient("/graphql/").execute(CARRIERS)["carriers"] == []
    assert GraphQLClient("/graphql/").login(user_factory()).execute(CARRIERS)["carriers"] == []
    assert len(GraphQLClient("/graphql/").login(staff_factory()).execute(CARRIERS)["carriers"]) == 1


def test_plugin_update_switches_carriers_on_and_off(merchant, staff_factory):
    simulator = CarrierSimulator().start()
    try:
        admin = GraphQLClient("/graphql/").login(staff_factory(PlatformPermission.MANAGE_PLUGINS))
        payload = admin.mutate(PLUGIN_UPDATE, {"id": HTTP_CARRIER, "input": {"active": True, "configuration": [
            {"name": "base_url", "value": simulator.base_url}, {"name": "timeout_seconds", "value": "0.5"},
            {"name": "services", "value": '[{"code": "standard", "name": "Standard"}]'},
        ]}})
        assert payload["errors"] == []
        merchant_api = GraphQLClient("/graphql/").login(merchant)
        assert [c["id"] for c in merchant_api.execute(CARRIERS)["carriers"]] == [TABLE_RATE, HTTP_CARRIER]
        carriers_quoting = {q["carrier"] for q in merchant_api.execute(QUOTE, quote_input())["shippingQuote"]["quotes"]}
        assert carriers_quoting == {TABLE_RATE, HTTP_CARRIER}

        assert admin.mutate(PLUGIN_UPDATE, {"id": TABLE_RATE, "input": {"active": False}})["errors"] == []
        assert [c["id"] for c in merchant_api.execute(CARRIERS)["carriers"]] == [HTTP_CARRIER]
        carriers_quoting = {q["carrier"] for q in merchant_api.execute(QUOTE, quote_input())["shippingQuote"]["quotes"]}
        assert carriers_quoting == {HTTP_CARRIER}
    finally:
        simulator.stop()


def test_merchant_previews_quotes_with_its_negotiated_prices(merchant, vendor):
    NegotiatedRate.objects.create(vendor=vendor, carrier_id=TABLE_RATE, service_code="express", discount_percent="10")
    result = GraphQLClient("/graphql/").login(merchant).execute(QUOTE, quote_input())["shippingQuote"]
    assert result["errors"] == [] and result["carrierErrors"] == []
    by_code = {q["serviceCode"]: q for q in result["quotes"]}
    assert [q["serviceCode"] for q in result["quotes"]] == ["flat-small", "express", "economy"]
    assert by_code["express"]["price"] == {"amount": "24.30", "currency": "CNY"}
    assert by_code["express"]["listPrice"] == {"amount": "27.00"}
    assert by_code["express"]["notes"] == ["negotiated discount 10.00%"]
    assert by_code["express"]["chargeableWeight"] == "2.500"
    assert (by_code["express"]["promisedDays"], by_code["express"]["timeGuaranteed"]) == (2, True)
    assert by_code["economy"]["price"]["amount"] == "27.00"


def test_staff_quote_for_a_vendor_and_merchants_only_for_their_own(vendor, other_vendor_and_owner, staff_factory):
    NegotiatedRate.objects.create(vendor=vendor, carrier_id=TABLE_RATE, discount_percent="50")
    staff = GraphQLClient("/graphql/").login(staff_factory(PlatformPermission.MANAGE_VENDORS))
    vendor_id = to_global_id("Vendor", vendor.pk)
    result = staff.execute(QUOTE, quote_input(vendor=vendor_id))["shippingQuote"]
    assert {q["serviceCode"]: q["price"]["amount"] for q in result["quotes"]}["economy"] == "13.50"
    other = GraphQLClient("/graphql/").login(other_vendor_and_owner[1])
    refused = other.execute(QUOTE, quote_input(vendor=vendor_id))["shippingQuote"]
    assert error_codes(refused) == ["NOT_FOUND"] and refused["errors"][0]["field"] == "vendor"


@pytest.mark.parametrize(
    "changes, code, field",
    [
        ({"destination": "123"}, "UNKNOWN_REGION", "destination"),
        ({"parcels": [{"weight": "0"}]}, "INVALID", "parcels"),
        ({"parcels": []}, "REQUIRED", "parcels"),
        ({"carrier": "nobody"}, "CARRIER_NOT_FOUND", "carrier"),
    ],
)
def test_quote_input_errors(merchant, changes, code, field):
    result = GraphQLClient("/graphql/").login(merchant).execute(QUOTE, quote_input(**changes))["shippingQuote"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert result["quotes"] == []


def test_shoppers_cannot_quote(user_factory):
    for api in (GraphQLClient("/graphql/"), GraphQLClient("/graphql/").login(user_factory())):
        assert error_codes(api.execute(QUOTE, quote_input())["shippingQuote"]) == ["PERMISSION_DENIED"]


def test_unavailable_carrier_is_reported_next_to_the_other_quotes(merchant):
    simulator = CarrierSimulator().start()
    simulator.mode = "error"
    try:
        configure_plugin(HTTP_CARRIER, base_url=simulator.base_url, timeout_seconds="0.5")
        result = GraphQLClient("/graphql/").login(merchant).execute(QUOTE, quote_input(destination=URUMQI))["shippingQuote"]
    finally:
        simulator.stop()
    assert result["errors"] == []
    assert [(e["field"], e["code"]) for e in result["carrierErrors"]] == [(HTTP_CARRIER, "CARRIER_UNAVAILABLE")]
    assert {q["carrier"] for q in result["quotes"]} == {TABLE_RATE}


def test_regions_are_listed():
    data = GraphQLClient("/graphql/").execute("{ shippingRegions { code name localName kind parentCode isRemote } }")
    by_code = {r["code"]: r for r in data["shippingRegions"]}
    assert by_code["650000"] == {"code": "650000", "name": "Xinjiang", "localName": "新疆维吾尔自治区",
                                 "kind": "PROVINCE", "parentCode": None, "isRemote": True}
    assert by_code["330100"]["parentCode"] == "330000" and by_code["310000"]["kind"] == "MUNICIPALITY"


def test_merchants_see_only_their_shipments(vendor, merchant, other_vendor_and_owner, staff_factory):
    other_vendor, other_owner = other_vendor_and_owner
    make_shipment(vendor, tracking_number="MINE-1")
    make_shipment(other_vendor, tracking_number="THEIRS-1")
    mine = GraphQLClient("/graphql/").login(merchant).execute(SHIPMENTS)["shipments"]
    assert mine["totalCount"] == 1 and mine["edges"][0]["node"]["trackingNumber"] == "MINE-1"
    staff = GraphQLClient("/graphql/").login(staff_factory(PlatformPermission.MANAGE_ORDERS)).execute(SHIPMENTS)
    assert staff["shipments"]["totalCount"] == 2
    assert GraphQLClient("/graphql/").execute(SHIPMENTS)["shipments"]["totalCount"] == 0


def test_shipment_list_query_count_does_not_grow(vendor, merchant):
    from backend.logistics.models import TrackingEvent

    def add(count, start):
        for i in range(start, start + count):
            shipment = make_shipment(vendor, tracking_number=f"T{i}")
            TrackingEvent.objects.create(shipment=shipment, carrier_id=TABLE_RATE, event_id=f"e{i}",
                                         status="picked_up", occurred_at=shipment.created_at)

    api = GraphQLClient("/graphql/").login(merchant)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            api.execute(SHIPMENTS)
        return len(queries)

    add(2, 0)
    small = count_queries()
    add(8, 2)
    assert count_queries() == small


def test_merchant_cancels_its_shipment(vendor, merchant, other_vendor_and_owner):
    shipment = make_shipment(vendor)
    shipment_id = to_global_id("Shipment", shipment.pk)
    other = GraphQLClient("/graphql/").login(other_vendor_and_owner[1]).mutate(CANCEL, {"id": shipment_id})
    assert error_codes(other) == ["NOT_FOUND"]
    payload = GraphQLClient("/graphql/").login(merchant).mutate(CANCEL, {"id": shipment_id})
    assert payload == {"shipment": {"status": "CANCELLED"}, "errors": []}
    again = GraphQLClient("/graphql/").login(merchant).mutate(CANCEL, {"id": shipment_id})
    assert error_codes(again) == ["INVALID_TRANSITION"]
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.CANCELLED
