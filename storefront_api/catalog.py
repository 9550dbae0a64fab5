"""Shoppers browse the catalog: published listings of sellable vendors, their stores, the category tree.

What a shopper may see is decided once, in each type's get_queryset (through
backend.catalog.selectors); the optimizer turns the selected fields into
select_related / prefetch_related, so a page costs the same number of queries
whatever its size.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Annotated, Optional

import strawberry
import strawberry_django
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.db.models import F, Prefetch, QuerySet
from strawberry import relay
from strawberry.types import Info
from strawberry_django.pagination import get_cached_total_count
from strawberry_django.queryset import get_queryset_config
from strawberry_django.relay import DjangoListConnection

from backend.catalog import models, selectors
from backend.core.counts import cached_count
from backend.campaigns.selectors import shown_enrolments
from backend.promotions.flash_sales import shown_flash_sales
from backend.promotions.group_buying import shown_group_deals
from backend.checkout.reservations import reserved_subquery
from backend.notifications.selectors import favourite_count_annotation, favourite_count_of
from backend.analytics import hooks as analytics
from backend.search import get_search_backend
from backend.search.facets import apply_filters, in_stock_expression
from backend.search.query import ProductQuery
from backend.reviews import selectors as review_selectors
from backend.reviews.models import ProductReview as ProductReviewModel
from backend.vendors.models import Vendor as VendorModel

from .core import Money
from .reviews import ProductReview, Rating, vendor_rating
from .ids import NO_KEY, key_of


def _request(info: Info):
    return info.context.request


def _absolute(info: Info, path: str | None) -> str | None:
    if not path:
        return None
    url = _storage_url(path)
    if not url.startswith("/"):
        return url
    request = _request(info)
    # The scheme and host are the same for every image of a response: worked out once per request.
    origin = getattr(request, "_absolute_origin", None)
    if origin is None:
        origin = request._absolute_origin = request.build_absolute_uri("/")[:-1]
    return origin + url


@lru_cache(maxsize=50_000)
def _cached_url(path: str) -> str:
    return default_storage.url(path)


def _storage_url(path: str) -> str:
    """The storage's URL of a file; cached where it is a pure function of the name (files on disk
    under MEDIA_URL), not where a storage may sign or expire its links."""
    if isinstance(default_storage, FileSystemStorage):
        return _cached_url(path)
    return default_storage.url(path)


@receiver(setting_changed)
def _forget_urls(*, setting, **_kwargs):
    if setting in ("MEDIA_URL", "STORAGES"):
        _cached_url.cache_clear()


def _attribute_index(info: Info) -> selectors.CategoryAttributeIndex:
    return selectors.CategoryAttributeIndex.for_request(_request(info))


@strawberry.type(name="Connection", description="A connection to a list of items.")
class CountedConnection(DjangoListConnection[relay.NodeType]):
    """Counts with a separate COUNT query instead of a COUNT(*) OVER () window on the page query.

    The window makes the database read and sort every matching row to return one page;
    a plain count walks an index and the page query stops after `first` rows.
    """

    @classmethod
    def resolve_connection(cls, nodes, *, info, before=None, after=None, first=None, last=None, **kwargs):
        config = get_queryset_config(nodes) if isinstance(nodes, QuerySet) else None
        if config is not None and config.optimized_by_prefetching:
            return super().resolve_connection(
                nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
            )
        connection = relay.ListConnection.resolve_connection.__func__(
            cls, nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
        )
        connection.nodes = nodes
        return connection

    @strawberry.field(description="Total quantity of existing nodes.")
    def total_count(self) -> int | None:
        """Asked only when selected; long lists' counts come from the cache (backend/core/counts.py)."""
        assert self.nodes is not None
        try:
            return self.edges[0].node._strawberry_total_count  # type: ignore[attr-defined]
        except (IndexError, AttributeError):
            pass
        if isinstance(self.nodes, QuerySet):
            found = get_cached_total_count(self.nodes)
            return found if found is not None else cached_count(self.nodes)
        return len(self.nodes)


