"""Which reviews shoppers see, and store ratings."""

from __future__ import annotations

from django.db.models import Avg, Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import ProductReview


def visible_reviews(queryset: QuerySet[ProductReview] | None = None) -> QuerySet[ProductReview]:
    """Reviews shown on the storefront and counted in ratings: those staff did not hide."""
    queryset = ProductReview.objects.all() if queryset is None else queryset
    return queryset.filter(is_hidden=False)


def _per_vendor(aggregate):
    return Subquery(
        visible_reviews()
        .filter(vendor_id=OuterRef("pk"))
        .order_by()
        .values("vendor_id")
        .annotate(value=aggregate)
        .values("value")[:1]
    )


def vendor_rating_annotations() -> dict:
    """Annotations on a Vendor queryset: the average and count over its products' visible reviews.

    Correlated subqueries, so a page of stores gets its ratings in the same single query.
    """
    return {
        "review_rating_average": _per_vendor(Avg("rating")),
        "review_rating_count": Coalesce(_per_vendor(Count("pk")), 0, output_field=IntegerField()),
    }
