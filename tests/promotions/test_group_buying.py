"""Group buying (拼团): the group's state machine, the deal price on the checkout's pricing path,
orders held in escrow until the group fills, and groups that do not fill failing with every
member's order cancelled and refunded exactly once by the periodic work."""

import functools
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from freezegun import freeze_time

from backend.checkout.services import checkout_summary
from backend.core.exceptions import DomainError
from backend.finance.ledger import ledger_problems
from backend.notifications.models import Event
from backend.orders import services as orders_services
from backend.orders.models import Order, OrderRefund, OrderStatus
from backend.promotions import group_buying as gb
from backend.promotions.group_buying import GroupDealInput, group_deal_create, group_deal_update
from backend.promotions.models import Group, GroupMember, GroupStatus, OrderDiscount
from backend.promotions.state_machines import GROUP_STATUS

from ..checkout.helpers import HANGZHOU, TABLE_RATE, complete, listing, pending, ready_checkout, store
from ..conftest import make_user
from .helpers import cny

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
G = GroupStatus


ALLOWED = {(G.OPEN, G.FILLED), (G.OPEN, G.FAILED)}


@pytest.mark.parametrize("source", G.values)
@pytest.mark.parametrize("target", G.values)
def test_group_state_machine_transition_by_transition(source, target):
    assert GROUP_STATUS.can(source, target) == ((source, target) in ALLOWED)
    if (source, target) not in ALLOWED:
        with pytest.raises(DomainError) as exc_info:
            GROUP_STATUS.check(source, target)
        assert exc_info.value.code.name == "INVALID_TRANSITION"


@pytest.fixture
def world():
    tea, owner = store("Tea House", origin=HANGZHOU)
    green = listing(tea, price="100.00", stock=30)
    return {"tea": tea, "owner": owner, "green": green}


def deal_of(owner, variant, *, price="60.00", size=3, window=24, per_shopper_limit=None, starts=None, ends=None):
    now = timezone.now()
    return group_deal_create(actor=owner, variant_id=variant.pk, data=GroupDealInput(
        name="Three for tea", price=price, group_size=size, window_hours=window, per_shopper_limit=per_shopper_limit,
        starts_at=starts or now - HOUR, ends_at=ends or now + 10 * 24 * HOUR,
    ))


def buy(deal, variant, *, group=None, quantity=1, shopper=None):
    """A shopper opens a group (group=None) or joins one, paying at once; returns (shopper, order)."""
    shopper = shopper or make_user()
    checkout = ready_checkout(shopper, [(variant, quantity)], email=shopper.email)
    gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk, group_id=group.pk if group else None)
    (order,) = complete(checkout, user=shopper).orders
    order.refresh_from_db()
    return shopper, order


def code(exc_info) -> str:
    return exc_info.value.code.name


def test_the_deal_price_is_on_the_pricing_path_and_on_the_order_lines(world):
    w = world
    deal = deal_of(w["owner"], w["green"])
    shopper = make_user()
    checkout = ready_checkout(shopper, [(w["green"], 2)], email=shopper.email)
    assert checkout_summary(checkout).discount == cny("0.00")
    gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk)
    summary = checkout_summary(checkout)
    (package,) = summary.packages
    assert package.discount == cny("80.00")  # (100 - 60) x 2
    (adjustment,) = package.pricing.adjustments
    assert (adjustment.source, adjustment.source_id, adjustment.funder) == ("group_deal", deal.pk, "store")
    assert summary.pricing.group_buy.units == 2
    (order,) = complete(checkout, user=shopper).orders
    order.refresh_from_db()
    assert order.discount_amount == Decimal("80.00")
    assert order.total_amount == Decimal("120.00") + order.shipping_amount
    (line,) = order.lines.all()
    assert line.store_discount_amount == Decimal("80.00")
    (discount,) = OrderDiscount.objects.filter(order=order)
    assert (discount.source, discount.group_deal_id, discount.amount) == ("group_deal", deal.pk, Decimal("80.00"))
    # The first member opened a group; the order is paid into escrow but held.
    (group,) = Group.objects.all()
    assert group.status == G.OPEN and group.opened_by == shopper
    assert order.status == OrderStatus.PAID and order.group_hold
    assert pending(w["tea"]) == order.total_amount
    assert ledger_problems() == []


