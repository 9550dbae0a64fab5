"""Operations of both APIs read from their printed schemas, documents generated for them, and the
checks every attack uses: the database fingerprint and the search for another tenant's data."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_schema,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)

from ..graphql_client import CORE_URL, STOREFRONT_URL, GraphQLClient

PRINTED = {
    "core": Path(settings.BASE_DIR) / "backend" / "graphql" / "schema.graphql",
    "storefront": Path(settings.BASE_DIR) / "storefront_api" / "schema.graphql",
}
URLS = {"core": CORE_URL, "storefront": STOREFRONT_URL}


@dataclass(frozen=True, order=True)
class Op:
    api: str  # core | storefront
    kind: str  # query | mutation
    name: str

    def __str__(self) -> str:
        return f"{self.api}.{self.kind}.{self.name}"


@cache
def printed_schema(api: str) -> GraphQLSchema:
    return build_schema(PRINTED[api].read_text())


@cache
def live_schema(api: str) -> GraphQLSchema:
    if api == "core":
        from backend.graphql.api import schema

        return schema.graphql_schema
    from storefront_api.schema import schema

    return schema._schema


def _ops_of(schema: GraphQLSchema, api: str) -> set[Op]:
    found = set()
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name in (root.fields if root else {}):
            found.add(Op(api, kind, name))
    return found


def all_operations() -> set[Op]:
    """Every query field and mutation of both APIs: the printed schemas, and the running ones in case
    a snapshot lags behind (a new operation must be classified either way)."""
    ops: set[Op] = set()
    for api in PRINTED:
        ops |= _ops_of(printed_schema(api), api)
        ops |= _ops_of(live_schema(api), api)
    return ops


def node_types(api: str = "core") -> set[str]:
    """Types implementing Node, in the printed and the running schema."""
    names = set()
    for schema in (printed_schema(api), live_schema(api)):
        node = schema.get_type("Node")
        if node is not None:
            names |= {t.name for t in schema.get_possible_types(node)}
    return names


# --- Documents -------------------------------------------------------------------------------


def selection(type_, depth: int) -> str:
    """Every field of a type down to `depth` levels (fields needing arguments left out), so a
    response shows whatever the API would hand out."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, (GraphQLInterfaceType, GraphQLUnionType)) or depth <= 0:
        fields = getattr(named, "fields", {})
        return "{ __typename" + (" id" if "id" in fields else "") + " }"
    assert isinstance(named, GraphQLObjectType)
    parts = []
    for name, field in named.fields.items():
        if any(is_non_null_type(a.type) and a.default_value is Undefined for a in field.args.values()):
            continue
        # A payload's errors always come with their code and message.
        sub = selection(field.type, max(depth - 1, 1) if name in ("errors", "carrierErrors") else depth - 1)
        parts.append(f"{name} {sub}".strip())
    return "{ " + " ".join(parts) + " }"


def document(op: Op, variables: dict, *, depth: int = 3, fields: str | None = None) -> str:
    """`query|mutation($a: T!) { op(a: $a) { ...every field... } }` for the arguments given."""
    schema = live_schema(op.api)
    root = schema.query_type if op.kind == "query" else schema.mutation_type
    field = root.fields[op.name]
    unknown = set(variables) - set(field.args)
    assert not unknown, f"{op}: no arguments {sorted(unknown)}"
    definitions = ", ".join(f"${name}: {field.args[name].type}" for name in variables)
    arguments = ", ".join(f"{name}: ${name}" for name in variables)
    head = f"{op.kind} Attack" + (f"({definitions})" if definitions else "")
    call = op.name + (f"({arguments})" if arguments else "")
    body = fields if fields is not None else selection(field.type, depth)
    return f"{head} {{ {call} {body} }}"


def required_arguments(op: Op) -> set[str]:
    schema = live_schema(op.api)
    root = schema.query_type if op.kind == "query" else schema.mutation_type
    return {
        name for name, arg in root.fields[op.name].args.items()
        if is_non_null_type(arg.type) and arg.default_value is Undefined
    }


@dataclass
class Response:
    status: int
    body: dict
    text: str

    @property
    def data(self):
        return (self.body.get("data") or {}) if isinstance(self.body, dict) else {}

    @property
    def top_errors(self) -> list:
        return (self.body.get("errors") or []) if isinstance(self.body, dict) else []


def call(op: Op, user, variables: dict, *, files: dict | None = None, depth: int = 3, fields: str | None = None,
         token: str | None = None) -> Response:
    client = GraphQLClient(URLS[op.api])
    if user is not None:
        client.login(user)
    response = client.raw(document(op, variables, depth=depth, fields=fields), variables, files=files, token=token)
    text = response.content.decode()
    try:
        body = json.loads(text)
    except ValueError:
        body = {}
    return Response(response.status_code, body, text)


def payload_error_codes(result) -> list[str]:
    """Codes of a mutation payload's `errors` (and of a shipping quote's), or []."""
    if not isinstance(result, dict):
        return []
    return [e["code"] for e in result.get("errors") or []]


def is_empty(result) -> bool:
    """Null, an empty list, or a connection without edges: what a caller who may not see gets."""
    if result is None or result == []:
        return True
    if isinstance(result, dict) and "edges" in result:
        return not result["edges"] and not result.get("totalCount")
    return False


# --- What another tenant's data looks like in a response ---------------------------------


_BASE64 = re.compile(r"^[A-Za-z0-9+/=]+$")


def _found(marker: str, text: str) -> bool:
    if marker.islower() or not _BASE64.match(marker):  # a word or a name: anywhere, in any case
        return marker.lower() in text.lower()
    # A global ID: whole, not as the prefix of a longer one ("Product:1" in "Product:12").
    return re.search(rf"(?<![A-Za-z0-9+/=]){re.escape(marker)}(?![A-Za-z0-9+/=])", text) is not None


def leaks(text: str, markers: set[str], sent: dict | None = None) -> list[str]:
    """The markers found in the response, leaving out what the caller sent itself (an error message
    may repeat the ID it was given)."""
    sent_text = json.dumps(sent or {})
    return sorted(m for m in markers if _found(m, text) and not _found(m, sent_text))


# --- Database fingerprint ----------------------------------------------------------------

# Reference data no call changes, large enough to slow every comparison down.
_STATIC_TABLES = {
    "logistics.Region", "logistics.ZoneAssignment", "logistics.ZoneRate", "auth.Permission",
    "contenttypes.ContentType", "sessions.Session", "admin.LogEntry",
}


@cache
def _tables() -> list[tuple[str, str, str]]:
    tables = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label in _STATIC_TABLES:
            continue
        tables.append((model._meta.label, model._meta.db_table, model._meta.pk.column))
    return sorted(tables)


def fingerprint() -> dict[str, str]:
    """A digest of every row of every table the world lives in."""
    quote = connection.ops.quote_name
    digests = {}
    connection.ensure_connection()
    # The driver's own cursor: the same transaction, without the wrappers that record every query.
    cursor = connection.connection.cursor()
    try:
        for label, table, pk in _tables():
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY {quote(pk)}")
            digests[label] = hashlib.sha1(repr(cursor.fetchall()).encode()).hexdigest()
    finally:
        cursor.close()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(label for label in before if before[label] != after.get(label))

