import graphene
from django.core.files.storage import default_storage
from graphene_django import DjangoObjectType

from backend.catalog import models, selectors
from backend.catalog.error_codes import CatalogErrorCode

from ..core.types import CountableConnection, Money, choices_enum, error_type

CatalogError = error_type("CatalogError", CatalogErrorCode)

ListingStatusEnum = choices_enum("ListingStatus", models.ListingStatus)
ProductRevisionStatusEnum = choices_enum("ProductRevisionStatus", models.RevisionStatus)
AttributeScopeEnum = choices_enum("AttributeScope", models.AttributeScope)
ImageSizeEnum = graphene.Enum("ImageSize", [("THUMBNAIL", "thumbnail"), ("CARD", "card"), ("DETAIL", "detail")])
ImageFormatEnum = graphene.Enum("ImageFormat", [("WEBP", "webp"), ("JPEG", "jpeg")])


def media_url(request, path: str | None) -> str | None:
    """Absolute URL of a stored rendition."""
    if not path:
        return None
    url = default_storage.url(path)
    return request.build_absolute_uri(url) if request is not None and url.startswith("/") else url


def attribute_index(info) -> selectors.CategoryAttributeIndex:
    return selectors.CategoryAttributeIndex.for_request(info.context)


class AttributeType(DjangoObjectType):
    scope = AttributeScopeEnum(required=True)
    choices = graphene.List(graphene.NonNull(graphene.String), required=True)

    class Meta:
        model = models.Attribute
        name = "Attribute"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "slug", "name", "required", "sort_order")
        description = "An attribute that a category's listings (and those of its subcategories) use."

    @staticmethod
    def resolve_scope(root: models.Attribute, _info):
        return models.AttributeScope(root.scope).value


class AttributeValue(graphene.ObjectType):
    attribute = graphene.Field(AttributeType, description="Null when the category no longer has the attribute.")
    slug = graphene.String(required=True)
    name = graphene.String(required=True)
    value = graphene.String(required=True)


def attribute_values(info, category_id: int, values: dict, scope: str) -> list[AttributeValue]:
    return [
        AttributeValue(attribute=attribute, slug=slug, name=attribute.name if attribute else slug, value=value)
        for attribute, slug, value in attribute_index(info).values_for(category_id, values or {}, scope)
    ]


class CategoryType(DjangoObjectType):
    parent = graphene.Field(lambda: CategoryType)
    attributes = graphene.List(
        graphene.NonNull(AttributeType),
        required=True,
        description="Attributes of this category's listings, including those inherited from its ancestors.",
    )

    class Meta:
        model = models.Category
        name = "Category"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "name", "slug", "description", "children")

    @staticmethod
    def resolve_parent(root: models.Category, _info):
        return root.parent

    @staticmethod
    def resolve_attributes(root: models.Category, info):
        return attribute_index(info).attributes_for(root.pk)


class ProductMediaType(DjangoObjectType):
    url = graphene.String(
        size=ImageSizeEnum(default_value="card"),
        format=ImageFormatEnum(default_value="webp"),
        description="Absolute URL of the image in the given size and format.",
    )
    is_live = graphene.Boolean(required=True, description="Shown to shoppers (approved).")
    removal_requested = graphene.Boolean(required=True, description="Removed in the pending revision.")

    class Meta:
        model = models.ProductMedia
        name = "ProductMedia"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "alt", "width", "height", "sort_order", "created_at")

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_media(info.context.user, queryset)

    @staticmethod
    def resolve_url(root: models.ProductMedia, info, size="card", format="webp"):
        # graphene hands enum arguments over as members.
        return media_url(info.context, root.path(getattr(size, "value", size), getattr(format, "value", format)))


class ProductVariantType(DjangoObjectType):
    price = graphene.Field(Money, required=True)
    weight = graphene.Decimal(required=True, description="Weight in kg.")
    attributes = graphene.List(graphene.NonNull(AttributeValue), required=True)
    product = graphene.Field(lambda: ProductType, required=True)

    class Meta:
        model = models.ProductVariant
        name = "ProductVariant"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "sku", "stock", "sort_order", "created_at", "updated_at")

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_variants(info.context.user, queryset)

    @staticmethod
    def resolve_price(root: models.ProductVariant, _info):
        return root.price

    @staticmethod
    def resolve_weight(root: models.ProductVariant, _info):
        return root.weight_kg

    @staticmethod
    def resolve_attributes(root: models.ProductVariant, info):
        return attribute_values(info, root.product.category_id, root.attributes, models.AttributeScope.VARIANT)

    @staticmethod
    def resolve_product(root: models.ProductVariant, _info):
        return root.product


