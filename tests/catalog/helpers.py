"""GraphQL documents and helpers shared by the catalog and storefront tests."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from graphql_relay import to_global_id

from backend.catalog import services
from backend.catalog.models import Attribute, AttributeScope, Category, ListingStatus, Product
from backend.core.permissions import PlatformPermission

from ..conftest import image_bytes, make_user
from ..factories import vendor_with_owner

ERRORS = "errors { field code message }"
PRODUCT_FIELDS = """
  id name slug description status statusReason reviewRequestedAt
  category { id slug }
  vendor { id name }
  attributes { slug name value }
  variants { id sku price { amount currency } stock weight attributes { slug value } }
  media { id isLive removalRequested width height url(size: THUMBNAIL, format: JPEG) }
  priceRange { start { amount currency } stop { amount } }
  pendingRevision { id status name description attributes { slug value } mediaAdded { id } mediaRemoved { id } }
"""

PRODUCT_CREATE = f"""
mutation($input: ProductCreateInput!) {{
  productCreate(input: $input) {{ product {{ {PRODUCT_FIELDS} }} {ERRORS} }}
}}"""
PRODUCT_UPDATE = f"""
mutation($id: ID!, $input: ProductUpdateInput!) {{
  productUpdate(id: $id, input: $input) {{ product {{ {PRODUCT_FIELDS} }} {ERRORS} }}
}}"""
PRODUCT_DELETE = f"""
mutation($id: ID!) {{ productDelete(id: $id) {{ product {{ id }} {ERRORS} }} }}"""
MEDIA_CREATE = f"""
mutation($product: ID!, $image: Upload!) {{
  productMediaCreate(product: $product, image: $image) {{
    media {{ id isLive width height url thumb: url(size: THUMBNAIL, format: JPEG) }} {ERRORS}
  }}
}}"""
MEDIA_DELETE = f"""
mutation($id: ID!) {{ productMediaDelete(id: $id) {{ product {{ id }} {ERRORS} }} }}"""
VARIANT_CREATE = f"""
mutation($product: ID!, $input: ProductVariantInput!) {{
  productVariantCreate(product: $product, input: $input) {{
    productVariant {{ id sku price {{ amount currency }} stock weight }} {ERRORS}
  }}
}}"""
VARIANT_UPDATE = f"""
mutation($id: ID!, $input: ProductVariantUpdateInput!) {{
  productVariantUpdate(id: $id, input: $input) {{
    productVariant {{ id sku price {{ amount currency }} stock weight }} {ERRORS}
  }}
}}"""
VARIANT_DELETE = f"""
mutation($id: ID!) {{ productVariantDelete(id: $id) {{ product {{ id }} {ERRORS} }} }}"""
SUBMIT = f"""
mutation($id: ID!) {{ productSubmitForReview(id: $id) {{ product {{ id status }} {ERRORS} }} }}"""
APPROVE = f"""
mutation($id: ID!) {{ productApprove(id: $id) {{ product {{ id status name }} {ERRORS} }} }}"""
REJECT = f"""
mutation($id: ID!, $reason: String!) {{
  productReject(id: $id, reason: $reason) {{ product {{ id name status statusReason }} {ERRORS} }}
}}"""
DELIST = f"""
mutation($id: ID!, $reason: String) {{
  productDelist(id: $id, reason: $reason) {{ product {{ id status statusReason }} {ERRORS} }}
}}"""
PRODUCT = f"query($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"
PRODUCTS = """
query($filter: ProductFilterInput, $first: Int) {
  products(first: $first, filter: $filter) {
    totalCount
    edges { node { id name status vendor { name } category { slug }
      thumbnail { url } priceRange { start { amount } }
      variants { sku price { amount } } media { url }
      attributes { name value } pendingRevision { name } } }
  }
}"""
REVIEW_QUEUE = """
{ reviewQueue(first: 50) { totalCount edges { node { id name status pendingRevision { name } } } } }"""


def gid(obj) -> str:
    names = {"ProductVariant": "ProductVariant", "ProductMedia": "ProductMedia"}
    type_name = names.get(type(obj).__name__, type(obj).__name__)
    return to_global_id(type_name, obj.pk)


def upload(name="photo.png", size=(400, 400), color=(200, 30, 30), fmt="PNG") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(size=size, fmt=fmt, color=color), content_type="image/png")


def build_catalog() -> dict:
    """Apparel > T-shirts (size and colour for variants, material for listings), 3C > Phones (capacity)."""
    apparel = Category.objects.create(name="Apparel", slug="apparel")
    tshirts = Category.objects.create(name="T-shirts", slug="t-shirts", parent=apparel)
    electronics = Category.objects.create(name="3C", slug="3c")
    phones = Category.objects.create(name="Phones", slug="phones", parent=electronics)
    Attribute.objects.create(
        category=apparel, slug="size", name="Size", scope=AttributeScope.VARIANT, choices=["S", "M", "L"], required=True
    )
    Attribute.objects.create(category=apparel, slug="colour", name="Colour", scope=AttributeScope.VARIANT)
    Attribute.objects.create(category=tshirts, slug="material", name="Material", scope=AttributeScope.PRODUCT)
    Attribute.objects.create(category=phones, slug="brand", name="Brand", scope=AttributeScope.PRODUCT, required=True)
    Attribute.objects.create(
        category=phones, slug="capacity", name="Capacity", scope=AttributeScope.VARIANT, choices=["128GB", "256GB"]
    )
    return {"apparel": apparel, "tshirts": tshirts, "electronics": electronics, "phones": phones}


def reviewer():
    return make_user(is_staff=True, permissions=[PlatformPermission.REVIEW_LISTINGS])


def listed_product(
    vendor,
    owner,
    category,
    *,
    name="Cotton T-shirt",
    status=ListingStatus.PUBLISHED,
    price="99.00",
    stock=5,
    image=True,
    sku=None,
    attributes=None,
    variant_attributes=None,
) -> Product:
    """A listing made through the services and taken to `status` through review."""
    if variant_attributes is None and category.slug in ("apparel", "t-shirts"):
        variant_attributes = {"size": "M"}
    if attributes is None and category.slug == "phones":
        attributes = {"brand": "Acme"}
    product = services.product_create(
        actor=owner,
        vendor=vendor,
        category=category,
        name=name,
        description=f"About {name}",
        attributes=attributes or {},
        variants=[
            services.VariantData(
                sku=sku or f"SKU-{Product.objects.count() + 1}-{vendor.pk}",
                price=price,
                stock=stock,
                weight="0.200",
                attributes=variant_attributes or {},
            )
        ],
    )
    if image:
        media = services.product_media_create(actor=owner, product=product, image=upload())
        # What the worker does once the upload commits (a test runs inside one transaction).
        services.product_media_render(media_id=media.pk, original=media.path("card", "webp"))
    if status == ListingStatus.DRAFT:
        return product
    staff = reviewer()
    services.product_submit_for_review(actor=owner, product=product)
    if status == ListingStatus.PENDING_REVIEW:
        return product
    if status == ListingStatus.REJECTED:
        return services.product_reject(actor=staff, product=product, reason="Blurry photos")
    services.product_approve(actor=staff, product=product)
    if status == ListingStatus.DELISTED:
        services.product_delist(actor=owner, product=product)
    product.refresh_from_db()
    return product


def merchant(**vendor_fields):
    return vendor_with_owner(**vendor_fields)
