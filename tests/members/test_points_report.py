"""The points report (finance): by month from the ledger, reconciling with the ledger and with the
members' balances; on the core API for MANAGE_FINANCE only."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time

from backend.core.permissions import PlatformPermission
from backend.finance.ledger import ledger_problems
from backend.finance.points_report import NAMES, liability_at, points_cost_total, points_report
from backend.members import services
from backend.members.models import Member
from backend.orders import services as orders_services

from ..checkout.helpers import complete, listing, ready_checkout, store
from ..conftest import make_user
from ..fees.conftest import api_for
from ..promotions.helpers import cny, release
from .helpers import expense, liability

pytestmark = pytest.mark.django_db

SHANGHAI = timezone.get_fixed_timezone(8 * 60)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def world(settings):
    settings.MEMBERS_POINTS_EXPIRY_DAYS = 45
    tea, owner = store("Tea House")
    staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])
    return {"tea": tea, "owner": owner, "staff": staff, "green": listing(tea, price="100.00", stock=500)}


def buy(w, shopper, quantity, *, points="none"):
    checkout = ready_checkout(shopper, [(w["green"], quantity)])
    if points != "none":
        services.checkout_points_use(checkout=checkout, user=shopper, points=points)
    return complete(checkout, user=shopper).orders[0]


def adjust(w, shopper, points, key):
    member = services.member_lock(shopper)
    return services.points_adjust(actor=w["staff"], member=member, points=points, reason="Goodwill", idempotency_key=key)


def members_value() -> Decimal:
    """Every member's balance (signed) valued at the redemption rate."""
    total = sum(Member.objects.values_list("points_balance", flat=True))
    return (Decimal(total) / settings.MEMBERS_POINTS_PER_UNIT).quantize(Decimal("0.01"))


def assert_reconciles(rows):
    for row in rows:
        assert row.reconciles, row
    for before, after in zip(rows, rows[1:]):
        assert before.closing == after.opening and before.ends_at == after.starts_at
    assert rows[0].opening_minor == liability_at(rows[0].starts_at)
    assert rows[-1].closing_minor == liability_at(rows[-1].ends_at)


def test_a_quarter_of_points_by_month(world, django_assert_num_queries):
    w = world
    alice, bob = make_user(), make_user()
    with freeze_time(at(date(2026, 1, 10))):
        first = release(buy(w, alice, 3), w["owner"], alice)  # 300 points
        release(buy(w, bob, 5), w["owner"], bob)  # 500 points
    with freeze_time(at(date(2026, 2, 3))):
        first.refresh_from_db()
        half = (first.total_amount / 2).quantize(Decimal("0.01"))
        orders_services.order_refund(order=first, amount=cny(half), idempotency_key="r1", actor=None)  # -150
        buy(w, bob, 1, points=200)  # 200 redeemed
        cancelled = buy(w, bob, 1, points=100)  # 100 redeemed, then given back
        orders_services.order_cancel(actor=bob, order=cancelled, reason="changed my mind")
        adjust(w, alice, 1000, "grant-1")
        adjust(w, bob, -50, "deduct-1")
    with freeze_time(at(date(2026, 3, 10))):
        # January's lots are past their 45 days (not February's grant): alice's 150 left, bob's
        # 500 - 200 - 50 = 250.
        assert services.points_expire() == 400

    with django_assert_num_queries(2):  # the opening balance, the month's sums: however many movements
        rows = points_report(date(2026, 1, 1), date(2026, 3, 31))
    assert [r.month for r in rows] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    january, february, march = rows
    assert january.opening == cny("0.00")
    assert (january.points("issued"), january.amount("issued")) == (800, cny("8.00"))
    assert january.closing == cny("8.00") and january.cost == cny("8.00")
    assert (february.points("taken_back"), february.amount("taken_back")) == (150, cny("1.50"))
    assert (february.points("redeemed"), february.amount("redeemed")) == (300, cny("3.00"))
    assert (february.points("given_back"), february.amount("given_back")) == (100, cny("1.00"))
    assert (february.points("granted"), february.amount("granted")) == (1000, cny("10.00"))
    assert (february.points("deducted"), february.amount("deducted")) == (50, cny("0.50"))
    # Cost: the grant, less what was taken back and deducted (redemptions move liability to the
    # promotions account, which pays the stores at release: not a points cost again).
    assert february.cost == cny("8.00")
    assert february.closing == cny("14.00")
    assert (march.points("expired"), march.amount("expired")) == (400, cny("4.00"))
    assert march.cost == cny("-4.00") and march.closing == cny("10.00")
    assert all(r.other == cny("0.00") for r in rows)
    assert_reconciles(rows)
    # The ledger agrees, and so do the members' balances valued at the rate.
    assert march.closing.amount == liability() == members_value()
    assert sum((r.cost for r in rows), cny("0.00")) == points_cost_total(date(2026, 1, 1), date(2026, 3, 31))
    assert points_cost_total(date(2026, 1, 1), date(2026, 3, 31)).amount == -expense()
    # A range starting mid-way opens with what the months before it closed with.
    middle = points_report(date(2026, 2, 15), date(2026, 3, 5))
    assert middle[0].opening == cny("14.00") and middle[0].starts_at == at(date(2026, 2, 15), 0)
    assert_reconciles(middle)
    assert ledger_problems() == []


