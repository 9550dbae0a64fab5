"""Every operation that takes the ID of a tenant's object, called by strangers: vendor B's staff on
vendor A's objects, shopper 2 on shopper 1's, anonymous callers, staff without permissions. Each
refusal looks like a missing object, shows nothing of the victim and changes nothing; the owner
making the same call is not refused (so the IDs and arguments are right)."""

import pytest
from graphql_relay import to_global_id

from .cases import LIST_CASES, NODE_CASES, OWNED_CASES
from .checks import assert_allowed, assert_refused, params, victim_markers
from .operations import Op, call, leaks

pytestmark = pytest.mark.django_db

ATTACKS = [(case, actor) for case in OWNED_CASES for actor in case.attackers_()]
# One legitimate caller per case shows the IDs and arguments are right (roles: WRONG_ROLES).
OWNERS = [(case, case.legit[0]) for case in OWNED_CASES if case.legit]
WRONG_ROLES = [(case, actor) for case in OWNED_CASES for actor in case.denied_roles]


@pytest.mark.parametrize(("case", "actor"), params(ATTACKS))
def test_stranger_is_refused(world, case, actor):
    assert_refused(world, case, actor, check_db=True)


@pytest.mark.parametrize(("case", "actor"), params(OWNERS))
def test_owner_is_not_refused(world, case, actor):
    assert_allowed(world, case, actor)


@pytest.mark.parametrize(("case", "actor"), params(WRONG_ROLES))
def test_own_staff_without_the_role_is_refused(world, case, actor):
    """Customer service may read the store's orders, not run its money or its staff."""
    assert_refused(world, case, actor, check_leaks=False, codes={"PERMISSION_DENIED"})


# --- Lists ---------------------------------------------------------------------------------


def _list_call(world, case, actor):
    response = call(case.op, world.users[actor], dict(case.variables), depth=case.depth)
    assert response.status == 200 and response.top_errors == [], response.text[:1500]
    return response


@pytest.mark.parametrize(
    ("case", "actor"), params([(c, a) for c in LIST_CASES for a in c.attackers])
)
def test_lists_hold_nothing_of_another_tenant(world, case, actor):
    response = _list_call(world, case, actor)
    assert leaks(response.text, victim_markers(world, case.victim)) == [], response.text[:3000]


@pytest.mark.parametrize(("case", "actor"), params([(c, c.legit[0]) for c in LIST_CASES]))
def test_lists_hold_the_owners_rows(world, case, actor):
    response = _list_call(world, case, actor)
    assert case.marker(world) in response.text


# --- node(id:) -------------------------------------------------------------------------------

NODE = Op("core", "query", "node")


def _node(world, case, actor):
    obj = case.obj(world)
    variables = {"id": to_global_id(case.type_name, obj.pk)}
    response = call(NODE, world.users[actor], variables, fields="{ __typename id }")
    assert response.status == 200 and response.top_errors == [], response.text[:1500]
    return response, variables


@pytest.mark.parametrize(("case", "actor"), params([(c, a) for c in NODE_CASES for a in c.attackers]))
def test_node_of_another_tenant_is_null(world, case, actor):
    response, variables = _node(world, case, actor)
    assert response.data["node"] is None
    assert leaks(response.text, victim_markers(world, case.victim), variables) == []


@pytest.mark.parametrize(("case", "actor"), params([(c, a) for c in NODE_CASES for a in c.legit[:2]]))
def test_node_of_ones_own_object_is_found(world, case, actor):
    response, variables = _node(world, case, actor)
    assert response.data["node"] == {"__typename": case.type_name, "id": variables["id"]}
