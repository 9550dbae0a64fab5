"""Catalog services: listings, variants, media and the listing review workflow.

Callers fetch objects through the selectors (so a vendor's staff only reach
their own listings); these functions hold every business rule. The search
index is updated here, in the same transaction, whenever a listing's indexed
text changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from backend.core.audit import audit_log
from backend.notifications.services import notify, restock_check
from backend.core.exceptions import DomainError, DomainErrors
from backend.core.media import (
    StagedFiles,
    delete_files_on_commit,
    original_as_renditions,
    rendition_paths,
    run_after_commit,
    store_original,
    store_renditions,
)
from backend.core.money import amount_from_input, quantize
from backend.core.permissions import PlatformPermission, require_authenticated, require_permission
from backend.core.uploads import check_image, render_sizes
from backend.search import indexing as search_indexing
from backend.vendors.selectors import vendor_of

from .error_codes import CatalogErrorCode
from .listing_checks import ListingContent, ListingImage, ListingProblem
from .models import (
    AttributeScope,
    Category,
    ListingStatus,
    Product,
    ProductMedia,
    ProductRevision,
    ProductVariant,
    RevisionStatus,
)
from .selectors import CategoryAttributeIndex, manages_all_listings
from .state_machines import listing_machine
from .vendor_rules import vendor_can_list, vendor_is_sellable

__all__ = [
    "VariantData",
    "vendor_can_list",
    "vendor_is_sellable",
    "product_create",
    "product_update",
    "product_delete",
    "product_variant_create",
    "product_variant_update",
    "product_variant_delete",
    "product_media_create",
    "product_media_delete",
    "product_submit_for_review",
    "product_approve",
    "product_reject",
    "product_delist",
    "product_refresh_price_range",
    "listing_content",
    "run_listing_checks",
]

# Renditions the storefront needs. Thumbnails are cropped square for grids.
MEDIA_SIZES = {"card": (600, 600), "detail": (1200, 1200)}
THUMBNAIL_SIZE = {"thumbnail": (200, 200)}

REVIEWED_FIELDS = ("name", "description", "category", "attributes")
NAME_MAX_LENGTH = Product._meta.get_field("name").max_length
SKU_MAX_LENGTH = ProductVariant._meta.get_field("sku").max_length
UNSET = object()


@dataclass
class VariantData:
    sku: str
    price: Decimal | str
    stock: int = 0
    weight: Decimal | str = Decimal("0")
    attributes: dict[str, str] = field(default_factory=dict)


# --- Input cleaning ---


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(CatalogErrorCode.REQUIRED, "A listing needs a name.", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(
            CatalogErrorCode.INVALID, f"The name is longer than {NAME_MAX_LENGTH} characters.", field="name"
        )
    return name


def _clean_attributes(
    index: CategoryAttributeIndex, category_id: int, values: dict | None, scope: str, field: str
) -> dict[str, str]:
    """Keep only the category's attributes of this scope, with allowed values."""
    allowed = {a.slug: a for a in index.attributes_for(category_id, scope)}
    cleaned: dict[str, str] = {}
    for slug, value in (values or {}).items():
        attribute = allowed.get(slug)
        if attribute is None:
            raise DomainError(
                CatalogErrorCode.INVALID, f"The category has no {scope} attribute {slug!r}.", field=field
            )
        value = str(value if value is not None else "").strip()
        if not value:
            continue
        if attribute.choices and value not in attribute.choices:
            raise DomainError(
                CatalogErrorCode.INVALID,
                f"{attribute.name} must be one of {', '.join(map(str, attribute.choices))}.",
                field=field,
            )
        cleaned[slug] = value
    return cleaned


def _missing_required(index: CategoryAttributeIndex, category_id: int, values: dict, scope: str) -> list[str]:
    return [a.name for a in index.attributes_for(category_id, scope) if a.required and a.slug not in values]


def _clean_sku(sku: str) -> str:
    sku = (sku or "").strip()
    if not sku:
        raise DomainError(CatalogErrorCode.REQUIRED, "A variant needs a SKU.", field="sku")
    if len(sku) > SKU_MAX_LENGTH:
        raise DomainError(CatalogErrorCode.INVALID, f"A SKU has at most {SKU_MAX_LENGTH} characters.", field="sku")
    return sku


