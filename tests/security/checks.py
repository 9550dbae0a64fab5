"""What a refused call and an allowed call look like, for every case of every test module."""

from __future__ import annotations

import pytest

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


def victim_markers(world, victim: str) -> set[str]:
    cache = world.__dict__.setdefault("_markers", {})
    if victim not in cache:
        cache[victim] = markers(world, victim)
    return cache[victim]


def assert_refused(world, case: Case, actor: str, *, check_leaks: bool = True, codes: set[str] = DENIED) -> None:
    """The call is answered like one about a missing object, shows nothing of the victim and
    changes nothing in the database."""
    variables = case.variables(world)
    files = case.files(world) if case.files else None
    before = fingerprint()
    # The payload must come back empty, so two levels of fields are enough to show any data.
    response = call(case.op, world.users[actor], variables, files=files, depth=2)
    changed = changed_tables(before, fingerprint())
    assert response.status == 200, response.text[:1000]
    assert response.top_errors == [], response.top_errors
    result = response.data.get(case.op.name)
    if case.expect in ("payload", "quote"):
        found = payload_error_codes(result)
        assert found and set(found) <= codes, f"expected one of {sorted(codes)}, got {response.text[:1500]}"
        rest = {k: v for k, v in result.items() if k not in ("errors", "carrierErrors")}
        assert all(v in (None, []) for v in rest.values()), f"payload carries data: {response.text[:1500]}"
    else:
        assert is_empty(result), f"{actor} sees {response.text[:1500]}"
    if check_leaks:
        assert leaks(response.text, victim_markers(world, case.victim), variables) == [], response.text[:3000]
    assert changed == [], f"{case.id} as {actor} changed {changed}"


def assert_allowed(world, case: Case, actor: str) -> dict:
    """Not refused as a stranger: the object is found (business rules may still say no)."""
    variables = case.variables(world)
    files = case.files(world) if case.files else None
    response = call(case.op, world.users[actor], variables, files=files, depth=2)
    assert response.status == 200, response.text[:1000]
    assert response.top_errors == [], response.top_errors
    result = response.data.get(case.op.name)
    if case.expect in ("payload", "quote"):
        found = payload_error_codes(result)
        assert not set(found) & DENIED, f"{actor} refused: {response.text[:1500]}"
    else:
        assert not is_empty(result), f"{actor} sees nothing: {response.text[:1500]}"
    return result
