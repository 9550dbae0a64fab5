"""Product reviews and ratings on the storefront: productReviewCreate, Product.reviews / rating, Vendor.rating."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import strawberry
import strawberry_django
from strawberry import relay
from strawberry.types import Info

from backend.reviews import models, selectors, services
from backend.reviews.error_codes import ReviewErrorCode

from .core import current_user, error_type, run_mutation
from .ids import key_or_not_found

ReviewError = error_type("ReviewError", ReviewErrorCode)


@strawberry.type(name="Rating")
class Rating:
    average: Decimal | None = strawberry.field(description="Mean of the visible reviews, 2 places; null without any.")
    count: int


@strawberry_django.type(models.ProductReview, name="ProductReview")
class ProductReview(relay.Node):
    id: relay.NodeID[int]
    rating: strawberry.auto
    comment: strawberry.auto
    created_at: datetime

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return selectors.visible_reviews(queryset)

    @strawberry_django.field(
        select_related=["author"], only=["author__first_name", "author__last_name"],
        description="The shopper's first name and last initial.",
    )
    def author_name(self) -> str:
        first, last = self.author.first_name.strip(), self.author.last_name.strip()
        return " ".join(part for part in (first, f"{last[:1]}." if last else "") if part) or "Shopper"


def vendor_rating(vendor) -> Rating:
    """From the annotations of selectors.vendor_rating_annotations (one query with the vendor)."""
    average = vendor.review_rating_average
    if average is not None:
        average = Decimal(str(average)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Rating(average=average, count=vendor.review_rating_count)


@strawberry.type
class ProductReviewPayload:
    review: ProductReview | None = None
    errors: list[ReviewError]


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(description="Rate a product you received (the order is completed); once per order line.")
    def product_review_create(
        self, info: Info, order_line: relay.GlobalID, rating: int, comment: str | None = None
    ) -> ProductReviewPayload:
        def action():
            line_id = key_or_not_found(order_line, "OrderLine", field="orderLine")
            review = services.product_review_create(
                actor=current_user(info), order_line_id=line_id, rating=rating, comment=comment or ""
            )
            return {"review": review}

        return run_mutation(ProductReviewPayload, ReviewError, action)


__all__ = ["ProductReview", "Rating", "ReviewMutation", "vendor_rating"]
