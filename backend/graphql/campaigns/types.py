import graphene
from graphene_django import DjangoObjectType

from backend.campaigns import models, selectors
from backend.campaigns.error_codes import CampaignErrorCode

from ..core.types import CountableConnection, Money, choices_enum, error_type

CampaignError = error_type("CampaignError", CampaignErrorCode)
CampaignStatusEnum = choices_enum("CampaignStatus", models.CampaignStatus)
CampaignEnrolmentStatusEnum = choices_enum("CampaignEnrolmentStatus", models.EnrolmentStatus)


class CampaignShippingEventType(graphene.ObjectType):
    id = graphene.ID(required=True, description="The carrier pricing event's ID (PricingEvent).")
    name = graphene.String(required=True)
    carrier_id = graphene.String(required=True)
    service_code = graphene.String(required=True, description="Empty: every service of the carrier.")
    percent_change = graphene.Decimal(required=True, description="+20 raises shipping prices by 20%.")
    extra_days = graphene.Int(required=True)
    starts_at = graphene.DateTime(required=True)
    ends_at = graphene.DateTime(required=True)
    active = graphene.Boolean(required=True)

    class Meta:
        name = "CampaignShippingEvent"
        description = "A carrier's event pricing linked to a campaign: its window follows the campaign's."

    @staticmethod
    def resolve_id(root, _info):
        return graphene.relay.Node.to_global_id("PricingEvent", root.pk)


class CampaignType(DjangoObjectType):
    status = CampaignStatusEnum(required=True)
    badge = graphene.String(required=True, description="Shown on campaign prices (the name when none was set).")
    min_discount_percent = graphene.Decimal(
        required=True, description="Rule: a campaign price is at least this many percent below the regular price."
    )
    max_units_per_variant = graphene.Int(description="Rule: campaign units per enrolled variant at most.")
    categories = graphene.List(
        graphene.NonNull(graphene.ID), required=True, description="Rule: category IDs allowed (with subcategories); none: all."
    )
    shipping_events = graphene.List(graphene.NonNull(CampaignShippingEventType), required=True)

    class Meta:
        model = models.Campaign
        name = "Campaign"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "name", "slug", "description", "starts_at", "ends_at", "enrolment_deadline", "created_at")
        description = "A platform campaign (a shopping festival such as 11.11 / 双11): its window, rules and status."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_campaigns(info.context.user, queryset)

    @staticmethod
    def resolve_status(root, _info):
        return models.CampaignStatus(root.status).value

    @staticmethod
    def resolve_badge(root, _info):
        return root.badge_text

    @staticmethod
    def resolve_categories(root, _info):
        return [graphene.relay.Node.to_global_id("Category", c.pk) for c in root.categories.all()]

    @staticmethod
    def resolve_shipping_events(root, _info):
        return [link.event for link in root.shipping_events.all()]


class CampaignEnrolmentType(DjangoObjectType):
    campaign = graphene.Field(CampaignType, required=True)
    vendor = graphene.Field("backend.graphql.vendor.types.VendorType", required=True)
    variant = graphene.Field("backend.graphql.catalog.types.ProductVariantType", required=True)
    status = CampaignEnrolmentStatusEnum(required=True)
    price = graphene.Field(Money, required=True, description="The campaign price of one unit.")
    regular_price = graphene.Field(Money, required=True, description="The regular price when enrolled.")
    remaining = graphene.Int(description="Units still to be had at the campaign price; null: no limit.")
    reason = graphene.String(required=True, description="Why it was rejected.")

    class Meta:
        model = models.CampaignEnrolment
        name = "CampaignEnrolment"
        interfaces = (graphene.relay.Node,)
        connection_class = CountableConnection
        fields = ("id", "quantity", "sold_count", "decided_at", "created_at")
        description = "A store's variant enrolled in a campaign at a campaign price, reviewed by platform staff."

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.visible_enrolments(info.context.user, queryset)

    @staticmethod
    def resolve_campaign(root, _info):
        return root.campaign

    @staticmethod
    def resolve_vendor(root, _info):
        return root.vendor

    @staticmethod
    def resolve_variant(root, _info):
        return root.variant

    @staticmethod
    def resolve_status(root, _info):
        return models.EnrolmentStatus(root.status).value

    @staticmethod
    def resolve_price(root, _info):
        return root.price

    @staticmethod
    def resolve_regular_price(root, _info):
        from backend.core.money import Money as M
        from backend.core.money import quantize

        return M(quantize(root.regular_amount, root.currency), root.currency)

    @staticmethod
    def resolve_remaining(root, _info):
        return root.remaining

    @staticmethod
    def resolve_reason(root, _info):
        return root.reason
