from django.db import models
from django.utils.text import slugify


class Category(models.Model):
    """A node of the category tree. Fee plans and listing attributes hang off categories."""

    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=128, unique=True, allow_unicode=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)
    allows_no_reason_return = models.BooleanField(
        default=True, help_text="Whether shoppers may return goods within 7 days without a reason."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name, allow_unicode=True)
        super().save(*args, **kwargs)

    def ancestors(self) -> list["Category"]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    @classmethod
    def descendant_ids(cls, category_ids) -> set[int]:
        """The given categories and everything below them, one query per tree level."""
        found = set(category_ids)
        frontier = set(found)
        while frontier:
            frontier = set(cls.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - found
            found |= frontier
        return found
