"""vendorBalance and vendorLedger through the core API: scoping and constant query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.finance import services as movements
from backend.finance.services import EscrowSplit

from ..graphql_client import CORE_URL, GraphQLClient
from .helpers import captured_payment, cny

pytestmark = pytest.mark.django_db

BALANCE = """
query($vendor: ID!) {
  vendorBalance(vendor: $vendor) {
    pending { amount currency } available { amount currency }
    deposit { amount currency } depositRequired { amount currency }
  }
}"""
LEDGER = """
query($vendor: ID!, $first: Int, $after: String) {
  vendorLedger(vendor: $vendor, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id account accountKind amount { amount currency } createdAt
      transaction { id kind description referenceType referenceId createdAt }
    } }
  }
}"""


def gid(vendor):
    return to_global_id("Vendor", vendor.pk)


@pytest.fixture
def shop(vendor_and_owner, other_vendor, shopper):
    """The owner's vendor sold 100.00 (released, 5.00 commission) and has 60.00 pending; another vendor sold 40.00."""
    vendor, owner = vendor_and_owner
    payment = captured_payment("200.00", customer=shopper)
    movements.escrow_hold(
        payment=payment,
        splits=[
            EscrowSplit("o1", vendor.pk, cny(100)),
            EscrowSplit("o2", vendor.pk, cny(60)),
            EscrowSplit("o3", other_vendor.pk, cny(40)),
        ],
    )
    movements.escrow_release(order_ref="o1", vendor=vendor, gross=cny(100), commission=cny(5))
    movements.deposit_top_up(ref="d1", vendor=vendor, amount=cny(500))
    return vendor, owner


def money(amount):
    return {"amount": amount, "currency": "CNY"}


def test_vendor_staff_see_their_balance(shop):
    vendor, owner = shop
    api = GraphQLClient(CORE_URL).login(owner)
    assert api.execute(BALANCE, {"vendor": gid(vendor)})["vendorBalance"] == {
        "pending": money("60.00"),
        "available": money("95.00"),
        "deposit": money("500.00"),
        "depositRequired": money("0.00"),
    }


def test_the_ledger_shows_the_vendors_entries_newest_first(shop):
    vendor, owner = shop
    api = GraphQLClient(CORE_URL).login(owner)
    ledger = api.execute(LEDGER, {"vendor": gid(vendor), "first": 10})["vendorLedger"]
    rows = [
        (e["node"]["transaction"]["kind"], e["node"]["account"], e["node"]["amount"]["amount"]) for e in ledger["edges"]
    ]
    v = vendor.pk
    assert rows == [
        ("DEPOSIT_TOP_UP", f"vendor:{v}:deposit", "500.00"),
        ("ESCROW_RELEASE", f"vendor:{v}:pending", "-100.00"),
        ("ESCROW_RELEASE", f"vendor:{v}:available", "95.00"),
        ("ESCROW_HOLD", f"vendor:{v}:pending", "160.00"),
    ]
    assert ledger["totalCount"] == 4
    hold = ledger["edges"][-1]["node"]
    assert hold["accountKind"] == "VENDOR_PENDING"
    assert hold["transaction"]["referenceType"] == "payment"
    page = api.execute(LEDGER, {"vendor": gid(vendor), "first": 3})["vendorLedger"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = api.execute(LEDGER, {"vendor": gid(vendor), "first": 3, "after": page["pageInfo"]["endCursor"]})
    assert [e["node"]["id"] for e in rest["vendorLedger"]["edges"]] == [ledger["edges"][3]["node"]["id"]]


def test_another_vendors_money_is_not_visible(shop, other_vendor, user_factory, staff_factory):
    vendor, owner = shop
    api = GraphQLClient(CORE_URL).login(owner)
    assert api.execute(BALANCE, {"vendor": gid(other_vendor)})["vendorBalance"] is None
    assert api.execute(LEDGER, {"vendor": gid(other_vendor), "first": 10})["vendorLedger"]["totalCount"] == 0
    for outsider in (user_factory(), staff_factory(PlatformPermission.MANAGE_VENDORS), None):
        client = GraphQLClient(CORE_URL)
        if outsider is not None:
            client.login(outsider)
        assert client.execute(BALANCE, {"vendor": gid(vendor)})["vendorBalance"] is None
        assert client.execute(LEDGER, {"vendor": gid(vendor), "first": 10})["vendorLedger"]["edges"] == []


def test_finance_staff_see_every_vendor(shop, other_vendor, staff_factory):
    api = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.MANAGE_FINANCE))
    assert api.execute(BALANCE, {"vendor": gid(other_vendor)})["vendorBalance"]["pending"] == money("40.00")
    ledger = api.execute(LEDGER, {"vendor": gid(other_vendor), "first": 10})["vendorLedger"]
    assert [e["node"]["account"] for e in ledger["edges"]] == [f"vendor:{other_vendor.pk}:pending"]


def test_malformed_or_foreign_ids_answer_null(shop):
    vendor, owner = shop
    api = GraphQLClient(CORE_URL).login(owner)
    for bad in ("nonsense", to_global_id("User", owner.pk), to_global_id("Vendor", 999999)):
        assert api.execute(BALANCE, {"vendor": bad})["vendorBalance"] is None
        assert api.execute(LEDGER, {"vendor": bad, "first": 5})["vendorLedger"]["edges"] == []


def test_ledger_entry_nodes_are_scoped_too(shop, other_vendor, staff_factory):
    vendor, owner = shop
    finance = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.MANAGE_FINANCE))
    foreign = finance.execute(LEDGER, {"vendor": gid(other_vendor), "first": 1})["vendorLedger"]["edges"][0]["node"]["id"]
    node = "query($id: ID!) { node(id: $id) { ... on LedgerEntry { account } } }"
    assert GraphQLClient(CORE_URL).login(owner).execute(node, {"id": foreign})["node"] is None
    assert finance.execute(node, {"id": foreign})["node"]["account"] == f"vendor:{other_vendor.pk}:pending"


def count_queries(api, variables) -> int:
    with CaptureQueriesContext(connection) as queries:
        data = api.execute(LEDGER, variables)
    assert data["vendorLedger"]["edges"]
    return len(queries)


def test_ledger_query_count_does_not_grow_with_the_page(shop):
    vendor, owner = shop
    for n in range(30):
        movements.fee_charge(fee_ref=f"f{n}", vendor=vendor, amount=cny(1))
        movements.deposit_top_up(ref=f"d-extra-{n}", vendor=vendor, amount=cny(1))
    api = GraphQLClient(CORE_URL).login(owner)
    small = count_queries(api, {"vendor": gid(vendor), "first": 2})
    large = count_queries(api, {"vendor": gid(vendor), "first": 50})
    assert small == large
    assert large <= 5
