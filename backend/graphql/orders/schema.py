import graphene

from backend.core.exceptions import DomainError
from backend.disputes.selectors import order_disputes_prefetch
from backend.orders.models import Order

from ..core.connections import CountOnDemandConnectionField
from ..core.lookups import filter_key
from ..core.nodes import get_node
from ..core.selections import selects
from .mutations import OrderCancel, OrderShip
from .types import OrderStatusEnum, OrderType


class OrderFilterInput(graphene.InputObjectType):
    status = OrderStatusEnum()
    created_gte = graphene.DateTime(description="Placed at or after.")
    created_lte = graphene.DateTime(description="Placed at or before.")
    vendor = graphene.ID(description="Staff with MANAGE_ORDERS: one vendor's orders.")


def with_order_relations(queryset):
    """What an order list shows, fetched per page."""
    return queryset.select_related("vendor", "shipment").prefetch_related("lines", "shipment__events", "discounts")


def filter_orders(queryset, filter_input):
    filter_input = filter_input or {}
    status = filter_input.get("status")
    if status:
        queryset = queryset.filter(status=getattr(status, "value", status))
    if filter_input.get("created_gte"):
        queryset = queryset.filter(created_at__gte=filter_input["created_gte"])
    if filter_input.get("created_lte"):
        queryset = queryset.filter(created_at__lte=filter_input["created_lte"])
    if filter_input.get("vendor"):
        queryset = queryset.filter(vendor_id=filter_key(filter_input["vendor"], "Vendor"))
    return queryset.order_by("-created_at", "-id")


class OrderQueries(graphene.ObjectType):
    orders = CountOnDemandConnectionField(
        OrderType,
        filter=OrderFilterInput(),
        description="Orders the caller may see, newest first: a vendor's staff their own, MANAGE_ORDERS all.",
    )
    order = graphene.Field(OrderType, id=graphene.ID(required=True))

    @staticmethod
    def resolve_orders(_root, info, filter=None, **_kwargs):
        # DjangoConnectionField narrows this through OrderType.get_queryset (the visibility rule).
        queryset = with_order_relations(filter_orders(Order.objects.all(), filter))
        if selects(info, "disputes"):
            # The page's disputes the caller may see, in a fixed number of queries.
            queryset = queryset.prefetch_related(order_disputes_prefetch(info.context.user))
        return queryset

    @staticmethod
    def resolve_order(_root, info, id):
        try:
            return get_node(info, id, OrderType)
        except DomainError:
            return None


class OrderMutations(graphene.ObjectType):
    order_ship = OrderShip.Field()
    order_cancel = OrderCancel.Field()
