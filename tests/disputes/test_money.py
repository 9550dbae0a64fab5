"""Money of disputes: refunds before release (from escrow) and after (from the vendor), commission
returned pro rata, the vendor's deposit and negative balance, and idempotent movements."""

from decimal import Decimal

import pytest

from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.disputes import services
from backend.disputes.models import Dispute
from backend.finance import services as ledger
from backend.finance.ledger import escrow_total
from backend.finance.models import LedgerTransaction
from backend.orders import services as orders
from backend.orders.models import Order, OrderStatus
from backend.payments.models import Refund

from .helpers import (
    assert_ledger_sound,
    available,
    commission,
    deposit,
    deliver,
    fresh,
    make_world,
    money,
    open_dispute,
    pending,
    refunds_of,
    release,
    ship,
    top_up_deposit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def arbiter(staff_factory):
    return staff_factory(PlatformPermission.ARBITRATE_DISPUTES)


def accept(world, **kwargs) -> Dispute:
    return services.dispute_respond(actor=world.owner, dispute=open_dispute(world, **kwargs), accept=True)


def test_refund_before_release_comes_from_escrow_and_the_rest_is_released_as_usual(world):
    # 218.00 paid: 200.00 of goods at 5% commission (10.00) and 18.00 shipping.
    dispute = accept(world, amount="30.00")
    assert (dispute.refunded_after_release, dispute.commission_returned_amount) == (False, 0)
    assert (pending(world.vendor), refunds_of(world.shopper), commission()) == (Decimal("188.00"), Decimal("30.00"), 0)
    order = release(world)
    # Commission on what was kept: 10.00 less its 30/218 share (1.38).
    assert order.commission_amount == Decimal("8.62")
    assert (pending(world.vendor), available(world.vendor), commission()) == (0, Decimal("179.38"), Decimal("8.62"))
    assert escrow_total().amount == 0
    assert_ledger_sound()


def test_refund_after_release_comes_from_the_vendor_with_commission_back_pro_rata(world):
    release(world)
    assert (available(world.vendor), commission()) == (Decimal("208.00"), Decimal("10.00"))
    dispute = accept(world, amount="30.00")
    assert (dispute.refunded_after_release, dispute.commission_returned_amount) == (True, Decimal("1.38"))
    # The same end state as a refund before release.
    assert (available(world.vendor), commission(), refunds_of(world.shopper)) == (
        Decimal("179.38"), Decimal("8.62"), Decimal("30.00"),
    )
    assert fresh(dispute).order.payment_status == "partially_refunded"
    assert_ledger_sound()


def test_partial_refunds_return_the_whole_commission_when_everything_is_refunded(world):
    release(world)
    accept(world, amount="30.00")
    second = accept(world, amount="188.00")
    assert second.commission_returned_amount == Decimal("8.62")
    order = Order.objects.get(pk=world.order.pk)
    assert (order.status, order.refunded_amount, order.payment_status) == (OrderStatus.REFUNDED, Decimal("218.00"), "refunded")
    assert (available(world.vendor), commission(), refunds_of(world.shopper)) == (0, 0, Decimal("218.00"))
    assert order.payment.refunded_amount == Decimal("218.00")
    assert_ledger_sound()


@pytest.mark.parametrize(
    "amount, returned",
    [("0.01", "0.00"), ("10.90", "0.50"), ("21.80", "1.00"), ("109.00", "5.00"), ("218.00", "10.00")],
)
def test_commission_back_is_pro_rata_to_the_refund(world, amount, returned):
    release(world)
    assert accept(world, amount=amount).commission_returned_amount == Decimal(returned)


def test_after_release_the_deposit_then_a_negative_balance_cover_the_refund(world):
    release(world)
    ledger.payout_reserve(payout_ref="p1", vendor=world.vendor.pk, amount=money("200.00"))
    top_up_deposit(world.vendor, "50.00")
    assert (available(world.vendor), deposit(world.vendor)) == (Decimal("8.00"), Decimal("50.00"))
    dispute = accept(world, amount="100.00")
    # The vendor owes 100.00 less 4.59 commission back: 8.00 available, 50.00 deposit, 37.41 recovered later.
    assert dispute.commission_returned_amount == Decimal("4.59")
    assert (available(world.vendor), deposit(world.vendor)) == (Decimal("-37.41"), 0)
    posted = LedgerTransaction.objects.get(idempotency_key=f"refund_from_vendor:dispute:{dispute.pk}:refund")
    assert posted.metadata["from_deposit"] == "50.00" and posted.metadata["recovery"] == "37.41"
    assert_ledger_sound()

    # The next sale pays the debt back first.
    sale = make_world_for_vendor(world)
    release(sale)
    assert sale.order.total_amount - Decimal("5.00") == Decimal("104.00")  # 100.00 + 9.00 shipping - 5% of 100.00
    assert available(world.vendor) == Decimal("66.59")


def make_world_for_vendor(world):
    """Another paid order of the same vendor's tea."""
    from ..checkout.helpers import complete, ready_checkout
    from .helpers import World

    result = complete(ready_checkout(world.shopper, [(world.tea, 2)]), user=world.shopper)
    return World(vendor=world.vendor, owner=world.owner, shopper=world.shopper, order=result.orders[0],
                 tea=world.tea, pot=world.pot)


def test_a_full_refund_before_release_ends_the_order(world):
    ship(world)
    deliver(world.order)
    dispute = accept(world, amount="218.00")
    order = fresh(dispute).order
    assert (order.status, order.payment_status) == (OrderStatus.REFUNDED, "refunded")
    # Nothing is left to release, so the hold stays and nothing ever completes the order.
    assert order.release_frozen
    assert (pending(world.vendor), escrow_total().amount) == (0, 0)
    assert orders.orders_auto_confirm(now=order.auto_confirm_at) == 0


def test_not_received_refunded_in_full_before_shipment_refunds_the_order_and_returns_the_stock(world):
    dispute = open_dispute(world, reason="not_received", amount="218.00", description="Nothing was ever sent.")
    dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    order = fresh(dispute).order
    assert (dispute.status, dispute.refunded_amount) == ("resolved", Decimal("218.00"))
    assert (order.status, order.payment_status) == (OrderStatus.REFUNDED, "refunded")
    world.tea.refresh_from_db(), world.pot.refresh_from_db()
    assert (world.tea.stock, world.pot.stock) == (50, 50)  # the goods never left
    assert (pending(world.vendor), refunds_of(world.shopper), escrow_total().amount) == (0, Decimal("218.00"), 0)
    # The vendor cannot ship a refunded order any more.
    with pytest.raises(DomainError) as exc_info:
        ship(world)
    assert exc_info.value.code.name == "INVALID_TRANSITION"
    assert_ledger_sound()


def test_not_received_refunded_in_part_before_shipment_goes_on_and_releases_the_rest(world):
    dispute = open_dispute(world, reason="not_received", amount="18.00", description="Shipping was never booked.")
    services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    order = Order.objects.get(pk=world.order.pk)
    assert (order.status, order.payment_status, order.release_frozen) == (OrderStatus.PAID, "partially_refunded", False)
    world.tea.refresh_from_db()
    assert world.tea.stock == 48
    order = release(world)
    assert order.status == OrderStatus.COMPLETED
    assert available(world.vendor) + commission() == Decimal("200.00")
    assert_ledger_sound()


def test_a_released_hold_completes_at_the_next_automatic_confirmation(world):
    ship(world)
    deliver(world.order)
    order = Order.objects.get(pk=world.order.pk)
    dispute = open_dispute(world, amount="18.00")
    assert orders.orders_auto_confirm(now=order.auto_confirm_at) == 0  # frozen
    services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    assert orders.orders_auto_confirm(now=order.auto_confirm_at) == 1
    order.refresh_from_db()
    assert (order.status, order.commission_amount) == (OrderStatus.COMPLETED, Decimal("9.17"))
    assert available(world.vendor) == Decimal("200.00") - Decimal("9.17")


def test_refund_movements_are_idempotent(world):
    dispute = accept(world, amount="30.00")
    key = f"dispute:{dispute.pk}:refund"
    # A retry of the same refund (same key) finds the first one and moves nothing.
    first = orders.order_refund(order=world.order, amount=money("30.00"), idempotency_key=key, actor=None)
    again = orders.order_refund(order=world.order, amount=money("30.00"), idempotency_key=key, actor=None)
    assert first.pk == again.pk and first.order.refunded_amount == Decimal("30.00")
    assert Refund.objects.filter(idempotency_key=key).count() == 1
    assert LedgerTransaction.objects.filter(idempotency_key=f"refund_from_escrow:{key}").count() == 1
    assert refunds_of(world.shopper) == Decimal("30.00")
    # The same key for another amount is refused.
    with pytest.raises(DomainError) as exc_info:
        orders.order_refund(order=world.order, amount=money("31.00"), idempotency_key=key, actor=None)
    assert exc_info.value.code.name == "IDEMPOTENCY_CONFLICT"
