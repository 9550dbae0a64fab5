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