@strawberry.enum(name="ImageSize")
class ImageSize(Enum):
    THUMBNAIL = "thumbnail"
    CARD = "card"
    DETAIL = "detail"


@strawberry.enum(name="ImageFormat")
class ImageFormat(Enum):
    WEBP = "webp"
    JPEG = "jpeg"


@strawberry.type(description="An attribute a category's listings use, e.g. size or colour.")
class Attribute:
    slug: str
    name: str
    variant: bool = strawberry.field(description="True when it tells the variants apart (size, colour).")
    choices: list[str]


@strawberry.type
class AttributeValue:
    slug: str
    name: str
    value: str


def _attribute_values(info: Info, category_id: int, values: dict, scope: str) -> list[AttributeValue]:
    return [
        AttributeValue(slug=slug, name=attribute.name if attribute else slug, value=value)
        for attribute, slug, value in _attribute_index(info).values_for(category_id, values or {}, scope)
    ]


@strawberry_django.type(models.Category, name="Category")
class Category(relay.Node):
    id: relay.NodeID[int]
    name: strawberry.auto
    slug: strawberry.auto
    description: strawberry.auto
    parent: Optional["Category"]
    children: list["Category"]

    @strawberry_django.field(only=["id"], description="Attributes of its listings, inherited ones included.")
    def attributes(self, info: Info) -> list[Attribute]:
        return [
            Attribute(
                slug=a.slug,
                name=a.name,
                variant=a.scope == models.AttributeScope.VARIANT,
                choices=[str(c) for c in a.choices],
            )
            for a in _attribute_index(info).attributes_for(self.pk)
        ]


# Renditions are always loaded: clients alias `url` with different sizes, and the
# optimizer skips the hints of fields aliased with different arguments.
@strawberry_django.type(models.ProductMedia, name="ProductImage", only=["renditions"])
class ProductImage:
    alt: strawberry.auto
    width: strawberry.auto
    height: strawberry.auto

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return selectors.storefront_media(queryset)

    @strawberry_django.field(description="Absolute URL of the image in a size and format.")
    def url(self, info: Info, size: ImageSize = ImageSize.CARD, format: ImageFormat = ImageFormat.WEBP) -> str | None:
        return _absolute(info, self.path(size.value, format.value))


