import graphene
from graphene_django import DjangoObjectType

from backend.logistics import models, selectors
from backend.logistics.error_codes import LogisticsErrorCode

from ..core.types import CountableConnection, Money, choices_enum, error_type

LogisticsError = error_type("LogisticsError", LogisticsErrorCode)

ShipmentStatusEnum = choices_enum("ShipmentStatus", models.ShipmentStatus)
RegionKindEnum = choices_enum("RegionKind", models.RegionKind)


class CarrierService(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    time_guaranteed = graphene.Boolean(required=True)
    description = graphene.String(required=True)


class Carrier(graphene.ObjectType):
    id = graphene.ID(required=True, description="The carrier plugin's identifier, used in quotes and webhooks.")
    name = graphene.String(required=True)
    services = graphene.List(graphene.NonNull(CarrierService), required=True)

    class Meta:
        description = "An active carrier plugin and the services it offers."

    @staticmethod
    def resolve_id(root, _info):
        return root.carrier


class ShippingQuote(graphene.ObjectType):
    carrier = graphene.ID(required=True)
    carrier_name = graphene.String(required=True)
    service_code = graphene.String(required=True)
    service_name = graphene.String(required=True)
    price = graphene.Field(Money, required=True, description="What the vendor pays, after event and negotiated prices.")
    list_price = graphene.Field(Money, description="The carrier's own price before platform pricing rules.")
    promised_days = graphene.Int(required=True)
    time_guaranteed = graphene.Boolean(required=True)
    chargeable_weight = graphene.Decimal(description="Kilograms charged (volumetric and rounding applied).")
    notes = graphene.List(graphene.NonNull(graphene.String), required=True)


class ShippingQuoteResult(graphene.ObjectType):
    quotes = graphene.List(graphene.NonNull(ShippingQuote), required=True, description="Cheapest first.")
    carrier_errors = graphene.List(
        graphene.NonNull(LogisticsError), required=True,
        description="Carriers that could not answer (field is the carrier id); the other quotes stand.",
    )
    errors = graphene.List(graphene.NonNull(LogisticsError), required=True)


class ShippingRegion(DjangoObjectType):
    kind = RegionKindEnum(required=True)
    parent_code = graphene.String()

    class Meta:
        model = models.Region
        fields = ("code", "name", "local_name", "is_remote")

    @staticmethod
    def resolve_parent_code(root, _info):
        return root.parent.code if root.parent_id else None


class TrackingEventType(DjangoObjectType):
    status = ShipmentStatusEnum(required=True)

    class Meta:
        model = models.TrackingEvent
        name = "TrackingEvent"
        fields = ("event_id", "carrier_status", "occurred_at", "location", "description", "applied", "received_at")

    @staticmethod
    def resolve_status(root, _info):
        return models.ShipmentStatus(root.status).value


class ShipmentType(DjangoObjectType):
    status = ShipmentStatusEnum(required=True)
    carrier = graphene.ID(required=True)
    price = graphene.Field(Money, required=True)
    events = graphene.List(graphene.NonNull(TrackingEventType), required=True, description="The timeline, oldest first.")
    label_data = graphene.JSONString(required=True)
    vendor = graphene.Field(
        "backend.graphql.vendor.types.VendorType", description="The shipping vendor, when the caller may see it."
    )

    class Meta:
        model = models.Shipment
        name = "Shipment"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = (
            "id", "reference", "service_code", "service_name", "origin_code", "destination_code",
            "weight", "chargeable_weight", "promised_days", "time_guaranteed", "tracking_number",
            "last_event_at", "delivered_at", "cancelled_at", "created_at",
        )

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_shipments(info.context.user, queryset)

    @staticmethod
    def resolve_status(root, _info):
        return models.ShipmentStatus(root.status).value

    @staticmethod
    def resolve_carrier(root, _info):
        return root.carrier_id

    @staticmethod
    def resolve_price(root, _info):
        return root.price

    @staticmethod
    def resolve_vendor(root, info):
        # Vendor visibility is the vendor type's rule; remembered per request and vendor,
        # so a page of one vendor's shipments costs one query.
        from ..vendor.types import VendorType

        seen = info.context.__dict__.setdefault("_shipment_vendors", {})
        if root.vendor_id not in seen:
            queryset = VendorType.get_queryset(VendorType._meta.model.objects.filter(pk=root.vendor_id), info)
            seen[root.vendor_id] = queryset.first()
        return seen[root.vendor_id]

    @staticmethod
    def resolve_events(root, _info):
        return root.events.all()
