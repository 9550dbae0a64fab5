import graphene
from django.utils.translation import gettext as _

from backend.core.exceptions import DomainError
from backend.promotions import flash_sales, group_buying, services
from backend.promotions.error_codes import PromotionErrorCode
from backend.vendors.models import Vendor

from ..core.mutations import BaseMutation
from ..core.nodes import decode_id, get_node
from .types import FlashSaleType, GroupDealType, PromotionError, VoucherKindEnum, VoucherType


class VoucherInput(graphene.InputObjectType):
    name = graphene.String()
    code = graphene.String(description="What shoppers type (letters and digits); empty: a claimable coupon only.")
    claimable = graphene.Boolean(description="Shoppers may claim it as a coupon (the store's page).")
    kind = VoucherKindEnum()
    value = graphene.Decimal(description="Amount off, or the percentage off (10 = 10%).")
    max_discount = graphene.Decimal(description="Cap of a percentage voucher.")
    min_spend = graphene.Decimal(description="Threshold: the goods it covers must come to at least this (满减).")
    platform_share_percent = graphene.Decimal(description="Staff only: the platform's part of each discount (0 to 100).")
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    usage_limit = graphene.Int(description="Uses in all (counted at order placement).")
    per_shopper_limit = graphene.Int(description="Uses per shopper (default 1).")
    is_active = graphene.Boolean()
    categories = graphene.List(graphene.NonNull(graphene.ID), description="In scope: these categories and their descendants.")
    products = graphene.List(graphene.NonNull(graphene.ID))
    vendors = graphene.List(graphene.NonNull(graphene.ID), description="A platform voucher limited to these stores.")


def _input(data) -> services.VoucherInput:
    kind = data.get("kind")

    def ids(name, type_name):
        values = data.get(name)
        return None if values is None else [int(decode_id(v, type_name, field=name)) for v in values]

    return services.VoucherInput(
        name=data.get("name"), code=data.get("code"), claimable=data.get("claimable"),
        kind=getattr(kind, "value", kind), value=data.get("value"), max_discount=data.get("max_discount"),
        min_spend=data.get("min_spend"), platform_share_percent=data.get("platform_share_percent"),
        starts_at=data.get("starts_at"), ends_at=data.get("ends_at"), usage_limit=data.get("usage_limit"),
        per_shopper_limit=data.get("per_shopper_limit"), is_active=data.get("is_active"),
        category_ids=ids("categories", "Category"), product_ids=ids("products", "Product"),
        vendor_ids=ids("vendors", "Vendor"),
    )


class VoucherCreate(BaseMutation):
    voucher = graphene.Field(VoucherType)

    class Arguments:
        input = VoucherInput(required=True)
        vendor = graphene.ID(description="Staff: the store whose voucher it is (co-funded); none: a platform voucher.")

    class Meta:
        description = (
            "A store's staff create their store's vouchers (store-funded); staff with MANAGE_FINANCE create "
            "platform vouchers (platform-funded) and may co-fund a store's voucher."
        )
        error_type_class = PromotionError

    @classmethod
    def perform_mutation(cls, _root, info, input, vendor=None):
        vendor_obj = None
        if vendor is not None:
            vendor_obj = Vendor.objects.filter(pk=decode_id(vendor, "Vendor", field="vendor")).first()
            if vendor_obj is None:
                raise DomainError(PromotionErrorCode.NOT_FOUND, _("No such store."), field="vendor")
        voucher = services.voucher_create(actor=info.context.user, data=_input(input), vendor=vendor_obj)
        return cls(voucher=voucher, errors=[])


class VoucherUpdate(BaseMutation):
    voucher = graphene.Field(VoucherType)

    class Arguments:
        id = graphene.ID(required=True)
        input = VoucherInput(required=True)

    class Meta:
        description = "Change a voucher (its store's staff, or MANAGE_FINANCE); isActive false switches it off."
        error_type_class = PromotionError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        voucher = services.voucher_update(actor=info.context.user, voucher=get_node(info, id, VoucherType), data=_input(input))
        return cls(voucher=voucher, errors=[])


