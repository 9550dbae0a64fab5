"""Work that runs outside a request, in processes of its own, against the served database.

The periodic services run here in a `manage.py shell` process with their clock moved past the
deadline (the real worker and beat are tested with the Celery setup); each opens its own
transactions and row locks, exactly as in the worker. Two runs at once release an order once.
Files replaced or deleted by a request are removed only once its transaction committed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from . import journey as j

RUN_LATER = """
import json, sys
from datetime import timedelta
from django.utils import timezone
from {module} import {function}
print(json.dumps({function}(now=timezone.now() + timedelta(days={days}))))
"""


def run_later(served, module: str, function: str, days: int):
    return served.manage("shell", "-c", RUN_LATER.format(module=module, function=function, days=days))


@pytest.fixture(scope="module")
def night_market(served, marketplace):
    """A store of its own, so that what the periodic work moves here is only this module's orders."""
    staff, category = marketplace["staff"], marketplace["category"]
    store = j.open_store(served, staff, category, "Night Market")
    j.list_product(served, staff, store, category, name="Osmanthus Cake", price="120.00")
    return store


def test_two_auto_confirm_runs_at_once_release_a_due_order_once(served, marketplace, night_market):
    staff = marketplace["staff"]
    shopper, order = j.paid_order(served, night_market)
    j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=night_market.owner_token)
    before = j.balance(served, staff, night_market.vendor_id)

    results = j.race(2, lambda _i: run_later(served, "backend.orders.services", "orders_auto_confirm", 16))
    for result in results:
        assert not isinstance(result, BaseException), result
        assert result.returncode == 0, result.stderr
    followed = j.call(served, j.SHOPPER_ORDER, {"id": order["id"]}, endpoint="storefront", token=shopper)["order"]
    assert (followed["status"], followed["paymentStatus"]) == ("COMPLETED", "RELEASED")
    releases = j.kinds(j.ledger(served, staff, night_market.vendor_id), "ESCROW_RELEASE")
    assert len([e for e in releases if e["account"].endswith(":pending")]) == 1
    after = j.balance(served, staff, night_market.vendor_id)
    # 120.00 of goods at 5% commission: the rest of the order's total reaches the available balance once.
    total = Decimal(order["total"]["amount"])
    assert Decimal(after["available"]) - Decimal(before["available"]) == total - Decimal("6.00")


def test_a_silent_vendor_misses_the_deadline_and_the_claim_is_refunded(served, marketplace, night_market):
    staff = marketplace["staff"]
    shopper, order = j.paid_order(served, night_market)
    dispute = j.mutate(
        served,
        j.DISPUTE_OPEN,
        {"order": order["id"], "input": {"reason": "NOT_RECEIVED", "kind": "REFUND_ONLY",
                                         "description": "Nothing came.", "requestedAmount": "50.00"}},
        endpoint="storefront",
        token=shopper,
    )["dispute"]
    refunds_before = len(j.kinds(j.ledger(served, staff, night_market.vendor_id), "REFUND_FROM_ESCROW"))

    result = run_later(served, "backend.disputes.services", "disputes_apply_deadlines", 4)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) >= 1
    seen = j.call(
        served,
        "query Dispute($id: ID!) { dispute(id: $id) { status refunded { amount } ruling { outcome source } } }",
        {"id": dispute["id"]},
        token=staff,
    )["dispute"]
    assert seen["status"] == "RESOLVED" and seen["refunded"]["amount"] == "50.00", seen
    refunds = j.kinds(j.ledger(served, staff, night_market.vendor_id), "REFUND_FROM_ESCROW")
    assert len(refunds) == refunds_before + 1 and refunds[0]["amount"]["amount"] == "-50.00"
    # Run again: nothing more moves.
    again = run_later(served, "backend.disputes.services", "disputes_apply_deadlines", 4)
    assert again.returncode == 0, again.stderr
    assert len(j.kinds(j.ledger(served, staff, night_market.vendor_id), "REFUND_FROM_ESCROW")) == len(refunds)


def test_run_payouts_command_pays_the_available_balance(served, marketplace, night_market):
    staff = marketplace["staff"]
    shopper, order = j.paid_order(served, night_market, quantity=2)
    j.mutate(served, j.ORDER_SHIP, {"order": order["id"]}, token=night_market.owner_token)
    j.mutate(served, j.CONFIRM, {"order": order["id"]}, endpoint="storefront", token=shopper)
    available = j.balance(served, staff, night_market.vendor_id)["available"]
    assert Decimal(available) >= Decimal("100.00")

    vendor_pk = _pk(night_market.vendor_id)
    result = served.manage("run_payouts", "--force", "--no-progress", "--vendor", str(vendor_pk))
    assert result.returncode == 0, result.stderr
    assert j.balance(served, staff, night_market.vendor_id)["available"] == "0.00"
    payouts = j.call(
        served,
        "query Payouts { payouts(first: 100) { edges { node { vendor { id } amount { amount } status } } } }",
        token=staff,
    )["payouts"]["edges"]
    mine = [edge["node"] for edge in payouts if edge["node"]["vendor"]["id"] == night_market.vendor_id]
    assert [(p["amount"]["amount"], p["status"]) for p in mine][:1] == [(available, "PAID")]


def _pk(global_id: str) -> int:
    import base64

    return int(base64.b64decode(global_id).decode().split(":")[1])


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_deleted_pictures_leave_the_disk_after_the_commit(served, marketplace, night_market):
    product = j.mutate(
        served,
        j.PRODUCT_CREATE,
        {"input": {"category": marketplace["category"], "name": j.unique("Draft Mooncake"),
                   "variants": [{"sku": j.unique("SKU"), "price": "10.00", "stock": 5, "weight": "0.200"}]}},
        token=night_market.owner_token,
    )["product"]
    before = _files(served.media_root)
    media = j.mutate(
        served,
        j.MEDIA_CREATE,
        {"product": product["id"], "image": None},
        token=night_market.owner_token,
        files={"variables.image": ("cake.jpg", j.jpeg(), "image/jpeg")},
    )["media"]
    added = _files(served.media_root) - before
    assert added, "the renditions are stored"
    remove = "mutation Remove($id: ID!) { productMediaDelete(id: $id) { product { id } errors { field code message } } }"
    # Another store may not delete it: refused, and the files stay.
    refused = j.call(served, remove, {"id": media["id"]}, token=marketplace["tea"].owner_token)["productMediaDelete"]
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert added <= _files(served.media_root)
    j.mutate(served, remove, {"id": media["id"]}, token=night_market.owner_token)
    assert not (_files(served.media_root) & added)


def test_a_replaced_store_logo_leaves_the_disk_after_the_commit(served, night_market):
    update = """
    mutation Logo($id: ID!, $input: VendorUpdateInput!) {
      vendorUpdate(id: $id, input: $input) { vendor { logo { url } } errors { field code message } }
    }"""

    def upload(colour):
        before = _files(served.media_root)
        j.mutate(
            served,
            update,
            {"id": night_market.vendor_id, "input": {"logo": None}},
            token=night_market.owner_token,
            files={"variables.input.logo": ("logo.jpg", j.jpeg((500, 500), colour), "image/jpeg")},
        )
        return _files(served.media_root) - before

    first = upload((10, 120, 10))
    assert first
    second = upload((200, 200, 10))
    assert second and not (second & first)
    assert not (_files(served.media_root) & first), "the replaced logo's renditions are deleted"
