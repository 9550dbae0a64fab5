import graphene
from django.utils.translation import gettext as _

from backend.campaigns import services
from backend.campaigns.error_codes import CampaignErrorCode
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission

from ..core.mutations import BaseMutation
from ..core.nodes import decode_id
from .types import CampaignEnrolmentType, CampaignError, CampaignType


class CampaignInput(graphene.InputObjectType):
    name = graphene.String()
    slug = graphene.String(description="Empty on creation: made from the name.")
    description = graphene.String()
    badge = graphene.String(description="Shown on campaign prices (at most 32 characters); empty: the name.")
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    enrolment_deadline = graphene.DateTime(description="Stores enrol until then; by default the start.")
    min_discount_percent = graphene.Decimal(description="Rule: campaign prices at least this many percent off (0 to 99).")
    max_units_per_variant = graphene.Int(description="Rule: campaign units per variant at most (enrolments must give units).")
    clear_max_units_per_variant = graphene.Boolean(description="True removes the units rule.")
    categories = graphene.List(graphene.NonNull(graphene.ID), description="Rule: categories allowed; empty list: all.")
    pricing_events = graphene.List(
        graphene.NonNull(graphene.ID),
        description="Carrier pricing events (PricingEvent IDs) run with the campaign: their window follows the campaign's.",
    )


def _pk(value, type_name: str, field: str) -> int:
    pk = decode_id(value, type_name, field=field)
    if not pk.isdigit():
        raise DomainError(CampaignErrorCode.NOT_FOUND, _("Not found."), field=field)
    return int(pk)


def _input(data) -> services.CampaignInput:
    def ids(name, type_name):
        values = data.get(name)
        return None if values is None else [_pk(v, type_name, name) for v in values]

    return services.CampaignInput(
        name=data.get("name"), slug=data.get("slug"), description=data.get("description"), badge=data.get("badge"),
        starts_at=data.get("starts_at"), ends_at=data.get("ends_at"), enrolment_deadline=data.get("enrolment_deadline"),
        min_discount_percent=data.get("min_discount_percent"), max_units_per_variant=data.get("max_units_per_variant"),
        clear_max_units=bool(data.get("clear_max_units_per_variant")), category_ids=ids("categories", "Category"),
        pricing_event_ids=ids("pricing_events", "PricingEvent"),
    )


def _campaign_id(value) -> int:
    return _pk(value, "Campaign", "id")


class CampaignCreate(BaseMutation):
    campaign = graphene.Field(CampaignType)

    class Arguments:
        input = CampaignInput(required=True)
        open = graphene.Boolean(description="Open it for enrolment at once (else it stays a draft).")

    class Meta:
        description = "Staff with REVIEW_LISTINGS create a platform campaign (a draft unless `open`)."
        error_type_class = CampaignError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, input, open=False):
        campaign = services.campaign_create(actor=info.context.user, data=_input(input))
        if open:
            campaign = services.campaign_open(actor=info.context.user, campaign_id=campaign.pk)
        return cls(campaign=campaign, errors=[])


class CampaignUpdate(BaseMutation):
    campaign = graphene.Field(CampaignType)

    class Arguments:
        id = graphene.ID(required=True)
        input = CampaignInput(required=True)

    class Meta:
        description = "Change a draft or open campaign (a live one: only its texts); REVIEW_LISTINGS."
        error_type_class = CampaignError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, id, input):
        campaign = services.campaign_update(actor=info.context.user, campaign_id=_campaign_id(id), data=_input(input))
        return cls(campaign=campaign, errors=[])


class CampaignOpen(BaseMutation):
    campaign = graphene.Field(CampaignType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Open a draft campaign for enrolment (stores see it); REVIEW_LISTINGS."
        error_type_class = CampaignError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, id):
        return cls(campaign=services.campaign_open(actor=info.context.user, campaign_id=_campaign_id(id)), errors=[])


class CampaignCancel(BaseMutation):
    campaign = graphene.Field(CampaignType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String()

    class Meta:
        description = "Cancel a campaign: its prices stop at once, its carrier events are switched off; REVIEW_LISTINGS."
        error_type_class = CampaignError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, id, reason=""):
        campaign = services.campaign_cancel(actor=info.context.user, campaign_id=_campaign_id(id), reason=reason or "")
        return cls(campaign=campaign, errors=[])


class CampaignEnrol(BaseMutation):
    enrolment = graphene.Field(CampaignEnrolmentType)

    class Arguments:
        campaign = graphene.ID(required=True)
        variant = graphene.ID(required=True, description="One of the store's variants.")
        price = graphene.Decimal(required=True, description="The campaign price of one unit.")
        quantity = graphene.Int(description="Units at the campaign price; none: no limit (unless a rule asks).")

    class Meta:
        description = "A store's owner or operators enrol a variant in an open campaign (pending review)."
        error_type_class = CampaignError

    @classmethod
    def perform_mutation(cls, _root, info, campaign, variant, price, quantity=None):
        enrolment = services.campaign_enrol(
            actor=info.context.user, campaign_id=_pk(campaign, "Campaign", "campaign"),
            variant_id=_pk(variant, "ProductVariant", "variant"), price=price, quantity=quantity,
        )
        return cls(enrolment=enrolment, errors=[])


def _enrolment_id(value) -> int:
    return _pk(value, "CampaignEnrolment", "id")


class CampaignWithdraw(BaseMutation):
    enrolment = graphene.Field(CampaignEnrolmentType)

    class Arguments:
        id = graphene.ID(required=True, description="The enrolment.")

    class Meta:
        description = "The store takes an enrolment back (a pending one; an approved one until the campaign starts)."
        error_type_class = CampaignError

    @classmethod
    def perform_mutation(cls, _root, info, id):
        enrolment = services.campaign_withdraw(actor=info.context.user, enrolment_id=_enrolment_id(id))
        return cls(enrolment=enrolment, errors=[])


class CampaignEnrolmentApprove(BaseMutation):
    enrolment = graphene.Field(CampaignEnrolmentType)

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Approve a pending enrolment (the rules are checked again); REVIEW_LISTINGS."
        error_type_class = CampaignError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, id):
        enrolment = services.enrolment_approve(actor=info.context.user, enrolment_id=_enrolment_id(id))
        return cls(enrolment=enrolment, errors=[])


class CampaignEnrolmentReject(BaseMutation):
    enrolment = graphene.Field(CampaignEnrolmentType)

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True, description="Shown to the store.")

    class Meta:
        description = "Reject a pending enrolment with a reason; REVIEW_LISTINGS."
        error_type_class = CampaignError
        permission = PlatformPermission.REVIEW_LISTINGS

    @classmethod
    def perform_mutation(cls, _root, info, id, reason):
        enrolment = services.enrolment_reject(actor=info.context.user, enrolment_id=_enrolment_id(id), reason=reason)
        return cls(enrolment=enrolment, errors=[])
