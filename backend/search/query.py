"""What a shopper asks of the catalog (text, filters, sort) and the facets that answer it.

The same ProductQuery drives the product list and the facets on every backend.
Each facet's counts are computed with every OTHER selected filter applied, so
picking a brand narrows the vendors and categories but still lists the other
brands with their counts (the usual faceted navigation of a large mall).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.conf import settings

BRAND = "brand"
# Facets a filter belongs to: computing facet X drops filter X only.
FACET_NAMES = ("category", "vendor", "brand", "attributes", "price", "in_stock", "rating")
SORTS = ("relevance", "price", "sales", "newest", "rating", "name")
RATING_THRESHOLDS = (Decimal(4), Decimal(3), Decimal(2), Decimal(1))


@dataclass(frozen=True)
class ProductQuery:
    text: str = ""
    category_id: int | None = None
    vendor_id: int | None = None
    brands: tuple[str, ...] = ()
    # (attribute slug, accepted values): a listing matches one of the values of every attribute named.
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    price_gte: Decimal | None = None
    price_lte: Decimal | None = None
    in_stock: bool | None = None
    rating_gte: Decimal | None = None

    def without(self, facet: str | None) -> ProductQuery:
        """This query with one facet's own filter dropped (attributes: all attribute filters)."""
        if facet == "category":
            return replace(self, category_id=None)
        if facet == "vendor":
            return replace(self, vendor_id=None)
        if facet == "brand":
            return replace(self, brands=())
        if facet == "price":
            return replace(self, price_gte=None, price_lte=None)
        if facet == "in_stock":
            return replace(self, in_stock=None)
        if facet == "rating":
            return replace(self, rating_gte=None)
        return self

    def without_attribute(self, slug: str) -> ProductQuery:
        return replace(self, attributes=tuple((s, v) for s, v in self.attributes if s != slug))

    @property
    def attribute_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.attributes)


def price_bounds() -> list[Decimal]:
    """Bucket edges of the price facet, from settings.SEARCH_PRICE_RANGES ("0,50,100,...")."""
    return [Decimal(str(edge)) for edge in settings.SEARCH_PRICE_RANGES]


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class CategoryFacet:
    category_id: int
    name: str
    slug: str
    count: int
    selected: bool = False
    children: list[CategoryFacet] = field(default_factory=list)


@dataclass
class AttributeFacet:
    slug: str
    name: str
    values: list[FacetValue]


@dataclass
class PriceRangeFacet:
    gte: Decimal
    lt: Decimal | None
    count: int


@dataclass
class RatingFacet:
    gte: Decimal
    count: int


@dataclass
class Facets:
    total: int
    categories: list[CategoryFacet]
    vendors: list[FacetValue]
    brands: list[FacetValue]
    attributes: list[AttributeFacet]
    price_ranges: list[PriceRangeFacet]
    in_stock: int
    ratings: list[RatingFacet]
    # Which backend answered: "database", "elasticsearch", or "database" after a fallback.
    source: str = "database"


@dataclass
class Suggestion:
    text: str
    kind: str  # "product" or "brand"
    slug: str | None = None


def category_tree(
    counts: dict[int, int], selected: int | None, categories: dict[int, tuple[str, str, int | None]]
) -> list[CategoryFacet]:
    """The category facet as a tree: `counts` are per category INCLUDING its descendants
    (rolled up already); only categories with listings appear. `categories` maps id ->
    (name, slug, parent_id)."""
    nodes = {
        pk: CategoryFacet(category_id=pk, name=name, slug=slug, count=counts[pk], selected=pk == selected)
        for pk, (name, slug, _parent) in categories.items()
        if counts.get(pk)
    }
    roots = []
    for pk, node in nodes.items():
        parent = categories[pk][2]
        if parent is not None and parent in nodes:
            nodes[parent].children.append(node)
        else:
            roots.append(node)

    def order(items: list[CategoryFacet]) -> list[CategoryFacet]:
        items.sort(key=lambda n: (-n.count, n.name, n.category_id))
        for item in items:
            order(item.children)
        return items

    return order(roots)


def roll_up(direct: dict[int, int], parent_of: dict[int, int | None]) -> dict[int, int]:
    """Counts per category including every category below it."""
    total: dict[int, int] = {}
    for pk, count in direct.items():
        node, seen = pk, set()
        while node is not None and node not in seen:
            seen.add(node)
            total[node] = total.get(node, 0) + count
            node = parent_of.get(node)
    return total
