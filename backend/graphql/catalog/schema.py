import graphene
from django.db.models import Prefetch
from graphene_django.fields import DjangoConnectionField

from backend.catalog import models, selectors
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission
from backend.search import get_database_backend

from ..core.lookups import NO_KEY, filter_key
from ..core.nodes import get_node
from .mutations import (
    ProductApprove,
    ProductCreate,
    ProductDelete,
    ProductDelist,
    ProductMediaCreate,
    ProductMediaDelete,
    ProductMediaReorder,
    ProductReject,
    ProductSubmitForReview,
    ProductUpdate,
    ProductVariantCreate,
    ProductVariantDelete,
    ProductVariantUpdate,
)
from .types import CategoryType, ListingStatusEnum, ProductType


class ProductFilterInput(graphene.InputObjectType):
    status = ListingStatusEnum()
    vendor = graphene.ID()
    category = graphene.ID(description="The category or any category below it.")
    search = graphene.String(description="Words of the name or description; Chinese works too.")
    has_pending_revision = graphene.Boolean()


def with_listing_relations(queryset):
    """Everything a listing page shows, fetched per page (graphene-django slices before prefetching)."""
    return queryset.select_related("vendor", "category").prefetch_related(
        "variants",
        "media",
        Prefetch(
            "revisions",
            queryset=models.ProductRevision.objects.filter(status=models.RevisionStatus.PENDING).select_related(
                "category"
            ),
            to_attr="pending_revisions",
        ),
    )


def filter_products(queryset, filter_input) -> graphene.List:
    filter_input = filter_input or {}
    ordered = False
    status = getattr(filter_input.get("status"), "value", filter_input.get("status"))
    if status:
        queryset = queryset.filter(status=status)
        if status == models.ListingStatus.PENDING_REVIEW:
            queryset = queryset.order_by("review_requested_at", "id")
            ordered = True
    if filter_input.get("vendor"):
        queryset = queryset.filter(vendor_id=filter_key(filter_input["vendor"], "Vendor"))
    if filter_input.get("category"):
        category_pk = filter_key(filter_input["category"], "Category")
        ids = models.Category.descendant_ids([category_pk]) if category_pk != NO_KEY else set()
        queryset = queryset.filter(category_id__in=ids)
    pending = filter_input.get("has_pending_revision")
    if pending is not None:
        has = models.ProductRevision.objects.filter(status=models.RevisionStatus.PENDING).values("product_id")
        queryset = queryset.filter(pk__in=has) if pending else queryset.exclude(pk__in=has)
    search = (filter_input.get("search") or "").strip()
    if search:
        # Staff and vendors search every listing (drafts too): only the database index holds those;
        # Elasticsearch holds what shoppers may see.
        queryset = get_database_backend().filter_queryset(queryset, search, rank=not ordered)
    elif not ordered:
        queryset = queryset.order_by("-created_at", "-id")
    return queryset


class CatalogQueries(graphene.ObjectType):
    products = DjangoConnectionField(
        ProductType,
        filter=ProductFilterInput(),
        description=(
            "Listings the caller may see: a vendor's staff their own, review staff all. "
            "Newest first; best match first with a search; oldest first for PENDING_REVIEW."
        ),
    )
    product = graphene.Field(ProductType, id=graphene.ID(required=True))
    review_queue = DjangoConnectionField(
        ProductType,
        description="Listings and revisions waiting for review, oldest first (REVIEW_LISTINGS).",
    )
    categories = graphene.List(
        graphene.NonNull(CategoryType), required=True, description="Every category (the tree through parent)."
    )
    category = graphene.Field(CategoryType, id=graphene.ID(), slug=graphene.String())

    @staticmethod
    def resolve_products(_root, info, filter=None, **_kwargs):
        # DjangoConnectionField narrows this through ProductType.get_queryset (the visibility rule).
        return with_listing_relations(filter_products(models.Product.objects.all(), filter))

    @staticmethod
    def resolve_product(_root, info, id):
        try:
            return get_node(info, id, ProductType)
        except DomainError:
            return None

    @staticmethod
    def resolve_review_queue(_root, info, **_kwargs):
        if not has_permission(info.context.user, PlatformPermission.REVIEW_LISTINGS):
            return models.Product.objects.none()
        return with_listing_relations(selectors.review_queue())

    @staticmethod
    def resolve_categories(_root, _info):
        return models.Category.objects.select_related("parent").order_by("name", "id")

    @staticmethod
    def resolve_category(_root, _info, id=None, slug=None):
        queryset = models.Category.objects.select_related("parent")
        if id:
            pk = filter_key(id, "Category")
            return queryset.filter(pk=pk).first() if pk != NO_KEY else None
        if slug:
            return queryset.filter(slug=slug).first()
        return None


class CatalogMutations(graphene.ObjectType):
    product_create = ProductCreate.Field()
    product_update = ProductUpdate.Field()
    product_delete = ProductDelete.Field()
    product_variant_create = ProductVariantCreate.Field()
    product_variant_update = ProductVariantUpdate.Field()
    product_variant_delete = ProductVariantDelete.Field()
    product_media_create = ProductMediaCreate.Field()
    product_media_delete = ProductMediaDelete.Field()
    product_media_reorder = ProductMediaReorder.Field()
    product_submit_for_review = ProductSubmitForReview.Field()
    product_approve = ProductApprove.Field()
    product_reject = ProductReject.Field()
    product_delist = ProductDelist.Field()
