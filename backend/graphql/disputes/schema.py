import graphene
from graphene_django.fields import DjangoConnectionField

from backend.core.exceptions import DomainError
from backend.disputes import selectors
from backend.vendors.models import Vendor

from ..core.lookups import NO_KEY, filter_key
from ..core.nodes import get_node
from .mutations import DisputeEscalate, DisputeMessageAdd, DisputeResolve, DisputeRespond, DisputeReturnReceived
from .types import DisputeStatusEnum, DisputeType, VendorDisputeStats, vendor_dispute_stats_for


class DisputeFilterInput(graphene.InputObjectType):
    status = DisputeStatusEnum()
    vendor = graphene.ID(description="One vendor's disputes (staff); a vendor sees only its own anyway.")


class DisputeQueries(graphene.ObjectType):
    disputes = DjangoConnectionField(
        DisputeType,
        filter=DisputeFilterInput(),
        description="Disputes the caller may see, newest first: a vendor's staff their own, ARBITRATE_DISPUTES all.",
    )
    dispute = graphene.Field(DisputeType, id=graphene.ID(required=True))
    vendor_dispute_stats = graphene.Field(
        VendorDisputeStats,
        vendor=graphene.ID(required=True),
        days=graphene.Int(default_value=30, description="Count the orders paid in this many last days."),
        description="A vendor's dispute rate and refund rate (its own staff, and platform staff).",
    )

    @staticmethod
    def resolve_disputes(_root, info, filter=None, **_kwargs):
        filter = filter or {}
        status = filter.get("status")
        vendor_id = filter_key(filter["vendor"], "Vendor") if filter.get("vendor") else None
        # DjangoConnectionField narrows this through DisputeType.get_queryset (the visibility rule).
        return selectors.disputes_for_list(
            info.context.user, status=getattr(status, "value", status), vendor_id=vendor_id
        ).order_by("-created_at", "-id")

    @staticmethod
    def resolve_dispute(_root, info, id):
        try:
            return get_node(info, id, DisputeType)
        except DomainError:
            return None

    @staticmethod
    def resolve_vendor_dispute_stats(_root, info, vendor, days=30):
        pk = filter_key(vendor, "Vendor")
        found = Vendor.objects.filter(pk=pk).first() if pk != NO_KEY else None
        return vendor_dispute_stats_for(info, found, days)


class DisputeMutations(graphene.ObjectType):
    dispute_respond = DisputeRespond.Field()
    dispute_return_received = DisputeReturnReceived.Field()
    dispute_escalate = DisputeEscalate.Field()
    dispute_resolve = DisputeResolve.Field()
    dispute_message_add = DisputeMessageAdd.Field()