class ProductRevisionType(DjangoObjectType):
    status = ProductRevisionStatusEnum(required=True)
    category = graphene.Field(CategoryType, required=True)
    attributes = graphene.List(graphene.NonNull(AttributeValue), required=True)
    media_added = graphene.List(
        graphene.NonNull(ProductMediaType), required=True, description="Images waiting for approval."
    )
    media_removed = graphene.List(
        graphene.NonNull(ProductMediaType), required=True, description="Live images this revision removes."
    )

    class Meta:
        model = models.ProductRevision
        name = "ProductRevision"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "name", "description", "reason", "created_at", "updated_at", "decided_at")

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.filter(product__in=selectors.visible_products(info.context.user))

    @staticmethod
    def resolve_status(root: models.ProductRevision, _info):
        return models.RevisionStatus(root.status).value

    @staticmethod
    def resolve_category(root: models.ProductRevision, _info):
        return root.category

    @staticmethod
    def resolve_attributes(root: models.ProductRevision, info):
        return attribute_values(info, root.category_id, root.attributes, models.AttributeScope.PRODUCT)

    @staticmethod
    def resolve_media_added(root: models.ProductRevision, _info):
        if root.status != models.RevisionStatus.PENDING:
            return []
        return [m for m in root.product.media.all() if not m.is_live]

    @staticmethod
    def resolve_media_removed(root: models.ProductRevision, _info):
        if root.status != models.RevisionStatus.PENDING:
            return []
        return [m for m in root.product.media.all() if m.removal_requested]


class PriceRange(graphene.ObjectType):
    start = graphene.Field(Money, required=True)
    stop = graphene.Field(Money, required=True)


class ProductType(DjangoObjectType):
    status = ListingStatusEnum(required=True)
    category = graphene.Field(CategoryType, required=True)
    vendor = graphene.Field("backend.graphql.vendor.types.VendorType", required=True)
    attributes = graphene.List(graphene.NonNull(AttributeValue), required=True)
    variants = graphene.List(graphene.NonNull(ProductVariantType), required=True)
    media = graphene.List(
        graphene.NonNull(ProductMediaType),
        required=True,
        description="Every image, including those waiting for review (see isLive).",
    )
    thumbnail = graphene.Field(
        ProductMediaType, description="The first image (the first live one on a published listing)."
    )
    price_range = graphene.Field(PriceRange, description="Lowest and highest variant price.")
    pending_revision = graphene.Field(
        ProductRevisionType, description="Edits of the published listing waiting for review."
    )
    revisions = graphene.List(graphene.NonNull(ProductRevisionType), required=True)
    rating_avg = graphene.Decimal()

    class Meta:
        model = models.Product
        name = "Product"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id",
            "name",
            "slug",
            "description",
            "status_reason",
            "review_requested_at",
            "published_at",
            "created_at",
            "updated_at",
            "sales_count",
            "rating_count",
        )

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_products(info.context.user, queryset)

    @staticmethod
    def resolve_status(root: models.Product, _info):
        return models.ListingStatus(root.status).value

    @staticmethod
    def resolve_category(root: models.Product, _info):
        return root.category

    @staticmethod
    def resolve_vendor(root: models.Product, _info):
        # Whoever may see the listing may see whose it is.
        return root.vendor

    @staticmethod
    def resolve_attributes(root: models.Product, info):
        return attribute_values(info, root.category_id, root.attributes, models.AttributeScope.PRODUCT)

    @staticmethod
    def resolve_variants(root: models.Product, _info):
        return root.variants.all()

    @staticmethod
    def resolve_media(root: models.Product, _info):
        return root.media.all()

    @staticmethod
    def resolve_thumbnail(root: models.Product, _info):
        media = list(root.media.all())
        if root.status == models.ListingStatus.PUBLISHED:
            media = [m for m in media if m.is_live] or media
        return media[0] if media else None

    @staticmethod
    def resolve_price_range(root: models.Product, _info):
        prices = root.price_range
        return PriceRange(start=prices[0], stop=prices[1]) if prices else None

    @staticmethod
    def resolve_pending_revision(root: models.Product, _info):
        if hasattr(root, "pending_revisions"):
            return root.pending_revisions[0] if root.pending_revisions else None
        return root.revisions.filter(status=models.RevisionStatus.PENDING).first()

    @staticmethod
    def resolve_revisions(root: models.Product, _info):
        return root.revisions.select_related("category").order_by("-created_at", "-id")

    @staticmethod
    def resolve_rating_avg(root: models.Product, _info):
        return root.rating_avg