def test_generated_movements_reconcile_with_the_ledger_and_the_members(world):
    """Random grants and deductions, purchases with and without points, refunds, cancellations and
    expiry over six months: every month reconciles and the liability is the members' balances."""
    w = world
    rng = random.Random(20261204)
    shoppers = [make_user() for _ in range(4)]
    orders = []
    day = date(2026, 1, 3)
    for step in range(36):
        day += timedelta(days=rng.randint(2, 7))
        with freeze_time(at(day, rng.randint(0, 23))):
            shopper = rng.choice(shoppers)
            action = rng.choice(["order", "order", "grant", "deduct", "refund", "redeem", "cancel", "expire"])
            balance = Member.objects.filter(user=shopper).values_list("points_balance", flat=True).first() or 0
            if action == "order":
                orders.append(release(buy(w, shopper, rng.randint(1, 4)), w["owner"], shopper))
            elif action == "grant":
                adjust(w, shopper, rng.randint(1, 999), f"g{step}")
            elif action == "deduct" and balance > 0:
                adjust(w, shopper, -rng.randint(1, balance), f"d{step}")
            elif action == "refund" and orders:
                order = orders.pop(rng.randrange(len(orders)))
                order.refresh_from_db()
                part = (order.total_amount * Decimal(rng.choice(["0.3", "0.5", "1"]))).quantize(Decimal("0.01"))
                orders_services.order_refund(order=order, amount=cny(part), idempotency_key=f"r{step}", actor=None)
            elif action == "redeem" and balance > 0:
                buy(w, shopper, 1, points=None)
            elif action == "cancel" and balance > 0:
                placed = buy(w, shopper, 1, points=None)
                orders_services.order_cancel(actor=shopper, order=placed, reason="changed my mind")
            elif action == "expire":
                services.points_expire()
    rows = points_report(date(2026, 1, 1), day)
    assert len(rows) >= 6
    assert_reconciles(rows)
    moved = {name: sum(r.movements[name].minor for r in rows) for name in NAMES}
    assert moved["issued"] > 0 and moved["granted"] > 0
    assert rows[-1].closing.amount == liability() == members_value()
    assert sum((r.cost for r in rows), cny("0.00")).amount == -expense()
    assert ledger_problems() == []


REPORT = """query($from: Date!, $to: Date!) { pointsReport(from: $from, to: $to) {
  month openingLiability { amount currency } closingLiability { amount } cost { amount } other { amount }
  issued { amount { amount } points } takenBack { points } redeemed { points } givenBack { points }
  expired { points } granted { amount { amount } points } deducted { points } } }"""


def test_the_report_on_the_core_api_is_for_finance_staff(world):
    w = world
    shopper = make_user()
    with freeze_time(at(date(2026, 5, 4))):
        release(buy(w, shopper, 2), w["owner"], shopper)
        adjust(w, shopper, 300, "grant")
    variables = {"from": "2026-04-01", "to": "2026-05-31"}
    rows = api_for(w["staff"]).execute(REPORT, variables)["pointsReport"]
    assert [r["month"] for r in rows] == ["2026-04-01", "2026-05-01"]
    may = rows[1]
    assert may["openingLiability"] == {"amount": "0.00", "currency": "CNY"}
    assert may["issued"] == {"amount": {"amount": "2.00"}, "points": 200}
    assert may["granted"] == {"amount": {"amount": "3.00"}, "points": 300}
    assert may["closingLiability"]["amount"] == "5.00" and may["cost"]["amount"] == "5.00"
    for who in (make_user(), make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_ORDERS]), w["owner"]):
        assert api_for(who).execute(REPORT, variables)["pointsReport"] is None
    # A range ending before it starts is no report.
    assert api_for(w["staff"]).execute(REPORT, {"from": "2026-05-01", "to": "2026-04-01"})["pointsReport"] is None


def test_the_analytics_page_shows_the_points_cost_beside_the_platform_revenue(world):
    from django.test import Client

    from ..conftest import PASSWORD

    w = world
    shopper = make_user()
    release(buy(w, shopper, 2), w["owner"], shopper)
    adjust(w, shopper, 300, "grant")
    client = Client()
    assert client.login(email=w["staff"].email, password=PASSWORD)
    today = str(timezone.localdate())
    response = client.get("/admin/analytics/dailymetrics/", {"date_from": today, "date_to": today, "period": "day"})
    assert response.status_code == 200
    totals = dict(response.context["totals"])
    assert totals["Points cost"] == cny("5.00")
    assert totals["Platform revenue less points cost"] == totals["Platform revenue"] - cny("5.00")
    labels = [str(label) for label, _value in response.context["totals"]]
    assert labels.index("Points cost") == labels.index("Take rate") + 1
    # A store's own figures have no points cost: the points are the platform's.
    store_view = client.get("/admin/analytics/dailymetrics/", {"date_from": today, "date_to": today, "period": "day",
                                                              "vendor": w["tea"].pk})
    assert "Points cost" not in [str(label) for label, _value in store_view.context["totals"]]
