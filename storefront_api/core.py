"""Shared storefront pieces: Money, per-domain error types, and the mutation runner."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, DecimalException
from enum import Enum
from typing import Any, TypeVar

import strawberry
from django.db import transaction
from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    default_field_resolver,
    get_named_type,
    get_nullable_type,
)
from moneyed import Money as MoneyValue
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import StrawberryList
from strawberry.relay import GlobalID, GlobalIDValueError
from strawberry.relay.types import PREFIX as CURSOR_PREFIX
from strawberry.relay.utils import from_base64
from strawberry.types import Info

from backend.core.error_codes import CoreErrorCode
from backend.core.exceptions import DomainError, DomainErrors
from backend.graphql.core.hostile_input import hostile_text_message
from backend.graphql.core.hostile_input import HostileInputRefusal, HostileText


@strawberry.type(description="An amount of money: a decimal string and an ISO 4217 currency code.")
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def from_value(cls, value: MoneyValue | None) -> Money | None:
        if value is None:
            return None
        return cls(amount=value.amount, currency=value.currency.code)


_enums: dict[type, Any] = {}
_error_types: dict[str, Any] = {}


def error_code_enum(code_enum: type[Enum]):
    if code_enum not in _enums:
        _enums[code_enum] = strawberry.enum(code_enum)
    return _enums[code_enum]


def error_type(name: str, code_enum: type[Enum]):
    """`<Domain>Error { field, code: <Domain>ErrorCode!, message }`."""
    if name not in _error_types:
        enum = error_code_enum(code_enum)
        namespace = {
            "__annotations__": {"field": str | None, "code": enum, "message": str},
            "field": None,
        }
        _error_types[name] = strawberry.type(type(name, (), namespace), name=name)
    return _error_types[name]


# A well-formed global ID of no type ("" : ""): every resolver's type check answers NOT_FOUND for it.
UNRESOLVABLE_ID = str(GlobalID(type_name="", node_id=""))


def _decodes(value: str) -> bool:
    try:
        GlobalID.from_id(value)
    except GlobalIDValueError:
        return False
    return True


def _normalize_ids(value: Any, type_: GraphQLInputType) -> Any:
    """`value` (as coerced by GraphQL for `type_`) with every ID that is not a global ID replaced."""
    if value is None:
        return None
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLScalarType):
        if type_.name == "ID" and not _decodes(value):
            return UNRESOLVABLE_ID
        return value
    if isinstance(type_, GraphQLList) and isinstance(value, list):
        return [_normalize_ids(item, type_.of_type) for item in value]
    if isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        fields = {field.out_name or name: field.type for name, field in type_.fields.items()}
        return {key: _normalize_ids(item, fields[key]) if key in fields else item for key, item in value.items()}
    return value


def _cursor_offset(cursor: str) -> int | None:
    try:
        prefix, offset = from_base64(cursor)
        offset = int(offset)
    except ValueError:
        return None
    return offset if prefix == CURSOR_PREFIX and 0 <= offset < 2**31 else None


def _page_arguments(kwargs: dict[str, Any], max_results: int) -> dict[str, Any]:
    """first/last cut to 0..max_results (the page info says more is there); a cursor that does not
    hold an offset is ignored, as relay does."""
    for name in ("first", "last"):
        if kwargs.get(name) is not None:
            kwargs[name] = min(max(kwargs[name], 0), max_results)
    if kwargs.get("last") == 0:  # strawberry serves `last: 0` as every item (edges[-0:])
        kwargs["first"], kwargs["last"] = 0, None
    for name in ("after", "before"):
        if kwargs.get(name) is not None and _cursor_offset(kwargs[name]) is None:
            kwargs[name] = None
    return kwargs


def guard_arguments(graphql_schema, *, max_results: int) -> None:
    """Arguments that GraphQL accepts but strawberry would raise on, made servable before a
    resolver runs, so that they answer NOT_FOUND, null or a page instead of a top-level error.

    - Global IDs: any string is a valid ID to GraphQL, but strawberry decodes relay.GlobalID
      arguments inside the resolver. Every ID the storefront takes is a global ID: one that does
      not decode becomes one that names nothing, which the resolvers' own type checks answer like
      any ID the caller may not see (the core API's decode_id does the same).
    - Pages: strawberry raises on first/last above the limit or below zero and on malformed
      cursors (see _page_arguments; the core API's PaginationMiddleware does the same).

    Installed once on the built schema, around the resolvers of the fields that take arguments
    only: a schema extension's resolve hook (as this was) wraps every field of every response,
    the many argument-less ones included, and cost more than the fields themselves.
    """
    for type_ in graphql_schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            if field.args:
                field.resolve = _guarded(field, max_results=max_results)


def _guarded(field, *, max_results: int):
    resolve = field.resolve or default_field_resolver
    arguments = field.args
    paged = "pageInfo" in getattr(get_named_type(field.type), "fields", ())

    def guarded(root, info, **kwargs):
        if kwargs:
            kwargs = {
                name: _normalize_ids(value, arguments[name].type) if name in arguments else value
                for name, value in kwargs.items()
            }
            if paged:
                kwargs = _page_arguments(kwargs, max_results)
        return resolve(root, info, **kwargs)

    return guarded


def _parse_decimal(value: object) -> Decimal:
    try:
        number = Decimal(str(value))
    except DecimalException:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f'Value cannot represent a Decimal: "{value}".')
    return number


# strawberry's Decimal takes "NaN" and "Infinity", which no amount, price or filter here can use
# (a price filter raised on them); this one refuses them as invalid input, before any resolver.
# Installed with Schema(scalar_overrides={Decimal: FiniteDecimal}); same name and description.
FiniteDecimal = strawberry.scalar(
    name="Decimal", description="Decimal (fixed-point)", serialize=str, parse_value=_parse_decimal
)


def current_user(info: Info):
    return info.context.request.user


P = TypeVar("P")


def run_mutation(payload_cls: type[P], error_cls, action: Callable[[], dict], *, atomic: bool = True) -> P:
    """Run a service call and shape its result or its DomainError into the payload.

    The error type's code enum must contain the code raised, by name.
    """
    code_enum = _code_enum_of(error_cls)
    try:
        if atomic:
            with transaction.atomic():
                values = action()
        else:
            values = action()
    except DomainError as exc:
        return payload_cls(errors=[_to_error(error_cls, code_enum, exc)])
    except DomainErrors as exc:
        return payload_cls(errors=[_to_error(error_cls, code_enum, e) for e in exc.errors])
    return payload_cls(errors=[], **values)


def _code_enum_of(error_cls) -> type[Enum]:
    return error_cls.__annotations__["code"]


def _to_error(error_cls, code_enum: type[Enum], exc: DomainError):
    return error_cls(field=exc.field, code=code_enum[exc.code.name], message=exc.message)


class StorefrontExecutionContext(HostileInputRefusal, StrawberryGraphQLCoreExecutionContext):
    """Refuses control characters in any text input before execution (backend/graphql/core/hostile_input.py);
    a mutation answers its payload with an INVALID error, as run_mutation shapes it."""

    def refused_payload(self, return_type, hostile: HostileText):
        definition = get_nullable_type(return_type).extensions.get("strawberry-definition")
        errors_field = definition.get_field("errors") if definition is not None else None
        if errors_field is None or not isinstance(errors_field.type, StrawberryList):
            return None
        error_cls = errors_field.type.of_type
        code_enum = _code_enum_of(error_cls)
        if "INVALID" not in code_enum.__members__:
            return None
        error = DomainError(CoreErrorCode.INVALID, hostile_text_message(), field=hostile.field)
        return definition.origin(errors=[_to_error(error_cls, code_enum, error)])
