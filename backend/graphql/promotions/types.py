import graphene
from graphene_django import DjangoObjectType

from backend.promotions import flash_sales, group_buying, models, selectors
from backend.promotions.error_codes import PromotionErrorCode

from ..core.types import CountableConnection, Money, choices_enum, error_type

PromotionError = error_type("PromotionError", PromotionErrorCode)
VoucherKindEnum = choices_enum("VoucherKind", models.VoucherKind)
DiscountFunderEnum = choices_enum("DiscountFunder", models.Funder, "Who pays for a discount.")
DiscountTargetEnum = choices_enum("DiscountTarget", models.DiscountTarget)
GroupStatusEnum = choices_enum("GroupStatus", models.GroupStatus, "拼团: a group is open until it fills or its window closes.")


class VoucherType(DjangoObjectType):
    kind = VoucherKindEnum(required=True)
    vendor = graphene.Field("backend.graphql.vendor.types.VendorType", description="Null for a platform voucher.")
    min_spend = graphene.Field(Money, required=True, description="Threshold on the goods it covers.")
    max_discount = graphene.Field(Money, description="Cap of a percentage voucher.")
    value = graphene.Decimal(required=True, description="Amount off, or the percentage off (10 = 10%).")
    platform_share_percent = graphene.Decimal(
        required=True, description="Part of each discount the platform pays (100: platform-funded, 0: the store's)."
    )
    categories = graphene.List(graphene.NonNull(graphene.ID), required=True, description="Category IDs in scope (with descendants).")
    products = graphene.List(graphene.NonNull(graphene.ID), required=True, description="Product IDs in scope.")

    class Meta:
        model = models.Voucher
        name = "Voucher"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id", "name", "code", "claimable", "currency", "starts_at", "ends_at", "usage_limit", "per_shopper_limit",
            "used_count", "is_active", "created_at",
        )
        description = "A voucher: the platform's (across stores) or one store's; who funds it is platformSharePercent."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_vouchers(info.context.user, queryset)

    @staticmethod
    def resolve_kind(root, _info):
        return models.VoucherKind(root.kind).value

    @staticmethod
    def resolve_vendor(root, _info):
        return root.vendor

    @staticmethod
    def resolve_min_spend(root, _info):
        return root.money(root.min_spend)

    @staticmethod
    def resolve_max_discount(root, _info):
        return None if root.max_discount is None else root.money(root.max_discount)

    @staticmethod
    def resolve_categories(root, _info):
        return [graphene.relay.Node.to_global_id("Category", c.pk) for c in root.categories.all()]

    @staticmethod
    def resolve_products(root, _info):
        return [graphene.relay.Node.to_global_id("Product", p.pk) for p in root.products.all()]


class OrderDiscountType(graphene.ObjectType):
    label = graphene.String(required=True, description="The voucher's name and code, or the flash sale's name.")
    source = graphene.String(required=True, description="What gave it: voucher, flash_sale, group_deal, tier (the member's level) or points.")
    voucher = graphene.ID(description="The voucher's ID (null once it was deleted, or for a flash sale).")
    flash_sale = graphene.ID(description="The flash sale's ID, for a flash sale's discount.")
    group_deal = graphene.ID(description="The group deal's ID, for a group deal's discount.")
    funder = DiscountFunderEnum(required=True)
    target = DiscountTargetEnum(required=True)
    amount = graphene.Field(Money, required=True)
    order_line = graphene.ID(description="The line a goods discount is allocated to.")

    class Meta:
        name = "OrderDiscount"
        description = "One discount line of an order: what gave it, who paid for it, how much."

    @staticmethod
    def resolve_voucher(root, _info):
        return graphene.relay.Node.to_global_id("Voucher", root.voucher_id) if root.voucher_id else None

    @staticmethod
    def resolve_flash_sale(root, _info):
        return graphene.relay.Node.to_global_id("FlashSale", root.flash_sale_id) if root.flash_sale_id else None

    @staticmethod
    def resolve_group_deal(root, _info):
        return graphene.relay.Node.to_global_id("GroupDeal", root.group_deal_id) if root.group_deal_id else None

    @staticmethod
    def resolve_funder(root, _info):
        return models.Funder(root.funder).value

    @staticmethod
    def resolve_target(root, _info):
        return models.DiscountTarget(root.target).value

    @staticmethod
    def resolve_amount(root, _info):
        return root.money

    @staticmethod
    def resolve_order_line(root, _info):
        return graphene.relay.Node.to_global_id("OrderLine", root.order_line_id) if root.order_line_id else None


