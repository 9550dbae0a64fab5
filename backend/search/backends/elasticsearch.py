"""Elasticsearch (8.x) through elasticsearch-dsl: chosen when ELASTICSEARCH_URL is set.

The index holds the listings shoppers may see, one document each, written by
the worker after commit (backend.search.indexing). Chinese text is analysed
with the built-in `cjk` analyser (bigrams, no plugin needed), Latin text with
the standard tokenizer, ASCII folding, synonyms from SEARCH_SYNONYMS at query
time and fuzziness for typos; filters and facets use keyword fields;
suggestions come from completion fields (listing names weighted by sales, and
brands).

Every request has a short timeout and no retries. When Elasticsearch fails or
is too slow, the storefront answers from the database backend (whose text
index the services keep current in every configuration), a warning is
logged, and Elasticsearch is not asked again for ELASTICSEARCH_RETRY_AFTER
seconds. Writes it missed meanwhile stay in PendingIndex and are replayed.

The storefront searches an alias; `manage.py search_index` builds a new
index behind a second alias (<alias>-building), swaps the alias in one
request and drops the old index, so search stays up during a rebuild.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch_dsl import Boolean, Completion, Date, Document, Index, Integer, Keyword, MetaField, Q, ScaledFloat, Search, Text

from .. import get_database_backend
from ..query import (
    BRAND,
    RATING_THRESHOLDS,
    AttributeFacet,
    FacetValue,
    Facets,
    PriceRangeFacet,
    ProductQuery,
    RatingFacet,
    Suggestion,
    category_tree,
    price_bounds,
)
from .base import SearchBackend

logger = logging.getLogger("backend.search")
FAILURES = (TransportError, ApiError, OSError)
# An answer of an unexpected shape (a proxy's error page, another version) is a failure too.
READ_FAILURES = FAILURES + (KeyError, IndexError, TypeError, ValueError)
TERMS_SIZE = 30
MAX_IDS = 10_000  # matches a filtered list (sorted by price, sales...) considers: Elasticsearch's result window
MAX_RANKED = 1_000  # best matches a relevance-ordered list pages through


class ProductSearchDocument(Document):
    """The mapping of a listing in the index (dynamic mapping is off: every field is explicit)."""

    name = Text(
        analyzer="latin",
        search_analyzer="latin_search",
        fields={"cjk": Text(analyzer="cjk"), "raw": Keyword(ignore_above=256)},
    )
    body = Text(analyzer="latin", search_analyzer="latin_search", fields={"cjk": Text(analyzer="cjk")})
    slug = Keyword()
    category_id = Keyword()
    category_path = Keyword(multi=True)  # the category and its ancestors: filter and tree counts
    vendor_id = Keyword()
    vendor_name = Keyword()
    brand = Keyword()
    attributes = Keyword(multi=True)  # "slug=value" of each listing attribute
    price_min = ScaledFloat(scaling_factor=100)
    price_max = ScaledFloat(scaling_factor=100)
    currency = Keyword()
    in_stock = Boolean()
    rating = ScaledFloat(scaling_factor=100)
    sales = Integer()
    published_at = Date()
    suggest = Completion(analyzer="suggest")
    brand_suggest = Completion(analyzer="suggest")

    class Meta:
        dynamic = MetaField("strict")


def index_settings() -> dict:
    """Shards, replicas and the analysers (synonyms from settings.SEARCH_SYNONYMS)."""
    latin_filters = ["cjk_width", "lowercase", "asciifolding"]
    search_filters = list(latin_filters)
    analysis: dict = {
        "analyzer": {
            "latin": {"type": "custom", "tokenizer": "standard", "filter": latin_filters},
            "latin_search": {"type": "custom", "tokenizer": "standard", "filter": search_filters},
            "suggest": {"type": "custom", "tokenizer": "standard", "filter": ["cjk_width", "lowercase"]},
        }
    }
    if settings.SEARCH_SYNONYMS:
        analysis["filter"] = {
            "marketplace_synonyms": {"type": "synonym_graph", "synonyms": list(settings.SEARCH_SYNONYMS), "lenient": True}
        }
        search_filters.append("marketplace_synonyms")
    return {
        "number_of_shards": settings.ELASTICSEARCH_SHARDS,
        "number_of_replicas": settings.ELASTICSEARCH_REPLICAS,
        "analysis": analysis,
    }


def index_body(name: str) -> dict:
    """{"settings": ..., "mappings": ...} of a new product index, built by elasticsearch-dsl."""
    index = Index(name)
    index.settings(**index_settings())
    index.document(ProductSearchDocument)
    return index.to_dict()


def text_query(text: str) -> Q:
    """Every word must match: Latin words fuzzily and the last one as a prefix, Chinese by bigrams."""
    return Q(
        "bool",
        should=[
            Q("multi_match", query=text, fields=["name^3", "body"], operator="and", fuzziness="AUTO", prefix_length=1),
            Q("multi_match", query=text, type="bool_prefix", fields=["name^3", "body"], operator="and"),
            Q("multi_match", query=text, fields=["name.cjk^4", "body.cjk"], operator="and"),
        ],
        minimum_should_match=1,
    )


def filter_clauses(query: ProductQuery) -> dict[str, list[Q]]:
    """Each facet's own filter clauses (attribute filters under "attribute:<slug>")."""
    clauses: dict[str, list[Q]] = {}
    if query.category_id is not None:
        clauses["category"] = [Q("term", category_path=str(query.category_id))]
    if query.vendor_id is not None:
        clauses["vendor"] = [Q("term", vendor_id=str(query.vendor_id))]
    if query.brands:
        clauses["brand"] = [Q("terms", brand=list(query.brands))]
    for slug, values in query.attributes:
        clauses[f"attribute:{slug}"] = [Q("terms", attributes=[f"{slug}={v}" for v in values])]
    price = {}
    if query.price_gte is not None:
        price["price"] = [Q("range", price_max={"gte": str(query.price_gte)})]
    if query.price_lte is not None:
        price.setdefault("price", []).append(Q("range", price_min={"lte": str(query.price_lte)}))
    clauses.update(price)
    if query.in_stock is not None:
        clauses["in_stock"] = [Q("term", in_stock=query.in_stock)]
    if query.rating_gte is not None:
        clauses["rating"] = [Q("range", rating={"gte": str(query.rating_gte)})]
    return clauses


