"""Shoppers' orders: their own only, with payment status and the shipment's tracking timeline."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from strawberry import relay
from strawberry.types import Info

from backend.core.exceptions import DomainError
from backend.orders import models, selectors, services
from backend.orders.error_codes import OrderErrorCode

from .core import Money, current_user, error_type, run_mutation
from .ids import key_of, key_or_not_found

if TYPE_CHECKING:
    from .disputes import Dispute

OrderError = error_type("OrderError", OrderErrorCode)


@strawberry.enum(name="OrderStatus")
class OrderStatus(Enum):
    UNPAID = "unpaid"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@strawberry.enum(name="OrderPaymentStatus")
class OrderPaymentStatus(Enum):
    NOT_PAID = "not_paid"
    ESCROW_HELD = "escrow_held"
    RELEASED = "released"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


@strawberry.enum(name="PaymentChargeStatus")
class PaymentChargeStatus(Enum):
    PENDING = "pending"
    ACTION_REQUIRED = "action_required"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@strawberry.type(description="A payment covering this order (shared by the orders of one checkout), as the gateway left it.")
class OrderPayment:
    gateway: str
    status: PaymentChargeStatus
    total: Money
    captured: Money
    refunded: Money


@strawberry.enum(name="ShipmentStatus")
class ShipmentStatus(Enum):
    INFO_RECEIVED = "info_received"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"
    CANCELLED = "cancelled"


@strawberry.type(description="One step of a parcel's journey, as the carrier reported it.")
class TrackingEvent:
    status: ShipmentStatus
    occurred_at: datetime
    location: str
    description: str


@strawberry.type(description="A parcel on its way: carrier, tracking number and timeline (oldest first).")
class OrderShipment:
    carrier: str
    service_name: str
    tracking_number: str
    status: ShipmentStatus
    promised_days: int
    delivered_at: datetime | None
    events: list[TrackingEvent]


@strawberry.type(description="The store an order is from.")
class OrderVendor:
    id: relay.GlobalID
    name: str
    slug: str


@strawberry.type
class OrderShippingMethod:
    carrier: str
    service_code: str
    service_name: str
    price: Money
    promised_days: int | None


@strawberry_django.type(models.OrderLine, name="OrderLine")
class OrderLine(relay.Node):
    id: relay.NodeID[int]
    product_name: strawberry.auto
    variant_sku: strawberry.auto
    quantity: strawberry.auto

    @strawberry_django.field(only=["unit_price_amount", "currency"])
    def unit_price(self) -> Money:
        return Money.from_value(self.unit_price)

    @strawberry_django.field(only=["unit_price_amount", "quantity", "currency"])
    def total(self) -> Money:
        return Money.from_value(self.total)


@strawberry_django.type(models.Order, name="Order")
class Order(relay.Node):
    """One store's order from a checkout."""

    id: relay.NodeID[int]
    email: strawberry.auto
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    confirmation_extended: bool
    lines: list[OrderLine]
    # Scoped by Dispute.get_queryset (backend.disputes.selectors.shopper_disputes); the optimizer
    # prefetches them for a whole page of orders.
    disputes: list[Annotated[Dispute, strawberry.lazy("storefront_api.disputes")]] = strawberry_django.field(
        description="Your disputes about this order, newest first."
    )

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return selectors.shopper_orders(current_user(info), queryset)

    @strawberry_django.field(only=["id"])
    def number(self) -> str:
        return str(self.pk)

    @strawberry_django.field(only=["status"])
    def status(self) -> OrderStatus:
        return OrderStatus(self.status)

    @strawberry_django.field(
        only=["paid_at", "released_at", "refunded_amount", "total_amount"],
        description="Where the order's money is: held in escrow, released to the store, refunded.",
    )
    def payment_status(self) -> OrderPaymentStatus:
        return OrderPaymentStatus(self.payment_status)

    @strawberry_django.field(
        select_related=["payment"],
        only=[
            "payment__id", "payment__gateway", "payment__status", "payment__amount", "payment__captured_amount",
            "payment__refunded_amount", "payment__currency",
        ],
        description="The payments of the order with their state (authorized, captured, refunded ...).",
    )
    def payments(self) -> list[OrderPayment]:
        payment = self.payment
        if payment is None:
            return []
        return [
            OrderPayment(
                gateway=payment.gateway, status=PaymentChargeStatus(payment.status), total=Money.from_value(payment.total),
                captured=Money.from_value(payment.captured), refunded=Money.from_value(payment.refunded),
            )
        ]

    @strawberry_django.field(select_related=["vendor"], only=["vendor__id", "vendor__name", "vendor__slug"])
    def vendor(self) -> OrderVendor:
        vendor = self.vendor
        return OrderVendor(id=relay.GlobalID("Vendor", str(vendor.pk)), name=vendor.name, slug=vendor.slug)

    @strawberry_django.field(only=["subtotal_amount", "currency"], description="Goods.")
    def subtotal(self) -> Money:
        return Money.from_value(self.subtotal)

    @strawberry_django.field(only=["shipping_amount", "currency"])
    def shipping_price(self) -> Money:
        return Money.from_value(self.shipping_price)

    @strawberry_django.field(only=["discount_amount", "currency"], description="What vouchers took off (goods and shipping).")
    def discount(self) -> Money:
        return Money.from_value(self.discount)

    @strawberry_django.field(only=["total_amount", "currency"], description="What was paid for this order.")
    def total(self) -> Money:
        return Money.from_value(self.total)

    @strawberry_django.field(only=["refunded_amount", "currency"])
    def refunded(self) -> Money:
        return Money.from_value(self.refunded)

    @strawberry_django.field(
        only=[
            "shipping_carrier_id", "shipping_service_code", "shipping_service_name", "shipping_promised_days",
            "shipping_amount", "currency",
        ]
    )
    def shipping_method(self) -> OrderShippingMethod:
        return OrderShippingMethod(
            carrier=self.shipping_carrier_id,
            service_code=self.shipping_service_code,
            service_name=self.shipping_service_name,
            price=Money.from_value(self.shipping_price),
            promised_days=self.shipping_promised_days,
        )

    @strawberry_django.field(
        only=["status", "auto_confirm_at"],
        description="When receipt is confirmed automatically if the shopper does not confirm.",
    )
    def confirm_deadline(self) -> datetime | None:
        if self.status in (models.OrderStatus.SHIPPED, models.OrderStatus.DELIVERED):
            return self.auto_confirm_at
        return None

    @strawberry_django.field(
        only=["group_hold"], description="Paid into escrow and waiting for its group (拼团) to fill before it ships."
    )
    def awaiting_group(self) -> bool:
        return self.group_hold

    @strawberry_django.field(
        select_related=["group_membership__group__deal"],
        only=[
            "group_membership__id", "group_membership__group__id", "group_membership__group__status",
            "group_membership__group__expires_at", "group_membership__group__deal__id",
            "group_membership__group__deal__group_size",
        ],
        prefetch_related=["group_membership__group__members"],
        description="The group this order was bought in (拼团), if any: its status, the members it still needs, its expiry.",
    )
    def group(self) -> Annotated["OrderGroup", strawberry.lazy("storefront_api.discounts")] | None:
        from backend.promotions.models import GroupMember

        from .discounts import OrderGroup

        try:
            membership = self.group_membership
        except GroupMember.DoesNotExist:
            return None
        return OrderGroup(model=membership.group)

    @strawberry_django.field(only=["status"])
    def can_cancel(self) -> bool:
        return self.status in services.CANCELLABLE

    @strawberry_django.field(
        select_related=["shipment"],
        prefetch_related=["shipment__events"],
        description="The shipments with their tracking timelines (one once the store has shipped).",
    )
    def shipments(self) -> list[OrderShipment]:
        shipment = self.shipment
        if shipment is None:
            return []
        return [
            OrderShipment(
                carrier=shipment.carrier_id,
                service_name=shipment.service_name,
                tracking_number=shipment.tracking_number,
                status=ShipmentStatus(shipment.status),
                promised_days=shipment.promised_days,
                delivered_at=shipment.delivered_at,
                events=[
                    TrackingEvent(
                        status=ShipmentStatus(event.status),
                        occurred_at=event.occurred_at,
                        location=event.location,
                        description=event.description,
                    )
                    for event in shipment.events.all()
                ],
            )
        ]


