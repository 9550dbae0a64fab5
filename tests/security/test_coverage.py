"""Every operation of both APIs is classified, so a new one cannot skip the security tests."""

from .cases import LIST_CASES, NODE_CASES, OWNED_CASES, STAFF_CASES, classified
from .operations import all_operations, node_types, required_arguments


def test_every_operation_is_classified():
    """Public, self-service, staff-only (with its permission), owner-scoped (with IDs to attack) or a
    scoped list: an operation in neither list is reported here until its cases are written."""
    unclassified = sorted(str(op) for op in all_operations() - set(classified()))
    assert unclassified == [], "operations without security cases (add them to tests/security/cases.py):\n" + "\n".join(
        unclassified
    )


def test_no_case_names_an_operation_the_schemas_lack():
    stale = sorted(str(op) for op in set(classified()) - all_operations())
    assert stale == []


def test_public_and_self_operations_are_nothing_else():
    """An operation taking another's object IDs is not public: the classes do not overlap, except
    owner-scoped operations that also have a scoped list form (the same field filtered by an ID)."""
    mixed = {
        str(op): sorted(kinds)
        for op, kinds in classified().items()
        if len(kinds) > 1 and kinds != {"owned", "list"}
    }
    assert mixed == {}


def test_every_node_type_has_a_case():
    assert sorted(node_types("core") - {case.type_name for case in NODE_CASES}) == []


def test_every_case_passes_the_required_arguments(world):
    missing = {}
    for case in [*OWNED_CASES, *STAFF_CASES]:
        given = set(case.variables(world))
        lacking = required_arguments(case.op) - given
        if lacking:
            missing[case.id] = sorted(lacking)
    for case in LIST_CASES:
        lacking = required_arguments(case.op) - set(case.variables)
        if lacking:
            missing[case.id] = sorted(lacking)
    assert missing == {}


def test_every_staff_only_mutation_checks_its_permission_first():
    """The staff-only mutations declare their permission (BaseMutation checks it before fetching
    anything), so the refusal cannot depend on what the caller may see."""
    from backend.graphql.api import schema

    mutation_type = schema.graphql_schema.mutation_type
    undeclared = []
    for case in STAFF_CASES:
        if case.op.kind != "mutation" or case.op.name == "vendorDepositDeduct":
            continue  # the deposit deduction accepts either of two permissions; its service checks them
        resolver = mutation_type.fields[case.op.name].resolve
        mutation = getattr(resolver, "__self__", None) or getattr(getattr(resolver, "func", None), "__self__", None)
        permission = getattr(getattr(mutation, "_meta", None), "permission", "unknown")
        if permission not in case.staff:
            undeclared.append((case.op.name, str(permission)))
    assert undeclared == []
