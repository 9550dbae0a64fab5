"""Text no GraphQL input may carry, refused for both APIs before anything runs.

NUL and the other control characters (C0 and C1, and DEL) except tab, line feed and carriage return,
and lone UTF-16 surrogates (JSON's "\\ud800" decodes to one), have no place in a name, an address, a
description or an id. PostgreSQL refuses NUL in text ("A string literal cannot contain NUL"), the
driver cannot encode a lone surrogate, and SQLite stores both silently; so they are refused here,
once for both schemas, instead of in every service:

- every string in the request's variables (at any depth of an input object or list) that the
  operation uses, and every string literal in the arguments of any field the operation selects
  (through fragments too), default values of variables included;
- a query (or subscription) carrying one answers a validation-style error, before execution, with
  `extensions.code` INVALID and `extensions.field` naming the input field;
- in a mutation, each root field carrying one (in its arguments or in any field below it) is not
  resolved: it answers its payload with `errors: [{field, code: INVALID, message}]`, the way a
  service's validation error would; the operation's other root fields run as usual.

Each API mixes `HostileInputRefusal` into its graphql-core execution context and says how to build
its mutation payloads (`refused_payload`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionContext,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    located_error,
)
from django.utils.translation import gettext, gettext_noop
from graphql.execution.execute import get_field_def

# C0 controls but \t \n \r, DEL, C1 controls, and lone surrogates.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

INVALID_CODE = "INVALID"
MESSAGE = gettext_noop(
    "Text may not contain control characters (such as NUL) other than tab, line feed and carriage return."
)


def hostile_text_message() -> str:
    """The refusal in the request's language (English, Simplified Chinese)."""
    return gettext(MESSAGE)


def has_forbidden_characters(text: str) -> bool:
    return FORBIDDEN_CHARACTERS.search(text) is not None


@dataclass(frozen=True)
class HostileText:
    """Where a forbidden character was found: the input field (or argument) holding it."""

    field: str | None
    node: FieldNode


_CLEAN = object()


def _scan_raw(value: Any, field: str | None) -> Any:
    """The input field holding a forbidden string in a variable's JSON value, or _CLEAN."""
    if isinstance(value, str):
        return field if has_forbidden_characters(value) else _CLEAN
    if isinstance(value, dict):
        for key, item in value.items():
            found = _scan_raw(item, key if isinstance(key, str) else field)
            if found is not _CLEAN:
                return found
    elif isinstance(value, (list, tuple)):
        for item in value:
            found = _scan_raw(item, field)
            if found is not _CLEAN:
                return found
    return _CLEAN


class _OperationScan:
    def __init__(self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode], raw_variables):
        self.fragments = fragments
        # variable name -> the input field inside it holding forbidden text (None: the value itself)
        self.hostile_variables: dict[str, str | None] = {}
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name in raw_variables:
                found = _scan_raw(raw_variables[name], None)
            elif definition.default_value is not None:
                found = self._scan_literal(definition.default_value, None)
            else:
                found = _CLEAN
            if found is not _CLEAN:
                self.hostile_variables[name] = found

    def _scan_literal(self, node: ValueNode, field: str | None) -> Any:
        if isinstance(node, StringValueNode):
            return field if has_forbidden_characters(node.value) else _CLEAN
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.hostile_variables:
                return self.hostile_variables[name] or field
            return _CLEAN
        if isinstance(node, ObjectValueNode):
            for item in node.fields:
                found = self._scan_literal(item.value, item.name.value)
                if found is not _CLEAN:
                    return found
        elif isinstance(node, ListValueNode):
            for item in node.values:
                found = self._scan_literal(item, field)
                if found is not _CLEAN:
                    return found
        return _CLEAN

    def _scan_arguments(self, node) -> Any:
        directives = getattr(node, "directives", None) or ()
        for holder in (node, *directives):
            for argument in getattr(holder, "arguments", None) or ():
                found = self._scan_literal(argument.value, argument.name.value)
                if found is not _CLEAN:
                    return found
        return _CLEAN

    def scan_selections(self, selection_set: SelectionSetNode | None, seen: set[str]) -> Any:
        """The first input field holding forbidden text anywhere in a selection set, or _CLEAN."""
        for selection in selection_set.selections if selection_set else ():
            found = self._scan_arguments(selection)
            if found is not _CLEAN:
                return found
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in self.fragments:
                    continue
                found = self.scan_selections(self.fragments[name].selection_set, seen | {name})
            elif isinstance(selection, (FieldNode, InlineFragmentNode)):
                found = self.scan_selections(selection.selection_set, seen)
            if found is not _CLEAN:
                return found
        return _CLEAN

    def root_fields(self, selection_set: SelectionSetNode, seen: set[str]):
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.root_fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in self.fragments:
                    yield from self.root_fields(self.fragments[name].selection_set, seen | {name})


def find_hostile_text(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode], raw_variables: dict | None
) -> dict[str, HostileText]:
    """Root fields (by response key) whose arguments, or whose selections' arguments, carry forbidden text."""
    scan = _OperationScan(operation, fragments, raw_variables or {})
    found: dict[str, HostileText] = {}
    for node in scan.root_fields(operation.selection_set, set()):
        key = node.alias.value if node.alias else node.name.value
        if key in found:
            continue
        field = scan._scan_arguments(node)
        if field is _CLEAN:
            field = scan.scan_selections(node.selection_set, set())
        if field is not _CLEAN:
            found[key] = HostileText(field=field, node=node)
    return found


def hostile_text_error(hostile: HostileText) -> GraphQLError:
    extensions = {"code": INVALID_CODE, "field": hostile.field}
    return GraphQLError(hostile_text_message(), nodes=[hostile.node], extensions=extensions)


class HostileInputRefusal(ExecutionContext):
    """Mixed into an API's execution context (see the module's docstring)."""

    hostile_root_fields: dict[str, HostileText] = {}

    @classmethod
    def build(cls, schema, document, root_value=None, context_value=None, raw_variable_values=None, *args, **kwargs):
        context = super().build(schema, document, root_value, context_value, raw_variable_values, *args, **kwargs)
        if isinstance(context, list):  # the operation's own errors (unknown operation, bad variables)
            return context
        found = find_hostile_text(context.operation, context.fragments, raw_variable_values)
        if not found:
            return context
        if context.operation.operation != OperationType.MUTATION:
            return [hostile_text_error(hostile) for hostile in found.values()]
        context.hostile_root_fields = found
        return context

    def refused_payload(self, return_type, hostile: HostileText) -> Any | None:
        """The mutation's payload carrying `errors: [{field, code: INVALID, message}]`, or None
        when the field has no such payload (it then answers a top-level INVALID error)."""
        return None

    def execute_field(self, parent_type, source, field_nodes, path):
        hostile = self.hostile_root_fields.get(path.key) if path.prev is None else None
        if hostile is None:
            return super().execute_field(parent_type, source, field_nodes, path)
        field_def = get_field_def(self.schema, parent_type, field_nodes[0])
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
        try:
            payload = self.refused_payload(field_def.type, hostile)
            if payload is None:
                raise hostile_text_error(hostile)
            return self.complete_value(field_def.type, field_nodes, info, path, payload)
        except Exception as raw_error:  # noqa: BLE001 - reported like any field error
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, field_def.type, path)
            return None
