"""A caller acting on its own object while naming someone else's inside it: a line of another
checkout, a line of another shopper's order, a dispute of another store. The reference is refused
like a missing one and nothing changes."""

import pytest
from graphql_relay import to_global_id

from backend.core.permissions import PlatformPermission as P

from .operations import Op, call, changed_tables, fingerprint

pytestmark = pytest.mark.django_db

ERRORS = "{ errors { field code } }"


def codes(response, name: str) -> list[str]:
    assert response.status == 200 and response.top_errors == [], response.text[:1000]
    return [e["code"] for e in response.data[name]["errors"]]


def test_a_line_of_another_checkout_cannot_be_deleted_from_ones_own(world):
    foreign_line = world.guest_checkout.lines.first()
    response = call(Op("storefront", "mutation", "checkoutLinesDelete"), world.shopper1, {
        "id": to_global_id("Checkout", world.checkout.pk), "linesIds": [to_global_id("CheckoutLine", foreign_line.pk)],
    }, fields=ERRORS)
    assert codes(response, "checkoutLinesDelete") == ["NOT_FOUND"]
    assert changed_tables(world.baseline, fingerprint()) == []


def test_a_line_of_another_shoppers_order_cannot_be_disputed_under_ones_own(world):
    foreign_line = world.alpha.order_released.lines.first()  # shopper 2's order at the same store
    response = call(Op("storefront", "mutation", "disputeOpen"), world.shopper1, {
        "order": to_global_id("Order", world.alpha.order_unshipped.pk),
        "input": {"reason": "NOT_AS_DESCRIBED", "description": "Mixed up", "requestedAmount": "10.00",
                  "lines": [{"line": to_global_id("OrderLine", foreign_line.pk), "quantity": 1}]},
    }, fields=ERRORS)
    assert codes(response, "disputeOpen") == ["NOT_FOUND"]
    assert changed_tables(world.baseline, fingerprint()) == []


def test_a_deposit_deduction_cannot_compensate_another_stores_dispute(world):
    """An arbitrator names Bravo's deposit and Alpha's dispute: the shopper is not paid from the wrong store."""
    response = call(Op("core", "mutation", "vendorDepositDeduct"), world.staff[P.ARBITRATE_DISPUTES], {
        "vendor": to_global_id("Vendor", world.bravo.vendor.pk), "amount": "10.00", "reason": "Compensation",
        "dispute": to_global_id("Dispute", world.alpha.dispute.pk),
    }, fields=ERRORS)
    assert codes(response, "vendorDepositDeduct") == ["INVALID"]
    assert changed_tables(world.baseline, fingerprint()) == []

