"""Who may see and do what with campaigns and enrolments: the one place it is decided, for both APIs."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from backend.core.permissions import PlatformPermission, has_permission
from backend.promotions.selectors import manages_store_vouchers
from backend.vendors.selectors import vendor_id_of

from .models import Campaign, CampaignEnrolment, CampaignStatus, EnrolmentStatus

SHOWN_TO_STORES = (CampaignStatus.OPEN_FOR_ENROLMENT, CampaignStatus.LIVE)


def manages_campaigns(user) -> bool:
    """Campaigns are merchandising decisions reviewed like listings: staff with REVIEW_LISTINGS
    create and cancel campaigns and approve or reject enrolments."""
    return has_permission(user, PlatformPermission.REVIEW_LISTINGS)


def enrols_for_store(user) -> bool:
    """A store's owner and operators enrol its variants (they set its prices); customer service sees only."""
    return manages_store_vouchers(user)


def visible_campaigns(user, queryset=None) -> QuerySet[Campaign]:
    """Core API: campaign staff see every campaign; a store's staff the open and live ones; nobody else any."""
    queryset = Campaign.objects.all() if queryset is None else queryset
    if manages_campaigns(user):
        return queryset
    if vendor_id_of(user) is not None:
        return queryset.filter(status__in=SHOWN_TO_STORES)
    return queryset.none()


def visible_enrolments(user, queryset=None) -> QuerySet[CampaignEnrolment]:
    """Core API: campaign staff see every enrolment; a store's staff their store's only."""
    queryset = CampaignEnrolment.objects.all() if queryset is None else queryset
    if manages_campaigns(user):
        return queryset
    vendor_id = vendor_id_of(user)
    return queryset.filter(vendor_id=vendor_id) if vendor_id is not None else queryset.none()


def may_see_enrolment(user, enrolment: CampaignEnrolment) -> bool:
    """The rule of visible_enrolments for one enrolment already loaded."""
    if manages_campaigns(user):
        return True
    vendor_id = vendor_id_of(user)
    return vendor_id is not None and enrolment.vendor_id == vendor_id


# --- The storefront ---------------------------------------------------------------------------


def storefront_campaigns(now=None) -> QuerySet[Campaign]:
    """Live and upcoming campaigns (announced: open for enrolment or live, not ended)."""
    now = now or timezone.now()
    return Campaign.objects.filter(status__in=SHOWN_TO_STORES, ends_at__gt=now).order_by("starts_at", "id")


def shown_enrolments(now=None) -> QuerySet[CampaignEnrolment]:
    """Approved enrolments of campaigns live now or coming (what a variant shows: the price, or its countdown)."""
    now = now or timezone.now()
    return CampaignEnrolment.objects.filter(
        status=EnrolmentStatus.APPROVED, campaign__status__in=SHOWN_TO_STORES, campaign__ends_at__gt=now
    )


def running_enrolments(now=None) -> QuerySet[CampaignEnrolment]:
    """Approved enrolments whose campaign's window is on now: their prices apply."""
    now = now or timezone.now()
    return shown_enrolments(now).filter(campaign__starts_at__lte=now)
