"""Keys inside the storefront's global IDs (strawberry relay.GlobalID), read the same way everywhere."""

from __future__ import annotations

from strawberry import relay

from backend.core.error_codes import CoreErrorCode
from backend.core.exceptions import DomainError

# A key no row has: what a filter on an ID of another type matches.
NO_KEY = -1


def key_of(global_id: relay.GlobalID, type_name: str) -> int | None:
    """The integer key of a global ID of `type_name`; None for an ID of another type or a malformed key."""
    if global_id.type_name != type_name or not str(global_id.node_id).isdigit():
        return None
    return int(global_id.node_id)


def key_or_not_found(global_id: relay.GlobalID, type_name: str, *, field: str) -> int:
    """key_of, or NOT_FOUND on `field` (each domain's error enum has that code)."""
    key = key_of(global_id, type_name)
    if key is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, f"No such {type_name}.", field=field)
    return key
