"""What each caller may see of the catalog: the one place it is decided, for both APIs."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.models import Vendor
from backend.vendors.selectors import visible_to_vendor_staff

from .models import Attribute, AttributeScope, Category, ListingStatus, Product, ProductMedia, ProductVariant
from .vendor_rules import storefront_vendor_statuses


def manages_all_listings(user) -> bool:
    """Platform staff who review listings or manage vendors see every vendor's catalog."""
    return has_permission(user, PlatformPermission.REVIEW_LISTINGS) or has_permission(
        user, PlatformPermission.MANAGE_VENDORS
    )


def listing_vendors(user, queryset=None) -> QuerySet[Vendor]:
    """Vendors the user may create listings for."""
    queryset = Vendor.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=manages_all_listings(user), vendor_field="pk")


def visible_products(user, queryset=None) -> QuerySet[Product]:
    """Core API: a vendor's staff see only their own listings, review staff see all, others none."""
    queryset = Product.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=manages_all_listings(user))


def visible_variants(user, queryset=None) -> QuerySet[ProductVariant]:
    queryset = ProductVariant.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(user, queryset, sees_every_vendor=manages_all_listings(user))


def visible_media(user, queryset=None) -> QuerySet[ProductMedia]:
    queryset = ProductMedia.objects.all() if queryset is None else queryset
    return visible_to_vendor_staff(
        user, queryset, sees_every_vendor=manages_all_listings(user), vendor_field="product__vendor_id"
    )


def review_queue(queryset=None) -> QuerySet[Product]:
    """Listings and revisions waiting for a reviewer, oldest request first."""
    queryset = Product.objects.all() if queryset is None else queryset
    return queryset.filter(review_requested_at__isnull=False).order_by("review_requested_at", "id")


# --- Storefront ---


def storefront_products(queryset=None) -> QuerySet[Product]:
    """What shoppers may see: published listings of sellable vendors."""
    queryset = Product.objects.all() if queryset is None else queryset
    return queryset.filter(status=ListingStatus.PUBLISHED, vendor__status__in=storefront_vendor_statuses())


def storefront_media(queryset=None) -> QuerySet[ProductMedia]:
    """Only approved images are shown; images added to a revision wait."""
    queryset = ProductMedia.objects.all() if queryset is None else queryset
    return queryset.filter(is_live=True)


def storefront_thumbnails(queryset=None) -> QuerySet[ProductMedia]:
    """The first approved image of each product: one row per product, however many it has."""
    first = (
        storefront_media(ProductMedia.objects.filter(product_id=OuterRef("product_id")))
        .order_by("sort_order", "id")
        .values("pk")[:1]
    )
    return storefront_media(queryset).filter(pk=Subquery(first))


def storefront_vendors(queryset=None) -> QuerySet[Vendor]:
    queryset = Vendor.objects.all() if queryset is None else queryset
    return queryset.filter(status__in=storefront_vendor_statuses())


# --- The category tree and the attributes its categories hand down ---


class CategoryAttributeIndex:
    """The category tree and every attribute, read in two queries, for inherited look-ups.

    Both tables are small; one instance serves a whole request (see `for_request`).
    """

    def __init__(self):
        self.parent_of: dict[int, int | None] = dict(Category.objects.values_list("id", "parent_id"))
        self.own: dict[int, list[Attribute]] = {}
        for attribute in Attribute.objects.order_by("sort_order", "id"):
            self.own.setdefault(attribute.category_id, []).append(attribute)

    @classmethod
    def for_request(cls, request) -> CategoryAttributeIndex:
        cache = getattr(request, "dataloaders", None)
        if cache is None:
            return cls()
        if "category_attributes" not in cache:
            cache["category_attributes"] = cls()
        return cache["category_attributes"]

    def chain(self, category_id: int) -> list[int]:
        """The category and its ancestors, root first."""
        chain, node, seen = [], category_id, set()
        while node is not None and node not in seen:
            seen.add(node)
            chain.append(node)
            node = self.parent_of.get(node)
        return list(reversed(chain))

    def attributes_for(self, category_id: int, scope: str | None = None) -> list[Attribute]:
        """Attributes of the category and of its ancestors; a nearer category's slug wins."""
        by_slug: dict[str, Attribute] = {}
        for node in self.chain(category_id):
            for attribute in self.own.get(node, []):
                by_slug[attribute.slug] = attribute
        found = list(by_slug.values())
        if scope is not None:
            found = [a for a in found if a.scope == scope]
        return found

    def values_for(self, category_id: int, values: dict, scope: str) -> list[tuple[Attribute | None, str, str]]:
        """(attribute, slug, value) for stored values, in the attributes' order; unknown slugs last."""
        known = self.attributes_for(category_id, scope)
        rows = [(a, a.slug, values[a.slug]) for a in known if a.slug in values]
        slugs = {a.slug for a in known}
        rows += [(None, slug, value) for slug, value in values.items() if slug not in slugs]
        return rows

