import graphene
from graphene_django.fields import DjangoConnectionField

from backend.core.exceptions import DomainError
from backend.logistics import services
from backend.logistics.error_codes import LogisticsErrorCode
from backend.logistics.models import Region
from backend.logistics.selectors import may_use_shipping
from backend.vendors.selectors import vendor_of
from plugins.logistics.interface import Package, Parcel
from plugins.manager import get_plugins_manager

from ..core.mutations import ErrorValue
from ..core.nodes import get_node
from ..vendor.types import VendorType
from .mutations import ShipmentCancel, ShipmentTrackingRefresh
from .types import Carrier, ShipmentStatusEnum, ShipmentType, ShippingQuoteResult, ShippingRegion


class ParcelInput(graphene.InputObjectType):
    weight = graphene.Decimal(required=True, description="Kilograms.")
    length = graphene.Decimal(description="Centimetres.")
    width = graphene.Decimal(description="Centimetres.")
    height = graphene.Decimal(description="Centimetres.")


class ShippingQuoteInput(graphene.InputObjectType):
    origin = graphene.String(required=True, description="Region code (GB/T 2260) shipped from.")
    destination = graphene.String(required=True, description="Region code shipped to.")
    parcels = graphene.List(graphene.NonNull(ParcelInput), required=True)
    carrier = graphene.ID(description="Only this carrier's quotes.")
    vendor = graphene.ID(description="Staff: quote with this vendor's negotiated prices. Merchants get their own.")


def _error(error: DomainError) -> ErrorValue:
    return ErrorValue(field=error.field, code=LogisticsErrorCode[error.code.name], message=error.message)


class LogisticsQueries(graphene.ObjectType):
    carriers = graphene.List(
        graphene.NonNull(Carrier), required=True,
        description="Active carriers and their services (merchants and staff; empty for others).",
    )
    shipping_quote = graphene.Field(
        ShippingQuoteResult, input=ShippingQuoteInput(required=True), required=True,
        description="Preview what each active carrier charges for a package (merchants and staff).",
    )
    shipping_regions = graphene.List(
        graphene.NonNull(ShippingRegion), required=True, description="Region codes usable as origin and destination."
    )
    shipments = DjangoConnectionField(
        ShipmentType, status=ShipmentStatusEnum(), reference=graphene.String(),
        description="A merchant's own shipments; all for staff with MANAGE_ORDERS.",
    )
    shipment = graphene.Field(ShipmentType, id=graphene.ID(required=True))

    @staticmethod
    def resolve_carriers(_root, info):
        if not may_use_shipping(info.context.user):
            return []
        return services.carriers_available(manager=get_plugins_manager(info.context))

    @staticmethod
    def resolve_shipping_quote(_root, info, input):
        user = info.context.user
        try:
            if not may_use_shipping(user):
                raise DomainError(LogisticsErrorCode.PERMISSION_DENIED, "Only merchants and staff can quote shipping.")
            if input.get("vendor"):
                vendor = get_node(info, input["vendor"], VendorType, field="vendor")
            else:
                vendor = vendor_of(user)
            package = Package(
                parcels=tuple(
                    Parcel(
                        weight=parcel.weight,
                        length=parcel.get("length") or 0,
                        width=parcel.get("width") or 0,
                        height=parcel.get("height") or 0,
                    )
                    for parcel in input["parcels"]
                ),
                vendor_id=vendor.pk if vendor else None,
            )
            result = services.quote_package(
                package=package,
                origin=input["origin"],
                destination=input["destination"],
                carrier=input.get("carrier"),
                manager=get_plugins_manager(info.context),
            )
        except DomainError as error:
            return ShippingQuoteResult(quotes=[], carrier_errors=[], errors=[_error(error)])
        return ShippingQuoteResult(
            quotes=result.quotes, carrier_errors=[_error(e) for e in result.carrier_errors], errors=[]
        )

    @staticmethod
    def resolve_shipping_regions(_root, _info):
        return Region.objects.select_related("parent").order_by("code")

    @staticmethod
    def resolve_shipments(_root, info, status=None, reference=None, **_kwargs):
        queryset = ShipmentType.get_queryset(ShipmentType._meta.model.objects.all(), info)
        if status:
            queryset = queryset.filter(status=status)
        if reference:
            queryset = queryset.filter(reference=reference)
        return queryset.prefetch_related("events")

    @staticmethod
    def resolve_shipment(_root, info, id):
        try:
            return get_node(info, id, ShipmentType)
        except DomainError:
            return None


class LogisticsMutations(graphene.ObjectType):
    shipment_cancel = ShipmentCancel.Field()
    shipment_tracking_refresh = ShipmentTrackingRefresh.Field()