@strawberry_django.type(models.ProductVariant, name="ProductVariant")
class ProductVariant(relay.Node):
    id: relay.NodeID[int]
    sku: strawberry.auto
    @strawberry_django.field(
        only=["stock"],
        annotate={"reserved_quantity": reserved_subquery()},
        description="In stock and not held for a shopper's payment in progress.",
    )
    def quantity_available(self) -> int:
        return max(0, self.stock - (getattr(self, "reserved_quantity", 0) or 0))

    @strawberry_django.field(only=["price_amount", "currency"])
    def price(self) -> Money:
        return Money(amount=self.price_amount, currency=self.currency)

    @strawberry_django.field(
        only=["price_amount", "currency"],
        prefetch_related=[
            lambda info: Prefetch("flash_sales", queryset=shown_flash_sales(), to_attr="shown_flash_sales")
        ],
        description="The flash sale on now (its price, the regular price, a badge, the countdown's end), or the next one coming.",
    )
    def flash_sale(self) -> Annotated["FlashSaleOffer", strawberry.lazy("storefront_api.discounts")] | None:
        from .discounts import flash_offer

        sales = getattr(self, "shown_flash_sales", None)
        if sales is None:
            sales = list(shown_flash_sales().filter(variant_id=self.pk))
        return flash_offer(sales[0], self.price_amount, self.currency) if sales else None

    @strawberry_django.field(
        only=["price_amount", "currency"],
        prefetch_related=[
            lambda info: Prefetch("group_deals", queryset=shown_group_deals(), to_attr="shown_group_deals")
        ],
        description=(
            "The group deal (拼团) on now: its price, the regular price, the group size and the open groups "
            "with the members each still needs and its expiry (a countdown)."
        ),
    )
    def group_deal(self) -> Annotated["GroupDealOffer", strawberry.lazy("storefront_api.discounts")] | None:
        from .discounts import group_offer

        deals = getattr(self, "shown_group_deals", None)
        if deals is None:
            deals = list(shown_group_deals().filter(variant_id=self.pk))
        return group_offer(deals[0], self.price_amount, self.currency) if deals else None

    @strawberry_django.field(
        only=["price_amount", "currency"],
        prefetch_related=[
            lambda info: Prefetch(
                "campaign_enrolments", queryset=shown_enrolments().select_related("campaign")
                .order_by("campaign__starts_at", "id"), to_attr="shown_enrolments",
            )
        ],
        description="The platform campaign's price on now (price, regular price, badge, countdown's end), or the next one coming.",
    )
    def campaign(self) -> Annotated["CampaignOffer", strawberry.lazy("storefront_api.campaigns")] | None:
        from .campaigns import campaign_offer

        enrolments = getattr(self, "shown_enrolments", None)
        if enrolments is None:
            enrolments = list(shown_enrolments().select_related("campaign").filter(variant_id=self.pk)
                              .order_by("campaign__starts_at", "id"))
        return campaign_offer(enrolments[0], self.price_amount, self.currency) if enrolments else None

    @strawberry_django.field(only=["weight_kg"], description="Weight in kg.")
    def weight(self) -> Decimal:
        return self.weight_kg

    @strawberry_django.field(only=["attributes", "product__category_id"], select_related=["product"])
    def attributes(self, info: Info) -> list[AttributeValue]:
        return _attribute_values(info, self.product.category_id, self.attributes, models.AttributeScope.VARIANT)


@strawberry.type
class PriceRange:
    start: Money
    stop: Money


@strawberry.enum(name="ProductSortField")
class ProductSortField(Enum):
    RELEVANCE = "relevance"
    PRICE = "price"
    NEWEST = "newest"
    NAME = "name"
    SALES = "sales"
    RATING = "rating"


@strawberry.enum(name="OrderDirection")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input
class ProductSortingInput:
    field: ProductSortField = strawberry.field(
        description="RELEVANCE orders by best match when searching (newest first without a search)."
    )
    direction: OrderDirection | None = strawberry.field(
        default=None, description="Defaults: ascending for price and name, descending otherwise."
    )


@strawberry.input(description="Listings having one of these values of a category attribute (a facet's values).")
class AttributeFilterInput:
    slug: str
    values: list[str]


@strawberry.input
class ProductFilterInput:
    search: str | None = strawberry.field(default=None, description="Words of the name; Chinese works too.")
    category: relay.GlobalID | None = strawberry.field(default=None, description="The category or any below it.")
    vendor: relay.GlobalID | None = None
    brands: list[str] | None = strawberry.field(default=None, description="Any of these brands (the brand facet).")
    attributes: list[AttributeFilterInput] | None = strawberry.field(
        default=None, description="Every attribute named, with one of its values (the attribute facets)."
    )
    price_gte: Decimal | None = strawberry.field(default=None, description="Some variant costs at least this.")
    price_lte: Decimal | None = strawberry.field(default=None, description="Some variant costs at most this.")
    in_stock: bool | None = None
    rating_gte: Decimal | None = strawberry.field(default=None, description="Average rating at least this.")


_SORT_COLUMNS = {
    ProductSortField.PRICE: ("price_min_amount", OrderDirection.ASC),
    ProductSortField.NEWEST: ("published_at", OrderDirection.DESC),
    ProductSortField.NAME: ("name", OrderDirection.ASC),
    ProductSortField.SALES: ("sales_count", OrderDirection.DESC),
    ProductSortField.RATING: ("rating_avg", OrderDirection.DESC),
}


