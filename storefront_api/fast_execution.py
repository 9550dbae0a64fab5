"""Completing plain storefront fields without graphql-core's per-field machinery.

graphql-core executes every field of every object the same way: it looks the field up, builds a
GraphQLResolveInfo, coerces the (usually absent) arguments, calls the resolver, then completes the
value through `complete_value`, which tests the type's wrappers one by one before serializing a
scalar or collecting an object's sub-selection. On a page of listings that is about 1,700 fields
for 100 products, and it was most of the page's time: the values themselves are attributes already
on the loaded rows.

Here the storefront's execution context runs a *plan* per selection set instead: worked out once per
request for each (object type, selection set), it says for each response key how the value is got
and completed. A field is on the fast path when its resolver was marked with a getter by
`mark_fast` (storefront_api/core.py does so for model columns, cached relations, plain attributes,
relay ids and the direct resolvers); its value is then read straight from the source and completed
by its type, known in advance: a scalar or enum serialized, an object's plan run, a list item by item.

The answers are graphql-core's own, errors included, because whatever the fast path cannot answer
with certainty goes back to graphql-core for that one field: a getter that finds its value not
loaded (a deferred column, an uncached relation), a null where the type says non-null, a value a
scalar refuses, an `is_type_of` that says no, abstract types, nested lists. A nested field's error
is handled where graphql-core would: recorded at the nearest nullable field, propagated through
non-null ones. Fields without a getter (root fields, connections, resolvers that take IDs, pages or
input objects, anything with permissions or extensions) always take graphql-core's path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    located_error,
)
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path

# A getter's answer when the value is not at hand: graphql-core resolves the field instead.
MISSING = object()

LEAF, OBJECT, LEAF_LIST, OBJECT_LIST = range(4)

# Off: every field goes through graphql-core (bench/storefront_bench.py compares the two in one run).
ENABLED = True


def mark_fast(field, getter, *, needs_info: bool = False) -> None:
    """Give a schema field a getter for the fast path: `getter(source, arguments, info)` returns the
    field's value, or MISSING to let graphql-core resolve it (`info` is None unless `needs_info`;
    then it is a resolve info shared by the field's values in one request, whose path is the first
    value's: only for resolvers that read nothing but the context from it)."""
    field._fast = (getter, needs_info)


class _Step(NamedTuple):
    key: str
    nodes: list
    field_def: Any
    getter: Any  # None: graphql-core resolves this field
    needs_info: bool
    arguments: dict
    kind: int
    non_null: bool
    item_non_null: bool
    named: Any  # the scalar, enum or object type
    serialize: Any


def _step(context, parent_type, key, nodes) -> _Step:
    field_def = get_field_def(context.schema, parent_type, nodes[0])
    slow = _Step(key, nodes, field_def, None, False, {}, LEAF, False, False, None, None)
    fast = getattr(field_def, "_fast", None) if field_def is not None else None
    if fast is None:
        return slow
    getter, needs_info = fast
    try:
        arguments = get_argument_values(field_def, nodes[0], context.variable_values) if field_def.args else {}
    except Exception:  # noqa: BLE001 - graphql-core reports it, field by field
        return slow
    type_ = field_def.type
    non_null = isinstance(type_, GraphQLNonNull)
    if non_null:
        type_ = type_.of_type
    item_non_null = False
    listed = isinstance(type_, GraphQLList)
    if listed:
        type_ = type_.of_type
        item_non_null = isinstance(type_, GraphQLNonNull)
        if item_non_null:
            type_ = type_.of_type
    if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
        kind = LEAF_LIST if listed else LEAF
    elif isinstance(type_, GraphQLObjectType):
        kind = OBJECT_LIST if listed else OBJECT
    else:  # interfaces, unions, lists of lists
        return slow
    serialize = type_.serialize if kind in (LEAF, LEAF_LIST) else None
    return _Step(key, nodes, field_def, getter, needs_info, arguments, kind, non_null, item_non_null, type_, serialize)


