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


def direct_model_attributes(graphql_schema) -> int:
    """Plain model columns and cached to-one relations read straight from the instance.

    strawberry_django gives every field of a Django type its own resolver (its fields are never
    "basic"), so a column like Product.name costs strawberry's whole chain per row: an Info
    object, argument conversion, the extension chain and the field's get_result, for what is
    `instance.__dict__["name"]`. For the fields that are exactly that (no resolver, arguments,
    extensions or permissions; a concrete non-file column, or a forward to-one relation the
    queryset already fetched), the resolver here reads the instance directly and falls back to
    strawberry_django's own resolver whenever the value is not loaded (deferred columns, an
    uncached relation), so the answers are the same. Returns how many fields it took.
    """
    from django.core.exceptions import FieldDoesNotExist
    from django.db.models import FileField, ForeignKey, OneToOneField
    from strawberry_django.fields.base import StrawberryDjangoFieldBase

    taken = 0
    for type_ in graphql_schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            definition = field.extensions.get("strawberry-definition")
            if (
                field.args
                or field.resolve is None
                or not isinstance(definition, StrawberryDjangoFieldBase)
                or getattr(definition, "base_resolver", None) is not None
                or definition.extensions
                or getattr(definition, "permission_classes", None)
                or getattr(definition, "annotate", None)
            ):
                continue
            # The type the field belongs to (django_model is the model a relation points at).
            model = getattr(getattr(definition, "origin_django_type", None), "model", None)
            if model is None:
                continue
            name = definition.django_name or definition.python_name
            try:
                column = model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if isinstance(column, (ForeignKey, OneToOneField)) and column.name == name:
                field.resolve = _cached_relation(name, field.resolve)
            elif column.concrete and not column.is_relation and not isinstance(column, FileField) and column.attname == name:
                field.resolve = _loaded_column(name, field.resolve)
            else:
                continue
            taken += 1
    return taken


def _loaded_column(name: str, fallback):
    def resolve(source, info, **kwargs):
        try:
            return source.__dict__[name]
        except (KeyError, AttributeError):
            return fallback(source, info, **kwargs)

    return resolve


def _cached_relation(name: str, fallback):
    def resolve(source, info, **kwargs):
        try:
            return source._state.fields_cache[name]
        except (KeyError, AttributeError):
            return fallback(source, info, **kwargs)

    return resolve


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
