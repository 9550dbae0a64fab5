"""The embedded default: search inside the main database.

SQLite: an FTS5 virtual table (rowid = product id) ranked with bm25.
PostgreSQL: a tsvector per product built from the same tokens (no text
parser involved, so Chinese bigrams stay intact) with a GIN index, ranked
with ts_rank. Both tables are created by this app's migration.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL

from ..documents import ProductDocument
from ..text import QueryTerm, query_terms
from .base import SearchBackend

SQLITE_TABLE = "search_product_fts"
POSTGRES_TABLE = "search_product_document"
# Name matches count ten times a match in the description.
NAME_WEIGHT, BODY_WEIGHT = 10.0, 1.0
MAX_POSITION = 16383
# A list in order of relevance ranks and pages through this many matches, the newest (highest ids):
# the ranking's cost stays bounded however common the word (the Elasticsearch backend's MAX_RANKED
# best matches, likewise). Sorted any other way, a search lists every match.
RANK_CANDIDATES = 1_000


def _sqlite_match(terms: list[QueryTerm]) -> str:
    parts = []
    for term in terms:
        quoted = '"' + term.token.replace('"', '""') + '"'
        parts.append(quoted + ("*" if term.prefix else ""))
    return " AND ".join(parts)


def _pg_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _pg_query(terms: list[QueryTerm], *, weights: str = "") -> str:
    suffix = (lambda t: (":*" if t.prefix else ":") + weights) if weights else (lambda t: ":*" if t.prefix else "")
    return " & ".join(_pg_lexeme(t.token) + suffix(t) for t in terms)


def _pg_vector(document: ProductDocument) -> str:
    """A tsvector literal: each token with its positions and weight (A name, B body)."""
    positions: dict[str, list[str]] = {}
    position = 0
    for weight, tokens in (("A", document.name_tokens), ("B", document.body_tokens)):
        for token in tokens:
            position = min(position + 1, MAX_POSITION)
            positions.setdefault(token, []).append(f"{position}{weight}")
        position += 1  # no phrase across name and body
    return " ".join(f"{_pg_lexeme(token)}:{','.join(found[:256])}" for token, found in positions.items())


class DatabaseBackend(SearchBackend):
    transactional = True

    @property
    def vendor(self) -> str:
        return connection.vendor

    # --- writes ---

    def index_products(self, products: Iterable) -> None:
        documents = [self.document(p) for p in products]
        if not documents:
            return
        # One statement per document: executemany breaks the SQL recorders of debug tooling.
        with connection.cursor() as cursor:
            for d in documents:
                if self.vendor == "sqlite":
                    cursor.execute(f"DELETE FROM {SQLITE_TABLE} WHERE rowid = %s", [d.product_id])
                    cursor.execute(
                        f"INSERT INTO {SQLITE_TABLE} (rowid, name, body) VALUES (%s, %s, %s)",
                        [d.product_id, " ".join(d.name_tokens), " ".join(d.body_tokens)],
                    )
                elif self.vendor == "postgresql":
                    cursor.execute(
                        f"INSERT INTO {POSTGRES_TABLE} (product_id, document) VALUES (%s, %s::tsvector) "
                        "ON CONFLICT (product_id) DO UPDATE SET document = EXCLUDED.document",
                        [d.product_id, _pg_vector(d)],
                    )

    def remove_product(self, product_id: int) -> None:
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute(f"DELETE FROM {SQLITE_TABLE} WHERE rowid = %s", [product_id])
            elif self.vendor == "postgresql":
                cursor.execute(f"DELETE FROM {POSTGRES_TABLE} WHERE product_id = %s", [product_id])

    def clear(self) -> None:
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute(f"DELETE FROM {SQLITE_TABLE}")
            elif self.vendor == "postgresql":
                cursor.execute(f"DELETE FROM {POSTGRES_TABLE}")

    # --- reads ---

    def _match_sql(self, terms: list[QueryTerm]) -> tuple[str, list]:
        if self.vendor == "sqlite":
            return f"SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s", [_sqlite_match(terms)]
        return f"SELECT product_id FROM {POSTGRES_TABLE} WHERE document @@ %s::tsquery", [_pg_query(terms)]

    def _rank_sql(self, terms: list[QueryTerm], outer_pk: str) -> tuple[str, list]:
        """Lower is better on both databases."""
        if self.vendor == "sqlite":
            return (
                f"(SELECT bm25({SQLITE_TABLE}, {NAME_WEIGHT}, {BODY_WEIGHT}) FROM {SQLITE_TABLE} "
                f"WHERE {SQLITE_TABLE} MATCH %s AND rowid = {outer_pk})",
                [_sqlite_match(terms)],
            )
        return (
            f"(SELECT -ts_rank(document, %s::tsquery) FROM {POSTGRES_TABLE} WHERE product_id = {outer_pk})",
            [_pg_query(terms)],
        )

    def search(self, query: str, *, limit: int | None = None) -> list[int]:
        terms = query_terms(query)
        if not terms:
            return []
        if self.vendor not in ("sqlite", "postgresql"):
            return self._fallback_ids(query, limit)
        if self.vendor == "sqlite":
            sql = (
                f"SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s "
                f"ORDER BY bm25({SQLITE_TABLE}, {NAME_WEIGHT}, {BODY_WEIGHT}), rowid"
            )
            params: list = [_sqlite_match(terms)]
        else:
            sql = (
                f"SELECT product_id FROM {POSTGRES_TABLE} WHERE document @@ %s::tsquery "
                "ORDER BY ts_rank(document, %s::tsquery) DESC, product_id"
            )
            params = [_pg_query(terms), _pg_query(terms)]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(int(limit))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def filter_queryset(self, queryset: QuerySet, query: str, *, rank: bool = False) -> QuerySet:
        terms = query_terms(query)
        if not terms:
            return queryset
        if self.vendor not in ("sqlite", "postgresql"):
            return super().filter_queryset(queryset, query, rank=rank)
        if rank and self.vendor == "sqlite":
            # Joined, so FTS5 evaluates the match once and bm25 comes with each row; a correlated
            # rank subquery re-runs the whole match for every matching row (seconds at 100k listings).
            # The unary + keeps the planner from driving the join from the products (then FTS5 would
            # also re-run the match per product, as COUNT(*) did): the match is the outer loop.
            # Only the RANK_CANDIDATES newest matches are ranked and listed: the rowid range is
            # FTS5's own (it stops at the boundary), found once by walking the match newest first.
            table = queryset.model._meta.db_table
            pk = queryset.model._meta.pk.column
            match = _sqlite_match(terms)
            return queryset.extra(
                tables=[SQLITE_TABLE],
                where=[
                    f'+{SQLITE_TABLE}.rowid = "{table}"."{pk}"',
                    f"{SQLITE_TABLE} MATCH %s",
                    f"{SQLITE_TABLE}.rowid >= COALESCE((SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} "
                    "MATCH %s ORDER BY rowid DESC LIMIT 1 OFFSET %s), 0)",
                ],
                params=[match, match, RANK_CANDIDATES - 1],
                select={"search_rank": f"bm25({SQLITE_TABLE}, {NAME_WEIGHT}, {BODY_WEIGHT})"},
            ).order_by("search_rank", "-pk")
        if rank:
            # PostgreSQL: the RANK_CANDIDATES newest matches, and only those are ranked and listed. The
            # planner knows from the tsvector statistics how common each word is: a rare one is looked
            # up in the GIN index, a common one (every seventh listing) by walking the primary key
            # backwards until RANK_CANDIDATES documents matched, which reads a few thousand rows
            # instead of every match.
            sql = (
                f"SELECT product_id FROM {POSTGRES_TABLE} WHERE document @@ %s::tsquery "
                "ORDER BY product_id DESC LIMIT %s"
            )
            queryset = queryset.filter(pk__in=RawSQL(sql, [_pg_query(terms), RANK_CANDIDATES]))
            table = queryset.model._meta.db_table
            pk = queryset.model._meta.pk.column
            rank_sql, rank_params = self._rank_sql(terms, f'"{table}"."{pk}"')
            return queryset.annotate(search_rank=RawSQL(rank_sql, rank_params)).order_by(
                F("search_rank").asc(nulls_last=True), "-pk"
            )
        sql, params = self._match_sql(terms)
        return queryset.filter(pk__in=RawSQL(sql, params))

    def name_matches(self, base: QuerySet, prefix: str) -> QuerySet:
        """Listings whose name (not description) matches every term, the last one as a prefix."""
        terms = query_terms(prefix)
        if not terms:
            return base.none()
        terms[-1] = QueryTerm(terms[-1].token, True)
        if self.vendor == "sqlite":
            sql = f"SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s"
            params = ["name : (" + _sqlite_match(terms) + ")"]
        elif self.vendor == "postgresql":
            sql = f"SELECT product_id FROM {POSTGRES_TABLE} WHERE document @@ %s::tsquery"
            params = [_pg_query(terms, weights="A")]
        else:
            return base.filter(name__icontains=prefix.strip())
        return base.filter(pk__in=RawSQL(sql, params))

    def _fallback_ids(self, query: str, limit: int | None) -> list[int]:
        from backend.catalog.models import Product

        ids = Product.objects.filter(name__icontains=query.strip()).values_list("pk", flat=True)
        return list(ids[:limit] if limit else ids)
