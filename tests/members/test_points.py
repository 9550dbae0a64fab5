"""Points and tiers through the services: earned at release, taken back on refunds, redeemed at
checkout (and given back on cancellation), expiring once after a warning; tiers up and down."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.checkout.services import checkout_summary
from backend.core.exceptions import DomainError
from backend.finance.ledger import ledger_problems
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.members import services
from backend.members.error_codes import MemberErrorCode
from backend.members.models import Member, PointsEntry, PointsKind
from backend.notifications.models import Event, Notification
from backend.orders import services as orders_services
from backend.orders.models import Order

from ..checkout.helpers import TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..promotions.helpers import cny, release
from .helpers import expense, liability, points_of, tiers

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    tea, owner = store("Tea House")
    shopper = make_user()
    green = listing(tea, price="100.00", stock=100)
    return {"tea": tea, "owner": owner, "shopper": shopper, "green": green}


def buy(w, quantity, *, points="none"):
    checkout = ready_checkout(w["shopper"], [(w["green"], quantity)])
    if points != "none":
        services.checkout_points_use(checkout=checkout, user=w["shopper"], points=points)
    return complete(checkout, user=w["shopper"]).orders[0]


def test_points_are_earned_at_release_not_at_payment(world):
    w = world
    order = buy(w, 3)
    assert points_of(w["shopper"]) == 0 and liability() == 0
    release(order, w["owner"], w["shopper"])
    # 300 of goods paid (shipping not counted), 1 point per yuan, no tier.
    assert points_of(w["shopper"]) == 300
    assert liability() == Decimal("3.00") and expense() == Decimal("-3.00")
    entry = PointsEntry.objects.get(kind=PointsKind.EARN)
    assert entry.order_id == order.pk and entry.remaining == 300
    assert (entry.expires_at - timezone.now()).days in (364, 365)
    # Issued once: the points of a re-run of the release are not issued again.
    order.refresh_from_db()
    assert services.points_on_release([order]) == []
    assert LedgerTransaction.objects.filter(kind=TransactionKind.POINTS_ISSUE).count() == 1
    assert ledger_problems() == []


def test_a_guest_earns_nothing(world):
    w = world
    checkout = ready_checkout(None, [(w["green"], 1)])
    order = complete(checkout).orders[0]
    orders_services.order_ship(actor=w["owner"], order=order, carrier=TABLE_RATE)
    Order.objects.filter(pk=order.pk).update(auto_confirm_at=timezone.now() - timedelta(minutes=1))
    assert orders_services.orders_auto_confirm() == 1
    assert not PointsEntry.objects.exists()


def test_the_periodic_release_issues_points_for_each_order_once(world):
    w = world
    tiers()
    orders = [buy(w, 3), buy(w, 4)]
    for order in orders:
        orders_services.order_ship(actor=w["owner"], order=order, carrier=TABLE_RATE)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(auto_confirm_at=timezone.now() - timedelta(minutes=1))
    assert orders_services.orders_auto_confirm() == 2
    # 700 spent in the batch: 银卡 (x1.5) for both orders.
    assert points_of(w["shopper"]) == 1050
    assert Member.objects.get(user=w["shopper"]).tier.name == "银卡"
    assert LedgerTransaction.objects.filter(kind=TransactionKind.POINTS_ISSUE).count() == 2
    assert ledger_problems() == []


def test_refunds_take_back_their_share_once_and_never_more_than_issued(world):
    w = world
    order = release(buy(w, 4), w["owner"], w["shopper"])
    assert points_of(w["shopper"]) == 400
    order.refresh_from_db()
    total = order.total_amount
    half = (total / 2).quantize(Decimal("0.01"))
    orders_services.order_refund(order=order, amount=cny(half), idempotency_key="r1", actor=None)
    assert points_of(w["shopper"]) == 200
    orders_services.order_refund(order=order, amount=cny(half), idempotency_key="r1", actor=None)  # retried
    assert points_of(w["shopper"]) == 200
    order.refresh_from_db()
    orders_services.order_refund(order=order, amount=cny(total - half), idempotency_key="r2", actor=None)
    assert points_of(w["shopper"]) == 0
    assert liability() == 0 and expense() == 0
    assert LedgerTransaction.objects.filter(kind=TransactionKind.POINTS_REVERSE).count() == 2
    assert ledger_problems() == []


def test_points_redeemed_at_placement_as_a_platform_discount(world):
    w = world
    release(buy(w, 5), w["owner"], w["shopper"])
    assert points_of(w["shopper"]) == 500
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    services.checkout_points_use(checkout=checkout, user=w["shopper"], points=None)
    summary = checkout_summary(checkout)
    assert summary.pricing.points_used == 500 and summary.pricing.points_allowed == 500
    package = summary.packages[0]
    assert package.pricing.platform_funded == cny("5.00")
    order = complete(checkout, user=w["shopper"]).orders[0]
    assert order.subsidy_amount == Decimal("5.00") and order.discount_amount == Decimal("5.00")
    assert order.discounts.get().source == "points"
    assert points_of(w["shopper"]) == 0
    assert liability() == 0
    assert LedgerTransaction.objects.filter(kind=TransactionKind.POINTS_REDEEM).count() == 1
    # At release the store is paid the points' value as the platform's subsidy.
    release(order, w["owner"], w["shopper"])
    from backend.finance import accounts

    from ..checkout.helpers import balance

    assert balance(accounts.PLATFORM_PROMOTIONS) == 0
    assert ledger_problems() == []


def test_asking_for_more_points_than_the_balance_is_refused(world):
    w = world
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    with pytest.raises(DomainError) as caught:
        services.checkout_points_use(checkout=checkout, user=w["shopper"], points=10)
    assert caught.value.code == MemberErrorCode.POINTS_INSUFFICIENT
    with pytest.raises(DomainError) as caught:
        services.checkout_points_use(checkout=checkout, user=make_user(), points=None)
    assert caught.value.code == MemberErrorCode.SIGN_IN_REQUIRED


def test_points_spent_elsewhere_meanwhile_stop_the_placement(world):
    w = world
    release(buy(w, 2), w["owner"], w["shopper"])
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    services.checkout_points_use(checkout=checkout, user=w["shopper"], points=200)
    other = ready_checkout(w["shopper"], [(w["green"], 1)])
    services.checkout_points_use(checkout=other, user=w["shopper"], points=150)
    complete(other, user=w["shopper"])
    assert points_of(w["shopper"]) == 50
    # The first checkout now shows the 50 left, and is not placed until the shopper asks again.
    assert checkout_summary(checkout).pricing.points_used == 50
    with pytest.raises(DomainError) as caught:
        complete(checkout, user=w["shopper"])
    assert caught.value.code.name == "POINTS_INSUFFICIENT"
    assert points_of(w["shopper"]) == 50
    services.checkout_points_use(checkout=checkout, user=w["shopper"], points=None)
    order = complete(checkout, user=w["shopper"]).orders[0]
    assert points_of(w["shopper"]) == 0 and order.discount_amount == Decimal("0.50")
    assert ledger_problems() == []


def test_a_failed_payment_deducts_nothing(world):
    w = world
    release(buy(w, 2), w["owner"], w["shopper"])
    checkout = ready_checkout(w["shopper"], [(w["green"], 1)])
    services.checkout_points_use(checkout=checkout, user=w["shopper"], points=None)
    with pytest.raises(Exception):
        complete(checkout, user=w["shopper"], token="decline")
    assert points_of(w["shopper"]) == 200
    assert not PointsEntry.objects.filter(kind=PointsKind.REDEEM).exists()


def test_cancelling_the_order_gives_the_points_back_once(world):
    w = world
    release(buy(w, 2), w["owner"], w["shopper"])
    order = buy(w, 1, points=None)
    assert points_of(w["shopper"]) == 0
    orders_services.order_cancel(actor=w["shopper"], order=order, reason="changed my mind")
    assert points_of(w["shopper"]) == 200
    lot = PointsEntry.objects.get(kind=PointsKind.EARN)
    assert lot.remaining == 200
    services.points_give_back(checkout_token=order.checkout_token)
    assert points_of(w["shopper"]) == 200
    assert LedgerTransaction.objects.filter(kind=TransactionKind.POINTS_RETURN).count() == 1
    assert liability() == Decimal("2.00")
    assert ledger_problems() == []


def test_points_expire_once_after_a_warning(world, django_capture_on_commit_callbacks):
    w = world
    release(buy(w, 2), w["owner"], w["shopper"])
    now = timezone.now()
    assert services.points_warn_expiring(now=now) == 0
    later = now + timedelta(days=340)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.points_warn_expiring(now=later) == 1
        assert services.points_warn_expiring(now=later + timedelta(days=1)) == 0
    event = Event.objects.get(name="points.expiring")
    assert event.payload["points"] == 200
    inbox = Notification.objects.get(event=event)
    assert inbox.user_id == w["shopper"].pk and "200" in inbox.title
    assert services.points_expire(now=later) == 0
    gone = now + timedelta(days=366)
    assert services.points_expire(now=gone) == 200
    assert services.points_expire(now=gone) == 0
    assert points_of(w["shopper"]) == 0 and liability() == 0 and expense() == 0
    assert PointsEntry.objects.filter(kind=PointsKind.EXPIRE).count() == 1
    assert ledger_problems() == []


def test_expiry_takes_only_what_is_left_of_old_lots(world):
    w = world
    release(buy(w, 2), w["owner"], w["shopper"])
    buy(w, 1, points=150)  # 150 of the 200 spent
    assert points_of(w["shopper"]) == 50
    assert services.points_expire(now=timezone.now() + timedelta(days=366), batch_size=1) == 50
    assert points_of(w["shopper"]) == 0
    assert ledger_problems() == []


def test_tiers_rise_at_release_and_multiply_points(world):
    w = world
    tiers()
    release(buy(w, 6), w["owner"], w["shopper"])
    member = Member.objects.select_related("tier").get(user=w["shopper"])
    # 600 and its shipping paid: 银卡 reached with this order, its 1.5x applies to it.
    assert member.tier.name == "银卡"
    assert member.points_balance == 900


def test_tiers_recompute_up_and_down(world):
    w = world
    tiers()
    order = release(buy(w, 6), w["owner"], w["shopper"])
    member = Member.objects.get(user=w["shopper"])
    Member.objects.filter(pk=member.pk).update(tier=None)
    assert services.tiers_recompute() == 1
    assert Member.objects.get(pk=member.pk).tier.name == "银卡"
    assert services.tiers_recompute() == 0
    # A year on, the order is out of the window: down to 普通会员.
    Order.objects.filter(pk=order.pk).update(completed_at=timezone.now() - timedelta(days=400))
    assert services.tiers_recompute() == 1
    assert Member.objects.get(pk=member.pk).tier.name == "普通会员"


def test_gold_tier_discount_and_free_shipping_in_checkout(world):
    w = world
    gold = tiers()[2]
    member = services.member_lock(w["shopper"])
    Member.objects.filter(pk=member.pk).update(tier=gold)
    checkout = ready_checkout(w["shopper"], [(w["green"], 2)])
    summary = checkout_summary(checkout)
    package = summary.packages[0]
    tier = [a for a in package.pricing.adjustments if a.source == "tier"]
    assert sum(a.amount.amount for a in tier if a.target == "goods") == Decimal("10.00")  # 5% of 200
    assert [a.amount for a in tier if a.target == "shipping"] == [package.pricing.shipping]
    order = complete(checkout, user=w["shopper"]).orders[0]
    assert order.total_amount == Decimal("190.00")
    assert order.subsidy_amount == Decimal("10.00") + order.shipping_amount
    assert {d.source for d in order.discounts.all()} == {"tier"}


def test_the_expiry_warning_reads_in_both_languages():
    from backend.notifications.services import render

    params = {"points": 200, "date": "2027-12-01"}
    assert render("points.expiring", "en", params) == (
        "Your points expire soon: 200 points",
        "200 of your points expire on 2027-12-01. Use them at checkout before then.",
    )
    assert render("points.expiring", "zh-hans", params)[0] == "积分即将过期：200 积分"
