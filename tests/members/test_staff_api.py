"""Staff and members on the core API: the list (tier and email filters, constant queries), one
member's points history, and grants and deductions of points (balanced ledger movements, once per
key scoped to the staff user, never below a balance of 0). MANAGE_FINANCE only."""

from datetime import timedelta

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission
from backend.finance.ledger import ledger_problems
from backend.finance.models import LedgerEntry, LedgerTransaction, TransactionKind
from backend.members import services
from backend.members.error_codes import MemberErrorCode
from backend.members.models import Member, PointsEntry, PointsKind

from ..checkout.helpers import complete, listing, ready_checkout, store
from ..conftest import make_user
from ..fees.conftest import api_for
from ..promotions.helpers import release
from .helpers import expense, liability, points_of, tiers

pytestmark = pytest.mark.django_db

ERRORS = "errors { field code message }"
MEMBERS = """query($filter: MemberFilterInput, $first: Int) { members(filter: $filter, first: $first) {
  totalCount edges { node { id email user pointsBalance pointsValue { amount currency }
    tier { id name minSpend { amount } } tierSpend { amount } } } } }"""
MEMBER = """query($id: ID!) { member(id: $id) { id email pointsBalance
  pointsHistory(first: 10) { totalCount edges { node { id kind points balanceAfter value { amount } reason
    createdBy remaining expiresAt order } } } } }"""
ADJUST = f"""mutation($member: ID!, $points: Int!, $reason: String!, $key: String!) {{
  memberPointsAdjust(member: $member, points: $points, reason: $reason, idempotencyKey: $key) {{
    member {{ id pointsBalance }} entry {{ id kind points balanceAfter reason createdBy }} {ERRORS} }} }}"""


def finance():
    return make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_FINANCE])


def gid(member):
    return to_global_id("Member", member.pk)


@pytest.fixture
def world():
    tea, owner = store("Tea House")
    return {"tea": tea, "owner": owner, "green": listing(tea, price="100.00", stock=100), "staff": finance()}


def earn(w, shopper, quantity):
    checkout = ready_checkout(shopper, [(w["green"], quantity)])
    return release(complete(checkout, user=shopper).orders[0], w["owner"], shopper)


def members_with(count, tier=None):
    found = []
    for _ in range(count):
        member = services.member_lock(make_user())
        Member.objects.filter(pk=member.pk).update(tier=tier, points_balance=0)
        found.append(member)
    return found


def test_staff_list_members_with_balance_and_tier_filtered_by_tier_and_email(world):
    w = world
    silver = tiers()[1]
    alice = make_user("alice@tea.example")
    earn(w, alice, 6)  # 600 spent: 银卡, 900 points
    bob = services.member_lock(make_user("bob@example.com"))
    api = api_for(w["staff"])
    found = api.execute(MEMBERS, {"first": 10})["members"]
    assert found["totalCount"] == 2
    by_email = {e["node"]["email"]: e["node"] for e in found["edges"]}
    assert by_email["alice@tea.example"]["pointsBalance"] == 900
    assert by_email["alice@tea.example"]["pointsValue"] == {"amount": "9.00", "currency": "CNY"}
    assert by_email["alice@tea.example"]["tier"]["name"] == "银卡"
    assert by_email["alice@tea.example"]["user"] == to_global_id("User", alice.pk)
    assert by_email["bob@example.com"]["tier"] is None
    tier_id = by_email["alice@tea.example"]["tier"]["id"]
    assert tier_id == to_global_id("MemberTier", silver.pk)
    only = api.execute(MEMBERS, {"filter": {"tier": tier_id}})["members"]
    assert [e["node"]["email"] for e in only["edges"]] == ["alice@tea.example"]
    searched = api.execute(MEMBERS, {"filter": {"search": "BOB@"}})["members"]
    assert [e["node"]["id"] for e in searched["edges"]] == [gid(bob)]
    assert api.execute(MEMBERS, {"filter": {"tier": "not-an-id"}})["members"]["totalCount"] == 0
    # Nobody else sees members: not a shopper, a store, nor staff without MANAGE_FINANCE.
    orders_staff = make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_ORDERS])
    for who in (alice, w["owner"], orders_staff):
        assert api_for(who).execute(MEMBERS, {"first": 10})["members"]["totalCount"] == 0


