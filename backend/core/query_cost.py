"""Query limits shared by both GraphQL APIs: depth, aliases and cost, checked before execution.

The cost follows Saleor's model: every field that returns an object costs 1 plus what
its selection costs; a connection's `first`/`last` (capped at the page size the API
serves, GRAPHQL_MAX_PAGE_SIZE) multiplies that, a connection asked for without them
counts a full page, and a plain list counts QUERY_COST_LIST_SIZE items. Scalars are
free; introspection (`__schema`, `__type`) counts for depth and aliases but costs
nothing. Fragments are measured once each (memoized), so the measurement itself is
linear in the size of the document, whatever the fragments spread.

Before any of that, a document longer than GRAPHQL_QUERY_MAX_TOKENS tokens is refused while
it is read (QUERY_TOO_COMPLEX): parsing is what a huge document costs most.

A document over a limit is refused with one GraphQLError per limit broken,
`extensions.code` QUERY_TOO_DEEP, TOO_MANY_ALIASES or QUERY_TOO_COMPLEX, before
validation and execution: no resolver runs and no SQL is sent.

Used by the core view (backend/graphql/core/views.py, as the validation rule
`limits_rule`) and the storefront schema (storefront_api/schema.py, the
QueryLimitsExtension).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    specified_rules,
    validate,
)
from graphql.language import SKIP, Lexer, Source, TokenKind
from strawberry.extensions import SchemaExtension

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"

# Asking for the cost: this request header (any value but 0/false), or `"extensions": {"cost": true}`
# in the request body.
COST_HEADER = "HTTP_X_QUERY_COST"


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_cost: int
    max_tokens: int
    page_size: int  # what a connection serves at most (and without first/last)
    list_size: int  # what a plain list is counted as

    @classmethod
    def from_settings(cls) -> QueryLimits:
        return cls(
            max_depth=settings.GRAPHQL_QUERY_MAX_DEPTH,
            max_aliases=settings.GRAPHQL_QUERY_MAX_ALIASES,
            max_cost=settings.GRAPHQL_QUERY_MAX_COST,
            max_tokens=settings.GRAPHQL_QUERY_MAX_TOKENS,
            page_size=settings.GRAPHQL_MAX_PAGE_SIZE,
            list_size=settings.GRAPHQL_QUERY_COST_LIST_SIZE,
        )


@dataclass(frozen=True)
class QueryCost:
    depth: int
    aliases: int
    cost: int

    def as_extension(self, limits: QueryLimits) -> dict[str, int]:
        """What `extensions.cost` reports."""
        return {
            "requestedQueryCost": self.cost,
            "maximumAvailable": limits.max_cost,
            "depth": self.depth,
            "maximumDepth": limits.max_depth,
            "aliases": self.aliases,
            "maximumAliases": limits.max_aliases,
        }


@dataclass(frozen=True)
class _Measure:
    cost: int
    depth: int
    aliases: int


_NOTHING = _Measure(0, 0, 0)


def _is_connection(named_type) -> bool:
    fields = getattr(named_type, "fields", None)
    return isinstance(named_type, GraphQLObjectType) and "edges" in fields and "pageInfo" in fields


def _is_list(type_) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _Measurer:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None,
                 limits: QueryLimits):
        self.schema = schema
        self.variables = variables if isinstance(variables, Mapping) else {}
        self.limits = limits
        self.fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        self.fragment_measures: dict[tuple[str, str], _Measure] = {}
        self.visiting: set[str] = set()

    def page_size(self, field: FieldNode) -> int:
        """first/last as the API serves it: 0..page_size, a full page when absent or not a number."""
        sizes = []
        for argument in field.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                value = self.variables.get(value.name.value)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            else:
                value = None
            if isinstance(value, int) and not isinstance(value, bool):
                sizes.append(min(max(value, 0), self.limits.page_size))
        return max(sizes) if sizes else self.limits.page_size

    def selection_set(self, parent_type, selection_set: SelectionSetNode | None) -> _Measure:
        if selection_set is None:
            return _NOTHING
        cost = depth = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                measure = self.field(parent_type, selection)
            elif isinstance(selection, InlineFragmentNode):
                type_ = parent_type
                if selection.type_condition is not None:
                    type_ = self.schema.get_type(selection.type_condition.name.value) or parent_type
                measure = self.selection_set(type_, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                measure = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            cost += measure.cost
            depth = max(depth, measure.depth)
            aliases += measure.aliases
        return _Measure(cost, depth, aliases)

    def fragment(self, name: str) -> _Measure:
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:  # unknown or cyclic: validation says so
            return _NOTHING
        type_ = self.schema.get_type(definition.type_condition.name.value)
        key = (name, getattr(type_, "name", ""))
        if key not in self.fragment_measures:
            self.visiting.add(name)
            self.fragment_measures[key] = self.selection_set(type_, definition.selection_set)
            self.visiting.discard(name)
        return self.fragment_measures[key]

    def field(self, parent_type, node: FieldNode) -> _Measure:
        aliases = 1 if node.alias is not None else 0
        name = node.name.value
        definition = None
        if name in ("__schema", "__type"):
            child_type = self.schema.get_type("__Schema" if name == "__schema" else "__Type")
        elif isinstance(parent_type, (GraphQLObjectType, GraphQLInterfaceType)):
            definition = parent_type.fields.get(name)
            child_type = get_named_type(definition.type) if definition is not None else None
        else:  # an unknown type or field (validation refuses it): its selection still counts
            child_type = None
        if node.selection_set is None:
            return _Measure(0, 1, aliases)
        child = self.selection_set(child_type, node.selection_set)
        meta = name.startswith("__") or getattr(parent_type, "name", "").startswith("__")
        if meta:
            cost = child.cost
        else:
            if _is_connection(child_type):
                multiplier = self.page_size(node)
            elif definition is not None and _is_list(definition.type) and not _is_connection(parent_type):
                multiplier = self.limits.list_size  # a connection's own edges list is its page, counted above
            else:
                multiplier = 1
            cost = (1 + child.cost) * multiplier
        return _Measure(cost, child.depth + 1, child.aliases + aliases)

    def operation(self, operation: OperationDefinitionNode) -> _Measure:
        root = self.schema.get_root_type(operation.operation)
        return self.selection_set(root, operation.selection_set)


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    limits: QueryLimits | None = None,
) -> QueryCost:
    """Depth, aliases and cost of the operation that would run (the largest one when the
    document does not say which: validation or execution refuses it anyway)."""
    limits = limits or QueryLimits.from_settings()
    measurer = _Measurer(schema, document, variables, limits)
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name:
        named = [node for node in operations if node.name is not None and node.name.value == operation_name]
        operations = named or operations
    measures = [measurer.operation(node) for node in operations] or [_NOTHING]
    return QueryCost(
        depth=max(m.depth for m in measures),
        aliases=max(m.aliases for m in measures),
        cost=max(m.cost for m in measures),
    )


def too_many_tokens(query: Any, limits: QueryLimits | None = None) -> GraphQLError | None:
    """The refusal of a document longer than the token limit, found by reading at most that many
    tokens (no parse); None for anything else, including text that does not lex (the parser says why)."""
    if not isinstance(query, str):
        return None
    limits = limits or QueryLimits.from_settings()
    if len(query) <= limits.max_tokens:  # a token is at least one character
        return None
    lexer = Lexer(Source(query))
    try:
        for _ in range(limits.max_tokens + 1):
            if lexer.advance().kind == TokenKind.EOF:
                return None
    except GraphQLError:
        return None
    return GraphQLError(
        gettext("The document has more than %(maximum)d tokens.") % {"maximum": limits.max_tokens},
        extensions={"code": QUERY_TOO_COMPLEX, "maximumTokens": limits.max_tokens},
    )


def refusals(cost: QueryCost, limits: QueryLimits) -> list[GraphQLError]:
    """One coded error per limit the query breaks; empty when it may run."""
    errors = []
    if cost.depth > limits.max_depth:
        errors.append(
            GraphQLError(
                gettext("The query is nested %(depth)d levels deep; at most %(maximum)d are allowed.")
                % {"depth": cost.depth, "maximum": limits.max_depth},
                extensions={"code": QUERY_TOO_DEEP, "depth": cost.depth, "maximumDepth": limits.max_depth},
            )
        )
    if cost.aliases > limits.max_aliases:
        errors.append(
            GraphQLError(
                gettext("The query uses %(aliases)d aliases; at most %(maximum)d are allowed.")
                % {"aliases": cost.aliases, "maximum": limits.max_aliases},
                extensions={"code": TOO_MANY_ALIASES, "aliases": cost.aliases, "maximumAliases": limits.max_aliases},
            )
        )
    if cost.cost > limits.max_cost:
        errors.append(
            GraphQLError(
                gettext(
                    "The query costs %(cost)d; at most %(maximum)d is allowed. Ask for smaller pages "
                    "(first/last) or fewer nested lists."
                )
                % {"cost": cost.cost, "maximum": limits.max_cost},
                extensions={"code": QUERY_TOO_COMPLEX, "cost": cost.cost, "maximumAvailable": limits.max_cost},
            )
        )
    return errors


_MEASURED_SIZE = 1024
_measured: OrderedDict = OrderedDict()
_measured_lock = threading.Lock()


def _measure_key(schema, text: Any, variables, operation_name, limits: QueryLimits):
    """What a measure depends on: the document's text, the operation chosen, the limits and the
    integer variables (only first/last read them, and only as integers)."""
    if not isinstance(text, str):
        return None
    ints = ()
    if isinstance(variables, Mapping):
        ints = tuple(sorted((k, v) for k, v in variables.items() if type(v) is int))
    return (id(schema), text, operation_name, ints, limits)


def check(schema: GraphQLSchema, document: DocumentNode, *, variables=None, operation_name=None,
          limits: QueryLimits | None = None, text: str | None = None) -> tuple[QueryCost, list[GraphQLError]]:
    """The operation's cost and the refusals of the limits it breaks. Given the document's text,
    the measure is kept per text, operation and integer variables (a storefront sends the same few
    documents again and again); the refusals are built per request, in its language."""
    limits = limits or QueryLimits.from_settings()
    key = _measure_key(schema, text, variables, operation_name, limits)
    cost = None
    if key is not None:
        with _measured_lock:
            cost = _measured.get(key)
            if cost is not None:
                _measured.move_to_end(key)
    if cost is None:
        cost = measure(schema, document, variables=variables, operation_name=operation_name, limits=limits)
        if key is not None:
            with _measured_lock:
                _measured[key] = cost
                while len(_measured) > _MEASURED_SIZE:
                    _measured.popitem(last=False)
    return cost, refusals(cost, limits)


def cost_requested(request, body_extensions: Any = None) -> bool:
    """Whether the caller asked for the cost in the response's `extensions`."""
    header = request.META.get(COST_HEADER) if request is not None else None
    if header is not None and header.strip().lower() not in ("", "0", "false", "no", "off"):
        return True
    return isinstance(body_extensions, Mapping) and body_extensions.get("cost") is True