class FlashSaleInput(graphene.InputObjectType):
    name = graphene.String(description="Shown on the badge; empty: “Flash sale”.")
    price = graphene.Decimal(description="The event price of one unit (below the regular price).")
    quantity = graphene.Int(description="Units sold at the event price in all.")
    per_shopper_limit = graphene.Int(description="Units one shopper may buy at the price.")
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    is_active = graphene.Boolean(description="False ends the sale at once.")


def _flash_input(data) -> flash_sales.FlashSaleInput:
    return flash_sales.FlashSaleInput(
        name=data.get("name"), price=data.get("price"), quantity=data.get("quantity"),
        per_shopper_limit=data.get("per_shopper_limit"), starts_at=data.get("starts_at"), ends_at=data.get("ends_at"),
        is_active=data.get("is_active"),
    )


class FlashSaleCreate(BaseMutation):
    flash_sale = graphene.Field(FlashSaleType)

    class Arguments:
        variant = graphene.ID(required=True, description="One of the store's variants.")
        input = FlashSaleInput(required=True)

    class Meta:
        description = "A store's owner or operators put one of its variants on a flash sale (限时折扣 / 秒杀)."
        error_type_class = PromotionError

    @classmethod
    def perform_mutation(cls, _root, info, variant, input):
        sale = flash_sales.flash_sale_create(
            actor=info.context.user, variant_id=int(decode_id(variant, "ProductVariant", field="variant")),
            data=_flash_input(input),
        )
        return cls(flash_sale=sale, errors=[])


class FlashSaleUpdate(BaseMutation):
    flash_sale = graphene.Field(FlashSaleType)

    class Arguments:
        id = graphene.ID(required=True)
        input = FlashSaleInput(required=True)

    class Meta:
        description = "Change a flash sale of the store (isActive false ends it); never below the units sold."
        error_type_class = PromotionError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        sale = flash_sales.flash_sale_update(
            actor=info.context.user, sale_id=int(decode_id(id, "FlashSale", field="id")), data=_flash_input(input)
        )
        return cls(flash_sale=sale, errors=[])


class GroupDealInput(graphene.InputObjectType):
    name = graphene.String(description="Shown on the badge; empty: “Group deal”.")
    price = graphene.Decimal(description="The deal price of one unit (below the regular price).")
    group_size = graphene.Int(description="Members a group needs to fill (2 to 100).")
    window_hours = graphene.Int(description="How long each group stays open from its opening (1 to 168; default 24).")
    per_shopper_limit = graphene.Int(description="Units one shopper may buy at the deal price across its groups.")
    starts_at = graphene.DateTime(description="From when groups may be opened.")
    ends_at = graphene.DateTime(description="Groups close at the latest then.")
    is_active = graphene.Boolean(description="False: no new group nor member; open groups fail at their expiry unless they fill.")


def _group_input(data) -> group_buying.GroupDealInput:
    return group_buying.GroupDealInput(
        name=data.get("name"), price=data.get("price"), group_size=data.get("group_size"),
        window_hours=data.get("window_hours"), per_shopper_limit=data.get("per_shopper_limit"),
        starts_at=data.get("starts_at"), ends_at=data.get("ends_at"), is_active=data.get("is_active"),
    )


class GroupDealCreate(BaseMutation):
    group_deal = graphene.Field(GroupDealType)

    class Arguments:
        variant = graphene.ID(required=True, description="One of the store's variants.")
        input = GroupDealInput(required=True)

    class Meta:
        description = "A store's owner or operators offer one of its variants as a group deal (拼团)."
        error_type_class = PromotionError

    @classmethod
    def perform_mutation(cls, _root, info, variant, input):
        deal = group_buying.group_deal_create(
            actor=info.context.user, variant_id=int(decode_id(variant, "ProductVariant", field="variant")),
            data=_group_input(input),
        )
        return cls(group_deal=deal, errors=[])


class GroupDealUpdate(BaseMutation):
    group_deal = graphene.Field(GroupDealType)

    class Arguments:
        id = graphene.ID(required=True)
        input = GroupDealInput(required=True)

    class Meta:
        description = "Change a group deal of the store; groups open already keep their expiry and members."
        error_type_class = PromotionError

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        deal = group_buying.group_deal_update(
            actor=info.context.user, deal_id=int(decode_id(id, "GroupDeal", field="id")), data=_group_input(input)
        )
        return cls(group_deal=deal, errors=[])