def test_a_group_lasts_its_window_cut_at_the_deals_end(world):
    w = world
    now = timezone.now()
    deal = deal_of(w["owner"], w["green"], window=24, ends=now + 5 * HOUR)
    with freeze_time(now):
        buy(deal, w["green"])
    (group,) = Group.objects.all()
    assert group.expires_at == deal.ends_at
    other = deal_of(w["owner"], listing(w["tea"], price="50.00"), price="30.00", window=2)
    with freeze_time(now):
        buy(other, other.variant)
    assert Group.objects.get(deal=other).expires_at == now + 2 * HOUR


def test_a_held_order_cannot_be_shipped_until_the_group_fills(world):
    w = world
    deal = deal_of(w["owner"], w["green"], size=2)
    _first, order = buy(deal, w["green"])
    group = Group.objects.get()
    with pytest.raises(DomainError) as exc_info:
        orders_services.order_ship(actor=w["owner"], order=order, carrier=TABLE_RATE)
    assert code(exc_info) == "AWAITING_GROUP"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.shipment_id is None and order.auto_confirm_at is None
    # Not announced to the store as ready to ship yet.
    assert not Event.objects.filter(name="order.paid", dedupe_key=f"order.paid:{order.pk}").exists()
    _second, last = buy(deal, w["green"], group=group)
    group.refresh_from_db()
    assert group.status == G.FILLED and group.filled_at is not None
    order.refresh_from_db()
    last.refresh_from_db()
    assert not order.group_hold and not last.group_hold
    assert Event.objects.filter(name="order.paid", dedupe_key=f"order.paid:{order.pk}").exists()
    assert Event.objects.filter(name="group.filled").count() == 2
    shipped = orders_services.order_ship(actor=w["owner"], order=order, carrier=TABLE_RATE)
    assert shipped.status == OrderStatus.SHIPPED and shipped.auto_confirm_at is not None


def test_the_group_fills_once_with_its_nth_paid_member_and_takes_no_more(world):
    w = world
    deal = deal_of(w["owner"], w["green"], size=3)
    _a, first = buy(deal, w["green"])
    group = Group.objects.get()
    buy(deal, w["green"], group=group)
    group.refresh_from_db()
    assert group.status == G.OPEN
    buy(deal, w["green"], group=group)
    group.refresh_from_db()
    assert group.status == G.FILLED
    assert not Order.objects.filter(group_hold=True).exists()
    # A fourth cannot join a filled group: refused at marking and, if marked before, at placement.
    late = make_user()
    checkout = ready_checkout(late, [(w["green"], 1)], email=late.email)
    with pytest.raises(DomainError) as exc_info:
        gb.checkout_group_buy_set(checkout=checkout, user=late, deal_id=deal.pk, group_id=group.pk)
    assert code(exc_info) == "GROUP_NOT_JOINABLE"
    assert Event.objects.filter(name="group.filled").count() == 3
    # Filling again changes nothing.
    locked = Group.objects.select_related("deal").get(pk=group.pk)
    assert gb.group_fill(locked) is False


def test_a_group_full_after_marking_is_refused_at_placement_and_nothing_is_charged(world):
    w = world
    deal = deal_of(w["owner"], w["green"], size=2)
    _a, _first = buy(deal, w["green"])
    group = Group.objects.get()
    late = make_user()
    checkout = ready_checkout(late, [(w["green"], 1)], email=late.email)
    gb.checkout_group_buy_set(checkout=checkout, user=late, deal_id=deal.pk, group_id=group.pk)
    buy(deal, w["green"], group=group)
    with pytest.raises(DomainError) as exc_info:
        complete(checkout, user=late)
    assert code(exc_info) == "GROUP_NOT_JOINABLE"
    assert not Order.objects.filter(user=late).exists()
    checkout.refresh_from_db()
    assert checkout.completed_at is None
    # Opening a new group instead works.
    gb.checkout_group_buy_set(checkout=checkout, user=late, deal_id=deal.pk)
    complete(checkout, user=late)
    assert Group.objects.filter(status=G.OPEN).count() == 1


def test_a_shopper_joins_a_group_once_and_within_the_limit(world):
    w = world
    deal = deal_of(w["owner"], w["green"], size=3, per_shopper_limit=2)
    shopper, _order = buy(deal, w["green"])
    group = Group.objects.get()
    checkout = ready_checkout(shopper, [(w["green"], 1)], email=shopper.email)
    with pytest.raises(DomainError) as exc_info:
        gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk, group_id=group.pk)
    assert code(exc_info) == "GROUP_NOT_JOINABLE"
    # Another group of the same deal: only what is left of the limit is at the deal price.
    checkout = ready_checkout(shopper, [(w["green"], 3)], email=shopper.email)
    gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk)
    summary = checkout_summary(checkout)
    assert summary.pricing.group_buy.units == 1
    assert summary.discount == cny("40.00")