def _in_stock():
    return in_stock_expression()


def _global_pk(global_id: relay.GlobalID | None, type_name: str) -> int | None:
    """The primary key of a global ID of the given type; NO_KEY (matches nothing) for any other ID."""
    if global_id is None:
        return None
    key = key_of(global_id, type_name)
    return NO_KEY if key is None else key


MAX_SELECTED = 20


def product_query(filter: ProductFilterInput | None) -> ProductQuery:
    """The shopper's filters as the search domain's query."""
    if filter is None:
        return ProductQuery()
    # Facet selections are short lists; longer ones are cut (they could only slow the query down).
    attributes: dict[str, tuple[str, ...]] = {}
    for item in (filter.attributes or ())[:MAX_SELECTED]:
        values = tuple(dict.fromkeys(v for v in item.values if v))[:MAX_SELECTED]
        if item.slug and values:
            attributes[item.slug] = values
    return ProductQuery(
        text=(filter.search or "").strip(),
        category_id=_global_pk(filter.category, "Category"),
        vendor_id=_global_pk(filter.vendor, "Vendor"),
        brands=tuple(dict.fromkeys(b for b in filter.brands or () if b))[:MAX_SELECTED],
        attributes=tuple(attributes.items()),
        price_gte=filter.price_gte,
        price_lte=filter.price_lte,
        in_stock=filter.in_stock,
        rating_gte=filter.rating_gte,
    )


def browse_products(
    queryset: QuerySet, filter: ProductFilterInput | None, sort_by: ProductSortingInput | None
) -> QuerySet:
    """Apply a shopper's filters and sort order; visibility is left to Product.get_queryset."""
    query = product_query(filter)
    queryset = apply_filters(queryset, query)
    relevance = sort_by is None or sort_by.field == ProductSortField.RELEVANCE
    if query.text:
        queryset = get_search_backend().filter_queryset(queryset, query.text, rank=relevance)
        if relevance:
            return queryset
    field = ProductSortField.NEWEST if relevance else sort_by.field
    column, default_direction = _SORT_COLUMNS[field]
    direction = (sort_by.direction if sort_by and not relevance else None) or default_direction
    # Only ratings may be missing on a published listing; elsewhere plain ordering lets
    # PostgreSQL walk the (status, column, id) indexes instead of sorting every row.
    nulls_last = True if field == ProductSortField.RATING else None
    if direction == OrderDirection.ASC:
        return queryset.order_by(F(column).asc(nulls_last=nulls_last), "id")
    return queryset.order_by(F(column).desc(nulls_last=nulls_last), "-id")


# --- Facets and suggestions ---


@strawberry.type(description="One value of a facet: pass `value` back in the filter to select it.")
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@strawberry.type(description="A category with the number of matching listings in it and below it.")
class CategoryFacet:
    id: relay.GlobalID
    name: str
    slug: str
    count: int
    selected: bool
    children: list["CategoryFacet"]


@strawberry.type
class AttributeFacet:
    slug: str
    name: str
    values: list[FacetValue]


@strawberry.type(description="Listings whose lowest price is at least `gte` and below `lt` (no upper end when null).")
class PriceRangeFacet:
    gte: Decimal
    lt: Decimal | None
    count: int


@strawberry.type(description="Listings rated at least `gte` on average.")
class RatingFacet:
    gte: Decimal
    count: int


@strawberry.type(
    description=(
        "Counts for narrowing a product search. Each facet is counted with every other selected filter "
        "applied, and without its own, so the other values of a selected facet stay visible."
    )
)
class ProductFacets:
    total_count: int
    categories: list[CategoryFacet]
    vendors: list[FacetValue] = strawberry.field(description="`value` is the store's ID (filter.vendor).")
    brands: list[FacetValue]
    attributes: list[AttributeFacet] = strawberry.field(
        description="The selected category's listing attributes (none without a category)."
    )
    price_ranges: list[PriceRangeFacet]
    in_stock: int = strawberry.field(description="Listings with some variant in stock.")
    ratings: list[RatingFacet]