def _others(clauses: dict[str, list[Q]], *skip: str) -> dict:
    kept = [clause for name, items in clauses.items() if name not in skip for clause in items]
    return {"bool": {"filter": [clause.to_dict() for clause in kept]}}


class ElasticsearchBackend(SearchBackend):
    transactional = False
    name = "elasticsearch"

    def __init__(self):
        self._lock = threading.Lock()
        self._clients: dict[tuple, Elasticsearch] = {}
        self._down_until = 0.0
        self._ready_alias: str | None = None

    # --- connection and faults ---

    @property
    def alias(self) -> str:
        return settings.ELASTICSEARCH_INDEX

    @property
    def building_alias(self) -> str:
        return f"{self.alias}-building"

    @property
    def client(self) -> Elasticsearch:
        key = (settings.ELASTICSEARCH_URL, settings.ELASTICSEARCH_TIMEOUT)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = Elasticsearch(
                    settings.ELASTICSEARCH_URL,
                    request_timeout=settings.ELASTICSEARCH_TIMEOUT,
                    max_retries=0,
                    retry_on_timeout=False,
                )
            return self._clients[key]

    def reset(self) -> None:
        """Forget the fault window and the known index (tests, and after reconfiguration)."""
        self._down_until = 0.0
        self._ready_alias = None

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, what: str, exc: BaseException) -> None:
        self._down_until = time.monotonic() + settings.ELASTICSEARCH_RETRY_AFTER
        self._ready_alias = None
        logger.warning(
            "Elasticsearch %s failed (%s: %s); answering from the database for %ss",
            what, type(exc).__name__, str(exc)[:200], settings.ELASTICSEARCH_RETRY_AFTER,
        )

    def _read(self, what: str, call: Callable, fallback: Callable):
        """A storefront read: from Elasticsearch, or from the database when it fails."""
        if not self.available():
            return fallback()
        try:
            return call()
        except READ_FAILURES as exc:
            self._failed(what, exc)
            return fallback()

    # --- the index ---

    def create_index(self, name: str, *, aliases: Iterable[str] = ()) -> None:
        body = index_body(name)
        self.client.indices.create(
            index=name,
            settings=body["settings"],
            mappings=body["mappings"],
            aliases={alias: {} for alias in aliases} or None,
        )

    def new_index_name(self) -> str:
        return f"{self.alias}-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(2)}"

    def ensure_index(self) -> None:
        """Create the index behind the alias when there is none yet (first start)."""
        if self._ready_alias == self.alias:
            return
        if not self.client.indices.exists_alias(name=self.alias):
            self.create_index(self.new_index_name(), aliases=[self.alias])
        self._ready_alias = self.alias

    def rebuilding(self) -> bool:
        try:
            return bool(self.client.indices.exists_alias(name=self.building_alias))
        except FAILURES:
            return True  # unknown: keep the pending records, the replay serves them later

    def documents(self, product_ids: list[int]) -> dict[int, dict]:
        """The documents of those listings shoppers may see now (the others are absent)."""
        from backend.catalog.models import Product
        from backend.catalog.selectors import CategoryAttributeIndex, storefront_products

        from ..facets import in_stock_expression

        tree = CategoryAttributeIndex()
        products = (
            storefront_products(Product.objects.filter(pk__in=product_ids))
            .select_related("vendor")
            .annotate(has_stock=in_stock_expression())
            .order_by("pk")
        )
        found = {}
        for product in products:
            document = self.document(product)
            attributes = product.attributes or {}
            brand = str(attributes.get(BRAND) or "").strip() or None
            weight = min(product.sales_count, 2**31 - 2) + 1
            source = {
                "name": product.name,
                "body": document.body,
                "slug": product.slug,
                "category_id": str(product.category_id),
                "category_path": [str(pk) for pk in tree.chain(product.category_id)],
                "vendor_id": str(product.vendor_id),
                "vendor_name": product.vendor.name,
                "brand": brand,
                "attributes": [f"{slug}={value}" for slug, value in sorted(attributes.items()) if slug != BRAND and value],
                "price_min": None if product.price_min_amount is None else str(product.price_min_amount),
                "price_max": None if product.price_max_amount is None else str(product.price_max_amount),
                "currency": product.currency,
                "in_stock": bool(product.has_stock),
                "rating": None if product.rating_avg is None else str(product.rating_avg),
                "sales": product.sales_count,
                "published_at": product.published_at.isoformat() if product.published_at else None,
                "suggest": {"input": [product.name[:200]], "weight": weight},
            }
            if brand:
                source["brand_suggest"] = {"input": [brand[:200]], "weight": weight}
            found[product.pk] = source
        return found

    def _bulk(self, operations: list[dict], *, index: str) -> None:
        if not operations:
            return
        response = self.client.bulk(operations=operations, index=index)
        if response.get("errors"):
            problems = [
                item
                for entry in response["items"]
                for action, item in entry.items()
                if item.get("status", 200) >= 300 and not (action == "delete" and item.get("status") == 404)
            ]
            if problems:
                raise RuntimeError(f"Elasticsearch refused {len(problems)} documents: {str(problems[0])[:300]}")

    def sync(self, product_ids: list[int]) -> None:
        """Write the visible listings among these, delete the others (raises when unreachable)."""
        try:
            self.ensure_index()
            documents = self.documents(product_ids)
            operations: list[dict] = []
            for pk in product_ids:
                if pk in documents:
                    operations += [{"index": {"_id": str(pk)}}, documents[pk]]
                else:
                    operations.append({"delete": {"_id": str(pk)}})
            self._bulk(operations, index=self.alias)
        except FAILURES as exc:
            self._failed("indexing", exc)
            raise
        # Back up: the storefront may ask again.
        self._down_until = 0.0

    def index_products(self, products: Iterable) -> None:
        self.sync([p.pk for p in products])

    def remove_product(self, product_id: int) -> None:
        self.sync([product_id])

    def clear(self) -> None:
        """Replaced by rebuild(): the live index is never emptied."""

    def rebuild(self, batches: Iterable[list[int]], *, progress: Callable[[int], None] = lambda n: None) -> str:
        """Copy every visible listing into a new index, then point the alias at it in one request."""
        name = self.new_index_name()
        self.create_index(name, aliases=[self.building_alias])
        try:
            for ids in batches:
                documents = self.documents(ids)
                operations: list[dict] = []
                for pk, source in documents.items():
                    operations += [{"index": {"_id": str(pk)}}, source]
                self._bulk(operations, index=name)
                progress(len(ids))
            self.client.indices.refresh(index=name)
            old = []
            if self.client.indices.exists_alias(name=self.alias):
                old = list(self.client.indices.get_alias(name=self.alias).body)
            actions = [{"remove": {"index": index, "alias": self.alias}} for index in old]
            actions += [{"add": {"index": name, "alias": self.alias}}, {"remove": {"index": name, "alias": self.building_alias}}]
            self.client.indices.update_aliases(actions=actions)
        except BaseException:
            self.client.options(ignore_status=404).indices.delete(index=name)
            raise
        for index in old:
            self.client.options(ignore_status=404).indices.delete(index=index)
        self._ready_alias = self.alias
        return name

    # --- reads ---

    def _search(self) -> Search:
        return Search(using=self.client, index=self.alias)

    def _ids(self, text: str, size: int) -> list[int]:
        """Best match first; equal scores by sales."""
        search = self._search().query(text_query(text)).sort("_score", {"sales": "desc"}).source(False)
        response = search.extra(size=size, track_total_hits=False).execute()
        return [int(hit.meta.id) for hit in response.hits]

    def search(self, query: str, *, limit: int | None = None) -> list[int]:
        text = (query or "").strip()
        if not text:
            return []
        size = min(limit or MAX_IDS, MAX_IDS)
        return self._read("search", lambda: self._ids(text, size), lambda: get_database_backend().search(text, limit=limit))

    def filter_queryset(self, queryset: QuerySet, query: str, *, rank: bool = False) -> QuerySet:
        """The best matches (MAX_RANKED by relevance, else MAX_IDS) narrowed by the caller's SQL filters
        and visibility."""
        text = (query or "").strip()
        if not text:
            return queryset
        return self._read(
            "search",
            lambda: _ranked(queryset, self._ids(text, MAX_RANKED if rank else MAX_IDS), rank),
            lambda: get_database_backend().filter_queryset(queryset, text, rank=rank),
        )

    def facets(self, base: QuerySet, query: ProductQuery, *, vendor_label=None) -> Facets:
        return self._read(
            "facets",
            lambda: self._facets(query, vendor_label or str),
            lambda: get_database_backend().facets(base, query, vendor_label=vendor_label),
        )

    def facets_body(self, query: ProductQuery) -> tuple[dict, list]:
        """The one request that counts every facet (each with the other facets' filters)."""
        from backend.catalog.selectors import CategoryAttributeIndex

        from ..facets import facet_attributes

        clauses = filter_clauses(query)
        bounds = price_bounds()
        ranges = [
            {"key": str(lo), "from": str(lo), **({"to": str(hi)} if hi is not None else {})}
            for lo, hi in zip(bounds, bounds[1:] + [None])
        ]
        aggs: dict = {
            "all": {"filter": _others(clauses)},
            "categories": {"filter": _others(clauses, "category"), "aggs": {"values": {"terms": {"field": "category_path", "size": 500}}}},
            "vendors": {"filter": _others(clauses, "vendor"), "aggs": {"values": {"terms": {"field": "vendor_id", "size": TERMS_SIZE}}}},
            "brands": {"filter": _others(clauses, "brand"), "aggs": {"values": {"terms": {"field": "brand", "size": TERMS_SIZE}}}},
            "prices": {"filter": _others(clauses, "price"), "aggs": {"values": {"range": {"field": "price_min", "ranges": ranges, "keyed": False}}}},
            "in_stock": {"filter": {"bool": {"filter": _others(clauses, "in_stock")["bool"]["filter"] + [{"term": {"in_stock": True}}]}}},
            "ratings": {
                "filter": _others(clauses, "rating"),
                "aggs": {"values": {"filters": {"filters": {str(t): {"range": {"rating": {"gte": str(t)}}} for t in RATING_THRESHOLDS}}}},
            },
        }
        attributes = facet_attributes(CategoryAttributeIndex(), query.category_id)
        for attribute in attributes:
            aggs[f"attribute:{attribute.slug}"] = {
                "filter": _others(clauses, f"attribute:{attribute.slug}"),
                "aggs": {"values": {"terms": {"field": "attributes", "size": TERMS_SIZE, "include": f"{re.escape(attribute.slug)}=.*"}}},
            }
        body: dict = {"size": 0, "track_total_hits": True, "aggs": aggs}
        if query.text.strip():
            body["query"] = text_query(query.text.strip()).to_dict()
        return body, attributes

    def _facets(self, query: ProductQuery, vendor_label) -> Facets:
        from backend.catalog.models import Category
        from backend.vendors.models import Vendor

        body, attributes = self.facets_body(query)
        aggs = self.client.search(index=self.alias, body=body)["aggregations"]

        def buckets(name):
            return aggs[name]["values"]["buckets"]

        counts = {int(b["key"]): b["doc_count"] for b in buckets("categories")}
        names = {
            pk: (name, slug, parent)
            for pk, name, slug, parent in Category.objects.filter(pk__in=list(counts)).values_list("id", "name", "slug", "parent_id")
        }
        vendor_counts = [(int(b["key"]), b["doc_count"]) for b in buckets("vendors")]
        vendor_names = dict(Vendor.objects.filter(pk__in=[pk for pk, _ in vendor_counts]).values_list("id", "name"))
        attribute_facets = []
        selected = query.attribute_map
        for attribute in attributes:
            values = []
            for b in buckets(f"attribute:{attribute.slug}"):
                value = b["key"].split("=", 1)[1]
                values.append(FacetValue(value, value, b["doc_count"], value in selected.get(attribute.slug, ())))
            if values:
                attribute_facets.append(AttributeFacet(slug=attribute.slug, name=attribute.name, values=values))
        bounds = price_bounds()
        price_counts = {b["key"]: b["doc_count"] for b in buckets("prices")}
        rating_buckets = aggs["ratings"]["values"]["buckets"]
        return Facets(
            total=aggs["all"]["doc_count"],
            categories=category_tree(counts, query.category_id, {pk: v for pk, v in names.items() if pk in counts}),
            vendors=[
                FacetValue(vendor_label(pk), vendor_names.get(pk, str(pk)), n, pk == query.vendor_id)
                for pk, n in vendor_counts
                if pk in vendor_names
            ],
            brands=[FacetValue(b["key"], b["key"], b["doc_count"], b["key"] in query.brands) for b in buckets("brands")],
            attributes=attribute_facets,
            price_ranges=[
                PriceRangeFacet(gte=lo, lt=hi, count=price_counts.get(str(lo), 0))
                for lo, hi in zip(bounds, bounds[1:] + [None])
            ],
            in_stock=aggs["in_stock"]["doc_count"],
            ratings=[RatingFacet(gte=t, count=rating_buckets[str(t)]["doc_count"]) for t in RATING_THRESHOLDS],
            source="elasticsearch",
        )

    def suggest_body(self, prefix: str, limit: int) -> dict:
        return {
            "_source": ["name", "slug"],
            "suggest": {
                "brands": {"prefix": prefix, "completion": {"field": "brand_suggest", "size": limit, "skip_duplicates": True}},
                "products": {"prefix": prefix, "completion": {"field": "suggest", "size": limit, "skip_duplicates": True}},
            },
        }

    def suggest(self, base: QuerySet, prefix: str, *, limit: int = 8) -> list[Suggestion]:
        prefix = (prefix or "").strip()
        if not prefix:
            return []

        def call():
            suggestions = self.client.search(index=self.alias, body=self.suggest_body(prefix, limit))["suggest"]
            found = [Suggestion(text=o["text"], kind="brand") for o in suggestions["brands"][0]["options"]]
            found = found[: max(1, limit // 3)]
            for option in suggestions["products"][0]["options"]:
                if len(found) >= limit:
                    break
                found.append(Suggestion(text=option["_source"]["name"], kind="product", slug=option["_source"]["slug"]))
            return found

        return self._read("suggest", call, lambda: get_database_backend().suggest(base, prefix, limit=limit))

    def health(self) -> str:
        """The cluster's status colour (raises when unreachable)."""
        return self.client.cluster.health()["status"]


def _ranked(queryset: QuerySet, ids: list[int], rank: bool) -> QuerySet:
    from django.db.models import Case, IntegerField, Value, When

    queryset = queryset.filter(pk__in=ids)
    if rank:
        positions = [When(pk=pk, then=Value(position)) for position, pk in enumerate(ids)]
        queryset = queryset.annotate(
            search_rank=Case(*positions, default=Value(len(ids)), output_field=IntegerField())
        ).order_by("search_rank", "pk")
    return queryset