def test_a_member_whose_order_is_cancelled_frees_the_slot(world):
    w = world
    deal = deal_of(w["owner"], w["green"], size=2)
    shopper, order = buy(deal, w["green"])
    group = Group.objects.get()
    cancelled = orders_services.order_cancel(actor=shopper, order=order, reason="changed my mind")
    assert cancelled.status == OrderStatus.CANCELLED
    assert GroupMember.objects.get(order=order).left_at is not None
    assert OrderRefund.objects.get(order=order).amount == order.total_amount
    _b, second = buy(deal, w["green"], group=group)
    group.refresh_from_db()
    assert group.status == G.OPEN  # one paid member of two
    _c, third = buy(deal, w["green"], group=group)
    group.refresh_from_db()
    assert group.status == G.FILLED


def test_a_group_that_does_not_fill_refunds_every_member_once(world):
    w = world
    now = timezone.now()
    deal = deal_of(w["owner"], w["green"], size=3, window=24)
    with freeze_time(now):
        _a, first = buy(deal, w["green"])
        group = Group.objects.get()
        _b, second = buy(deal, w["green"], group=group)
    stock_after = w["green"].__class__.objects.get(pk=w["green"].pk).stock
    with freeze_time(now + 23 * HOUR):
        assert gb.groups_close_expired() == 0
    group.refresh_from_db()
    assert group.status == G.OPEN
    with freeze_time(now + 25 * HOUR):
        assert gb.groups_close_expired() == 2
        assert gb.groups_close_expired() == 0  # the periodic task again: nothing more
    group.refresh_from_db()
    assert group.status == G.FAILED and group.failed_at is not None and group.settled_at is not None
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
        (refund,) = OrderRefund.objects.filter(order=order)
        assert refund.status == "succeeded" and refund.amount == order.total_amount
        assert order.refunded_amount == order.total_amount
    assert GroupMember.objects.filter(settled_at__isnull=True).count() == 0
    assert Event.objects.filter(name="group.failed").count() == 2
    assert pending(w["tea"]) == Decimal("0.00")
    assert w["green"].__class__.objects.get(pk=w["green"].pk).stock == stock_after + 2
    assert ledger_problems() == []


def test_a_crash_between_members_refunds_no_one_twice(world):
    w = world
    now = timezone.now()
    deal = deal_of(w["owner"], w["green"], size=3, window=1)
    with freeze_time(now):
        _a, first = buy(deal, w["green"])
        group = Group.objects.get()
        _b, second = buy(deal, w["green"], group=group)
    real = orders_services.order_cancel_for_group
    calls = []

    def crash_on_second(**kwargs):
        calls.append(kwargs["order"].pk)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    with freeze_time(now + 2 * HOUR):
        with mock.patch.object(orders_services, "order_cancel_for_group", side_effect=crash_on_second):
            with pytest.raises(RuntimeError):
                gb.groups_close_expired()
        group.refresh_from_db()
        assert group.status == G.FAILED and group.settled_at is None
        assert GroupMember.objects.filter(settled_at__isnull=True).count() == 1
        # The retry settles the member left only.
        assert gb.groups_close_expired() == 1
        assert gb.groups_close_expired() == 0
    for order in (first, second):
        assert OrderRefund.objects.filter(order=order).count() == 1
        order.refresh_from_db()
        assert order.refunded_amount == order.total_amount
    group.refresh_from_db()
    assert group.settled_at is not None
    assert ledger_problems() == []


def test_a_cancellation_claimed_but_not_sent_is_finished_by_the_next_run(world):
    """The worker died after the cancelling transaction, before asking the gateway: the order is
    cancelled, its refund REQUESTED; the next run finishes that refund (no second one)."""
    w = world
    now = timezone.now()
    deal = deal_of(w["owner"], w["green"], size=2, window=1)
    with freeze_time(now):
        _a, order = buy(deal, w["green"])
    with freeze_time(now + 2 * HOUR):
        with mock.patch.object(orders_services, "_refund_after", side_effect=RuntimeError("worker killed")):
            with pytest.raises(RuntimeError):
                gb.groups_close_expired()
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
        assert OrderRefund.objects.get(order=order).status == "requested"
        assert gb.groups_close_expired() == 1
    (refund,) = OrderRefund.objects.filter(order=order)
    assert refund.status == "succeeded"
    order.refresh_from_db()
    assert order.refunded_amount == order.total_amount
    assert ledger_problems() == []


