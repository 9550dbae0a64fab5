"""Points under concurrency on PostgreSQL: one shopper's tabs placing at once never spend the same
points twice; a release and a placement of the same shopper at once both go through; two expiry
runs at once expire each lot once; a staff adjustment retried at once moves the points once, and
deductions at once never take the balance below zero."""

from decimal import Decimal

import pytest

from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.finance.ledger import ledger_problems
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.members import services
from backend.members.models import Member, PointsEntry, PointsKind
from backend.orders import services as orders_services

from ..checkout.helpers import TABLE_RATE, complete, listing, ready_checkout, store
from ..concurrency import POSTGRESQL_RACE, race
from ..conftest import make_user
from ..promotions.helpers import release
from .helpers import liability, points_of

pytestmark = POSTGRESQL_RACE


def test_five_tabs_spend_the_same_points_once():
    vendor, owner = store("Tea House")
    variant = listing(vendor, price="100.00", stock=50)
    shopper = make_user()
    release(complete(ready_checkout(shopper, [(variant, 3)]), user=shopper).orders[0], owner, shopper)
    assert points_of(shopper) == 300
    checkouts = [ready_checkout(shopper, [(variant, 1)]) for _ in range(5)]
    for checkout in checkouts:
        services.checkout_points_use(checkout=checkout, user=shopper, points=300)

    results = race(lambda i: complete(checkouts[i], user=shopper), 5)

    placed = [r for r in results if not isinstance(r, Exception)]
    assert len(placed) == 1, results
    assert all(isinstance(r, DomainError) for r in results if isinstance(r, Exception)), results
    assert points_of(shopper) == 0
    assert PointsEntry.objects.filter(kind=PointsKind.REDEEM).count() == 1
    assert liability() == 0
    assert ledger_problems() == []


def test_a_release_and_a_placement_of_one_shopper_at_once():
    vendor, owner = store("Tea House")
    variant = listing(vendor, price="100.00", stock=50)
    shopper = make_user()
    release(complete(ready_checkout(shopper, [(variant, 2)]), user=shopper).orders[0], owner, shopper)
    second = complete(ready_checkout(shopper, [(variant, 1)]), user=shopper).orders[0]
    orders_services.order_ship(actor=owner, order=second, carrier=TABLE_RATE)
    checkout = ready_checkout(shopper, [(variant, 1)])
    services.checkout_points_use(checkout=checkout, user=shopper, points=200)
    second.refresh_from_db()

    def run(i):
        if i == 0:
            return orders_services.order_confirm_receipt(actor=shopper, order=second)
        return complete(checkout, user=shopper)

    results = race(run, 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert points_of(shopper) == 100  # 200 spent, 100 earned on the second order
    assert Member.objects.get(user=shopper).points_balance == 100
    assert liability() == Decimal("1.00")
    assert ledger_problems() == []


def test_two_expiry_runs_at_once_expire_each_lot_once():
    from datetime import timedelta

    from django.utils import timezone

    vendor, owner = store("Tea House")
    variant = listing(vendor, price="100.00", stock=50)
    shoppers = [make_user() for _ in range(3)]
    for shopper in shoppers:
        release(complete(ready_checkout(shopper, [(variant, 1)]), user=shopper).orders[0], owner, shopper)
    later = timezone.now() + timedelta(days=400)

    results = race(lambda i: services.points_expire(now=later, batch_size=2), 2)

    assert sum(results) == 300, results  # each shopper's 100 points expired by one run or the other
    assert PointsEntry.objects.filter(kind=PointsKind.EXPIRE).count() == 3
    assert all(points_of(s) == 0 for s in shoppers)
    assert liability() == 0
    assert ledger_problems() == []


def _adjust(staff, shopper, points, key):
    member = Member.objects.get(user=shopper)
    return services.points_adjust(actor=staff, member=member, points=points, reason="Goodwill", idempotency_key=key)


def test_a_staff_adjustment_retried_at_once_moves_the_points_once():
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    shopper = make_user()
    Member.objects.create(user=shopper)

    results = race(lambda i: _adjust(staff, shopper, 500, "ticket-1"), 5)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.pk for r in results}) == 1
    assert points_of(shopper) == 500 and liability() == Decimal("5.00")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.POINTS_GRANT).count() == 1
    assert ledger_problems() == []


def test_deductions_at_once_never_take_the_balance_below_zero():
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    shopper = make_user()
    Member.objects.create(user=shopper)
    _adjust(staff, shopper, 300, "grant")

    results = race(lambda i: _adjust(staff, shopper, -100, f"deduct-{i}"), 5)

    done = [r for r in results if not isinstance(r, Exception)]
    assert len(done) == 3, results
    assert all(isinstance(r, DomainError) and r.code.name == "POINTS_INSUFFICIENT" for r in results if r not in done)
    assert points_of(shopper) == 0 and liability() == 0
    assert ledger_problems() == []
