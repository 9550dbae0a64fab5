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

from .fast_execution import MISSING, FastCompletion, mark_fast


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
                mark_fast(field, _cached_relation_getter(name))
            elif column.concrete and not column.is_relation and not isinstance(column, FileField) and column.attname == name:
                field.resolve = _loaded_column(name, field.resolve)
                mark_fast(field, _loaded_column_getter(name))
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


def _loaded_column_getter(name: str):
    def get(source, arguments, info):
        try:
            return source.__dict__[name]
        except (KeyError, AttributeError):
            return MISSING

    return get


def _cached_relation_getter(name: str):
    def get(source, arguments, info):
        try:
            return source._state.fields_cache[name]
        except (KeyError, AttributeError):
            return MISSING

    return get


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


class StorefrontExecutionContext(FastCompletion, HostileInputRefusal, StrawberryGraphQLCoreExecutionContext):
    """Refuses control characters in any text input before execution (backend/graphql/core/hostile_input.py);
    a mutation answers its payload with an INVALID error, as run_mutation shapes it. Plain fields are
    completed on the fast path of storefront_api/fast_execution.py."""

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


def direct_resolvers(graphql_schema) -> int:
    """Plain resolvers called directly, without strawberry's per-field chain.

    For a field with a resolver of its own, strawberry runs, per value: an Info object,
    argument conversion (for none), the field-extension reduction and the field's get_result
    (strawberry_django's adds its queryset checks); a field without one costs two calls to reach
    getattr. On a page of listings that chain is most of the time. Here, after the schema is
    built, the fields it is pure overhead for are given a plain resolver with the same result:

    - annotated values of Django types (e.g. Product.inStock): read from the instance when the
      optimizer annotated them, else strawberry_django's resolver;
    - fields of plain strawberry types without a resolver (edges, node, pageInfo, Money...):
      getattr of the attribute, as strawberry's default resolver does;
    - a relay `id` of a Django type using strawberry_django's own resolve_id and the default
      resolve_typename: the global ID of the type's name and the loaded primary key (strawberry's
      resolver when the key is not loaded);
    - sync resolvers without permission classes or field extensions, that take `self`, optionally
      `info`, and only enum or plain scalar arguments (no IDs, no pages), and whose type is not a list (lists and connections keep
      strawberry_django's queryset hooks: visibility and the optimizer): called with the source
      and, when asked for, the same strawberry Info. A resolver that returns a queryset anyway is
      answered through strawberry's chain.

    Fields not covered keep their resolvers (guard_arguments wraps those with ID or page
    arguments). Returns how many fields it took.
    """
    from strawberry.relay import Node
    from strawberry.types.field import StrawberryField
    from strawberry_django.fields.base import StrawberryDjangoFieldBase
    from strawberry_django.relay.utils import resolve_model_id

    taken = 0
    for type_ in graphql_schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        object_definition = type_.extensions.get("strawberry-definition")
        for field in type_.fields.values():
            definition = field.extensions.get("strawberry-definition")
            if not isinstance(definition, StrawberryField) or field.resolve is None:
                continue
            if getattr(definition, "permission_classes", None) or definition.extensions:
                continue
            resolver = definition.base_resolver
            if resolver is None:
                if field.args:
                    continue
                if isinstance(definition, StrawberryDjangoFieldBase) and getattr(definition, "annotate", None):
                    # An annotation the optimizer added is an attribute of the instance (else strawberry's way).
                    field.resolve = _loaded_column(definition.python_name, field.resolve)
                    mark_fast(field, _loaded_column_getter(definition.python_name))
                    taken += 1
                    continue
                # strawberry_django's own fields (relations, managers, files) keep their get_result.
                if getattr(field.resolve, "_is_default", False) and not isinstance(definition, StrawberryDjangoFieldBase):
                    field.resolve = _attribute(definition.python_name)
                    mark_fast(field, _attribute_getter(definition.python_name))
                    taken += 1
                continue
            if resolver.is_async or isinstance(get_nullable_type(field.type), GraphQLList):
                continue
            origin = getattr(object_definition, "origin", None)
            if resolver.name == "_id" and isinstance(origin, type) and issubclass(origin, Node):
                if (
                    getattr(origin.resolve_id, "__func__", None) is resolve_model_id
                    and origin.resolve_typename.__func__ is Node.resolve_typename.__func__
                    and getattr(origin, "__strawberry_django_definition__", None) is not None
                ):
                    field.resolve = _model_global_id(type_.name, origin, field.resolve)
                    mark_fast(field, _model_global_id_getter(type_.name, origin))
                    taken += 1
                continue
            if resolver.root_parameter or resolver.parent_parameter or resolver.self_parameter is None:
                continue
            if isinstance(resolver.wrapped_func, (classmethod, staticmethod)):
                continue
            if isinstance(definition, StrawberryDjangoFieldBase) and definition.is_list:
                continue
            if type_ is graphql_schema.query_type or type_ is graphql_schema.mutation_type:
                continue  # once per request: nothing to gain, and a root resolver may record (analytics)
            names = _leaf_argument_names(field, definition)
            if names is None:
                continue
            info_name = resolver.info_parameter.name if resolver.info_parameter else None
            if _django_type(get_named_type(field.type)):
                # It answers a model or a queryset, which strawberry_django's chain turns into the
                # visible, optimised object: calling it here and again there would run it twice.
                # The fast path takes the answers that are one loaded instance (or none) as they
                # are; for anything else graphql-core runs strawberry's chain, as here.
                mark_fast(field, _direct_getter(resolver.wrapped_func, info_name, names, definition, instances_only=True), needs_info=info_name is not None)
                continue
            field.resolve = _direct(resolver.wrapped_func, info_name, names, definition, field.resolve)
            mark_fast(field, _direct_getter(resolver.wrapped_func, info_name, names, definition), needs_info=info_name is not None)
            taken += 1
    return taken


