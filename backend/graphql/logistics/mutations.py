import graphene

from backend.logistics import services
from plugins.manager import get_plugins_manager

from ..core.mutations import BaseMutation
from ..core.nodes import get_node
from .types import LogisticsError, ShipmentType


class ShipmentCancel(BaseMutation):
    shipment = graphene.Field(ShipmentType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String()

    class Meta:
        description = "Cancel a shipment before the carrier picked it up (its merchant, or staff with MANAGE_ORDERS)."
        error_type_class = LogisticsError
        # The service runs its own short transactions: no lock is held while the carrier is told.
        atomic = False

    @classmethod
    def perform_mutation(cls, _root, info, id, reason=""):
        shipment = get_node(info, id, ShipmentType)
        shipment = services.shipment_cancel(
            shipment=shipment, actor=info.context.user, reason=reason or "", manager=get_plugins_manager(info.context)
        )
        return cls(shipment=shipment, errors=[])


class ShipmentTrackingRefresh(BaseMutation):
    shipment = graphene.Field(ShipmentType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Pull the latest tracking events from carriers that have an API."
        error_type_class = LogisticsError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        shipment = get_node(info, id, ShipmentType)
        services.shipment_tracking_refresh(shipment=shipment, manager=get_plugins_manager(info.context))
        shipment.refresh_from_db()
        return cls(shipment=shipment, errors=[])
