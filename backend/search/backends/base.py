"""The interface every search backend implements (database now, Elasticsearch later)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from django.db.models import Case, IntegerField, QuerySet, Value, When

from ..documents import ProductDocument, product_document


class SearchBackend(ABC):
    """Keeps a product index and answers queries with product ids, best match first.

    The catalog services call index_product / remove_product when a listing's
    searchable text changes (no signals); `manage.py search_index` rebuilds
    everything with index_products. Visibility is never the index's business:
    callers filter the returned ids through their own querysets.
    """

    #: Whether writes happen inside the caller's transaction (database backends).
    transactional = True

    def available(self) -> bool:
        """Whether the backend answers now (a remote one may be down)."""
        return True

    def rebuilding(self) -> bool:
        """Whether a rebuild of the index is copying listings right now."""
        return False

    def sync(self, product_ids: list[int]) -> None:
        """Write these listings as shoppers see them now (remote backends; the database reads its rows)."""

    def document(self, product) -> ProductDocument:
        return product_document(product)

    def index_product(self, product) -> None:
        self.index_products([product])

    @abstractmethod
    def index_products(self, products: Iterable) -> None:
        """Add or replace the documents of these products."""

    @abstractmethod
    def remove_product(self, product_id: int) -> None:
        """Drop a product from the index (missing ones are ignored)."""

    @abstractmethod
    def clear(self) -> None:
        """Empty the index (before a rebuild)."""

    @abstractmethod
    def search(self, query: str, *, limit: int | None = None) -> list[int]:
        """Ids of the products matching every term of the query, best match first."""

    def filter_queryset(self, queryset: QuerySet, query: str, *, rank: bool = False) -> QuerySet:
        """Narrow a product queryset to the matches; with rank, order by relevance.

        This default goes through search(); a backend that can express the match
        in SQL overrides it to save the round trip.
        """
        ids = self.search(query, limit=10_000)
        queryset = queryset.filter(pk__in=ids)
        if rank:
            positions = [When(pk=pk, then=Value(position)) for position, pk in enumerate(ids)]
            queryset = queryset.annotate(
                search_rank=Case(*positions, default=Value(len(ids)), output_field=IntegerField())
            ).order_by("search_rank", "pk")
        return queryset

    # --- facets and suggestions (SQL by default; Elasticsearch answers them itself) ---

    name = "database"

    def facets(self, base: QuerySet, query, *, vendor_label=None):
        """Facet counts for a ProductQuery over the products shoppers may see (`base`)."""
        from ..facets import database_facets

        return database_facets(
            base, query, text_filter=lambda qs, text: self.filter_queryset(qs, text), vendor_label=vendor_label
        )

    def suggest(self, base: QuerySet, prefix: str, *, limit: int = 8):
        """Completions of a typed prefix: brand names first, then listing names, most sold first."""
        from ..facets import database_brand_suggestions
        from ..query import Suggestion

        prefix = (prefix or "").strip()
        if not prefix:
            return []
        # Attribute values are in the indexed text too: the index narrows the rows whose brand is read.
        candidates = self.filter_queryset(base, prefix)
        brands = [Suggestion(text=b, kind="brand") for b in database_brand_suggestions(candidates, prefix, limit)]
        products = self.name_matches(base, prefix).order_by("-sales_count", "name", "pk").values_list("name", "slug")
        found = brands[: max(1, limit // 3)] if brands else []
        for name, slug in products[: limit]:
            if len(found) >= limit:
                break
            found.append(Suggestion(text=name, kind="product", slug=slug))
        return found

    def name_matches(self, base: QuerySet, prefix: str) -> QuerySet:
        """Listings whose name matches the prefix (the default also accepts description matches)."""
        return self.filter_queryset(base, prefix)
