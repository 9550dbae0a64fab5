import graphene
from django.db.models import Prefetch
from graphene_django.fields import DjangoConnectionField

from backend.campaigns.models import Campaign, CampaignEnrolment, CampaignShippingEvent
from backend.core.exceptions import DomainError

from ..core.lookups import filter_key
from ..core.nodes import get_node
from .mutations import (
    CampaignCancel, CampaignCreate, CampaignEnrol, CampaignEnrolmentApprove, CampaignEnrolmentReject, CampaignOpen,
    CampaignUpdate, CampaignWithdraw,
)
from .types import CampaignEnrolmentStatusEnum, CampaignEnrolmentType, CampaignStatusEnum, CampaignType


class CampaignFilterInput(graphene.InputObjectType):
    status = graphene.List(graphene.NonNull(CampaignStatusEnum))


class CampaignEnrolmentFilterInput(graphene.InputObjectType):
    campaign = graphene.ID()
    vendor = graphene.ID(description="Staff: one store's enrolments.")
    status = graphene.List(graphene.NonNull(CampaignEnrolmentStatusEnum))


def _values(items):
    return [getattr(item, "value", item) for item in items]


class CampaignQueries(graphene.ObjectType):
    campaigns = DjangoConnectionField(
        CampaignType,
        filter=graphene.Argument(lambda: CampaignFilterInput),
        description="Campaigns, latest start first: REVIEW_LISTINGS staff all; a store's staff the open and live ones.",
    )
    campaign = graphene.Field(CampaignType, id=graphene.ID(required=True))
    campaign_enrolments = DjangoConnectionField(
        CampaignEnrolmentType,
        filter=graphene.Argument(lambda: CampaignEnrolmentFilterInput),
        description="Enrolments, newest first: REVIEW_LISTINGS staff all (the review queue); a store's staff its own.",
    )

    @staticmethod
    def resolve_campaigns(_root, _info, filter=None, **_kwargs):
        # Narrowed by CampaignType.get_queryset (the visibility rule).
        queryset = Campaign.objects.prefetch_related(
            "categories", Prefetch("shipping_events", queryset=CampaignShippingEvent.objects.select_related("event"))
        )
        filter = filter or {}
        if filter.get("status"):
            queryset = queryset.filter(status__in=_values(filter["status"]))
        return queryset.order_by("-starts_at", "-id")

    @staticmethod
    def resolve_campaign(_root, info, id):
        try:
            return get_node(info, id, CampaignType)
        except DomainError:
            return None

    @staticmethod
    def resolve_campaign_enrolments(_root, _info, filter=None, **_kwargs):
        # Narrowed by CampaignEnrolmentType.get_queryset (the visibility rule).
        queryset = CampaignEnrolment.objects.select_related("campaign", "vendor", "variant__product")
        filter = filter or {}
        if filter.get("campaign"):
            queryset = queryset.filter(campaign_id=filter_key(filter["campaign"], "Campaign"))
        if filter.get("vendor"):
            queryset = queryset.filter(vendor_id=filter_key(filter["vendor"], "Vendor"))
        if filter.get("status"):
            queryset = queryset.filter(status__in=_values(filter["status"]))
        return queryset.order_by("-created_at", "-id")


class CampaignMutations(graphene.ObjectType):
    campaign_create = CampaignCreate.Field()
    campaign_update = CampaignUpdate.Field()
    campaign_open = CampaignOpen.Field()
    campaign_cancel = CampaignCancel.Field()
    campaign_enrol = CampaignEnrol.Field()
    campaign_withdraw = CampaignWithdraw.Field()
    campaign_enrolment_approve = CampaignEnrolmentApprove.Field()
    campaign_enrolment_reject = CampaignEnrolmentReject.Field()
