"""What a refused call and an allowed call look like, for every case of every test module."""

from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from .cases import DENIED, Case, markers
from .operations import call, changed_tables, fingerprint, is_empty, leaks, payload_error_codes

# Holes found in domains this suite may not change (catalog, checkout, orders, disputes): the
# failing case stays, marked strict so it turns red once fixed. Keyed by (case id, actor).
KNOWN_HOLES: dict[tuple[str, str], str] = {}


def params(pairs, holes: dict[tuple[str, str], str] | None = None):
    """pytest params of (case, actor) pairs, the known holes marked xfail(strict=True)."""
    holes = KNOWN_HOLES if holes is None else holes
    out = []
    for case, actor in pairs:
        reason = holes.get((case.id, actor))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, actor, id=f"{case.id}-{actor}", marks=marks))
    return out


def grouped_params(pairs, holes: dict[tuple[str, str], str] | None = None):
    """One param per case with all its actors (a loop is cheaper than a test per call); the
    known holes split out as their own xfail(strict=True) params."""
    holes = KNOWN_HOLES if holes is None else holes
    by_case: dict[str, tuple] = {}
    out = []
    for case, actor in pairs:
        reason = holes.get((case.id, actor))
        if reason:
            out.append(pytest.param(case, (actor,), id=f"{case.id}-{actor}",
                                    marks=[pytest.mark.xfail(strict=True, reason=reason)]))
        else:
            by_case.setdefault(case.id, (case, []))[1].append(actor)
    out += [pytest.param(case, tuple(actors), id=case_id) for case_id, (case, actors) in by_case.items()]
    return out


def for_each(actors, check) -> None:
    """Run `check(actor)` for every actor and report every failure, not only the first."""
    failures = []
    for actor in actors:
        try:
            check(actor)
        except AssertionError as error:
            failures.append(f"--- {actor}: {error}")
    assert not failures, "\n".join(failures)


def victim_markers(world, victim: str) -> set[str]:
    cache = world.__dict__.setdefault("_markers", {})
    if victim not in cache:
        cache[victim] = markers(world, victim)
    return cache[victim]


def _without_caller(result, user):
    """A list may hold the caller's own account (staffUsers shows every caller itself)."""
    if user is None or not isinstance(result, dict) or "edges" not in result:
        return result
    own = to_global_id("User", user.pk)
    edges = [e for e in result["edges"] if (e.get("node") or {}).get("id") != own]
    return {**result, "edges": edges, "totalCount": len(edges)}


def assert_refused(world, case: Case, actor: str, *, check_leaks: bool = True, codes: set[str] = DENIED,
                   check_db: bool | None = None) -> None:
    """The call is answered like one about a missing object, shows nothing of the victim and
    changes nothing in the database (mutations; queries are compared too when `check_db`)."""
    if check_db is None:
        check_db = case.op.kind == "mutation"
    variables = case.variables(world)
    files = case.files(world) if case.files else None
    # Every test starts from the world as built (its changes are rolled back after it).
    before = world.baseline if check_db else {}
    # The payload must come back empty: the first level of fields is enough to show any data.
    response = call(case.op, world.users[actor], variables, files=files, depth=case.depth)
    changed = changed_tables(before, fingerprint()) if check_db else []
    assert response.status == 200, response.text[:1000]
    assert response.top_errors == [], response.top_errors
    result = response.data.get(case.op.name)
    if case.expect in ("payload", "quote"):
        found = payload_error_codes(result)
        assert found and set(found) <= codes, f"expected one of {sorted(codes)}, got {response.text[:1500]}"
        rest = {k: v for k, v in result.items() if k not in ("errors", "carrierErrors")}
        # `removed: false` (a flag saying nothing happened) shows nothing either.
        assert all(v is None or v == [] or v is False for v in rest.values()), f"payload carries data: {response.text[:1500]}"
    else:
        assert is_empty(_without_caller(result, world.users[actor])), f"{actor} sees {response.text[:1500]}"
    if check_leaks:
        assert leaks(response.text, victim_markers(world, case.victim), variables) == [], response.text[:3000]
    assert changed == [], f"{case.id} as {actor} changed {changed}"


def assert_allowed(world, case: Case, actor: str) -> dict:
    """Not refused as a stranger: the object is found (business rules may still say no)."""
    variables = case.variables(world)
    files = case.files(world) if case.files else None
    response = call(case.op, world.users[actor], variables, files=files, depth=case.depth)
    assert response.status == 200, response.text[:1000]
    assert response.top_errors == [], response.top_errors
    result = response.data.get(case.op.name)
    if case.expect in ("payload", "quote"):
        found = payload_error_codes(result)
        assert not set(found) & DENIED, f"{actor} refused: {response.text[:1500]}"
    else:
        assert not is_empty(result), f"{actor} sees nothing: {response.text[:1500]}"
    return result
