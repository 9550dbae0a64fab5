"""Every path of the dispute state machine through both APIs: the shopper on the storefront,
the vendor and staff on the core API; forbidden moves, scoping and query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission
from backend.disputes import services
from backend.disputes.models import Dispute

from ..checkout.helpers import TABLE_RATE
from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient, error_codes
from . import documents as doc
from .helpers import make_world, open_dispute, refunds_of, release, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def shop(world):
    return GraphQLClient(STOREFRONT_URL).login(world.shopper)


@pytest.fixture
def merchant(world):
    return GraphQLClient(CORE_URL).login(world.owner)


@pytest.fixture
def arbiter(staff_factory):
    return GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.ARBITRATE_DISPUTES))


def order_id(world) -> str:
    return to_global_id("Order", world.order.pk)


def line_id(world, variant) -> str:
    return to_global_id("OrderLine", world.order.lines.get(variant=variant).pk)


def sf_open(shop, world, **input_fields) -> dict:
    values = {"reason": "NOT_AS_DESCRIBED", "description": "Green tea, not black.", "requestedAmount": "30.00"}
    values.update(input_fields)
    payload = shop.mutate(doc.SF_DISPUTE_OPEN, {"order": order_id(world), "input": values})
    assert payload["errors"] == [], payload["errors"]
    return payload["dispute"]


def ok(payload: dict) -> dict:
    assert payload["errors"] == [], payload["errors"]
    return payload["dispute"]


def test_open_with_evidence_then_the_vendor_accepts(world, shop, merchant):
    payload = shop.mutate(
        doc.SF_DISPUTE_OPEN,
        {
            "order": order_id(world),
            "input": {
                "reason": "DAMAGED", "description": "The tin was crushed.", "requestedAmount": "25.00",
                "lines": [{"line": line_id(world, world.tea), "quantity": 1}], "evidence": [None],
            },
        },
        files={"variables.input.evidence.0": upload()},
    )
    dispute = ok(payload)
    assert (dispute["status"], dispute["reason"], dispute["kind"]) == ("AWAITING_VENDOR", "DAMAGED", "REFUND_ONLY")
    assert dispute["requested"] == {"amount": "25.00", "currency": "CNY"}
    assert dispute["deadlineAt"] and not dispute["canEscalate"]
    (message,) = dispute["messages"]
    # Evidence is private: a signed, expiring link, never the storage path.
    assert message["role"] == "SHOPPER" and message["evidence"][0]["thumbnailUrl"].startswith(
        "http://testserver/dispute-evidence/"
    )
    assert [line["quantity"] for line in dispute["lines"]] == [1]

    seen = merchant.execute(doc.DISPUTE, {"id": dispute["id"]})["dispute"]
    assert seen["order"]["releaseFrozen"] is True and seen["suggestion"] is None
    accepted = ok(merchant.mutate(doc.DISPUTE_RESPOND, {"id": dispute["id"], "input": {"accept": True}}))
    assert accepted["status"] == "RESOLVED"
    assert accepted["refunded"] == {"amount": "25.00", "currency": "CNY"}
    assert accepted["ruling"]["source"] == "VENDOR" and accepted["ruling"]["outcome"] == "REFUND_FULL"
    assert shop.execute(doc.SF_DISPUTE, {"id": dispute["id"]})["dispute"]["status"] == "RESOLVED"
    assert refunds_of(world.shopper) == Decimal("25.00")


def test_reject_escalate_and_a_staff_ruling_with_a_penalty(world, shop, merchant, arbiter):
    from .helpers import deposit, top_up_deposit

    top_up_deposit(world.vendor, "100.00")
    dispute = sf_open(shop, world)
    refused = merchant.mutate(doc.DISPUTE_RESPOND, {"id": dispute["id"], "input": {"accept": False}})
    assert error_codes(refused) == ["REQUIRED"]
    rejected = ok(
        merchant.mutate(
            doc.DISPUTE_RESPOND,
            {"id": dispute["id"], "input": {"accept": False, "message": "Photo attached.", "evidence": [None]}},
            files={"variables.input.evidence.0": upload()},
        )
    )
    assert rejected["status"] == "AWAITING_BUYER"
    assert rejected["messages"][1]["evidence"][0]["url"]
    escalated = shop.mutate(doc.SF_DISPUTE_ESCALATE, {"id": dispute["id"], "message": "Look at the leaves."})
    assert escalated["dispute"]["status"] == "UNDER_ARBITRATION"

    staff_view = arbiter.execute(doc.DISPUTE, {"id": dispute["id"]})["dispute"]
    # The default policy: the merchant showed pictures and the shopper none.
    assert staff_view["suggestion"]["outcome"] == "REJECT"
    resolved = ok(
        arbiter.mutate(
            doc.DISPUTE_RESOLVE,
            {"id": dispute["id"], "input": {"outcome": "REFUND_PARTIAL", "refundAmount": "20.00",
                                            "depositPenalty": "5.00", "note": "Mixed tea."}},
        )
    )
    assert resolved["status"] == "RESOLVED"
    assert resolved["ruling"] == {
        "outcome": "REFUND_PARTIAL", "source": "STAFF", "amount": {"amount": "20.00"}, "note": "Mixed tea.",
        "depositPenalty": {"amount": "5.00"},
    }
    assert [m["role"] for m in resolved["messages"]] == ["SHOPPER", "VENDOR", "SHOPPER", "STAFF"]
    assert (refunds_of(world.shopper), deposit(world.vendor)) == (Decimal("25.00"), Decimal("95.00"))


def test_the_shopper_withdraws_after_a_rejection(world, shop, merchant):
    dispute = sf_open(shop, world)
    ok(merchant.mutate(doc.DISPUTE_RESPOND, {"id": dispute["id"], "input": {"accept": False, "message": "No."}}))
    withdrawn = ok(shop.mutate(doc.SF_DISPUTE_WITHDRAW, {"id": dispute["id"]}))
    assert (withdrawn["status"], withdrawn["ruling"]["source"]) == ("CLOSED", "WITHDRAWN")
    again = shop.mutate(doc.SF_DISPUTE_WITHDRAW, {"id": dispute["id"]})
    assert error_codes(again) == ["INVALID_TRANSITION"]
    assert merchant.execute(doc.DISPUTE, {"id": dispute["id"]})["dispute"]["order"]["releaseFrozen"] is False


def test_return_and_refund_through_both_apis(world, shop, merchant):
    dispute = sf_open(shop, world, reason="NOT_AS_DESCRIBED", kind="RETURN_AND_REFUND", requestedAmount="100.00",
                      lines=[{"line": line_id(world, world.pot), "quantity": 1}])
    accepted = ok(merchant.mutate(doc.DISPUTE_RESPOND, {"id": dispute["id"], "input": {"accept": True}}))
    assert (accepted["status"], accepted["refunded"]["amount"]) == ("AWAITING_RETURN", "0.00")
    early = merchant.mutate(doc.DISPUTE_RETURN_RECEIVED, {"id": dispute["id"]})
    assert error_codes(early) == ["INVALID_TRANSITION"]
    assert shop.execute(doc.SF_DISPUTE, {"id": dispute["id"]})["dispute"]["status"] == "AWAITING_RETURN"
    shipped = shop.mutate(doc.SF_DISPUTE_RETURN_SHIP, {"id": dispute["id"], "carrier": TABLE_RATE, "trackingNumber": "SF-RET-1"})
    assert ok(shipped)["status"] == "RETURN_SHIPPED"
    assert shipped["dispute"]["returnShipment"]["trackingNumber"] == "SF-RET-1"
    seen = merchant.execute(doc.DISPUTE, {"id": dispute["id"]})["dispute"]
    assert seen["returnShipment"] == {"trackingNumber": "SF-RET-1", "reference": f"return:{Dispute.objects.get().pk}"}
    received = merchant.mutate(doc.DISPUTE_RETURN_RECEIVED, {"id": dispute["id"]})
    assert ok(received)["status"] == "RESOLVED"
    assert received["dispute"]["refunded"] == {"amount": "100.00"} and received["dispute"]["returnReceivedAt"]


def test_staff_escalate_reject_and_the_vendor_escalates_a_return(world, shop, merchant, arbiter):
    dispute = sf_open(shop, world)
    assert error_codes(merchant.mutate(doc.DISPUTE_ESCALATE, {"id": dispute["id"]})) == ["INVALID_TRANSITION"]
    assert error_codes(shop.mutate(doc.SF_DISPUTE_ESCALATE, {"id": dispute["id"]})) == ["INVALID_TRANSITION"]
    assert ok(arbiter.mutate(doc.DISPUTE_ESCALATE, {"id": dispute["id"], "message": "Checking."}))["status"] == (
        "UNDER_ARBITRATION"
    )
    rejected = ok(arbiter.mutate(doc.DISPUTE_RESOLVE, {"id": dispute["id"], "input": {"outcome": "REJECT"}}))
    assert (rejected["status"], rejected["ruling"]["outcome"]) == ("RESOLVED", "REJECT")

    other = make_world(shopper=world.shopper)
    other_shop = GraphQLClient(STOREFRONT_URL).login(world.shopper)
    other_merchant = GraphQLClient(CORE_URL).login(other.owner)
    second = sf_open(other_shop, other, reason="DAMAGED", kind="RETURN_AND_REFUND")
    ok(other_merchant.mutate(doc.DISPUTE_RESPOND, {"id": second["id"], "input": {"accept": True}}))
    ok(other_shop.mutate(doc.SF_DISPUTE_RETURN_SHIP, {"id": second["id"], "carrier": TABLE_RATE, "trackingNumber": "RT-55"}))
    escalated = other_merchant.mutate(doc.DISPUTE_ESCALATE, {"id": second["id"], "message": "The box was empty."})
    assert ok(escalated)["status"] == "UNDER_ARBITRATION"


def test_forbidden_moves_answer_with_codes(world, shop, merchant, arbiter, staff_factory):
    dispute = sf_open(shop, world)
    assert error_codes(
        arbiter.mutate(doc.DISPUTE_RESOLVE, {"id": dispute["id"], "input": {"outcome": "REFUND_FULL"}})
    ) == ["INVALID_TRANSITION"]
    order_staff = GraphQLClient(CORE_URL).login(staff_factory(PlatformPermission.MANAGE_ORDERS))
    assert error_codes(
        order_staff.mutate(doc.DISPUTE_RESOLVE, {"id": dispute["id"], "input": {"outcome": "REJECT"}})
    ) == ["PERMISSION_DENIED"]
    assert error_codes(merchant.mutate(doc.DISPUTE_RESOLVE, {"id": dispute["id"], "input": {"outcome": "REJECT"}})) == [
        "PERMISSION_DENIED"
    ]
    ok(merchant.mutate(doc.DISPUTE_RESPOND, {"id": dispute["id"], "input": {"accept": True}}))
    assert error_codes(merchant.mutate(doc.DISPUTE_RESPOND, {"id": dispute["id"], "input": {"accept": True}})) == [
        "INVALID_TRANSITION"
    ]
    assert error_codes(
        shop.mutate(doc.SF_DISPUTE_RETURN_SHIP, {"id": dispute["id"], "carrier": TABLE_RATE, "trackingNumber": "X"})
    ) == ["INVALID_TRANSITION"]
    again = shop.mutate(doc.SF_DISPUTE_OPEN, {"order": order_id(world), "input": {
        "reason": "DAMAGED", "description": "More.", "requestedAmount": "500.00"}})
    assert error_codes(again) == ["AMOUNT_TOO_HIGH"]
    wrong = shop.mutate(doc.SF_DISPUTE_OPEN, {"order": to_global_id("Product", 1), "input": {
        "reason": "DAMAGED", "description": "x", "requestedAmount": "1.00"}})
    assert error_codes(wrong) == ["NOT_FOUND"]


def test_messages_on_the_thread(world, shop, merchant, arbiter):
    dispute = sf_open(shop, world)
    sent = shop.mutate(
        doc.SF_DISPUTE_MESSAGE_ADD, {"id": dispute["id"], "input": {"body": "More photos.", "evidence": [None, None]}},
        files={"variables.input.evidence.0": upload(), "variables.input.evidence.1": upload(fmt="JPEG")},
    )
    assert sent["errors"] == [] and len(sent["message"]["evidence"]) == 2
    assert sent["message"]["role"] == "SHOPPER"
    reply = merchant.mutate(doc.DISPUTE_MESSAGE_ADD, {"id": dispute["id"], "input": {"body": "Checking stock."}})
    assert reply["message"]["role"] == "VENDOR"
    note = arbiter.mutate(doc.DISPUTE_MESSAGE_ADD, {"id": dispute["id"], "input": {"body": "Please keep the box."}})
    assert note["message"]["role"] == "STAFF"
    empty = shop.mutate(doc.SF_DISPUTE_MESSAGE_ADD, {"id": dispute["id"], "input": {"body": " "}})
    assert error_codes(empty) == ["REQUIRED"]
    bad = shop.mutate(
        doc.SF_DISPUTE_MESSAGE_ADD, {"id": dispute["id"], "input": {"evidence": [None]}},
        files={"variables.input.evidence.0": upload(fmt="BMP")},
    )
    assert error_codes(bad) == ["UNSUPPORTED_FILE_TYPE"]
    roles = [m["role"] for m in shop.execute(doc.SF_DISPUTE, {"id": dispute["id"]})["dispute"]["messages"]]
    assert roles == ["SHOPPER", "SHOPPER", "VENDOR", "STAFF"]


def test_each_side_sees_only_its_own_disputes(world, shop, merchant, arbiter):
    mine = sf_open(shop, world)
    other = make_world()
    theirs = services.dispute_open(actor=other.shopper, order=other.order, reason="damaged", description="x",
                                   requested_amount="10.00")
    theirs_id = to_global_id("Dispute", theirs.pk)
    # Merchants: their own vendor's disputes only.
    listed = merchant.execute(doc.DISPUTES, {"first": 10})["disputes"]
    assert [edge["node"]["id"] for edge in listed["edges"]] == [mine["id"]]
    assert merchant.execute(doc.DISPUTE, {"id": theirs_id})["dispute"] is None
    refused = merchant.mutate(doc.DISPUTE_RESPOND, {"id": theirs_id, "input": {"accept": True}})
    assert error_codes(refused) == ["NOT_FOUND"]
    # Shoppers: the disputes on their own orders only.
    assert shop.execute(doc.SF_DISPUTE, {"id": theirs_id})["dispute"] is None
    assert [e["node"]["id"] for e in shop.execute(doc.SF_DISPUTES, {})["disputes"]["edges"]] == [mine["id"]]
    assert shop.execute(doc.SF_DISPUTES, {"order": to_global_id("Order", other.order.pk)})["disputes"]["totalCount"] == 0
    assert error_codes(shop.mutate(doc.SF_DISPUTE_WITHDRAW, {"id": theirs_id})) == ["NOT_FOUND"]
    # A shopper has no core API view of disputes, anonymous callers neither.
    assert GraphQLClient(CORE_URL).login(world.shopper).execute(doc.DISPUTES, {"first": 10})["disputes"]["totalCount"] == 0
    assert GraphQLClient(STOREFRONT_URL).execute(doc.SF_DISPUTE, {"id": mine["id"]})["dispute"] is None
    # Arbitration staff see every dispute and can filter.
    everything = arbiter.execute(doc.DISPUTES, {"first": 10})["disputes"]
    assert everything["totalCount"] == 2
    filtered = arbiter.execute(doc.DISPUTES, {"first": 10, "filter": {"vendor": to_global_id("Vendor", other.vendor.pk)}})
    assert [e["node"]["id"] for e in filtered["disputes"]["edges"]] == [theirs_id]
    assert arbiter.execute(doc.DISPUTES, {"first": 10, "filter": {"status": "RESOLVED"}})["disputes"]["totalCount"] == 0


def test_listing_disputes_costs_the_same_queries_for_any_page_size(world, arbiter):
    def add(n):
        for _ in range(n):
            w = make_world()
            dispute = open_dispute(w, evidence=[upload()])
            services.dispute_message_add(actor=w.owner, dispute=dispute, body="Hello", evidence=[upload()])

    add(2)
    with CaptureQueriesContext(connection) as small:
        assert len(arbiter.execute(doc.DISPUTES, {"first": 10})["disputes"]["edges"]) == 2
    add(4)
    with CaptureQueriesContext(connection) as large:
        assert len(arbiter.execute(doc.DISPUTES, {"first": 10})["disputes"]["edges"]) == 6
    assert len(small.captured_queries) == len(large.captured_queries)


def test_vendor_dispute_stats(world, shop, merchant, arbiter):
    release(world)
    second = make_world(shopper=world.shopper)
    dispute = sf_open(shop, world, requestedAmount="10.00")
    ok(merchant.mutate(doc.DISPUTE_RESPOND, {"id": dispute["id"], "input": {"accept": True}}))
    vendor = to_global_id("Vendor", world.vendor.pk)
    stats = merchant.execute(doc.VENDOR_DISPUTE_STATS, {"vendor": vendor})["vendorDisputeStats"]
    assert stats == {
        "days": 30, "paidOrders": 1, "disputedOrders": 1, "refundedDisputes": 1, "refundedAmount": {"amount": "10.00"},
        "disputeRate": "1.0000", "refundRate": "1.0000",
    }
    assert arbiter.execute(doc.VENDOR_DISPUTE_STATS, {"vendor": vendor})["vendorDisputeStats"]["paidOrders"] == 1
    other_merchant = GraphQLClient(CORE_URL).login(second.owner)
    assert other_merchant.execute(doc.VENDOR_DISPUTE_STATS, {"vendor": vendor})["vendorDisputeStats"] is None
    own = other_merchant.execute(doc.VENDOR_DISPUTE_STATS, {"vendor": to_global_id("Vendor", second.vendor.pk)})
    assert own["vendorDisputeStats"]["disputeRate"] == "0.0000"


SF_DISPUTES_PAGE = """
{
  disputes(first: 20) {
    edges { node {
      id status requested { amount } order { id number }
      lines { quantity orderLine { productName } }
      messages { role evidence { thumbnailUrl } }
      ruling { outcome } returnShipment { trackingNumber }
    } }
  }
}"""


def test_a_shoppers_dispute_list_costs_the_same_queries_for_any_page_size(world, shop):
    def add(n):
        for _ in range(n):
            w = make_world(shopper=world.shopper)
            dispute = open_dispute(w, evidence=[upload()])
            services.dispute_message_add(actor=w.owner, dispute=dispute, body="Hello", evidence=[upload()])

    add(2)
    with CaptureQueriesContext(connection) as small:
        assert len(shop.execute(SF_DISPUTES_PAGE)["disputes"]["edges"]) == 2
    add(4)
    with CaptureQueriesContext(connection) as large:
        assert len(shop.execute(SF_DISPUTES_PAGE)["disputes"]["edges"]) == 6
    assert len(small.captured_queries) == len(large.captured_queries)