@strawberry.enum(name="SearchSuggestionKind")
class SearchSuggestionKind(Enum):
    PRODUCT = "product"
    BRAND = "brand"


@strawberry.type(description="A completion of what the shopper is typing.")
class SearchSuggestion:
    text: str
    kind: SearchSuggestionKind
    slug: str | None = strawberry.field(description="The listing's slug, for a PRODUCT suggestion.")


def _category_facet(node) -> CategoryFacet:
    return CategoryFacet(
        id=relay.GlobalID("Category", str(node.category_id)),
        name=node.name,
        slug=node.slug,
        count=node.count,
        selected=node.selected,
        children=[_category_facet(child) for child in node.children],
    )


def _facet_value(value) -> FacetValue:
    return FacetValue(value=value.value, label=value.label, count=value.count, selected=value.selected)


def product_facets(filter: ProductFilterInput | None) -> ProductFacets:
    facets = get_search_backend().facets(
        selectors.storefront_products(),
        product_query(filter),
        vendor_label=lambda pk: str(relay.GlobalID("Vendor", str(pk))),
    )
    return ProductFacets(
        total_count=facets.total,
        categories=[_category_facet(node) for node in facets.categories],
        vendors=[_facet_value(v) for v in facets.vendors],
        brands=[_facet_value(v) for v in facets.brands],
        attributes=[
            AttributeFacet(slug=a.slug, name=a.name, values=[_facet_value(v) for v in a.values]) for a in facets.attributes
        ],
        price_ranges=[PriceRangeFacet(gte=r.gte, lt=r.lt, count=r.count) for r in facets.price_ranges],
        in_stock=facets.in_stock,
        ratings=[RatingFacet(gte=r.gte, count=r.count) for r in facets.ratings],
    )


@strawberry_django.type(VendorModel, name="Vendor")
class Vendor(relay.Node):
    """A store as shoppers see it."""

    id: relay.NodeID[int]
    name: strawberry.auto
    slug: strawberry.auto
    description: strawberry.auto

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return selectors.storefront_vendors(queryset)

    @strawberry_django.field(only=["logo"], description="Absolute URL of the store logo, if it has one.")
    def logo_url(self, info: Info) -> str | None:
        renditions = self.logo or {}
        for formats in renditions.values():
            if isinstance(formats, dict) and formats:
                return _absolute(info, formats.get("webp") or next(iter(formats.values())))
        return None

    @strawberry_django.field(
        annotate=review_selectors.vendor_rating_annotations(),
        description="Average over the store's products' visible reviews, computed with the store's own query.",
    )
    def rating(self) -> Rating:
        return vendor_rating(self)

    @strawberry_django.field(
        annotate={"favourite_total": favourite_count_annotation("vendor")}, description="Shoppers who saved the store (收藏)."
    )
    def favourite_count(self) -> int:
        return favourite_count_of(self, "vendor")

    @strawberry_django.connection(CountedConnection["Product"], description="The store's listings.")
    def products(self, sort_by: ProductSortingInput | None = None) -> QuerySet[models.Product]:
        return browse_products(models.Product.objects.filter(vendor_id=self.pk), None, sort_by)


