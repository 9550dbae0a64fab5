import graphene
from graphene_django import DjangoObjectType

from backend.core.money import Money as Money_
from backend.core.money import quantize
from backend.disputes import selectors as dispute_selectors
from backend.orders import models, selectors
from backend.orders.error_codes import OrderErrorCode

from ..core.types import CountableConnection, Money, choices_enum, error_type
from ..logistics.types import ShipmentType
from ..vendor.types import VendorType

OrderError = error_type("OrderError", OrderErrorCode)

OrderStatusEnum = choices_enum("OrderStatus", models.OrderStatus)
OrderPaymentStatusEnum = choices_enum("OrderPaymentStatus", models.PaymentStatus)
OrderCompletionSourceEnum = choices_enum("OrderCompletionSource", models.CompletionSource)


class OrderShippingMethod(graphene.ObjectType):
    carrier = graphene.ID(required=True, description="The carrier plugin's identifier.")
    service_code = graphene.String(required=True)
    service_name = graphene.String(required=True)
    price = graphene.Field(Money, required=True, description="What the shopper paid for shipping.")
    promised_days = graphene.Int()


class OrderAddress(graphene.ObjectType):
    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    phone = graphene.String(required=True)
    region = graphene.String(required=True, description="GB/T 2260 code of the province or city.")
    street_address_1 = graphene.String(required=True)
    street_address_2 = graphene.String(required=True)
    city = graphene.String(required=True)
    postal_code = graphene.String(required=True)


class OrderLineType(DjangoObjectType):
    unit_price = graphene.Field(Money, required=True)
    total = graphene.Field(Money, required=True)
    store_discount = graphene.Field(Money, required=True, description="Goods discounts on the line the store funds.")
    platform_discount = graphene.Field(Money, required=True, description="Goods discounts on the line the platform funds.")
    commission_base = graphene.Field(
        Money, required=True, description="What commission is taken on: the line less the store's own discounts."
    )
    commission_rate = graphene.Decimal(required=True, description="Fixed when the order was placed (0.05 = 5%).")

    class Meta:
        model = models.OrderLine
        name = "OrderLine"
        interfaces = (graphene.relay.Node,)
        fields = ("id", "product_name", "variant_sku", "quantity")
        description = "What was bought, as it was when the order was placed."

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.filter(order__in=selectors.visible_orders(info.context.user))

    @staticmethod
    def resolve_unit_price(root: models.OrderLine, _info):
        return root.unit_price

    @staticmethod
    def resolve_total(root: models.OrderLine, _info):
        return root.total

    @staticmethod
    def resolve_commission_rate(root: models.OrderLine, _info):
        return root.commission_rate

    @staticmethod
    def resolve_store_discount(root: models.OrderLine, _info):
        return Money_(quantize(root.store_discount_amount, root.currency), root.currency)

    @staticmethod
    def resolve_platform_discount(root: models.OrderLine, _info):
        return Money_(quantize(root.platform_discount_amount, root.currency), root.currency)

    @staticmethod
    def resolve_commission_base(root: models.OrderLine, _info):
        return root.commission_base


class OrderType(DjangoObjectType):
    number = graphene.String(required=True)
    status = OrderStatusEnum(required=True)
    payment_status = OrderPaymentStatusEnum(required=True)
    vendor = graphene.Field(VendorType, required=True)
    lines = graphene.List(graphene.NonNull(OrderLineType), required=True)
    subtotal = graphene.Field(Money, required=True, description="Goods.")
    shipping_price = graphene.Field(Money, required=True)
    total = graphene.Field(
        Money, required=True, description="Goods and shipping less the discounts: the order's part of the payment."
    )
    discount = graphene.Field(Money, required=True, description="Every discount of the order (goods and shipping).")
    platform_subsidy = graphene.Field(
        Money, required=True, description="The platform-funded part of the discounts, paid to the store at release."
    )
    discounts = graphene.List(
        graphene.NonNull("backend.graphql.promotions.types.OrderDiscountType"), required=True,
        description="The order's discount lines: voucher, funder (platform or store), amount.",
    )
    refunded = graphene.Field(Money, required=True)
    commission = graphene.Field(Money, description="The platform's commission, once released.")
    shipping_method = graphene.Field(OrderShippingMethod, required=True)
    shipping_address = graphene.Field(OrderAddress, required=True)
    shipment = graphene.Field(ShipmentType, description="The shipment, with its tracking timeline, once shipped.")
    completion_source = OrderCompletionSourceEnum()
    disputes = graphene.List(
        graphene.NonNull("backend.graphql.disputes.types.DisputeType"),
        required=True,
        description="Disputes on this order, newest first (the vendor's staff, or ARBITRATE_DISPUTES).",
    )

    group_hold = graphene.Boolean(
        required=True,
        description="Paid into escrow but held for its group (拼团): not shippable until the group fills (AWAITING_GROUP).",
    )

    class Meta:
        model = models.Order
        name = "Order"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id", "email", "created_at", "paid_at", "shipped_at", "delivered_at", "completed_at", "cancelled_at",
            "auto_confirm_at", "confirmation_extended", "release_frozen", "cancel_reason", "reserved_until",
        )
        description = "One vendor's order from a checkout."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_orders(info.context.user, queryset)

    @staticmethod
    def resolve_number(root: models.Order, _info):
        return str(root.pk)

    @staticmethod
    def resolve_status(root: models.Order, _info):
        return models.OrderStatus(root.status).value

    @staticmethod
    def resolve_payment_status(root: models.Order, _info):
        return models.PaymentStatus(root.payment_status).value

    @staticmethod
    def resolve_vendor(root: models.Order, _info):
        return root.vendor

    @staticmethod
    def resolve_lines(root: models.Order, _info):
        return root.lines.all()

    @staticmethod
    def resolve_subtotal(root: models.Order, _info):
        return root.subtotal

    @staticmethod
    def resolve_shipping_price(root: models.Order, _info):
        return root.shipping_price

    @staticmethod
    def resolve_total(root: models.Order, _info):
        return root.total

    @staticmethod
    def resolve_refunded(root: models.Order, _info):
        return root.refunded

    @staticmethod
    def resolve_discount(root: models.Order, _info):
        return root.discount

    @staticmethod
    def resolve_platform_subsidy(root: models.Order, _info):
        return root.subsidy

    @staticmethod
    def resolve_discounts(root: models.Order, _info):
        return root.discounts.all()

    @staticmethod
    def resolve_commission(root: models.Order, _info):
        return None if root.commission_amount is None else root.money(root.commission_amount)

    @staticmethod
    def resolve_shipping_method(root: models.Order, _info):
        return OrderShippingMethod(
            carrier=root.shipping_carrier_id,
            service_code=root.shipping_service_code,
            service_name=root.shipping_service_name,
            price=root.shipping_price,
            promised_days=root.shipping_promised_days,
        )

    @staticmethod
    def resolve_shipping_address(root: models.Order, _info):
        address = root.shipping_address or {}
        return OrderAddress(
            **{name: address.get(name, "") for name in OrderAddress._meta.fields},
        )

    @staticmethod
    def resolve_shipment(root: models.Order, _info):
        return root.shipment

    @staticmethod
    def resolve_disputes(root: models.Order, info):
        return dispute_selectors.order_disputes(info.context.user, root)

    @staticmethod
    def resolve_completion_source(root: models.Order, _info):
        return models.CompletionSource(root.completion_source).value if root.completion_source else None