def own_order(info: Info, global_id: relay.GlobalID) -> models.Order:
    """The shopper's own order, or NOT_FOUND (another shopper's order looks missing)."""
    pk = key_or_not_found(global_id, "Order", field="id")
    order = selectors.shopper_orders(current_user(info)).filter(pk=pk).first()
    if order is None:
        raise DomainError(OrderErrorCode.NOT_FOUND, "No such order.", field="id")
    return order


@strawberry.type
class OrderPayload:
    order: Order | None = None
    errors: list[OrderError]


@strawberry.type
class OrderQuery:
    @strawberry_django.field(description="One of the signed-in shopper's orders.")
    def order(self, id: relay.GlobalID) -> Order | None:
        pk = key_of(id, "Order")
        return None if pk is None else models.Order.objects.filter(pk=pk)


@strawberry.type
class OrderMutation:
    @strawberry.mutation(description="The goods arrived: completes the order and releases its money to the store.")
    def order_confirm_receipt(self, info: Info, id: relay.GlobalID) -> OrderPayload:
        return run_mutation(
            OrderPayload,
            OrderError,
            lambda: {"order": services.order_confirm_receipt(actor=current_user(info), order=own_order(info, id))},
        )

    @strawberry.mutation(description="Push the automatic confirmation back once (the goods have not arrived yet).")
    def order_extend_confirmation(self, info: Info, id: relay.GlobalID) -> OrderPayload:
        return run_mutation(
            OrderPayload,
            OrderError,
            lambda: {"order": services.order_extend_confirmation(actor=current_user(info), order=own_order(info, id))},
        )

    @strawberry.mutation(description="Cancel before the store ships: the order's part of the payment is refunded.")
    def order_cancel(self, info: Info, id: relay.GlobalID, reason: str = "") -> OrderPayload:
        return run_mutation(
            OrderPayload,
            OrderError,
            lambda: {
                "order": services.order_cancel(actor=current_user(info), order=own_order(info, id), reason=reason)
            },
        )


__all__ = ["Order", "OrderMutation", "OrderQuery"]