@strawberry_django.type(models.Product, name="Product")
class Product(relay.Node):
    """A published listing, as last approved (edits waiting for review do not show)."""

    id: relay.NodeID[int]
    name: strawberry.auto
    slug: strawberry.auto
    description: strawberry.auto
    category: Category
    vendor: Vendor
    variants: list[ProductVariant]
    media: list[ProductImage] = strawberry_django.field(description="Approved images, in order.")
    sales_count: strawberry.auto
    rating_count: strawberry.auto
    published_at: datetime | None
    in_stock: bool = strawberry_django.field(annotate={"in_stock": _in_stock()})

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return selectors.storefront_products(queryset)

    @strawberry_django.field(only=["rating_avg", "rating_count"], description="Visible reviews' average and count.")
    def rating(self) -> Rating:
        return Rating(average=self.rating_avg, count=self.rating_count)

    @strawberry_django.field(
        annotate={"favourite_total": favourite_count_annotation("product")}, description="Shoppers who saved it (收藏)."
    )
    def favourite_count(self) -> int:
        return favourite_count_of(self, "product")

    @strawberry_django.connection(CountedConnection[ProductReview], description="Visible reviews, newest first.")
    def reviews(self) -> QuerySet[ProductReviewModel]:
        return review_selectors.visible_reviews(ProductReviewModel.objects.filter(product_id=self.pk))

    @strawberry_django.field(
        prefetch_related=[
            lambda info: Prefetch(
                "media", queryset=selectors.storefront_thumbnails(models.ProductMedia.objects.all()), to_attr="thumbnails"
            )
        ],
        description="The first approved image.",
    )
    def thumbnail(self) -> ProductImage | None:
        return self.thumbnails[0] if self.thumbnails else None

    @strawberry_django.field(only=["price_min_amount", "price_max_amount", "currency"])
    def price_range(self) -> PriceRange | None:
        if self.price_min_amount is None:
            return None
        return PriceRange(
            start=Money(amount=self.price_min_amount, currency=self.currency),
            stop=Money(amount=self.price_max_amount, currency=self.currency),
        )

    @strawberry_django.field(only=["attributes", "category_id"])
    def attributes(self, info: Info) -> list[AttributeValue]:
        return _attribute_values(info, self.category_id, self.attributes, models.AttributeScope.PRODUCT)


@strawberry.type
class CatalogQuery:
    @strawberry_django.connection(
        CountedConnection[Product],
        description=(
            "Published listings of sellable stores. Newest first by default; best match first "
            "when searching without sortBy."
        ),
    )
    def products(
        self, filter: ProductFilterInput | None = None, sort_by: ProductSortingInput | None = None
    ) -> QuerySet[models.Product]:
        analytics.searched(filter.search if filter is not None else None)
        return browse_products(models.Product.objects.all(), filter, sort_by)

    @strawberry.field(
        description=(
            "Facet counts for the same filter as `products`: categories (a tree), stores, brands, the "
            "selected category's attributes, price ranges, in stock and ratings."
        )
    )
    def product_facets(self, filter: ProductFilterInput | None = None) -> ProductFacets:
        return product_facets(filter)

    @strawberry.field(description="Completions of brand and listing names for a typed prefix (Chinese too).")
    def search_suggestions(self, prefix: str, first: int = 8) -> list[SearchSuggestion]:
        first = max(1, min(first, 20))
        found = get_search_backend().suggest(selectors.storefront_products(), prefix[:100], limit=first)
        return [SearchSuggestion(text=s.text, kind=SearchSuggestionKind(s.kind), slug=s.slug) for s in found]

    @strawberry_django.field(description="A published listing by its slug.")
    def product(self, slug: str) -> Product | None:
        analytics.product_viewed(slug)
        return models.Product.objects.filter(slug=slug)

    @strawberry_django.field(description="A store page by its slug.")
    def vendor(self, slug: str) -> Vendor | None:
        analytics.store_viewed(slug)
        return VendorModel.objects.filter(slug=slug)

    @strawberry_django.field(description="Top-level categories; walk `children` for the tree.")
    def categories(self) -> list[Category]:
        return models.Category.objects.filter(parent__isnull=True).order_by("name", "id")

    @strawberry_django.field(description="A category by its slug.")
    def category(self, slug: str) -> Category | None:
        return models.Category.objects.filter(slug=slug)
