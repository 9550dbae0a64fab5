import graphene

from backend.catalog import services
from backend.catalog.error_codes import CatalogErrorCode
from backend.catalog.models import Category
from backend.catalog.selectors import listing_vendors
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission

from ..core.mutations import BaseMutation
from ..core.lookups import object_from_id
from ..core.nodes import get_node
from ..core.scalars import Upload
from .types import CatalogError, ProductMediaType, ProductType, ProductVariantType


class AttributeValueInput(graphene.InputObjectType):
    attribute = graphene.String(required=True, description="The attribute's slug, e.g. colour.")
    value = graphene.String(required=True)


class ProductVariantInput(graphene.InputObjectType):
    sku = graphene.String(required=True)
    price = graphene.Decimal(required=True, description="In the marketplace currency, e.g. \"199.00\".")
    stock = graphene.Int()
    weight = graphene.Decimal(description="Weight in kg, e.g. \"0.250\".")
    attributes = graphene.List(graphene.NonNull(AttributeValueInput))


class ProductVariantUpdateInput(graphene.InputObjectType):
    sku = graphene.String()
    price = graphene.Decimal()
    stock = graphene.Int()
    weight = graphene.Decimal()
    attributes = graphene.List(graphene.NonNull(AttributeValueInput))


class ProductCreateInput(graphene.InputObjectType):
    vendor = graphene.ID(description="Platform staff only: the vendor to list for.")
    category = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = graphene.String()
    attributes = graphene.List(graphene.NonNull(AttributeValueInput))
    variants = graphene.List(graphene.NonNull(ProductVariantInput))


class ProductUpdateInput(graphene.InputObjectType):
    category = graphene.ID()
    name = graphene.String()
    description = graphene.String()
    attributes = graphene.List(graphene.NonNull(AttributeValueInput))


def attribute_dict(values) -> dict[str, str] | None:
    if values is None:
        return None
    result: dict[str, str] = {}
    for item in values:
        if item.attribute in result:
            raise DomainError(CatalogErrorCode.INVALID, f"{item.attribute} is given twice.", field="attributes")
        result[item.attribute] = item.value
    return result


def fetch_category(global_id: str) -> Category:
    return object_from_id(Category.objects.all(), global_id, "Category", field="category")


def fetch_vendor(info, global_id: str):
    return object_from_id(listing_vendors(info.context.user), global_id, "Vendor", field="vendor")


def variant_data(item) -> services.VariantData:
    return services.VariantData(
        sku=item.sku,
        price=item.price,
        stock=item.get("stock"),
        weight=item.get("weight"),
        attributes=attribute_dict(item.get("attributes")) or {},
    )


def fetch_product(info, global_id, field="id"):
    # Locked so two decisions on one listing cannot interleave.
    return get_node(info, global_id, ProductType, field=field, for_update=True)


class ProductCreate(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        input = ProductCreateInput(required=True)

    class Meta:
        description = "Create a draft listing with its variants (a vendor's staff; platform staff name the vendor)."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, input):
        vendor = fetch_vendor(info, input.vendor) if input.get("vendor") else None
        product = services.product_create(
            actor=info.context.user,
            vendor=vendor,
            category=fetch_category(input.category),
            name=input.name,
            description=input.get("description") or "",
            attributes=attribute_dict(input.get("attributes")) or {},
            variants=[variant_data(item) for item in input.get("variants") or []],
        )
        return cls(product=product, errors=[])


class ProductUpdate(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        id = graphene.ID(required=True)
        input = ProductUpdateInput(required=True)

    class Meta:
        description = (
            "Edit a listing's reviewed fields. On a published listing the edit waits in a revision "
            "for review while the approved version stays on sale."
        )
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        product = fetch_product(info, id)
        product = services.product_update(
            actor=info.context.user,
            product=product,
            name=input.get("name"),
            description=input.get("description"),
            category=fetch_category(input.category) if input.get("category") else None,
            attributes=attribute_dict(input.get("attributes")),
        )
        return cls(product=product, errors=[])


class ProductDelete(BaseMutation):
    product = graphene.Field(ProductType, description="The deleted listing (its id is kept for the client).")

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Delete a listing that is not on sale or in review."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        product = fetch_product(info, id)
        pk = product.pk
        services.product_delete(actor=info.context.user, product=product)
        product.pk = pk
        return cls(product=product, errors=[])


class ProductVariantCreate(BaseMutation):
    product = graphene.Field(ProductType)
    product_variant = graphene.Field(ProductVariantType)

    class Arguments:
        product = graphene.ID(required=True)
        input = ProductVariantInput(required=True)

    class Meta:
        description = "Add a variant (no review needed)."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, product, input):
        listing = fetch_product(info, product, field="product")
        variant = services.product_variant_create(actor=info.context.user, product=listing, data=variant_data(input))
        return cls(product=listing, product_variant=variant, errors=[])


