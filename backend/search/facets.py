"""Filters and facets computed in SQL: the database backend's answer, and every backend's fallback.

The number of queries is fixed by the query itself (one per facet, one per
filterable attribute of the selected category, one for the category tree),
never by the number of listings.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.db.models.fields.json import KeyTextTransform

from backend.catalog import models as catalog
from backend.catalog.selectors import CategoryAttributeIndex

from .query import (
    BRAND,
    AttributeFacet,
    FacetValue,
    Facets,
    PriceRangeFacet,
    ProductQuery,
    RatingFacet,
    RATING_THRESHOLDS,
    category_tree,
    price_bounds,
    roll_up,
)

TextFilter = Callable[[QuerySet, str], QuerySet]


def in_stock_expression():
    return Exists(catalog.ProductVariant.objects.filter(product=OuterRef("pk"), stock__gt=0))


def attribute_key(slug: str) -> Cast:
    """A listing attribute's value as plain text (compared as text on every database)."""
    return Cast(KeyTextTransform(slug, "attributes"), output_field=TextField())


def descendants(parent_of: dict[int, int | None], root: int) -> set[int]:
    """A category and every category below it, from the tree in memory."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in parent_of.items():
        children.setdefault(parent, []).append(pk)
    found, frontier = {root}, [root]
    while frontier:
        node = frontier.pop()
        for child in children.get(node, ()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def apply_filters(
    queryset: QuerySet, query: ProductQuery, *, text_filter: TextFilter | None = None, category_ids: set[int] | None = None
) -> QuerySet:
    """Narrow a product queryset by every filter of the query (and its text, when text_filter is given).
    `category_ids`: the selected category's subtree, when the caller has it already."""
    if query.category_id is not None:
        if category_ids is None:
            category_ids = catalog.Category.descendant_ids([query.category_id])
        queryset = queryset.filter(category_id__in=category_ids)
    if query.vendor_id is not None:
        queryset = queryset.filter(vendor_id=query.vendor_id)
    if query.brands:
        queryset = queryset.alias(_brand=attribute_key(BRAND)).filter(_brand__in=query.brands)
    for position, (slug, values) in enumerate(query.attributes):
        name = f"_attribute_{position}"
        queryset = queryset.alias(**{name: attribute_key(slug)}).filter(**{f"{name}__in": values})
    if query.price_gte is not None:
        queryset = queryset.filter(price_max_amount__gte=query.price_gte)
    if query.price_lte is not None:
        queryset = queryset.filter(price_min_amount__lte=query.price_lte)
    if query.in_stock is not None:
        queryset = queryset.filter(in_stock_expression()) if query.in_stock else queryset.exclude(in_stock_expression())
    if query.rating_gte is not None:
        queryset = queryset.filter(rating_avg__gte=query.rating_gte)
    if text_filter is not None and query.text.strip():
        queryset = text_filter(queryset, query.text.strip())
    return queryset


def facet_attributes(index: CategoryAttributeIndex, category_id: int | None) -> list[catalog.Attribute]:
    """Attributes shoppers filter by: the selected category's own and inherited product
    attributes, the brand apart (it has its own facet). Without a category, none."""
    if category_id is None:
        return []
    return [a for a in index.attributes_for(category_id, catalog.AttributeScope.PRODUCT) if a.slug != BRAND]


def _values(queryset: QuerySet, slug: str, selected: tuple[str, ...], limit: int) -> list[FacetValue]:
    rows = (
        queryset.annotate(_value=attribute_key(slug))
        .exclude(_value__isnull=True)
        .exclude(_value="")
        .values("_value")
        .annotate(n=Count("id"))
        .order_by("-n", "_value")[:limit]
    )
    return [FacetValue(value=r["_value"], label=r["_value"], count=r["n"], selected=r["_value"] in selected) for r in rows]


def database_facets(
    base: QuerySet, query: ProductQuery, *, text_filter: TextFilter, limit: int = 30, vendor_label=None
) -> Facets:
    """Facets over `base` (the products shoppers may see) for this query."""

    index = CategoryAttributeIndex()
    subtree = descendants(index.parent_of, query.category_id) if query.category_id is not None else None

    def scoped(facet: str | None, q: ProductQuery | None = None) -> QuerySet:
        q = query.without(facet) if q is None else q
        return apply_filters(base, q, text_filter=text_filter, category_ids=subtree).order_by()

    total = scoped(None).count()

    # Categories: direct counts, rolled up the tree read by the attribute index.
    direct = dict(scoped("category").values_list("category_id").annotate(n=Count("id")).values_list("category_id", "n"))
    counts = roll_up(direct, index.parent_of)
    names = {
        pk: (name, slug, parent)
        for pk, name, slug, parent in catalog.Category.objects.filter(pk__in=list(counts)).values_list(
            "id", "name", "slug", "parent_id"
        )
    }
    categories = category_tree(counts, query.category_id, names)

    vendor_rows = (
        scoped("vendor").values("vendor_id", "vendor__name").annotate(n=Count("id")).order_by("-n", "vendor__name")[:limit]
    )
    label = vendor_label or (lambda pk: str(pk))
    vendors = [
        FacetValue(value=label(r["vendor_id"]), label=r["vendor__name"], count=r["n"], selected=r["vendor_id"] == query.vendor_id)
        for r in vendor_rows
    ]
    brands = _values(scoped("brand"), BRAND, query.brands, limit)

    attributes = []
    selected_attributes = query.attribute_map
    for attribute in facet_attributes(index, query.category_id):
        queryset = scoped(None, query.without_attribute(attribute.slug))
        values = _values(queryset, attribute.slug, selected_attributes.get(attribute.slug, ()), limit)
        if values:
            attributes.append(AttributeFacet(slug=attribute.slug, name=attribute.name, values=values))

    bounds = price_bounds()
    ranges = list(zip(bounds, bounds[1:] + [None]))
    price_counts = scoped("price").aggregate(
        **{
            f"p{i}": Count("id", filter=Q(price_min_amount__gte=lo) & (Q(price_min_amount__lt=hi) if hi is not None else Q()))
            for i, (lo, hi) in enumerate(ranges)
        }
    )
    price_ranges = [PriceRangeFacet(gte=lo, lt=hi, count=price_counts[f"p{i}"]) for i, (lo, hi) in enumerate(ranges)]

    in_stock = scoped("in_stock").filter(in_stock_expression()).count()
    rating_counts = scoped("rating").aggregate(
        **{f"r{i}": Count("id", filter=Q(rating_avg__gte=t)) for i, t in enumerate(RATING_THRESHOLDS)}
    )
    ratings = [RatingFacet(gte=t, count=rating_counts[f"r{i}"]) for i, t in enumerate(RATING_THRESHOLDS)]
    return Facets(
        total=total,
        categories=categories,
        vendors=vendors,
        brands=brands,
        attributes=attributes,
        price_ranges=price_ranges,
        in_stock=in_stock,
        ratings=ratings,
    )


def database_brand_suggestions(base: QuerySet, prefix: str, limit: int) -> list[str]:
    rows = (
        base.annotate(_brand=attribute_key(BRAND))
        .filter(_brand__istartswith=prefix)
        .values("_brand")
        .annotate(n=Count("id"))
        .order_by("-n", "_brand")[:limit]
    )
    return [r["_brand"] for r in rows]


