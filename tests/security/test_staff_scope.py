"""Staff managing staff act within their own permissions: they cannot grant what they do not hold,
nor change (rename, empty, re-grant) a group holding permissions they do not hold; otherwise one
MANAGE_STAFF holder could strip finance or arbitration staff of their permissions."""

import pytest
from django.contrib.auth.models import Group
from graphql_relay import to_global_id

from backend.accounts.models import User
from backend.core.permissions import PlatformPermission as P
from backend.core.permissions import has_permission

from ..graphql_client import CORE_URL, GraphQLClient, error_codes

pytestmark = pytest.mark.django_db

UPDATE = """
mutation($id: ID!, $name: String, $permissions: [PermissionEnum!]) {
  permissionGroupUpdate(id: $id, name: $name, permissions: $permissions) {
    group { name permissions } errors { field code message }
  }
}"""
CREATE = """
mutation($name: String!, $permissions: [PermissionEnum!]!) {
  permissionGroupCreate(name: $name, permissions: $permissions) { group { name } errors { code } }
}"""
STAFF_CREATE = """
mutation($input: StaffCreateInput!) { staffCreate(input: $input) { user { email } errors { field code } } }"""


def update(actor, group, **changes):
    return GraphQLClient(CORE_URL).login(actor).mutate(UPDATE, {"id": to_global_id("PermissionGroup", group.pk), **changes})


def permissions_of(group) -> set[str]:
    return set(group.permissions.values_list("codename", flat=True))


def finance_group(world) -> Group:
    return world.staff[P.MANAGE_FINANCE].groups.get()


@pytest.mark.parametrize("changes", [{"name": "Renamed"}, {"permissions": ["MANAGE_STAFF"]}, {"permissions": []}])
def test_a_group_holding_permissions_out_of_scope_cannot_be_changed(world, changes):
    staff_manager = world.staff[P.MANAGE_STAFF]
    for group in (world.group, finance_group(world)):
        before = (group.name, permissions_of(group))
        payload = update(staff_manager, group, **changes)
        assert error_codes(payload) == ["OUT_OF_SCOPE_PERMISSION"] and payload["group"] is None
        group.refresh_from_db()
        assert (group.name, permissions_of(group)) == before
    finance = User.objects.get(pk=world.staff[P.MANAGE_FINANCE].pk)
    assert has_permission(finance, P.MANAGE_FINANCE)


def test_groups_within_scope_can_be_changed(world):
    staff_manager = world.staff[P.MANAGE_STAFF]
    own = Group.objects.create(name="Helpdesk")
    payload = update(staff_manager, own, name="Helpdesk leads", permissions=["MANAGE_STAFF"])
    assert payload["errors"] == [] and payload["group"] == {"name": "Helpdesk leads", "permissions": ["MANAGE_STAFF"]}
    # A holder of every permission may change any group.
    payload = update(world.superuser, finance_group(world), permissions=["MANAGE_FINANCE", "MANAGE_ORDERS"])
    assert payload["errors"] == []


def test_permissions_out_of_scope_cannot_be_granted(world):
    api = GraphQLClient(CORE_URL).login(world.staff[P.MANAGE_STAFF])
    created = api.mutate(CREATE, {"name": "Finance too", "permissions": ["MANAGE_FINANCE"]})
    assert error_codes(created) == ["OUT_OF_SCOPE_PERMISSION"]
    own = Group.objects.create(name="Helpdesk")
    assert error_codes(update(world.staff[P.MANAGE_STAFF], own, permissions=["ARBITRATE_DISPUTES"])) == [
        "OUT_OF_SCOPE_PERMISSION"
    ]
    staff = api.mutate(STAFF_CREATE, {"input": {
        "email": "powerful@platform.example", "password": "Correct-Horse-43",
        "groups": [to_global_id("PermissionGroup", world.group.pk)],
    }})
    assert error_codes(staff) == ["OUT_OF_SCOPE_PERMISSION"]
    assert not User.objects.filter(email="powerful@platform.example").exists()
    assert not Group.objects.filter(name="Finance too").exists() and permissions_of(own) == set()
