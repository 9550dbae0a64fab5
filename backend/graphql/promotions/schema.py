import graphene
from graphene_django.fields import DjangoConnectionField

from backend.core.exceptions import DomainError
from backend.promotions.models import FlashSale, GroupDeal, Voucher

from ..core.lookups import filter_key
from ..core.nodes import get_node
from .mutations import FlashSaleCreate, FlashSaleUpdate, GroupDealCreate, GroupDealUpdate, VoucherCreate, VoucherUpdate
from .types import FlashSaleType, GroupDealType, VoucherType, group_deals_prefetched


class VoucherFilterInput(graphene.InputObjectType):
    vendor = graphene.ID(description="Staff: one store's vouchers.")
    platform = graphene.Boolean(description="Only platform vouchers (true) or only stores' (false).")
    is_active = graphene.Boolean()


class FlashSaleFilterInput(graphene.InputObjectType):
    vendor = graphene.ID(description="Staff: one store's flash sales.")
    is_active = graphene.Boolean()


class GroupDealFilterInput(graphene.InputObjectType):
    vendor = graphene.ID(description="Staff: one store's group deals.")
    is_active = graphene.Boolean()


class PromotionQueries(graphene.ObjectType):
    vouchers = DjangoConnectionField(
        VoucherType,
        filter=VoucherFilterInput(),
        description="Vouchers the caller may manage, newest first: a store's staff their own, MANAGE_FINANCE all.",
    )
    voucher = graphene.Field(VoucherType, id=graphene.ID(required=True))
    flash_sales = DjangoConnectionField(
        FlashSaleType,
        filter=graphene.Argument(lambda: FlashSaleFilterInput),
        description="Flash sales the caller may see, newest first: a store's staff their own, MANAGE_FINANCE all.",
    )
    flash_sale = graphene.Field(FlashSaleType, id=graphene.ID(required=True))
    group_deals = DjangoConnectionField(
        GroupDealType,
        filter=graphene.Argument(lambda: GroupDealFilterInput),
        description="Group deals (拼团) the caller may see, newest first: a store's staff their own, MANAGE_FINANCE all.",
    )
    group_deal = graphene.Field(GroupDealType, id=graphene.ID(required=True))

    @staticmethod
    def resolve_group_deals(_root, _info, filter=None, **_kwargs):
        # Narrowed by GroupDealType.get_queryset (the visibility rule).
        queryset = group_deals_prefetched(GroupDeal.objects.all())
        filter = filter or {}
        if filter.get("vendor"):
            queryset = queryset.filter(vendor_id=filter_key(filter["vendor"], "Vendor"))
        if filter.get("is_active") is not None:
            queryset = queryset.filter(is_active=filter["is_active"])
        return queryset.order_by("-starts_at", "-id")

    @staticmethod
    def resolve_group_deal(_root, info, id):
        try:
            return get_node(info, id, GroupDealType)
        except DomainError:
            return None

    @staticmethod
    def resolve_flash_sales(_root, _info, filter=None, **_kwargs):
        # Narrowed by FlashSaleType.get_queryset (the visibility rule).
        queryset = FlashSale.objects.select_related("variant")
        filter = filter or {}
        if filter.get("vendor"):
            queryset = queryset.filter(vendor_id=filter_key(filter["vendor"], "Vendor"))
        if filter.get("is_active") is not None:
            queryset = queryset.filter(is_active=filter["is_active"])
        return queryset.order_by("-starts_at", "-id")

    @staticmethod
    def resolve_flash_sale(_root, info, id):
        try:
            return get_node(info, id, FlashSaleType)
        except DomainError:
            return None

    @staticmethod
    def resolve_vouchers(_root, _info, filter=None, **_kwargs):
        # DjangoConnectionField narrows this through VoucherType.get_queryset (the visibility rule).
        queryset = Voucher.objects.select_related("vendor").prefetch_related("categories", "products")
        filter = filter or {}
        if filter.get("vendor"):
            queryset = queryset.filter(vendor_id=filter_key(filter["vendor"], "Vendor"))
        if filter.get("platform") is not None:
            queryset = queryset.filter(vendor__isnull=filter["platform"])
        if filter.get("is_active") is not None:
            queryset = queryset.filter(is_active=filter["is_active"])
        return queryset.order_by("-created_at", "-id")

    @staticmethod
    def resolve_voucher(_root, info, id):
        try:
            return get_node(info, id, VoucherType)
        except DomainError:
            return None


class PromotionMutations(graphene.ObjectType):
    voucher_create = VoucherCreate.Field()
    voucher_update = VoucherUpdate.Field()
    flash_sale_create = FlashSaleCreate.Field()
    flash_sale_update = FlashSaleUpdate.Field()
    group_deal_create = GroupDealCreate.Field()
    group_deal_update = GroupDealUpdate.Field()