class FlashSaleType(DjangoObjectType):
    price = graphene.Field(Money, required=True, description="The event price of one unit.")
    original_price = graphene.Field(Money, required=True, description="The variant's regular price now.")
    variant = graphene.Field("backend.graphql.catalog.types.ProductVariantType", required=True)
    remaining = graphene.Int(required=True, description="Units still to be had at the price.")

    class Meta:
        model = models.FlashSale
        name = "FlashSale"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id", "name", "quantity", "sold_count", "per_shopper_limit", "starts_at", "ends_at", "is_active",
            "created_at",
        )
        description = "限时折扣 / 秒杀: a store's event price for one variant, in a window, for a promotional quantity."

    @classmethod
    def get_queryset(cls, queryset, info):
        return flash_sales.visible_flash_sales(info.context.user, queryset)

    @staticmethod
    def resolve_price(root, _info):
        return root.price

    @staticmethod
    def resolve_original_price(root, _info):
        return root.variant.price

    @staticmethod
    def resolve_variant(root, _info):
        return root.variant

    @staticmethod
    def resolve_remaining(root, _info):
        return root.remaining


def prefetched_groups(queryset):
    """Groups with their members loaded (one query for the members of all)."""
    from django.db.models import Prefetch

    return queryset.order_by("expires_at", "pk").prefetch_related(
        Prefetch("members", queryset=models.GroupMember.objects.order_by("pk"), to_attr="all_members")
    )


def group_deals_prefetched(queryset):
    """Group deals with their variant, groups and members: a fixed number of queries for a page."""
    from django.db.models import Prefetch

    return queryset.select_related("variant").prefetch_related(
        Prefetch("groups", queryset=prefetched_groups(models.Group.objects.all()), to_attr="all_groups")
    )


class GroupType(graphene.ObjectType):
    id = graphene.ID(required=True)
    status = GroupStatusEnum(required=True)
    expires_at = graphene.DateTime(required=True, description="When an open group fails unless it fills first.")
    member_count = graphene.Int(required=True, description="Members holding a slot (orders not cancelled).")
    members_needed = graphene.Int(required=True, description="Slots still free (0 once filled).")
    filled_at = graphene.DateTime()
    failed_at = graphene.DateTime()
    settled_at = graphene.DateTime(description="A failed group: every member's order cancelled and refunded.")
    orders = graphene.List(graphene.NonNull(graphene.ID), required=True, description="The members' order IDs.")
    created_at = graphene.DateTime(required=True)

    class Meta:
        name = "Group"
        description = "One group of a group deal, opened by its first member's order."

    @staticmethod
    def resolve_id(root, _info):
        return graphene.relay.Node.to_global_id("Group", root.pk)

    @staticmethod
    def resolve_status(root, _info):
        return models.GroupStatus(root.status).value

    @staticmethod
    def resolve_member_count(root, _info):
        return len([m for m in root.all_members if m.left_at is None])

    @staticmethod
    def resolve_members_needed(root, info):
        if root.status != models.GroupStatus.OPEN:
            return 0
        return max(0, root.deal.group_size - len([m for m in root.all_members if m.left_at is None]))

    @staticmethod
    def resolve_orders(root, _info):
        return [graphene.relay.Node.to_global_id("Order", m.order_id) for m in root.all_members]


class GroupDealType(DjangoObjectType):
    price = graphene.Field(Money, required=True, description="The deal price of one unit.")
    original_price = graphene.Field(Money, required=True, description="The variant's regular price now.")
    variant = graphene.Field("backend.graphql.catalog.types.ProductVariantType", required=True)
    groups = graphene.List(
        graphene.NonNull(GroupType), required=True, status=GroupStatusEnum(),
        description="The deal's groups, the soonest to expire first (optionally of one status).",
    )

    class Meta:
        model = models.GroupDeal
        name = "GroupDeal"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id", "name", "group_size", "window_hours", "per_shopper_limit", "starts_at", "ends_at", "is_active",
            "created_at",
        )
        description = "拼团: a store's deal price for one variant when groupSize shoppers join a group within its window."

    @classmethod
    def get_queryset(cls, queryset, info):
        return group_buying.visible_group_deals(info.context.user, queryset)

    @staticmethod
    def resolve_price(root, _info):
        return root.price

    @staticmethod
    def resolve_original_price(root, _info):
        return root.variant.price

    @staticmethod
    def resolve_variant(root, _info):
        return root.variant

    @staticmethod
    def resolve_groups(root, _info, status=None):
        groups = getattr(root, "all_groups", None)
        if groups is None:
            groups = list(prefetched_groups(models.Group.objects.filter(deal_id=root.pk)))
        status = getattr(status, "value", status)
        for group in groups:
            group.deal = root  # no query per group for its deal
        if status is not None:
            groups = [g for g in groups if g.status == status]
        return groups
