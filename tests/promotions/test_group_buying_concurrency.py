"""Group buying under concurrency on PostgreSQL: last joiners racing for a group's free slots
(the group's row lock orders them: the slots are taken once, the group fills once, the late
ones are refused and pay nothing), and the periodic closing running twice at once (every member
of a failed group is refunded exactly once)."""

from datetime import timedelta

from django.utils import timezone

from backend.core.exceptions import DomainError
from backend.finance.ledger import ledger_problems
from backend.notifications.models import Event
from backend.orders.models import Order, OrderRefund, OrderStatus
from backend.promotions import group_buying as gb
from backend.promotions.group_buying import GroupDealInput, group_deal_create
from backend.promotions.models import Group, GroupMember, GroupStatus

from ..checkout.helpers import HANGZHOU, complete, listing, ready_checkout, store
from ..concurrency import POSTGRESQL_RACE, race
from ..conftest import make_user

pytestmark = POSTGRESQL_RACE


def _deal(size):
    vendor, owner = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, price="100.00", stock=50)
    now = timezone.now()
    deal = group_deal_create(actor=owner, variant_id=variant.pk, data=GroupDealInput(
        price="60.00", group_size=size, window_hours=24, starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2)))
    return deal, variant


def _marked(deal, variant, group=None):
    shopper = make_user()
    checkout = ready_checkout(shopper, [(variant, 1)], email=shopper.email)
    gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk, group_id=group.pk if group else None)
    return shopper, checkout


def test_five_shoppers_race_for_a_groups_last_two_slots():
    deal, variant = _deal(3)
    shopper, checkout = _marked(deal, variant)
    complete(checkout, user=shopper)
    group = Group.objects.get()
    racers = [_marked(deal, variant, group) for _ in range(5)]

    results = race(lambda i: complete(racers[i][1], user=racers[i][0]), 5)

    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 2, results
    assert all(isinstance(r, DomainError) and r.code.name == "GROUP_NOT_JOINABLE" for r in lost), lost
    group.refresh_from_db()
    assert group.status == GroupStatus.FILLED
    assert GroupMember.objects.filter(group=group, left_at__isnull=True).count() == 3
    assert Order.objects.count() == 3 and not Order.objects.filter(group_hold=True).exists()
    # Filled once: each member told once, the store told once per order that it may ship.
    assert Event.objects.filter(name="group.filled").count() == 3
    assert Event.objects.filter(name="order.paid").count() == 3
    assert ledger_problems() == []


def test_two_last_joiners_at_once_fill_the_group_once():
    deal, variant = _deal(2)
    shopper, checkout = _marked(deal, variant)
    complete(checkout, user=shopper)
    group = Group.objects.get()
    racers = [_marked(deal, variant, group) for _ in range(2)]

    results = race(lambda i: complete(racers[i][1], user=racers[i][0]), 2)

    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    group.refresh_from_db()
    assert group.status == GroupStatus.FILLED
    assert Order.objects.filter(status=OrderStatus.PAID, group_hold=False).count() == 2
    assert Event.objects.filter(name="group.filled").count() == 2
    assert ledger_problems() == []


def test_two_closing_runs_at_once_refund_every_member_once():
    deal, variant = _deal(5)
    shopper, checkout = _marked(deal, variant)
    complete(checkout, user=shopper)
    group = Group.objects.get()
    for _ in range(3):
        s, c = _marked(deal, variant, group)
        complete(c, user=s)
    later = group.expires_at + timedelta(minutes=1)

    results = race(lambda i: gb.groups_close_expired(now=later), 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 4
    group.refresh_from_db()
    assert group.status == GroupStatus.FAILED and group.settled_at is not None
    for order in Order.objects.all():
        assert order.status == OrderStatus.CANCELLED
        assert order.refunded_amount == order.total_amount
        assert OrderRefund.objects.filter(order=order).count() == 1
    assert Event.objects.filter(name="group.failed").count() == 4
    assert gb.groups_close_expired(now=later) == 0
    assert ledger_problems() == []
