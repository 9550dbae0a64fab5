"""An object reached through another one shows only what its own rule allows.

Platform staff reviewing listings, handling orders or arbitrating disputes reach the store
through the listing, order or dispute; they see the store's name, not its people (the staff list
and their accounts) nor its money, which are for the store itself and for staff managing vendors
(money: finance staff)."""

import pytest
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission as P

from .operations import Op, call

pytestmark = pytest.mark.django_db

VENDOR_FIELDS = "vendor { name staff { role user { email } } balance { available { amount } } standing { __typename } statements { csvUrl } ledger(first: 5) { edges { node { id } } } }"
PATHS = {
    "product": (Op("core", "query", "product"), "Product", lambda w: w.alpha.products["draft"], P.REVIEW_LISTINGS),
    "order": (Op("core", "query", "order"), "Order", lambda w: w.alpha.order_unshipped, P.MANAGE_ORDERS),
    "dispute": (Op("core", "query", "dispute"), "Dispute", lambda w: w.alpha.dispute, P.ARBITRATE_DISPUTES),
}


def vendor_through(world, path: str, user):
    op, type_name, obj, _permission = PATHS[path]
    response = call(op, user, {"id": to_global_id(type_name, obj(world).pk)}, fields="{ " + VENDOR_FIELDS + " }")
    assert response.status == 200 and response.top_errors == [], response.text[:1500]
    return response.data[op.name]["vendor"]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_staff_reaching_a_store_through_their_work_see_neither_its_people_nor_its_money(world, path):
    vendor = vendor_through(world, path, world.staff[PATHS[path][3]])
    assert vendor["name"] == "Alpha Outfitters"
    assert vendor["staff"] == []
    assert vendor["balance"] is None and vendor["standing"] is None and vendor["statements"] is None
    assert vendor["ledger"]["edges"] == []


@pytest.mark.parametrize("path", sorted(PATHS))
def test_the_store_itself_sees_its_people_and_money_through_the_same_paths(world, path):
    vendor = vendor_through(world, path, world.alpha.owner)
    assert {s["user"]["email"] for s in vendor["staff"]} == {
        "owner@alpha.example", "operator@alpha.example", "agent@alpha.example"
    }
    assert vendor["balance"] is not None and vendor["ledger"]["edges"]


def test_staff_managing_vendors_see_a_stores_people(world):
    staff = world.staff[P.MANAGE_VENDORS]
    response = call(Op("core", "query", "vendor"), staff, {"id": to_global_id("Vendor", world.alpha.vendor.pk)},
                    fields="{ staff { user { email } } }")
    assert len(response.data["vendor"]["staff"]) == 3
