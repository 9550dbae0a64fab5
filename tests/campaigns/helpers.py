"""Builders for the campaign tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from backend.campaigns import services
from backend.campaigns.services import CampaignInput
from backend.core.permissions import PlatformPermission

from ..conftest import make_user

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def campaign_staff():
    return make_user(is_staff=True, permissions=[PlatformPermission.REVIEW_LISTINGS])


def campaign(staff=None, *, open_=True, starts=None, ends=None, deadline=None, **fields):
    """A campaign starting in a day for a day (open for enrolment unless open_=False)."""
    staff = staff or campaign_staff()
    now = timezone.now()
    starts = starts or now + DAY
    fields.setdefault("name", "Double 11")
    made = services.campaign_create(actor=staff, data=CampaignInput(
        starts_at=starts, ends_at=ends or starts + DAY, enrolment_deadline=deadline, **fields))
    if open_:
        made = services.campaign_open(actor=staff, campaign_id=made.pk)
    return made


def enrol(owner, campaign, variant, price="70.00", quantity=None, now=None):
    return services.campaign_enrol(actor=owner, campaign_id=campaign.pk, variant_id=variant.pk, price=price,
                                   quantity=quantity, now=now)


def approved(owner, campaign, variant, staff=None, **fields):
    enrolment = enrol(owner, campaign, variant, **fields)
    return services.enrolment_approve(actor=staff or campaign_staff(), enrolment_id=enrolment.pk)
