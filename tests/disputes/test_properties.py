"""Property: whatever sequence of dispute moves, deadlines and releases happens, the money balances."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings, strategies as st

from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.disputes import services
from backend.disputes.models import ACTIVE_STATUSES, Dispute
from backend.finance import accounts
from backend.finance.commission import commission_for
from backend.finance.ledger import escrow_total, ledger_problems
from backend.orders import services as orders
from backend.orders.models import Order

from ..checkout.helpers import TABLE_RATE
from ..conftest import make_user
from .helpers import World, balance, deliver, make_world, release, top_up_deposit

pytestmark = pytest.mark.django_db

ORDERS = 2
step = st.one_of(
    st.tuples(st.just("open"), st.integers(0, ORDERS - 1), st.integers(1, 100), st.sampled_from(["refund_only", "return_and_refund"])),
    st.tuples(st.sampled_from(["accept", "reject", "escalate", "withdraw", "ship_back", "received", "release"]),
              st.integers(0, ORDERS - 1)),
    st.tuples(st.just("resolve"), st.integers(0, ORDERS - 1), st.sampled_from(["refund_full", "refund_partial", "reject"]),
              st.integers(1, 100), st.sampled_from([None, "5.00", "500.00"])),
    st.tuples(st.just("wait"), st.integers(1, 400)),
)


def active(world: World):
    return Dispute.objects.filter(order=world.order, status__in=ACTIVE_STATUSES).first() or Dispute.objects.filter(
        order=world.order).order_by("-pk").first()


def play(move, worlds, arbiter, frozen):
    kind = move[0]
    if kind == "wait":
        frozen.tick(timedelta(hours=move[1]))
        services.disputes_apply_deadlines()
        orders.orders_auto_confirm()
        return
    world = worlds[move[1]]
    order = Order.objects.get(pk=world.order.pk)
    dispute = active(world)
    if kind == "open":
        amount = (order.total_amount - order.refunded_amount) * move[2] / 100
        services.dispute_open(actor=world.shopper, order=order, reason="damaged", kind=move[3], description="x",
                              requested_amount=str(amount.quantize(Decimal("0.01"))))
    elif dispute is None:
        return
    elif kind == "accept":
        services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    elif kind == "reject":
        services.dispute_respond(actor=world.owner, dispute=dispute, accept=False, message="no")
    elif kind == "escalate":
        services.dispute_escalate(actor=arbiter, dispute=dispute)
    elif kind == "withdraw":
        services.dispute_withdraw(actor=world.shopper, dispute=dispute)
    elif kind == "ship_back":
        services.dispute_return_ship(actor=world.shopper, dispute=dispute, carrier=TABLE_RATE,
                                     tracking_number=f"RT-{dispute.pk}")
    elif kind == "received":
        services.dispute_return_received(actor=world.owner, dispute=dispute)
    elif kind == "resolve":
        amount = (dispute.requested_amount * move[3] / 100).quantize(Decimal("0.01"))
        services.dispute_resolve(actor=arbiter, dispute=dispute, outcome=move[2],
                                 refund_amount=str(amount) if move[2] == "refund_partial" else None,
                                 deposit_penalty=move[4])
    if kind == "release":
        if order.status == "paid":
            orders.order_ship(actor=world.owner, order=order, carrier=TABLE_RATE)
            deliver(order, event_id=f"d-{order.pk}")
        orders.order_confirm_receipt(actor=world.shopper, order=order)


def check_money(worlds):
    assert ledger_problems() == []
    unreleased = Decimal(0)
    commission = Decimal(0)
    for world in worlds:
        order = Order.objects.select_related("payment").get(pk=world.order.pk)
        disputes = Dispute.objects.filter(order=order)
        refunded = disputes.aggregate(total=Sum("refunded_amount"))["total"] or Decimal(0)
        assert order.refunded_amount == refunded <= order.total_amount
        assert order.payment.refunded_amount == refunded
        for dispute in disputes:
            assert dispute.refunded_amount <= dispute.requested_amount <= dispute.refundable_amount
        if disputes.filter(status__in=ACTIVE_STATUSES).exists():
            assert order.release_frozen
        if order.released_at is None:
            unreleased += order.total_amount - order.refunded_amount
        else:
            returned = disputes.aggregate(total=Sum("commission_returned_amount"))["total"] or Decimal(0)
            kept = order.commission_amount - returned
            commission += kept
            # The platform keeps commission on what was not refunded, pro rata (rounding aside), none on a full refund.
            full = sum((commission_for(line.total, line.commission_rate).amount for line in order.lines.all()), Decimal(0))
            assert abs(kept - full * (order.total_amount - order.refunded_amount) / order.total_amount) <= Decimal("0.02")
            if order.refunded_amount == order.total_amount:
                assert kept == 0
    assert escrow_total().amount == unreleased
    assert balance(accounts.PLATFORM_COMMISSION) == commission
    shopper = worlds[0].shopper
    penalties = Dispute.objects.filter(deposit_penalty_to_buyer=True).aggregate(total=Sum("deposit_penalty_amount"))
    refunds = Dispute.objects.aggregate(total=Sum("refunded_amount"))["total"] or Decimal(0)
    assert balance(accounts.buyer_refunds(shopper.pk)) == refunds + (penalties["total"] or Decimal(0))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    openings=st.lists(st.tuples(st.integers(1, 100), st.sampled_from(["refund_only", "return_and_refund"])),
                      min_size=ORDERS, max_size=ORDERS),
    moves=st.lists(step, min_size=1, max_size=12),
)
def test_money_stays_balanced_across_random_dispute_sequences(openings, moves):
    with transaction.atomic():
        with freeze_time(timezone.now()) as frozen:
            shopper = make_user()
            arbiter = make_user(is_staff=True, permissions=[PlatformPermission.ARBITRATE_DISPUTES])
            worlds = [make_world(shopper=shopper) for _ in range(ORDERS)]
            top_up_deposit(worlds[0].vendor, "50.00")
            # One order already released (refunds come from the vendor), one still in escrow.
            release(worlds[0])
            # Every order starts disputed; the moves then go anywhere (reopening included).
            opened = [("open", index, percent, kind) for index, (percent, kind) in enumerate(openings)]
            for move in opened + moves:
                try:
                    with transaction.atomic():
                        play(move, worlds, arbiter, frozen)
                except DomainError:
                    pass  # a refused move changes nothing
                check_money(worlds)
        transaction.set_rollback(True)