class FastCompletion:
    """Mixed into an execution context (before graphql-core's ExecutionContext in the bases)."""

    def execute_fields(self, parent_type, source_value, path, fields):
        plan = self._fast_plan(parent_type, fields)
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, fields)
        results = {}
        awaitable = []
        type_name = parent_type.name
        for step in plan:
            key = step.key
            if step.getter is not None:
                value = self._fast_value(step, parent_type, source_value, path)
                if value is not MISSING:
                    value = self._fast_complete(step, parent_type, value, path)
                    if value is not MISSING:
                        results[key] = value
                        if step.kind == OBJECT and self.is_awaitable(value):
                            awaitable.append(key)
                        continue
            result = self.execute_field(parent_type, source_value, step.nodes, Path(path, key, type_name))
            if result is not Undefined:
                results[key] = result
                if self.is_awaitable(result):
                    awaitable.append(key)
        if not awaitable:
            return results
        return self._gather(results, awaitable)

    async def _gather(self, results, keys):
        for key in keys:
            results[key] = await results[key]
        return results

    def _fast_plan(self, parent_type, fields):
        plans = self.__dict__.setdefault("_fast_plans", {})
        cached = plans.get((parent_type, id(fields)))
        if cached is not None and cached[0] is fields:
            return cached[1]
        plan = None
        middleware = self.middleware_manager
        if ENABLED and (middleware is None or not middleware.middlewares):
            steps = [_step(self, parent_type, key, nodes) for key, nodes in fields.items()]
            if any(step.getter is not None for step in steps):
                plan = steps
        plans[(parent_type, id(fields))] = (fields, plan)  # the dict is kept, so its id is not reused
        return plan

    def _step_info(self, step: _Step, parent_type, path):
        infos = self.__dict__.setdefault("_fast_infos", {})
        info = infos.get(id(step))
        if info is None or info[0] is not step:
            info = infos[id(step)] = (step, self.build_resolve_info(step.field_def, step.nodes, parent_type, Path(path, step.key, parent_type.name)))
        return info[1]

    def _fast_value(self, step: _Step, parent_type, source, path):
        info = self._step_info(step, parent_type, path) if step.needs_info else None
        try:
            return step.getter(source, step.arguments, info)
        except Exception:  # noqa: BLE001 - graphql-core resolves it again and reports the error
            return MISSING

    def _type_matches(self, step: _Step, parent_type, value, path) -> bool:
        is_type_of = step.named.is_type_of
        if is_type_of is None:
            return True
        matches = is_type_of(value, self._step_info(step, parent_type, path))
        return matches is True or (matches and not self.is_awaitable(matches))

    def _fast_complete(self, step: _Step, parent_type, value, path):
        """The completed value, or MISSING (before anything was executed or recorded) when
        graphql-core must complete this field itself."""
        if value is None:
            return MISSING if step.non_null else None
        kind = step.kind
        if kind == LEAF:
            try:
                serialized = step.serialize(value)
            except Exception:  # noqa: BLE001
                return MISSING
            return MISSING if serialized is None or serialized is Undefined else serialized
        if kind == OBJECT:
            if not self._type_matches(step, parent_type, value, path):
                return MISSING
            field_path = Path(path, step.key, parent_type.name)
            sub_fields = self.collect_subfields(step.named, step.nodes)
            try:
                return self.execute_fields(step.named, value, field_path, sub_fields)
            except Exception as raw_error:  # noqa: BLE001 - a non-null child's error reaching this field
                error = located_error(raw_error, step.nodes, field_path.as_list())
                self.handle_field_error(error, step.field_def.type, field_path)
                return None
        if not isinstance(value, Iterable) or isinstance(value, (str, bytes, dict)):
            return MISSING
        items = list(value)
        if step.item_non_null and any(item is None for item in items):
            return MISSING
        if kind == LEAF_LIST:
            serialize = step.serialize
            out = []
            for item in items:
                if item is None:
                    out.append(None)
                    continue
                try:
                    serialized = serialize(item)
                except Exception:  # noqa: BLE001
                    return MISSING
                if serialized is None or serialized is Undefined:
                    return MISSING
                out.append(serialized)
            return out
        if not all(item is None or self._type_matches(step, parent_type, item, path) for item in items):
            return MISSING
        field_path = Path(path, step.key, parent_type.name)
        sub_fields = self.collect_subfields(step.named, step.nodes)
        out = []
        try:
            for index, item in enumerate(items):
                if item is None:
                    out.append(None)
                    continue
                item_path = Path(field_path, index, None)
                try:
                    out.append(self.execute_fields(step.named, item, item_path, sub_fields))
                except Exception as raw_error:  # noqa: BLE001
                    error = located_error(raw_error, step.nodes, item_path.as_list())
                    if step.item_non_null:
                        raise error from None
                    self.handle_field_error(error, step.named, item_path)
                    out.append(None)
        except Exception as raw_error:  # noqa: BLE001 - a non-null item's error reaching the list
            error = located_error(raw_error, step.nodes, field_path.as_list())
            self.handle_field_error(error, step.field_def.type, field_path)
            return None
        return out
