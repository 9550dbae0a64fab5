from django.conf import settings
from django.db import models


class ProductReview(models.Model):
    """A shopper's rating of a product they received, one per order line."""

    order_line = models.OneToOneField("orders.OrderLine", on_delete=models.CASCADE, related_name="review")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="reviews")
    # Denormalised from the product so a store's rating is one aggregate over one index.
    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="product_reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    # Hidden by staff (abuse): not shown and not counted in any rating.
    is_hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["product", "is_hidden", "-created_at"]),
            models.Index(fields=["vendor", "is_hidden"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.product_id} by {self.author_id}"