def _django_type(graphql_type) -> bool:
    definition = getattr(graphql_type, "extensions", {}).get("strawberry-definition")
    return getattr(getattr(definition, "origin", None), "__strawberry_django_definition__", None) is not None


def _attribute(name: str):
    def resolve(source, info, **kwargs):
        return getattr(source, name)

    return resolve


def _attribute_getter(name: str):
    def get(source, arguments, info):
        return getattr(source, name)

    return get


def _model_global_id_getter(type_name: str, origin):
    from strawberry.relay.utils import to_base64

    id_attr = origin.resolve_id_attr()

    def get(source, arguments, info):
        attname = id_attr if id_attr != "pk" else source._meta.pk.attname
        try:
            return to_base64(type_name, str(source.__dict__[attname]))
        except (KeyError, AttributeError):
            return MISSING

    return get


def _model_global_id(type_name: str, origin, fallback):
    from strawberry.relay.utils import to_base64

    id_attr = origin.resolve_id_attr()

    def resolve(source, info, **kwargs):
        attname = id_attr if id_attr != "pk" else source._meta.pk.attname
        try:
            return to_base64(type_name, str(source.__dict__[attname]))
        except (KeyError, AttributeError):
            return fallback(source, info, **kwargs)

    return resolve


_PLAIN_SCALARS = frozenset({"String", "Int", "Float", "Boolean"})


def _leaf_argument_names(field, definition) -> dict[str, str] | None:
    """GraphQL argument name -> the resolver's parameter, when every argument is an enum or a plain
    scalar (strawberry passes those through as coerced by GraphQL: enum members, str, int...) and
    none is an ID or a page (guard_arguments' business); None otherwise."""
    from graphql import GraphQLEnumType
    from strawberry.utils.str_converters import to_camel_case

    if not field.args:
        return {}
    if "pageInfo" in getattr(get_named_type(field.type), "fields", ()):
        return None
    names = {
        argument.graphql_name or to_camel_case(argument.python_name): argument.python_name
        for argument in definition.arguments
    }
    for name, argument in field.args.items():
        kind = get_named_type(argument.type)
        if name not in names or isinstance(get_nullable_type(argument.type), GraphQLList):
            return None
        if not (isinstance(kind, GraphQLEnumType) or (isinstance(kind, GraphQLScalarType) and kind.name in _PLAIN_SCALARS)):
            return None
    return names


def _direct(function, info_name: str | None, names: dict[str, str], definition, fallback):
    from django.db.models import QuerySet
    from django.db.models.manager import BaseManager
    from strawberry.types.info import Info as StrawberryInfo

    def resolve(source, info, **kwargs):
        arguments = {names[name]: value for name, value in kwargs.items()} if kwargs else {}
        if info_name is not None:
            arguments[info_name] = StrawberryInfo(_raw_info=info, _field=definition)
        result = function(source, **arguments)
        if isinstance(result, (QuerySet, BaseManager)):
            return fallback(source, info, **kwargs)
        return result

    return resolve


def _direct_getter(function, info_name: str | None, names: dict[str, str], definition, *, instances_only: bool = False):
    """The fast path's getter of a direct resolver (see storefront_api/fast_execution.py): the
    value, or MISSING for a queryset or manager (and, with instances_only, for anything that is
    not a model instance), which graphql-core then resolves through the field's own resolver."""
    from django.db.models import Model, QuerySet
    from django.db.models.manager import BaseManager
    from strawberry.types.info import Info as StrawberryInfo

    def get(source, arguments, info):
        call = {names[name]: value for name, value in arguments.items()} if arguments else {}
        if info_name is not None:
            call[info_name] = StrawberryInfo(_raw_info=info, _field=definition)
        result = function(source, **call)
        if instances_only:
            return result if result is None or isinstance(result, Model) else MISSING
        if isinstance(result, (QuerySet, BaseManager)):
            return MISSING
        return result

    return get