def test_the_members_list_runs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    gold = tiers()[2]
    members_with(2, gold)
    api = api_for(world["staff"])
    api.execute(MEMBERS, {"first": 50})  # signs in, warms what is cached per process
    with django_assert_max_num_queries(20) as few:
        assert api.execute(MEMBERS, {"first": 50})["members"]["totalCount"] == 2
    members_with(8, gold)
    members_with(3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.execute(MEMBERS, {"first": 50})["members"]["totalCount"] == 13


def test_staff_grant_and_deduct_points_once_per_key_as_balanced_ledger_movements(world):
    w = world
    shopper = make_user()
    earn(w, shopper, 2)  # 200 points
    member = Member.objects.get(user=shopper)
    api = api_for(w["staff"])
    variables = {"member": gid(member), "points": 500, "reason": "Sorry for the delay", "key": "ticket-9"}
    granted = api.execute(ADJUST, variables)["memberPointsAdjust"]
    assert granted["errors"] == []
    assert granted["member"]["pointsBalance"] == 700
    assert granted["entry"]["kind"] == "GRANT" and granted["entry"]["balanceAfter"] == 700
    assert granted["entry"]["createdBy"] == w["staff"].email
    assert liability() == 7 and expense() == -7
    txn = LedgerTransaction.objects.get(kind=TransactionKind.POINTS_GRANT)
    assert txn.idempotency_key == f"points_adjust:user:{w['staff'].pk}:request:ticket-9"
    assert sum(LedgerEntry.objects.filter(transaction=txn).values_list("amount", flat=True)) == 0
    assert txn.metadata["reason"] == "Sorry for the delay" and txn.metadata["points"] == 500
    # A retry moves nothing and answers the first adjustment.
    again = api.execute(ADJUST, variables)["memberPointsAdjust"]
    assert again["errors"] == [] and again["entry"]["id"] == granted["entry"]["id"]
    assert points_of(shopper) == 700
    assert LedgerTransaction.objects.filter(kind=TransactionKind.POINTS_GRANT).count() == 1
    # The same key for another adjustment is refused...
    other = api.execute(ADJUST, {**variables, "points": 600})["memberPointsAdjust"]
    assert [e["code"] for e in other["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    # ... but the key is the staff user's own: another's same key is another adjustment.
    second = api_for(finance()).execute(ADJUST, variables)["memberPointsAdjust"]
    assert second["errors"] == [] and second["member"]["pointsBalance"] == 1200
    # A deduction never takes the balance below 0.
    deduct = {**variables, "points": -1201, "key": "fix-1"}
    refused = api.execute(ADJUST, deduct)["memberPointsAdjust"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("POINTS_INSUFFICIENT", "points")]
    assert points_of(shopper) == 1200
    taken = api.execute(ADJUST, {**deduct, "points": -1200})["memberPointsAdjust"]
    assert taken["errors"] == [] and taken["entry"]["kind"] == "DEDUCT" and taken["member"]["pointsBalance"] == 0
    assert liability() == 0 and expense() == 0
    assert not PointsEntry.objects.filter(kind__in=services.LOT_KINDS, remaining__gt=0).exists()
    assert ledger_problems() == []


@pytest.mark.parametrize(
    ("points", "reason", "key", "code", "field"),
    [
        (0, "Why", "k", "INVALID", "points"),
        (services.ADJUST_MAX_POINTS + 1, "Why", "k", "INVALID", "points"),
        (10, "  ", "k", "REQUIRED", "reason"),
        (10, "x" * 201, "k", "INVALID", "reason"),
        (10, "Why", "", "INVALID", "idempotencyKey"),
        (10, "Why", "k" * 101, "INVALID", "idempotencyKey"),
    ],
)
def test_adjustments_are_checked(world, points, reason, key, code, field):
    member = services.member_lock(make_user())
    variables = {"member": gid(member), "points": points, "reason": reason, "key": key}
    errors = api_for(world["staff"]).execute(ADJUST, variables)["memberPointsAdjust"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [(code, field)]
    assert not LedgerTransaction.objects.exists() and points_of(member.user) == 0


def test_only_finance_staff_adjust_points(world):
    member = services.member_lock(make_user())
    variables = {"member": gid(member), "points": 10, "reason": "Why", "key": "k"}
    for who in (member.user, world["owner"], make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_STAFF])):
        errors = api_for(who).execute(ADJUST, variables)["memberPointsAdjust"]["errors"]
        assert [e["code"] for e in errors] == ["PERMISSION_DENIED"]
    missing = {**variables, "member": to_global_id("Member", 987654)}
    errors = api_for(world["staff"]).execute(ADJUST, missing)["memberPointsAdjust"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", "member")]
    assert points_of(member.user) == 0


def test_one_members_points_history_for_staff(world):
    w = world
    shopper = make_user()
    order = earn(w, shopper, 3)
    member = Member.objects.get(user=shopper)
    services.points_adjust(actor=w["staff"], member=member, points=-100, reason="Abuse", idempotency_key="a1")
    shown = api_for(w["staff"]).execute(MEMBER, {"id": gid(member)})["member"]
    assert shown["pointsBalance"] == 200
    history = [e["node"] for e in shown["pointsHistory"]["edges"]]
    assert [(h["kind"], h["points"], h["balanceAfter"]) for h in history] == [("DEDUCT", -100, 200), ("EARN", 300, 300)]
    assert history[0]["reason"] == "Abuse" and history[0]["createdBy"] == w["staff"].email
    assert history[0]["value"] == {"amount": "1.00"} and history[0]["remaining"] is None
    assert history[1]["remaining"] == 200 and history[1]["order"] == to_global_id("Order", order.pk)
    for who in (shopper, w["owner"], make_user(is_staff=True, permissions=[PlatformPermission.MANAGE_ORDERS])):
        assert api_for(who).execute(MEMBER, {"id": gid(member)})["member"] is None


def test_granted_points_are_spent_at_checkout_and_expire_like_earned_ones(world):
    w = world
    shopper = make_user()
    member = services.member_lock(shopper)
    services.points_adjust(actor=w["staff"], member=member, points=300, reason="Welcome", idempotency_key="w1")
    checkout = ready_checkout(shopper, [(w["green"], 1)])
    services.checkout_points_use(checkout=checkout, user=shopper, points=100)
    complete(checkout, user=shopper)
    assert points_of(shopper) == 200
    assert PointsEntry.objects.get(kind=PointsKind.GRANT).remaining == 200
    assert services.points_expire(now=timezone.now() + timedelta(days=366)) == 200
    assert points_of(shopper) == 0 and liability() == 0
    with pytest.raises(DomainError) as caught:
        services.points_adjust(actor=w["staff"], member=member, points=-1, reason="x", idempotency_key="w2")
    assert caught.value.code == MemberErrorCode.POINTS_INSUFFICIENT
    assert ledger_problems() == []


def test_the_shopper_sees_a_grant_and_a_deduction_in_their_own_history(world, storefront_api):
    w = world
    shopper = make_user()
    member = services.member_lock(shopper)
    services.points_adjust(actor=w["staff"], member=member, points=300, reason="Welcome", idempotency_key="w1")
    services.points_adjust(actor=w["staff"], member=member, points=-120, reason="Typo", idempotency_key="w2")
    me = storefront_api.login(shopper).execute(
        "query { me { points { balance history(first: 5) { edges { node { kind points balanceAfter remaining } } } } } }"
    )["me"]["points"]
    assert me["balance"] == 180
    assert [e["node"] for e in me["history"]["edges"]] == [
        {"kind": "DEDUCT", "points": -120, "balanceAfter": 180, "remaining": None},
        {"kind": "GRANT", "points": 300, "balanceAfter": 300, "remaining": 180},
    ]