def test_a_filled_group_is_never_failed(world):
    w = world
    now = timezone.now()
    deal = deal_of(w["owner"], w["green"], size=2, window=1)
    with freeze_time(now):
        _a, first = buy(deal, w["green"])
        buy(deal, w["green"], group=Group.objects.get())
    with freeze_time(now + 2 * HOUR):
        assert gb.groups_close_expired() == 0
    assert Group.objects.get().status == G.FILLED
    first.refresh_from_db()
    assert first.status == OrderStatus.PAID and not first.refunds.exists()


def test_deals_are_managed_by_the_stores_owner_with_checked_terms(world):
    w = world
    other, other_owner = store("Silk Road")
    with pytest.raises(DomainError) as exc_info:
        deal_of(other_owner, w["green"])
    assert code(exc_info) == "NOT_FOUND"
    for bad in ({"price": "100.00"}, {"price": "0"}, {"size": 1}, {"window": 0}):
        with pytest.raises(DomainError) as exc_info:
            deal_of(w["owner"], w["green"], **bad)
        assert code(exc_info) == "INVALID", bad
    deal = deal_of(w["owner"], w["green"])
    with pytest.raises(DomainError) as exc_info:
        deal_of(w["owner"], w["green"])  # overlapping
    assert code(exc_info) == "INVALID"
    updated = group_deal_update(actor=w["owner"], deal_id=deal.pk, data=GroupDealInput(group_size=5))
    assert updated.group_size == 5
    with pytest.raises(DomainError) as exc_info:
        group_deal_update(actor=other_owner, deal_id=deal.pk, data=GroupDealInput(group_size=4))
    assert code(exc_info) == "NOT_FOUND"


def test_a_completed_checkout_is_not_marked_again(world):
    w = world
    deal = deal_of(w["owner"], w["green"])
    shopper = make_user()
    checkout = ready_checkout(shopper, [(w["green"], 1)], email=shopper.email)
    gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk)
    complete(checkout, user=shopper)
    checkout.refresh_from_db()
    for call in (lambda: gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk),
                 lambda: gb.checkout_group_buy_remove(checkout=checkout)):
        with pytest.raises(DomainError) as exc_info:
            call()
        assert code(exc_info) == "INVALID"


def test_an_authorized_payment_holds_the_slot_and_fills_the_group_when_captured(world):
    """A payment the gateway only authorized: the member holds its slot unpaid; the capture pays the
    order and the group fills then (orders' capture hook)."""
    w = world
    deal = deal_of(w["owner"], w["green"], size=2)
    _a, first = buy(deal, w["green"])
    group = Group.objects.get()
    shopper = make_user()
    checkout = ready_checkout(shopper, [(w["green"], 1)], email=shopper.email)
    gb.checkout_group_buy_set(checkout=checkout, user=shopper, deal_id=deal.pk, group_id=group.pk)
    from backend.payments import services as payments

    with mock.patch.object(payments, "payment_process", functools.partial(payments.payment_process, capture=False)):
        result = complete(checkout, user=shopper)
    (second,) = result.orders
    second.refresh_from_db()
    assert second.status == OrderStatus.UNPAID and second.group_hold
    group.refresh_from_db()
    assert group.status == G.OPEN
    # The slot is taken: nobody else joins meanwhile.
    late = make_user()
    other = ready_checkout(late, [(w["green"], 1)], email=late.email)
    with pytest.raises(DomainError):
        gb.checkout_group_buy_set(checkout=other, user=late, deal_id=deal.pk, group_id=group.pk)
    payments.payment_capture_unlocked(payment=result.payment)
    second.refresh_from_db()
    group.refresh_from_db()
    assert second.status == OrderStatus.PAID and not second.group_hold
    assert group.status == G.FILLED
    assert ledger_problems() == []


def test_a_fill_lost_after_the_placement_is_done_by_the_periodic_work_not_failed(world):
    """The process died between the last member's placement and the fill (which runs after the
    placing transaction): the periodic closing fills the complete group instead of failing it."""
    w = world
    now = timezone.now()
    deal = deal_of(w["owner"], w["green"], size=2, window=1)
    with freeze_time(now):
        _a, first = buy(deal, w["green"])
        group = Group.objects.get()
        with mock.patch.object(gb, "fill_groups_of"):
            _b, second = buy(deal, w["green"], group=group)
    group.refresh_from_db()
    assert group.status == G.OPEN and Order.objects.filter(group_hold=True).count() == 2
    with freeze_time(now + 2 * HOUR):
        assert gb.groups_close_expired() == 0
    group.refresh_from_db()
    assert group.status == G.FILLED
    assert not Order.objects.filter(group_hold=True).exists()
    assert not OrderRefund.objects.exists()
