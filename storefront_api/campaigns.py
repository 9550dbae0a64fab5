"""Platform campaigns on the storefront: live and upcoming campaigns (name, window, badge), a
campaign's page of listings (those with an approved enrolment), and on a variant the campaign
price (CampaignOffer: the price, the regular price, the badge and the countdown's end). Rules
live in backend.campaigns."""

from __future__ import annotations

from datetime import datetime

import strawberry
import strawberry_django
from django.db.models import QuerySet
from django.utils import timezone
from strawberry import relay
from strawberry.types import Info

from backend.campaigns import selectors
from backend.campaigns.models import Campaign as CampaignModel
from backend.campaigns.models import CampaignEnrolment, EnrolmentStatus
from backend.catalog import models as catalog_models

from .catalog import CountedConnection, Product, ProductSortingInput, browse_products
from .core import Money


@strawberry_django.type(CampaignModel, name="Campaign", description="A platform campaign (a shopping festival such as 双11).")
class Campaign(relay.Node):
    id: relay.NodeID[int]
    name: strawberry.auto
    slug: strawberry.auto
    description: strawberry.auto
    starts_at: datetime
    ends_at: datetime = strawberry_django.field(description="When its prices end: the countdown's end.")

    @classmethod
    def get_queryset(cls, queryset, info: Info, **kwargs):
        return selectors.storefront_campaigns(now=None).filter(pk__in=queryset.values("pk"))

    @strawberry_django.field(only=["badge", "name"], description="What the badge on its prices says.")
    def badge(self) -> str:
        return self.badge_text

    @strawberry_django.field(only=["starts_at", "ends_at"], description="In its window now (else coming: count down to startsAt).")
    def live(self) -> bool:
        return self.starts_at <= timezone.now() < self.ends_at

    @strawberry_django.connection(CountedConnection[Product], description="Its listings: those with an approved enrolment.")
    def products(self, sort_by: ProductSortingInput | None = None) -> QuerySet[catalog_models.Product]:
        enrolled = CampaignEnrolment.objects.filter(campaign_id=self.pk, status=EnrolmentStatus.APPROVED)
        return browse_products(
            catalog_models.Product.objects.filter(pk__in=enrolled.values("variant__product_id")), None, sort_by
        )


@strawberry.type(name="CampaignOffer", description="A variant's campaign price: live now, or coming (its countdown).")
class CampaignOffer:
    enrolment: strawberry.Private[CampaignEnrolment]
    regular: strawberry.Private[Money]

    @strawberry.field(description="The campaign's slug (its page: campaign(slug:)).")
    def campaign_slug(self) -> str:
        return self.enrolment.campaign.slug

    @strawberry.field
    def campaign_name(self) -> str:
        return self.enrolment.campaign.name

    @strawberry.field(description="What the badge says (the campaign's badge, or its name).")
    def badge(self) -> str:
        return self.enrolment.campaign.badge_text

    @strawberry.field(description="The campaign price of one unit.")
    def price(self) -> Money:
        return Money.from_value(self.enrolment.price)

    @strawberry.field(description="The regular price, shown struck through.")
    def original_price(self) -> Money:
        return self.regular

    @strawberry.field(description="In the campaign's window now (else coming: count down to startsAt).")
    def live(self) -> bool:
        return self.enrolment.campaign.starts_at <= timezone.now() < self.enrolment.campaign.ends_at

    @strawberry.field
    def starts_at(self) -> datetime:
        return self.enrolment.campaign.starts_at

    @strawberry.field(description="When the price ends: the countdown's end.")
    def ends_at(self) -> datetime:
        return self.enrolment.campaign.ends_at

    @strawberry.field(description="Units still to be had at the price; null: no limit.")
    def remaining(self) -> int | None:
        return self.enrolment.remaining

    @strawberry.field
    def sold_out(self) -> bool:
        return self.enrolment.remaining == 0


def campaign_offer(enrolment, regular_amount, currency) -> CampaignOffer:
    return CampaignOffer(enrolment=enrolment, regular=Money(amount=regular_amount, currency=currency))


@strawberry.type
class CampaignQuery:
    @strawberry_django.field(description="Live and upcoming platform campaigns, soonest first.")
    def campaigns(self) -> list[Campaign]:
        return CampaignModel.objects.all()

    @strawberry_django.field(description="A live or upcoming campaign by its slug (its page).")
    def campaign(self, slug: str) -> Campaign | None:
        return CampaignModel.objects.filter(slug=slug)