class ProductVariantUpdate(BaseMutation):
    product_variant = graphene.Field(ProductVariantType)

    class Arguments:
        id = graphene.ID(required=True)
        input = ProductVariantUpdateInput(required=True)

    class Meta:
        description = "Change a variant's SKU, price, stock, weight or attributes (no review needed)."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        variant = get_node(info, id, ProductVariantType, for_update=True)
        variant = services.product_variant_update(
            actor=info.context.user,
            variant=variant,
            sku=input.get("sku"),
            price=input.get("price"),
            stock=input.get("stock"),
            weight=input.get("weight"),
            attributes=attribute_dict(input.get("attributes")),
        )
        return cls(product_variant=variant, errors=[])


class ProductVariantDelete(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        variant = get_node(info, id, ProductVariantType, for_update=True)
        product = variant.product
        services.product_variant_delete(actor=info.context.user, variant=variant)
        return cls(product=product, errors=[])


class ProductMediaCreate(BaseMutation):
    product = graphene.Field(ProductType)
    media = graphene.Field(ProductMediaType)

    class Arguments:
        product = graphene.ID(required=True)
        image = Upload(required=True, description="JPEG, PNG, WebP or GIF; re-encoded without metadata.")
        alt = graphene.String()

    class Meta:
        description = "Upload a product image (multipart request)."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, product, image, alt=None):
        listing = fetch_product(info, product, field="product")
        media = services.product_media_create(actor=info.context.user, product=listing, image=image, alt=alt or "")
        return cls(product=listing, media=media, errors=[])


class ProductMediaDelete(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        media = get_node(info, id, ProductMediaType)
        product = media.product
        services.product_media_delete(actor=info.context.user, media=media)
        return cls(product=product, errors=[])


class ProductMediaReorder(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        product = graphene.ID(required=True)
        media = graphene.List(
            graphene.NonNull(graphene.ID), required=True, description="Every picture of the listing, in the new order."
        )

    class Meta:
        description = "Order a listing's pictures (the first is its thumbnail); applies at once."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, product, media):
        listing = get_node(info, product, ProductType, field="product")
        media_ids = [_media_pk(value) for value in media]
        listing = services.product_media_reorder(actor=info.context.user, product=listing, media_ids=media_ids)
        return cls(product=listing, errors=[])


def _media_pk(value: str) -> int:
    from graphql_relay import from_global_id

    try:
        type_name, pk = from_global_id(value)
        if type_name == "ProductMedia":
            return int(pk)
    except (TypeError, ValueError, UnicodeDecodeError):
        pass
    raise DomainError(CatalogErrorCode.INVALID, "Not a picture id.", field="media")


class ProductSubmitForReview(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Run the automatic listing checks and, when they pass, queue the listing for review."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        product = services.product_submit_for_review(actor=info.context.user, product=fetch_product(info, id))
        return cls(product=product, errors=[])


class ProductApprove(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Publish a listing waiting for review, or apply its pending revision."
        error_type_class = CatalogError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, id):
        product = services.product_approve(actor=info.context.user, product=fetch_product(info, id))
        return cls(product=product, errors=[])


class ProductReject(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True)

    class Meta:
        description = "Reject a listing waiting for review, or its pending revision (the live version stays)."
        error_type_class = CatalogError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, id, reason):
        product = services.product_reject(actor=info.context.user, product=fetch_product(info, id), reason=reason)
        return cls(product=product, errors=[])


class ProductDelist(BaseMutation):
    product = graphene.Field(ProductType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(description="Required when platform staff delist.")

    class Meta:
        description = "Take a published listing off sale (its vendor, or review staff with a reason)."
        error_type_class = CatalogError

    @classmethod
    def perform_mutation(cls, _root, info, id, reason=None):
        product = services.product_delist(
            actor=info.context.user, product=fetch_product(info, id), reason=reason or ""
        )
        return cls(product=product, errors=[])
