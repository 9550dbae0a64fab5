"""A store's shipping origin through the core API (vendorUpdate.shippingOrigin, Vendor.shippingOrigin):
the region checkout quotes the store's packages from, formerly set only in the staff admin."""

import pytest

from backend.core.audit import audit_trail
from backend.orders.models import VendorShippingOrigin
from backend.orders.selectors import vendor_shipping_origin
from backend.vendors.models import VendorRole, VendorStaff

from ..graphql_client import CORE_URL, GraphQLClient, error_codes
from .conftest import gid

pytestmark = pytest.mark.django_db

UPDATE = """
mutation($id: ID!, $input: VendorUpdateInput!) {
  vendorUpdate(id: $id, input: $input) {
    vendor { name shippingOrigin { code name localName kind } }
    errors { field code message }
  }
}"""
ORIGIN = "query($id: ID!) { vendor(id: $id) { shippingOrigin { code name } } }"


def api_for(user, language=None):
    api = GraphQLClient(CORE_URL).login(user)
    if language:
        api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return api


def test_a_store_ships_from_the_default_until_its_owner_sets_a_city(make_vendor, settings):
    vendor, owner = make_vendor()
    api = api_for(owner)
    assert api.execute(ORIGIN, {"id": gid("Vendor", vendor)})["vendor"]["shippingOrigin"]["code"] == settings.DEFAULT_SHIPPING_ORIGIN_REGION

    payload = api.mutate(UPDATE, {"id": gid("Vendor", vendor), "input": {"shippingOrigin": "440300"}})
    assert payload["errors"] == []
    assert payload["vendor"]["shippingOrigin"] == {"code": "440300", "name": "Shenzhen", "localName": "深圳市", "kind": "CITY"}
    assert vendor_shipping_origin(vendor) == "440300"  # what checkout quotes from
    assert [entry.data.get("changed") for entry in audit_trail(vendor) if entry.action == "vendor.update"] == [["shipping_origin"]]

    # Changing it again updates the one row; other fields alone leave it as it is.
    api.mutate(UPDATE, {"id": gid("Vendor", vendor), "input": {"shippingOrigin": " 310000 "}})
    api.mutate(UPDATE, {"id": gid("Vendor", vendor), "input": {"description": "Now from Shanghai."}})
    assert list(VendorShippingOrigin.objects.filter(vendor=vendor).values_list("region_code", flat=True)) == ["310000"]


@pytest.mark.parametrize("code", ["999999", "", "  ", "310000; DROP"])
def test_an_unknown_region_is_refused_at_its_field_and_nothing_changes(make_vendor, code):
    vendor, owner = make_vendor()
    payload = api_for(owner).mutate(UPDATE, {"id": gid("Vendor", vendor), "input": {"shippingOrigin": code, "name": "Renamed"}})
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("shippingOrigin", "UNKNOWN_REGION")]
    vendor.refresh_from_db()
    assert vendor.name != "Renamed"
    assert not VendorShippingOrigin.objects.filter(vendor=vendor).exists()


def test_the_refusal_comes_in_the_callers_language(make_vendor):
    vendor, owner = make_vendor()
    payload = api_for(owner, "zh-hans").mutate(UPDATE, {"id": gid("Vendor", vendor), "input": {"shippingOrigin": "999999"}})
    assert payload["errors"][0]["message"] == "没有代码为 999999 的省份或城市。"
    payload = api_for(owner, "en").mutate(UPDATE, {"id": gid("Vendor", vendor), "input": {"shippingOrigin": "999999"}})
    assert payload["errors"][0]["message"] == "No province or city with the code 999999."


def test_who_may_set_or_see_the_origin(make_vendor, user_factory):
    vendor, owner = make_vendor()
    other_vendor, other_owner = make_vendor("Other Store")
    service = user_factory()
    VendorStaff.objects.create(vendor=vendor, user=service, role=VendorRole.CUSTOMER_SERVICE)
    variables = {"id": gid("Vendor", vendor), "input": {"shippingOrigin": "440300"}}
    assert error_codes(api_for(other_owner).mutate(UPDATE, variables)) == ["NOT_FOUND"]
    assert error_codes(api_for(service).mutate(UPDATE, variables)) == ["PERMISSION_DENIED"]
    assert not VendorShippingOrigin.objects.filter(vendor=vendor).exists()
    # Customer service sees it; another store's owner does not see the store at all.
    assert api_for(service).execute(ORIGIN, {"id": gid("Vendor", vendor)})["vendor"]["shippingOrigin"] is not None
    assert api_for(other_owner).execute(ORIGIN, {"id": gid("Vendor", vendor)})["vendor"] is None
