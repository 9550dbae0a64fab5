"""Platform staff need the one permission each staff operation names.

Staff-only operations: every staff user lacking the permission (each of the other six, and one
holding none), a merchant and an anonymous caller get PERMISSION_DENIED and change nothing; the
holder passes the permission gate (business rules may still refuse). Owner-scoped operations that
staff may also perform: staff without any of the allowing permissions are refused like strangers,
holders are not. The same for `node(id:)`.
"""

import pytest
from graphql_relay import from_global_id, to_global_id

from .cases import NODE_CASES, OWNED_CASES, STAFF_CASES, Case
from .checks import assert_allowed, assert_refused, for_each, grouped_params, params, victim_markers
from .operations import Op, call, leaks
from .world import PERMISSIONS, staff_name

pytestmark = pytest.mark.django_db


def lacking(case) -> list[str]:
    return [staff_name(p) for p in PERMISSIONS if p not in case.staff] + ["staff_none"]


def holding(case) -> list[str]:
    return [staff_name(p) for p in case.staff]


STAFF_ONLY_REFUSED = [(c, a) for c in STAFF_CASES for a in [*lacking(c), "alpha_owner", "anonymous"]]
STAFF_ONLY_ALLOWED = [(c, a) for c in STAFF_CASES for a in holding(c)]
CORE_OWNED = [c for c in OWNED_CASES if c.op.api == "core"]
OWNED_REFUSED = [(c, a) for c in CORE_OWNED for a in lacking(c)]
OWNED_ALLOWED = [(c, a) for c in CORE_OWNED for a in holding(c)]


@pytest.mark.parametrize(("case", "actors"), grouped_params(STAFF_ONLY_REFUSED))
def test_staff_only_operation_without_its_permission_is_denied(world, case, actors):
    for_each(actors, lambda actor: assert_refused(world, case, actor, codes={"PERMISSION_DENIED"}))


@pytest.mark.parametrize(("case", "actor"), params(STAFF_ONLY_ALLOWED))
def test_staff_only_operation_with_its_permission_passes_the_gate(world, case, actor):
    assert_allowed(world, case, actor)


@pytest.mark.parametrize(("case", "actors"), grouped_params(OWNED_REFUSED))
def test_staff_without_an_allowing_permission_cannot_touch_a_tenants_object(world, case, actors):
    for_each(actors, lambda actor: assert_refused(world, case, actor))


@pytest.mark.parametrize(("case", "actor"), params(OWNED_ALLOWED))
def test_staff_with_an_allowing_permission_reach_a_tenants_object(world, case, actor):
    assert_allowed(world, case, actor)


NODE = Op("core", "query", "node")
STAFFED_NODES = [c for c in NODE_CASES if c.staff_gated and c.attackers]


def _node(world, case, actor):
    variables = {"id": to_global_id(case.type_name, case.obj(world).pk)}
    response = call(NODE, world.users[actor], variables, fields="{ __typename id }")
    assert response.status == 200 and response.top_errors == [], response.text[:1500]
    return response, variables


def _node_hidden(world, case, actor):
    response, variables = _node(world, case, actor)
    assert response.data["node"] is None, response.text
    assert leaks(response.text, victim_markers(world, case.victim), variables) == []


@pytest.mark.parametrize(("case", "actors"), grouped_params([(c, a) for c in STAFFED_NODES for a in lacking(c)]))
def test_node_needs_an_allowing_permission(world, case, actors):
    for_each(actors, lambda actor: _node_hidden(world, case, actor))


@pytest.mark.parametrize(("case", "actor"), params([(c, a) for c in STAFFED_NODES for a in holding(c)]))
def test_node_with_an_allowing_permission(world, case, actor):
    response, variables = _node(world, case, actor)
    assert response.data["node"] == {"__typename": case.type_name, "id": variables["id"]}


def _nowhere(value):
    """The same kind of global ID, naming no object."""
    if isinstance(value, dict):
        return {k: _nowhere(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nowhere(v) for v in value]
    if isinstance(value, str):
        try:
            type_name, _pk = from_global_id(value)
        except Exception:  # noqa: BLE001 - not a global ID: left as it is
            return value
        if type_name and type_name[0].isupper() and type_name.isalnum():
            return to_global_id(type_name, 987654)
    return value


STAFF_ONLY_MUTATIONS = [c for c in STAFF_CASES if c.op.kind == "mutation"]


@pytest.mark.parametrize(("case", "actors"), grouped_params(
    [(c, a) for c in STAFF_ONLY_MUTATIONS for a in ("staff_none", "anonymous")]
))
def test_staff_only_mutations_refuse_before_looking_anything_up(world, case, actors):
    """Without the permission, an ID naming nothing is answered like one naming something: the
    permission is checked first, so no caller learns which objects exist."""
    nowhere = Case(case.op, lambda w: _nowhere(case.variables(w)), label=case.label, staff=case.staff)
    for_each(actors, lambda actor: assert_refused(world, nowhere, actor, codes={"PERMISSION_DENIED"}))
