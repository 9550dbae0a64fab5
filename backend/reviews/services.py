"""Product reviews: written by the shopper after receipt, hidden by staff when abusive.

Product.rating_avg / rating_count are recomputed from the visible reviews under the
product's row lock (select_for_update), in the same transaction as the change: an
aggregate recompute rather than an incremental formula, so hiding, unhiding and
concurrent reviews can never drift the stored average.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count

from backend.catalog.models import Product
from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, require_permission
from backend.orders.models import OrderLine, OrderStatus
from backend.search import indexing as search_indexing

from .error_codes import ReviewErrorCode
from .models import ProductReview
from .selectors import visible_reviews

MAX_COMMENT = 2000
TWO_PLACES = Decimal("0.01")


def product_rating_recompute(*, product_id: int) -> Product:
    """Lock the product row and store the average (2 places, half up) and count of its visible reviews."""
    product = Product.objects.select_for_update(of=("self",)).only("pk").get(pk=product_id)
    totals = visible_reviews().filter(product_id=product_id).aggregate(average=Avg("rating"), count=Count("pk"))
    average = totals["average"]
    average = None if average is None else Decimal(str(average)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    Product.objects.filter(pk=product_id).update(rating_avg=average, rating_count=totals["count"])
    product.rating_avg, product.rating_count = average, totals["count"]
    search_indexing.products_changed([product_id])
    return product


def product_review_create(*, actor, order_line_id: int, rating: int, comment: str = "") -> ProductReview:
    """Only the order's shopper, only once the order completed, once per line."""
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise DomainError(ReviewErrorCode.INVALID, "The rating is from 1 to 5.", field="rating")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise DomainError(ReviewErrorCode.INVALID, f"At most {MAX_COMMENT} characters.", field="comment")
    if actor is None or not actor.is_authenticated:
        raise DomainError(ReviewErrorCode.PERMISSION_DENIED, "You need to sign in.")
    line = OrderLine.objects.select_related("order", "product").filter(pk=order_line_id).first()
    # Someone else's order line answers like one that does not exist.
    if line is None or line.order.user_id != actor.pk:
        raise DomainError(ReviewErrorCode.NOT_FOUND, "No such order line.", field="orderLine")
    if line.order.status != OrderStatus.COMPLETED:
        raise DomainError(
            ReviewErrorCode.ORDER_NOT_COMPLETED, "Reviews open once you confirm receipt.", field="orderLine"
        )
    if line.product_id is None:
        raise DomainError(ReviewErrorCode.NOT_FOUND, "This product no longer exists.", field="orderLine")
    with transaction.atomic():
        # The product lock orders concurrent reviews of one product (and their recompute).
        product_rating_recompute(product_id=line.product_id)
        if ProductReview.objects.filter(order_line_id=line.pk).exists():
            raise DomainError(ReviewErrorCode.ALREADY_REVIEWED, "You reviewed this already.", field="orderLine")
        try:
            with transaction.atomic():
                review = ProductReview.objects.create(
                    order_line=line, product_id=line.product_id, vendor_id=line.order.vendor_id, author=actor,
                    rating=rating, comment=comment,
                )
        except IntegrityError as error:  # a concurrent request for the same line won
            raise DomainError(ReviewErrorCode.ALREADY_REVIEWED, "You reviewed this already.", field="orderLine") from error
        product_rating_recompute(product_id=line.product_id)
    return review


def _set_hidden(*, actor, review: ProductReview, hidden: bool, reason: str) -> ProductReview:
    require_permission(actor, PlatformPermission.REVIEW_LISTINGS, ReviewErrorCode.PERMISSION_DENIED)
    with transaction.atomic():
        product_rating_recompute(product_id=review.product_id)  # lock first
        review = ProductReview.objects.select_for_update().get(pk=review.pk)
        if review.is_hidden == hidden:
            return review
        review.is_hidden = hidden
        review.hidden_reason = reason if hidden else ""
        review.save(update_fields=["is_hidden", "hidden_reason"])
        product_rating_recompute(product_id=review.product_id)
        audit_log(
            actor=actor, action="review.hide" if hidden else "review.unhide", target=review, reason=reason,
            product=review.product_id, rating=review.rating,
        )
    return review


def product_review_hide(*, actor, review: ProductReview, reason: str = "") -> ProductReview:
    """Staff hide an abusive review: off the storefront and out of the ratings."""
    return _set_hidden(actor=actor, review=review, hidden=True, reason=reason)


def product_review_unhide(*, actor, review: ProductReview) -> ProductReview:
    return _set_hidden(actor=actor, review=review, hidden=False, reason="")