def _clean_price(price) -> Decimal:
    amount = amount_from_input(
        price, error_code=CatalogErrorCode.INVALID, field="price", currency=settings.DEFAULT_CURRENCY
    )
    if amount <= 0:
        raise DomainError(CatalogErrorCode.INVALID, "The price must be more than zero.", field="price")
    if amount >= Decimal("1e10"):
        raise DomainError(CatalogErrorCode.INVALID, "The price is too large.", field="price")
    return amount


def _clean_stock(stock) -> int:
    if stock is None:
        return 0
    if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
        raise DomainError(CatalogErrorCode.INVALID, "Stock is a whole number, zero or more.", field="stock")
    return stock


def _clean_weight(weight) -> Decimal:
    if weight is None:
        return Decimal("0")
    if isinstance(weight, float):
        raise DomainError(CatalogErrorCode.INVALID, "The weight is a decimal string in kg.", field="weight")
    try:
        value = Decimal(str(weight).strip())
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(CatalogErrorCode.INVALID, "The weight is a decimal number of kg.", field="weight") from exc
    if not value.is_finite() or value < 0 or value >= Decimal("100000"):
        raise DomainError(CatalogErrorCode.INVALID, "The weight must be between 0 and 100000 kg.", field="weight")
    if value != value.quantize(Decimal("0.001")):
        raise DomainError(CatalogErrorCode.INVALID, "The weight has at most 3 decimal places (grams).", field="weight")
    return value.quantize(Decimal("0.001"))


def _unique_slug(name: str) -> str:
    base = slugify(name, allow_unicode=True)[:200].strip("-") or "product"
    slug = base
    while Product.objects.filter(slug=slug).exists():
        slug = f"{base}-{uuid.uuid4().hex[:6]}"
    return slug


def _require_listing_manager(actor, product_vendor) -> None:
    """Either the vendor's own staff or platform staff managing all listings."""
    require_authenticated(actor, CatalogErrorCode.PERMISSION_DENIED)
    if manages_all_listings(actor):
        return
    own = vendor_of(actor)
    if own is None or own.pk != product_vendor.pk:
        raise DomainError(CatalogErrorCode.NOT_FOUND, "No such listing.", field="id")


def _search_index(product: Product) -> None:
    search_indexing.index_text(product)
    search_indexing.products_changed([product.pk])


# --- Listings ---


def product_create(
    *,
    actor,
    vendor=None,
    category: Category,
    name: str,
    description: str = "",
    attributes: dict[str, str] | None = None,
    variants: list[VariantData] = (),
) -> Product:
    """Create a draft listing. A vendor's staff list for their own vendor; platform staff name the vendor."""
    require_authenticated(actor, CatalogErrorCode.PERMISSION_DENIED)
    own_vendor = vendor_of(actor)
    if vendor is None:
        if own_vendor is None:
            if manages_all_listings(actor):
                raise DomainError(CatalogErrorCode.REQUIRED, "Name the vendor of the listing.", field="vendor")
            raise DomainError(CatalogErrorCode.PERMISSION_DENIED, "Only a vendor's staff can list products.")
        vendor = own_vendor
    _require_listing_manager(actor, vendor)
    index = CategoryAttributeIndex()
    product = Product(
        vendor=vendor,
        category=category,
        name=_clean_name(name),
        description=(description or "").strip(),
        attributes=_clean_attributes(index, category.pk, attributes, AttributeScope.PRODUCT, "attributes"),
        currency=settings.DEFAULT_CURRENCY,
    )
    product.slug = _unique_slug(product.name)
    product.save()
    for position, data in enumerate(variants or ()):
        _variant_create(product=product, data=data, sort_order=position, index=index, field_prefix=f"variants.{position}")
    product_refresh_price_range(product=product)
    _search_index(product)
    return product


def _pending_revision(product: Product, *, for_update: bool = False) -> ProductRevision | None:
    queryset = product.revisions.filter(status=RevisionStatus.PENDING)
    if for_update:
        queryset = queryset.select_for_update()
    return queryset.first()