def validation_rules() -> tuple[type[ValidationRule], ...]:
    """graphql-core's rules, without introspection when settings.GRAPHQL_INTROSPECTION is off."""
    if settings.GRAPHQL_INTROSPECTION:
        return tuple(specified_rules)
    return (*specified_rules, NoSchemaIntrospectionCustomRule)


def limits_rule(*, variables=None, operation_name=None, rules=None, on_measure=None) -> type[ValidationRule]:
    """A validation rule for graphql-core's validate() that checks the limits first and runs
    the other rules (`rules`, the specified rules by default) only for a query within them,
    so a hostile document does not pay for the full validation either."""
    inner_rules = tuple(rules) if rules else tuple(specified_rules)

    class QueryLimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args):
            limits = QueryLimits.from_settings()
            cost, errors = check(
                self.context.schema, node, variables=variables, operation_name=operation_name, limits=limits
            )
            if on_measure is not None:
                on_measure(cost, limits)
            for error in errors or validate(self.context.schema, node, inner_rules):
                self.report_error(error)
            return SKIP

    return QueryLimitsRule


class QueryLimitsExtension(SchemaExtension):
    """The storefront's side (strawberry): refuses an over-long document before it is parsed
    (listed before ParserCache, so it runs first), checks the limits once it is parsed and,
    within them, validates it (with the validation rules cached per document, as strawberry's
    ValidationCache does, which this replaces); over them, the refusals are the answer and
    neither validation nor execution runs. The cost goes into `extensions.cost` when asked."""

    def __init__(self, validation_cache_size: int = 512):
        self.validate = _cached_validate(validation_cache_size)
        self.cost: dict | None = None

    def on_parse(self):
        refusal = too_many_tokens(self.execution_context.query)
        if refusal is not None:
            raise refusal
        yield

    def on_validate(self):
        context = self.execution_context
        limits = QueryLimits.from_settings()
        cost, errors = check(
            context.schema._schema,
            context.graphql_document,
            variables=context.variables,
            operation_name=context.operation_name,
            limits=limits,
            text=context.query,
        )
        self.cost = cost.as_extension(limits)
        if errors:
            context.pre_execution_errors = errors
        else:
            rules = tuple(context.validation_rules)
            if not settings.GRAPHQL_INTROSPECTION:
                rules = (*rules, NoSchemaIntrospectionCustomRule)
            context.pre_execution_errors = self.validate(context.schema._schema, context.graphql_document, rules)
        yield

    def get_results(self):
        request = getattr(self.execution_context.context, "request", None)
        if self.cost is not None and cost_requested(request, self.execution_context.operation_extensions):
            return {"cost": self.cost}
        return {}


@lru_cache(maxsize=None)
def _cached_validate(maxsize: int):
    from strawberry.schema.schema import validate_document  # strawberry's rules added to the given ones

    return lru_cache(maxsize=maxsize)(validate_document)
