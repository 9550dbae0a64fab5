"""Reads: favourite counts as annotations (one query with the products or stores), visible favourites."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from .models import Favourite, RestockAlert


def favourite_count_annotation(field: str):
    """Annotation on a Product (field="product") or Vendor ("vendor") queryset: how many shoppers saved it."""
    counts = (
        Favourite.objects.filter(**{f"{field}_id": OuterRef("pk")})
        .order_by()
        .values(f"{field}_id")
        .annotate(total=Count("pk"))
        .values("total")[:1]
    )
    return Coalesce(Subquery(counts), 0, output_field=IntegerField())


def favourite_count_of(obj, field: str) -> int:
    """The annotated count, or (an object loaded without the annotation, as a mutation returns it) one query."""
    total = getattr(obj, "favourite_total", None)
    return total if total is not None else Favourite.objects.filter(**{f"{field}_id": obj.pk}).count()


def favourites_of(user, *, kind: str | None = None):
    """The shopper's saved products and stores that shoppers may still see, newest first."""
    from backend.catalog.selectors import storefront_products, storefront_vendors

    if user is None or not user.is_authenticated:
        return Favourite.objects.none()
    visible = Q(product__in=storefront_products()) | Q(vendor__in=storefront_vendors())
    queryset = Favourite.objects.filter(user_id=user.pk).filter(visible).order_by("-created_at", "-pk")
    if kind == "product":
        queryset = queryset.filter(product__isnull=False)
    elif kind == "vendor":
        queryset = queryset.filter(vendor__isnull=False)
    return queryset


def restock_alerts_of(user):
    """The shopper's restock alerts on variants of listings shoppers may still see (a delisted
    listing, or one of a suspended store, leaves the list like a favourite does), newest first."""
    from backend.catalog.selectors import storefront_products

    if user is None or not user.is_authenticated:
        return RestockAlert.objects.none()
    return (
        RestockAlert.objects.filter(user_id=user.pk, variant__product__in=storefront_products())
        .select_related("variant")
        .order_by("-created_at", "-pk")
    )
