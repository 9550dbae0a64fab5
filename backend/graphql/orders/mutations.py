import graphene

from backend.orders import services

from ..core.mutations import BaseMutation
from ..core.nodes import get_node
from .types import OrderError, OrderType


class OrderShipInput(graphene.InputObjectType):
    carrier = graphene.ID(required=True, description="A carrier plugin's identifier, e.g. logistics.table_rate.")
    service_code = graphene.String(description="The carrier's service; default: the one the shopper chose.")
    tracking_number = graphene.String(
        description="Only for a package booked with the carrier outside the platform: its tracking number."
    )


class OrderShip(BaseMutation):
    order = graphene.Field(OrderType)

    class Arguments:
        id = graphene.ID(required=True)
        input = OrderShipInput(required=True)

    class Meta:
        description = "Hand the order to a carrier: books a shipment (the vendor's staff, or MANAGE_ORDERS)."
        error_type_class = OrderError
        # The service runs its own short transactions: no lock is held while the carrier books.
        atomic = False

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        order = services.order_ship(
            actor=info.context.user,
            order=get_node(info, id, OrderType),
            carrier=input.carrier,
            service_code=input.get("service_code"),
            tracking_number=input.get("tracking_number"),
        )
        return cls(order=order, errors=[])


class OrderCancel(BaseMutation):
    order = graphene.Field(OrderType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True)

    class Meta:
        description = (
            "Cancel before shipment: stock comes back and the shopper is refunded from escrow "
            "(the vendor's staff, or MANAGE_ORDERS)."
        )
        error_type_class = OrderError

    @classmethod
    def perform_mutation(cls, _root, info, id, reason):
        order = services.order_cancel(actor=info.context.user, order=get_node(info, id, OrderType), reason=reason)
        return cls(order=order, errors=[])
