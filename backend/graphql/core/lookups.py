"""Objects named by global IDs in arguments, looked up in a queryset the caller chose.

get_node (nodes.py) fetches through a type's own visibility rule; these are for
arguments whose rule is another one (the vendors one may list for, a dispute an
arbitrator names) and for list filters, where a bad ID narrows to nothing.
"""

from __future__ import annotations

from django.db.models import QuerySet

from backend.core.error_codes import CoreErrorCode
from backend.core.exceptions import DomainError

from .nodes import decode_id

# A key no row has: what a filter on a malformed ID, or an ID of another type, matches.
NO_KEY = -1


def object_from_id(queryset: QuerySet, global_id: str, type_name: str, *, field: str):
    """The object of `queryset` behind a global ID of `type_name`, or NOT_FOUND on `field`.

    Objects outside the queryset are reported exactly like missing ones.
    """
    pk = decode_id(global_id, type_name, field=field)
    found = queryset.filter(pk=pk).first() if pk.isdigit() else None
    if found is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, f"No {type_name} with ID {global_id!r}.", field=field)
    return found


def filter_key(global_id: str, type_name: str) -> int:
    """The integer key inside a global ID given to a list filter; NO_KEY when it is malformed or
    names another type, so the filter answers an empty list rather than an error."""
    try:
        pk = decode_id(global_id, type_name)
    except DomainError:
        return NO_KEY
    return int(pk) if pk.isdigit() else NO_KEY
