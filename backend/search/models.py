from django.db import models


class PendingIndex(models.Model):
    """A listing whose search document must be rewritten (an outbox for a remote index).

    Written in the same transaction as the change, so a crashed worker or an
    unreachable Elasticsearch loses nothing: the row stays until a sync has
    written the listing as it was after that change (same token), and the
    periodic replay retries what is left.
    """

    product_id = models.BigIntegerField(unique=True)
    token = models.CharField(max_length=32, help_text="Changes with every new change of the listing.")
    queued_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "pending search update"

    def __str__(self) -> str:
        return f"listing {self.product_id}"
