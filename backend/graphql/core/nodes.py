from __future__ import annotations

import binascii

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from graphene import relay
from graphene.types.utils import get_type
from graphql_relay import from_global_id

from backend.core.error_codes import CoreErrorCode
from backend.core.exceptions import DomainError


def decode_id(global_id: str, type_name: str, *, field: str = "id") -> str:
    """The primary key inside a global ID of the given type, or a NOT_FOUND error."""
    try:
        found_type, pk = from_global_id(global_id or "")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        found_type, pk = None, None
    if found_type != type_name or not pk:
        raise DomainError(CoreErrorCode.NOT_FOUND, f"No {type_name} with ID {global_id!r}.", field=field)
    return pk


def get_node(info, global_id: str, object_type, *, field: str = "id", for_update: bool = False):
    """Fetch a node through its type's get_queryset, so a caller only reaches what it may see.

    Objects the caller may not see are reported exactly like missing ones.
    """
    type_name = object_type._meta.name
    pk = decode_id(global_id, type_name, field=field)
    queryset = object_type.get_queryset(object_type._meta.model.objects.all(), info)
    if for_update:
        queryset = queryset.select_for_update()
    try:
        return queryset.get(pk=pk)
    except (object_type._meta.model.DoesNotExist, ValueError):
        raise DomainError(CoreErrorCode.NOT_FOUND, f"No {type_name} with ID {global_id!r}.", field=field)


def get_nodes(info, global_ids: list[str], object_type, *, field: str):
    pks = [decode_id(gid, object_type._meta.name, field=field) for gid in global_ids]
    queryset = object_type.get_queryset(object_type._meta.model.objects.all(), info)
    try:
        found = {str(obj.pk): obj for obj in queryset.filter(pk__in=pks)}
    except ValueError:  # a key that is not a valid primary key, e.g. "Category:abc"
        raise DomainError(CoreErrorCode.NOT_FOUND, f"Not found: {', '.join(global_ids)}.", field=field)
    missing = [gid for gid, pk in zip(global_ids, pks) if pk not in found]
    if missing:
        raise DomainError(CoreErrorCode.NOT_FOUND, f"Not found: {', '.join(missing)}.", field=field)
    return [found[pk] for pk in pks]


def node_or_none(info, global_id: str, only_type=None):
    """The object behind any Node's global ID, through its type's get_node (the visibility rule).

    Null for an ID that is malformed, names a type that is not a Node, or a key the type cannot
    hold, exactly like for an object the caller may not see: graphene's own node field raised.
    """
    try:
        type_name, pk = from_global_id(global_id or "")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    graphql_type = info.schema.get_type(type_name) if type_name else None
    object_type = getattr(graphql_type, "graphene_type", None)
    if object_type is None or relay.Node not in getattr(object_type._meta, "interfaces", ()):
        return None
    if only_type is not None and object_type is not only_type:
        return None
    get_node = getattr(object_type, "get_node", None)
    if not pk or get_node is None:
        return None
    try:
        return get_node(info, pk)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError, OverflowError):
        return None


class NodeField(relay.node.NodeField):
    """`node(id: ID!): Node` answering null for any ID it cannot resolve (see node_or_none)."""

    def wrap_resolve(self, parent_resolver):
        only_type = get_type(self.field_type) if self.field_type else None
        return lambda root, info, id: node_or_none(info, id, only_type)