def _open_revision(*, actor, product: Product) -> ProductRevision:
    """The listing's pending revision, started from the approved values when there is none."""
    revision = _pending_revision(product, for_update=True)
    if revision is None:
        revision = ProductRevision.objects.create(
            product=product,
            name=product.name,
            description=product.description,
            category=product.category,
            attributes=dict(product.attributes),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    if product.review_requested_at is None:
        product.review_requested_at = timezone.now()
        product.save(update_fields=["review_requested_at", "updated_at"])
    return revision


def _back_to_draft_after_edit(product: Product) -> None:
    """A listing edited while waiting for (or after failing) review needs a new submission."""
    if product.status in (ListingStatus.PENDING_REVIEW, ListingStatus.REJECTED):
        product.review_requested_at = None
        listing_machine.apply(product, ListingStatus.DRAFT, update_fields=["review_requested_at"])


def product_update(
    *,
    actor,
    product: Product,
    name=UNSET,
    description=UNSET,
    category=UNSET,
    attributes=UNSET,
) -> Product:
    """Edit the reviewed fields. On a published listing the edit becomes a pending revision
    (checked by the listing plugins at once) and the approved version stays on sale."""
    _require_listing_manager(actor, product.vendor)
    index = CategoryAttributeIndex()
    published = product.status == ListingStatus.PUBLISHED
    revision = _pending_revision(product) if published else None
    base = revision or product
    proposed = {
        "name": base.name,
        "description": base.description,
        "category": base.category,
        "attributes": dict(base.attributes),
    }
    if name is not UNSET and name is not None:
        proposed["name"] = _clean_name(name)
    if description is not UNSET and description is not None:
        proposed["description"] = description.strip()
    if category is not UNSET and category is not None:
        proposed["category"] = category
    if attributes is not UNSET and attributes is not None:
        proposed["attributes"] = _clean_attributes(
            index, proposed["category"].pk, attributes, AttributeScope.PRODUCT, "attributes"
        )
    elif proposed["category"].pk != base.category_id:
        # Keep the values the new category still knows.
        allowed = {a.slug for a in index.attributes_for(proposed["category"].pk, AttributeScope.PRODUCT)}
        proposed["attributes"] = {k: v for k, v in proposed["attributes"].items() if k in allowed}

    changed = [
        f
        for f in REVIEWED_FIELDS
        if (proposed[f].pk if f == "category" else proposed[f])
        != (base.category_id if f == "category" else getattr(base, f))
    ]
    if not changed:
        return product

    if published:
        revision = _open_revision(actor=actor, product=product)
        for f in REVIEWED_FIELDS:
            setattr(revision, f, proposed[f])
        revision.save()
        _raise_problems(run_listing_checks(listing_content(product, revision=revision)))
        return product

    for f in REVIEWED_FIELDS:
        setattr(product, f, proposed[f])
    product.save()
    _back_to_draft_after_edit(product)
    _search_index(product)
    return product


def product_delete(*, actor, product: Product) -> None:
    _require_listing_manager(actor, product.vendor)
    if product.status in (ListingStatus.PUBLISHED, ListingStatus.PENDING_REVIEW):
        raise DomainError(
            CatalogErrorCode.INVALID_TRANSITION,
            "Delist the listing (or wait for its review) before deleting it.",
            field="id",
        )
    paths = [p for media in product.media.all() for p in rendition_paths(media.renditions)]
    product_id = product.pk
    product.delete()
    search_indexing.remove_text(product_id)
    search_indexing.products_changed([product_id])
    delete_files_on_commit(paths)
    audit_log(actor=actor, action="product.delete", target=product.vendor, product_id=product_id)


def product_refresh_price_range(*, product: Product) -> None:
    """Copy the variants' lowest and highest price onto the product (for sorting and filters)."""
    prices = product.variants.aggregate(low=Min("price_amount"), high=Max("price_amount"))
    # SQLite's aggregates drop the scale; keep amounts in the currency's minor unit.
    product.price_min_amount = None if prices["low"] is None else quantize(prices["low"], product.currency)
    product.price_max_amount = None if prices["high"] is None else quantize(prices["high"], product.currency)
    product.save(update_fields=["price_min_amount", "price_max_amount", "updated_at"])
    search_indexing.products_changed([product.pk])


# --- Variants: price and stock changes need no review ---


def _variant_create(*, product: Product, data: VariantData, sort_order: int, index, field_prefix: str = "") -> ProductVariant:
    def prefixed(exc: DomainError) -> DomainError:
        if field_prefix:
            exc.field = f"{field_prefix}.{exc.field}" if exc.field else field_prefix
        return exc

    try:
        sku = _clean_sku(data.sku)
        variant = ProductVariant(
            product=product,
            vendor_id=product.vendor_id,
            sku=sku,
            price_amount=_clean_price(data.price),
            currency=settings.DEFAULT_CURRENCY,
            stock=_clean_stock(data.stock),
            weight_kg=_clean_weight(data.weight),
            attributes=_clean_attributes(index, product.category_id, data.attributes, AttributeScope.VARIANT, "attributes"),
            sort_order=sort_order,
        )
        _save_variant(variant)
    except DomainError as exc:
        raise prefixed(exc) from None
    return variant


def _save_variant(variant: ProductVariant) -> None:
    clash = ProductVariant.objects.filter(vendor_id=variant.vendor_id, sku=variant.sku)
    if variant.pk:
        clash = clash.exclude(pk=variant.pk)
    if clash.exists():
        raise DomainError(CatalogErrorCode.UNIQUE, f"The SKU {variant.sku!r} is already used by this vendor.", field="sku")
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError as exc:  # a concurrent request took the SKU
        raise DomainError(
            CatalogErrorCode.UNIQUE, f"The SKU {variant.sku!r} is already used by this vendor.", field="sku"
        ) from exc


def product_variant_create(*, actor, product: Product, data: VariantData) -> ProductVariant:
    _require_listing_manager(actor, product.vendor)
    position = (product.variants.aggregate(top=Max("sort_order"))["top"] or 0) + 1
    variant = _variant_create(product=product, data=data, sort_order=position, index=CategoryAttributeIndex())
    product_refresh_price_range(product=product)
    return variant


def product_variant_update(
    *, actor, variant: ProductVariant, sku=None, price=None, stock=None, weight=None, attributes=None
) -> ProductVariant:
    product = variant.product
    _require_listing_manager(actor, product.vendor)
    if sku is not None:
        variant.sku = _clean_sku(sku)
    if price is not None:
        variant.price_amount = _clean_price(price)
    if stock is not None:
        variant.stock = _clean_stock(stock)
    if weight is not None:
        variant.weight_kg = _clean_weight(weight)
    if attributes is not None:
        variant.attributes = _clean_attributes(
            CategoryAttributeIndex(), product.category_id, attributes, AttributeScope.VARIANT, "attributes"
        )
    _save_variant(variant)
    if price is not None:
        product_refresh_price_range(product=product)
    elif stock is not None:
        search_indexing.products_changed([product.pk])
    if stock is not None:
        restock_check([variant.pk])
    return variant


def product_variant_delete(*, actor, variant: ProductVariant) -> None:
    product = variant.product
    _require_listing_manager(actor, product.vendor)
    if product.status in (ListingStatus.PUBLISHED, ListingStatus.PENDING_REVIEW) and product.variants.count() <= 1:
        raise DomainError(
            CatalogErrorCode.INVALID, "A listing on sale or in review keeps at least one variant.", field="id"
        )
    variant.delete()
    product_refresh_price_range(product=product)


# --- Media ---


def product_media_create(*, actor, product: Product, image, alt: str = "") -> ProductMedia:
    """Check and re-encode an uploaded image (EXIF dropped) into the storefront's sizes.

    On a published listing the image joins the pending revision and shows once approved.
    """
    _require_listing_manager(actor, product.vendor)
    checked = check_image(image, field="image", use="product_media")
    published = product.status == ListingStatus.PUBLISHED
    if published:
        # Check before any file is written, so a refused image leaves nothing behind.
        revision = _open_revision(actor=actor, product=product)
        extra = [ListingImage(media_id=None, width=checked.width, height=checked.height)]
        _raise_problems(run_listing_checks(listing_content(product, revision=revision, extra_images=extra)))
    with transaction.atomic(), StagedFiles() as staged:
        # The renditions are made in the worker (product_media_render); the original shows until then.
        original = store_original(staged, prefix=f"products/{product.pk}", checked=checked)
        position = (product.media.aggregate(top=Max("sort_order"))["top"] or 0) + 1
        media = ProductMedia.objects.create(
            product=product,
            renditions=original_as_renditions(original, [*THUMBNAIL_SIZE, *MEDIA_SIZES]),
            width=checked.width,
            height=checked.height,
            sha256=checked.sha256,
            alt=(alt or "").strip()[:250],
            sort_order=position,
        )
        if not published:
            _back_to_draft_after_edit(product)
        from . import tasks

        run_after_commit(tasks.product_media_render, media.pk, original)
    return media


def product_media_render(*, media_id: int, original: str) -> bool:
    """Re-encode an uploaded image (EXIF dropped) into the storefront's sizes, in the worker, and
    put them in place of the original the listing showed meanwhile. False when there is nothing
    to do: the image was removed, or already rendered."""
    def still_original(media) -> bool:
        return media is not None and original in rendition_paths(media.renditions)

    if not still_original(ProductMedia.objects.filter(pk=media_id).first()):
        return False
    try:
        with default_storage.open(original, "rb") as handle:
            checked = check_image(handle, field="image", use="product_media")
    except FileNotFoundError:
        return False
    renditions = render_sizes(checked, THUMBNAIL_SIZE, crop=True) | render_sizes(checked, MEDIA_SIZES)
    with transaction.atomic():
        media = ProductMedia.objects.select_for_update().filter(pk=media_id).first()
        if not still_original(media):
            return False
        with StagedFiles() as staged:
            media.renditions = store_renditions(staged, prefix=f"products/{media.product_id}", renditions=renditions)
            media.save(update_fields=["renditions"])
        delete_files_on_commit([original])
    return True


def product_media_delete(*, actor, media: ProductMedia) -> None:
    """Remove an image; a live image of a published listing goes only when the revision is approved."""
    product = media.product
    _require_listing_manager(actor, product.vendor)
    if product.status == ListingStatus.PUBLISHED and media.is_live:
        media.removal_requested = True
        media.save(update_fields=["removal_requested"])
        revision = _open_revision(actor=actor, product=product)
        _raise_problems(run_listing_checks(listing_content(product, revision=revision)))
        return
    paths = rendition_paths(media.renditions)
    media.delete()
    delete_files_on_commit(paths)
    if product.status != ListingStatus.PUBLISHED:
        _back_to_draft_after_edit(product)


def product_media_reorder(*, actor, product: Product, media_ids: list[int]) -> Product:
    """Put a listing's pictures in the given order (the first is the thumbnail). The order is how the
    pictures are shown, not what was reviewed, so it applies at once, also on a published listing.
    The ids must be exactly the listing's pictures, each once."""
    _require_listing_manager(actor, product.vendor)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        media = {m.pk: m for m in product.media.all()}
        if len(media_ids) != len(set(media_ids)) or set(media_ids) != set(media):
            raise DomainError(
                CatalogErrorCode.INVALID,
                _("List every picture of the listing exactly once."),
                field="media",
            )
        changed = []
        for position, media_id in enumerate(media_ids, start=1):
            item = media[media_id]
            if item.sort_order != position:
                item.sort_order = position
                changed.append(item)
        ProductMedia.objects.bulk_update(changed, ["sort_order"])
        audit_log(actor=actor, action="product.media_reorder", target=product, order=list(media_ids))
    return product


# --- Automatic checks ---


def listing_content(
    product: Product, *, revision: ProductRevision | None = None, extra_images: list[ListingImage] = ()
) -> ListingContent:
    """What a reviewer would approve: the listing, or the listing with its revision applied."""
    source = revision or product
    images = [
        ListingImage(media_id=m.pk, width=m.width, height=m.height)
        for m in product.media.all()
        if not m.removal_requested
    ] + list(extra_images)
    return ListingContent(
        product=product,
        name=source.name,
        description=source.description,
        category_id=source.category_id,
        attributes=dict(source.attributes),
        variant_attributes=[dict(v.attributes) for v in product.variants.all()],
        images=images,
    )


def run_listing_checks(content: ListingContent, *, plugins=None) -> list[ListingProblem]:
    from plugins.manager import get_plugins_manager

    manager = plugins or get_plugins_manager()
    return list(manager.run_hook("check_listing", [], content) or [])


def _raise_problems(problems: list[ListingProblem]) -> None:
    if not problems:
        return
    errors = []
    for problem in problems:
        code = CatalogErrorCode.__members__.get(problem.code, CatalogErrorCode.LISTING_CHECK_FAILED)
        errors.append(DomainError(code, problem.message, field=problem.field))
    raise DomainErrors(errors)


# --- Review workflow ---


def product_submit_for_review(*, actor, product: Product, plugins=None) -> Product:
    """Send a listing to review after the automatic checks; on any problem it stays as it is."""
    _require_listing_manager(actor, product.vendor)
    if not vendor_can_list(product.vendor):
        raise DomainError(
            CatalogErrorCode.VENDOR_NOT_ALLOWED,
            f"A vendor that is {product.vendor.get_status_display().lower()} cannot submit listings.",
        )
    listing_machine.check(product.status, ListingStatus.PENDING_REVIEW)
    problems: list[DomainError] = []
    if not product.variants.exists():
        problems.append(DomainError(CatalogErrorCode.REQUIRED, "Add at least one variant.", field="variants"))
    index = CategoryAttributeIndex()
    missing = _missing_required(index, product.category_id, product.attributes, AttributeScope.PRODUCT)
    if missing:
        problems.append(
            DomainError(CatalogErrorCode.REQUIRED, f"Fill in: {', '.join(missing)}.", field="attributes")
        )
    for variant in product.variants.all():
        missing = _missing_required(index, product.category_id, variant.attributes, AttributeScope.VARIANT)
        if missing:
            problems.append(
                DomainError(
                    CatalogErrorCode.REQUIRED, f"Variant {variant.sku} needs: {', '.join(missing)}.", field="variants"
                )
            )
    try:
        _raise_problems(run_listing_checks(listing_content(product), plugins=plugins))
    except DomainErrors as exc:
        problems.extend(exc.errors)
    if problems:
        raise DomainErrors(problems)
    product.review_requested_at = timezone.now()
    product.status_reason = ""
    listing_machine.apply(product, ListingStatus.PENDING_REVIEW, update_fields=["review_requested_at", "status_reason"])
    audit_log(actor=actor, action="product.submit_for_review", target=product)
    return product


def _apply_media_changes(product: Product) -> list[str]:
    """Pending images go live and images marked for removal go; returns files to delete."""
    removed = list(product.media.filter(removal_requested=True))
    paths = [p for media in removed for p in rendition_paths(media.renditions)]
    product.media.filter(removal_requested=True).delete()
    product.media.filter(is_live=False).update(is_live=True)
    return paths


def _discard_media_changes(product: Product) -> list[str]:
    pending = list(product.media.filter(is_live=False))
    paths = [p for media in pending for p in rendition_paths(media.renditions)]
    product.media.filter(is_live=False).delete()
    product.media.filter(removal_requested=True).update(removal_requested=False)
    return paths


def _snapshot(product: Product) -> dict:
    return {
        "name": product.name,
        "description": product.description,
        "category": product.category_id,
        "attributes": dict(product.attributes),
    }


def _apply_revision(product: Product, revision: ProductRevision) -> None:
    revision.previous = _snapshot(product)
    product.name = revision.name
    product.description = revision.description
    product.category_id = revision.category_id
    product.attributes = dict(revision.attributes)


def product_approve(*, actor, product: Product) -> Product:
    """Publish a listing waiting for review, or apply its pending revision."""
    require_permission(actor, PlatformPermission.REVIEW_LISTINGS, CatalogErrorCode.PERMISSION_DENIED)
    now = timezone.now()
    if product.status == ListingStatus.PENDING_REVIEW:
        paths = _apply_media_changes(product)
        product.review_requested_at = None
        product.status_reason = ""
        product.published_at = now
        listing_machine.apply(
            product, ListingStatus.PUBLISHED, update_fields=["review_requested_at", "status_reason", "published_at"]
        )
        audit_log(actor=actor, action="product.approve", target=product, vendor=product.vendor_id)
    else:
        revision = _pending_revision(product, for_update=True) if product.status == ListingStatus.PUBLISHED else None
        if revision is None:
            raise DomainError(
                CatalogErrorCode.INVALID_TRANSITION, "The listing is not waiting for review.", field="id"
            )
        _apply_revision(product, revision)
        paths = _apply_media_changes(product)
        product.review_requested_at = None
        product.save()
        revision.status = RevisionStatus.APPROVED
        revision.decided_by = actor
        revision.decided_at = now
        revision.save()
        audit_log(
            actor=actor, action="product.revision_approve", target=product, revision=revision.pk, previous=revision.previous
        )
    delete_files_on_commit(paths)
    _search_index(product)
    notify("listing.approved", product=product)
    restock_check(product.variants.values_list("pk", flat=True))  # alerts that waited while it was off
    return product


def product_reject(*, actor, product: Product, reason: str) -> Product:
    """Reject a listing waiting for review (it goes to rejected), or its pending revision
    (the approved version stays on sale)."""
    require_permission(actor, PlatformPermission.REVIEW_LISTINGS, CatalogErrorCode.PERMISSION_DENIED)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(CatalogErrorCode.REQUIRED, "Tell the vendor why the listing is rejected.", field="reason")
    if product.status == ListingStatus.PENDING_REVIEW:
        product.review_requested_at = None
        product.status_reason = reason
        listing_machine.apply(product, ListingStatus.REJECTED, update_fields=["review_requested_at", "status_reason"])
        audit_log(actor=actor, action="product.reject", target=product, reason=reason, vendor=product.vendor_id)
        notify("listing.rejected", product=product, reason=reason)
        return product
    revision = _pending_revision(product, for_update=True) if product.status == ListingStatus.PUBLISHED else None
    if revision is None:
        raise DomainError(CatalogErrorCode.INVALID_TRANSITION, "The listing is not waiting for review.", field="id")
    paths = _discard_media_changes(product)
    revision.status = RevisionStatus.REJECTED
    revision.reason = reason
    revision.decided_by = actor
    revision.decided_at = timezone.now()
    revision.save()
    product.review_requested_at = None
    product.save(update_fields=["review_requested_at", "updated_at"])
    audit_log(actor=actor, action="product.revision_reject", target=product, reason=reason, revision=revision.pk)
    delete_files_on_commit(paths)
    notify("listing.rejected", product=product, reason=reason)
    return product


def product_delist(*, actor, product: Product, reason: str = "") -> Product:
    """Take a published listing off sale: by its vendor, or by review staff with a reason.

    A pending revision is folded into the listing, which is reviewed again as a
    whole when the vendor resubmits it.
    """
    require_authenticated(actor, CatalogErrorCode.PERMISSION_DENIED)
    reason = (reason or "").strip()
    own_vendor = vendor_of(actor)
    by_vendor = own_vendor is not None and own_vendor.pk == product.vendor_id
    if not by_vendor:
        require_permission(actor, PlatformPermission.REVIEW_LISTINGS, CatalogErrorCode.PERMISSION_DENIED)
        if not reason:
            raise DomainError(CatalogErrorCode.REQUIRED, "Staff delist a listing with a reason.", field="reason")
    listing_machine.check(product.status, ListingStatus.DELISTED)
    revision = _pending_revision(product, for_update=True)
    paths: list[str] = []
    if revision is not None:
        _apply_revision(product, revision)
        paths = _apply_media_changes(product)
        revision.status = RevisionStatus.WITHDRAWN
        revision.save()
    product.review_requested_at = None
    product.status_reason = reason
    product.save()
    listing_machine.apply(product, ListingStatus.DELISTED)
    audit_log(
        actor=actor,
        action="product.delist",
        target=product,
        reason=reason,
        by="vendor" if by_vendor else "staff",
    )
    delete_files_on_commit(paths)
    _search_index(product)
    return product
