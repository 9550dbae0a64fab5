from django.conf import settings
from django.db import models
from django.utils.text import slugify

from backend.core.models import FastLoad


class Category(FastLoad, models.Model):
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


class AttributeScope(models.TextChoices):
    PRODUCT = "product", "Product (one value per listing)"
    VARIANT = "variant", "Variant (tells the variants apart, e.g. size or colour)"


class Attribute(models.Model):
    """An attribute the products of a category (and of every category below it) use."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="attributes")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=128)
    scope = models.CharField(max_length=16, choices=AttributeScope.choices, default=AttributeScope.PRODUCT)
    required = models.BooleanField(default=False)
    choices = models.JSONField(
        default=list, blank=True, help_text="Allowed values; an empty list allows any text."
    )
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "slug"], name="catalog_attribute_unique_slug")]

    def __str__(self) -> str:
        return f"{self.name} ({self.category})"


class ListingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_REVIEW = "pending_review", "Pending review"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"
    DELISTED = "delisted", "Delisted"


class Product(FastLoad, models.Model):
    """A listing of one vendor. Its own fields are the approved version shown to shoppers;
    edits of a published listing wait in a ProductRevision until reviewed."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="products")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=250)
    slug = models.SlugField(max_length=255, unique=True, allow_unicode=True)
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="Attribute slug -> value.")
    status = models.CharField(
        max_length=32, choices=ListingStatus.choices, default=ListingStatus.DRAFT, db_index=True
    )
    status_reason = models.TextField(blank=True, help_text="Why it was rejected or delisted.")
    # Set while the listing or a revision of it waits in the review queue (oldest first).
    review_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Denormalised from the variants by the catalog services, for sorting and filtering by price.
    currency = models.CharField(max_length=3, default="CNY")
    price_min_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, db_index=True)
    price_max_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Counters kept by the orders and reviews domains, for sorting.
    sales_count = models.PositiveIntegerField(default=0, db_index=True)
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True, db_index=True)
    rating_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "vendor"], name="catalog_product_status_vendor"),
            # The storefront's default order (newest first, id breaking ties) straight from the index.
            models.Index(fields=["status", "-published_at", "-id"], name="catalog_product_newest"),
            models.Index(fields=["status", "price_min_amount", "id"], name="catalog_product_price"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def price_range(self):
        from backend.core.money import Money

        if self.price_min_amount is None:
            return None
        return Money(self.price_min_amount, self.currency), Money(self.price_max_amount, self.currency)


class ProductVariant(FastLoad, models.Model):
    """One purchasable SKU of a product. The SKU is unique within the vendor."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    # Copied from the product so that the database enforces one SKU per vendor.
    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="+")
    sku = models.CharField(max_length=64)
    price_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    stock = models.PositiveIntegerField(default=0)
    weight_kg = models.DecimalField(max_digits=8, decimal_places=3, default=0)
    attributes = models.JSONField(default=dict, blank=True, help_text="Attribute slug -> value.")
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["vendor", "sku"], name="catalog_variant_sku_per_vendor")]

    def __str__(self) -> str:
        return f"{self.product} / {self.sku}"

    @property
    def price(self):
        from backend.core.money import Money

        return Money(self.price_amount, self.currency)


class ProductMedia(FastLoad, models.Model):
    """A product image, kept only as re-encoded renditions (the upload itself is not stored).

    On a published listing an added image waits (is_live False) and a removed one
    stays (removal_requested) until the listing's revision is reviewed.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="media")
    renditions = models.JSONField(default=dict, help_text="Size name -> format -> storage path.")
    width = models.PositiveIntegerField(help_text="Width of the uploaded picture.")
    height = models.PositiveIntegerField(help_text="Height of the uploaded picture.")
    sha256 = models.CharField(max_length=64)
    alt = models.CharField(max_length=250, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    is_live = models.BooleanField(default=False, db_index=True)
    removal_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name_plural = "product media"

    def __str__(self) -> str:
        return f"Image {self.pk} of {self.product}"

    def path(self, size: str = "card", fmt: str = "webp") -> str | None:
        return (self.renditions.get(size) or {}).get(fmt)


class RevisionStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ProductRevision(models.Model):
    """Proposed changes to the reviewed fields of a published listing.

    Holds the full proposed values; the product keeps the approved ones until a
    reviewer approves. `previous` records what was replaced, for the history.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="revisions")
    status = models.CharField(
        max_length=16, choices=RevisionStatus.choices, default=RevisionStatus.PENDING, db_index=True
    )
    name = models.CharField(max_length=250)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    attributes = models.JSONField(default=dict, blank=True)
    previous = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was rejected.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=models.Q(status="pending"),
                name="catalog_one_pending_revision_per_product",
            )
        ]

    def __str__(self) -> str:
        return f"Revision {self.pk} of {self.product} ({self.get_status_display()})"


class BannedWord(models.Model):
    """A word that listings may not contain, kept by staff; read by the banned-words plugin."""

    word = models.CharField(max_length=100, unique=True)
    note = models.CharField(max_length=250, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class ListingReview(Product):
    """The review queue in the staff console: listings and revisions waiting for a decision."""

    class Meta:
        proxy = True
        verbose_name = "listing review"
        verbose_name_plural = "listing review queue"
