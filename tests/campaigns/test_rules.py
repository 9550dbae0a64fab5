"""The campaign's rules at enrolment (and again at approval), who may enrol, see and review,
campaign input checks, and linked carrier events following the campaign's window."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.campaigns import services
from backend.campaigns.models import CampaignShippingEvent
from backend.campaigns.selectors import visible_campaigns, visible_enrolments
from backend.campaigns.services import CampaignInput
from backend.catalog.models import ListingStatus
from backend.core.exceptions import DomainError
from backend.logistics.models import PricingEvent
from backend.promotions.flash_sales import FlashSaleInput, flash_sale_create
from backend.vendors.models import VendorRole, VendorStaff

from ..checkout.helpers import HANGZHOU, TABLE_RATE, listing, store
from ..conftest import make_user
from ..factories import CategoryFactory
from .helpers import DAY, HOUR, campaign, campaign_staff, enrol

pytestmark = pytest.mark.django_db


def code(exc_info) -> str:
    return exc_info.value.code.name


def refused(expected, action):
    with pytest.raises(DomainError) as exc:
        action()
    assert code(exc) == expected
    return exc.value


def test_rules_at_enrolment():
    tea, owner = store("Tea House", origin=HANGZHOU)
    drinks = CategoryFactory(name="Drinks", slug="drinks")
    tea_category = CategoryFactory(name="Tea", slug="tea", parent=drinks)
    green = listing(tea, price="100.00")
    green.product.category = tea_category
    green.product.save()
    other = listing(tea, price="100.00")  # another category
    made = campaign(min_discount_percent=Decimal(20), max_units_per_variant=10, category_ids=[drinks.pk])
    refused("RULE_BROKEN", lambda: enrol(owner, made, green, price="81.00", quantity=5))  # only 19% off
    refused("RULE_BROKEN", lambda: enrol(owner, made, green, price="100.00", quantity=5))
    refused("INVALID", lambda: enrol(owner, made, green, price="abc", quantity=5))
    refused("RULE_BROKEN", lambda: enrol(owner, made, green, price="80.00"))  # units required (max per variant)
    refused("RULE_BROKEN", lambda: enrol(owner, made, green, price="80.00", quantity=11))
    refused("RULE_BROKEN", lambda: enrol(owner, made, other, price="80.00", quantity=5))  # category not allowed
    enrolment = enrol(owner, made, green, price="80.00", quantity=10)  # a subcategory of an allowed one
    assert (enrolment.regular_amount, enrolment.vendor_id) == (Decimal("100.00"), tea.pk)
    refused("CONFLICT", lambda: enrol(owner, made, green, price="70.00", quantity=5))  # enrolled already


def test_deadline_unpublished_flash_overlap_and_approval_rechecks():
    tea, owner = store("Tea House", origin=HANGZHOU)
    green, black, white = (listing(tea, price="100.00") for _ in range(3))
    staff = campaign_staff()
    made = campaign(staff, deadline=timezone.now() + HOUR)
    refused("ENROLMENT_CLOSED", lambda: enrol(owner, made, green, now=timezone.now() + 2 * HOUR))
    draft = campaign(staff, open_=False, slug="draft")
    refused("NOT_FOUND", lambda: enrol(owner, draft, green))
    black.product.status = ListingStatus.DRAFT
    black.product.save()
    refused("RULE_BROKEN", lambda: enrol(owner, made, black))
    flash_sale_create(actor=owner, variant_id=white.pk, data=FlashSaleInput(
        price="50.00", quantity=3, starts_at=made.starts_at - HOUR, ends_at=made.starts_at + HOUR))
    refused("CONFLICT", lambda: enrol(owner, made, white))
    # The regular price went down after enrolling: approval checks the rules again.
    pending = enrol(owner, made, green, price="70.00")
    green.price_amount = Decimal("70.00")
    green.save()
    refused("RULE_BROKEN", lambda: services.enrolment_approve(actor=staff, enrolment_id=pending.pk))


def test_who_may_enrol_see_and_review():
    tea, owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road")
    green = listing(tea, price="100.00")
    staff = campaign_staff()
    made = campaign(staff)
    draft = campaign(staff, open_=False, slug="draft")
    helper = make_user()
    VendorStaff.objects.create(vendor=tea, user=helper, role=VendorRole.CUSTOMER_SERVICE)
    refused("PERMISSION_DENIED", lambda: enrol(helper, made, green))
    refused("PERMISSION_DENIED", lambda: enrol(make_user(), made, green))
    refused("NOT_FOUND", lambda: enrol(silk_owner, made, green))  # another store's variant
    enrolment = enrol(owner, made, green)
    refused("NOT_FOUND", lambda: services.campaign_withdraw(actor=silk_owner, enrolment_id=enrolment.pk))
    for actor in (owner, silk_owner, helper, make_user(), make_user(is_staff=True)):
        refused("PERMISSION_DENIED", lambda a=actor: services.enrolment_approve(actor=a, enrolment_id=enrolment.pk))
        refused("PERMISSION_DENIED", lambda a=actor: services.enrolment_reject(actor=a, enrolment_id=enrolment.pk, reason="x"))
        refused("PERMISSION_DENIED", lambda a=actor: services.campaign_cancel(actor=a, campaign_id=made.pk))
        refused("PERMISSION_DENIED", lambda a=actor: services.campaign_create(actor=a, data=CampaignInput(name="X")))
    assert set(visible_enrolments(owner)) == {enrolment}
    assert set(visible_enrolments(helper)) == {enrolment}
    assert not visible_enrolments(silk_owner).exists()
    assert not visible_enrolments(make_user()).exists()
    assert set(visible_enrolments(staff)) == {enrolment}
    assert set(visible_campaigns(silk_owner)) == {made}  # stores: open and live ones, not drafts
    assert set(visible_campaigns(staff)) == {made, draft}
    assert not visible_campaigns(make_user()).exists()


def test_campaign_input_checks():
    staff = campaign_staff()
    now = timezone.now()
    cases = [
        (dict(name=" "), "INVALID"),
        (dict(name="A", starts_at=now + DAY, ends_at=now), "INVALID"),
        (dict(name="A", starts_at=now + DAY, ends_at=now + 2 * DAY, enrolment_deadline=now + 3 * DAY), "INVALID"),
        (dict(name="A", starts_at=now + DAY, ends_at=now + 2 * DAY, min_discount_percent=Decimal(100)), "INVALID"),
        # Not numbers, or more decimals than the column keeps (the core API's Decimal takes "-NaN").
        *[(dict(name="A", starts_at=now + DAY, ends_at=now + 2 * DAY, min_discount_percent=Decimal(bad)), "INVALID")
          for bad in ("NaN", "-NaN", "Infinity", "12.345")],
        (dict(name="A"), "REQUIRED"),
    ]
    for fields, expected in cases:
        refused(expected, lambda f=fields: services.campaign_create(actor=staff, data=CampaignInput(**f)))
    made = campaign(staff, slug="double-11")
    assert made.enrolment_deadline == made.starts_at  # by default enrolment closes at the start
    refused("SLUG_TAKEN", lambda: campaign(staff, slug="double-11"))
    live = campaign(staff, slug="live", starts=now - HOUR, ends=now + DAY, deadline=now - 2 * HOUR)
    services.campaigns_advance()
    refused("INVALID_TRANSITION", lambda: services.campaign_update(
        actor=staff, campaign_id=live.pk, data=CampaignInput(ends_at=now + 2 * DAY)))
    assert services.campaign_update(actor=staff, campaign_id=live.pk, data=CampaignInput(badge="Go")).badge == "Go"


def test_linked_carrier_events_follow_the_campaign_window():
    staff = campaign_staff()
    now = timezone.now()
    event = PricingEvent.objects.create(name="11.11 surcharge", carrier_id=TABLE_RATE, starts_at=now,
                                        ends_at=now + timedelta(days=30), percent_change=Decimal(20))
    made = campaign(staff, pricing_event_ids=[event.pk])
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at) == (made.starts_at, made.ends_at)
    later = made.starts_at + DAY
    services.campaign_update(actor=staff, campaign_id=made.pk,
                             data=CampaignInput(starts_at=later, ends_at=later + DAY, enrolment_deadline=later))
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at) == (later, later + DAY)
    other = campaign(staff, slug="618")
    refused("CONFLICT", lambda: services.campaign_update(
        actor=staff, campaign_id=other.pk, data=CampaignInput(pricing_event_ids=[event.pk])))
    services.campaign_cancel(actor=staff, campaign_id=made.pk)
    event.refresh_from_db()
    assert event.active is False
    services.campaign_update(actor=staff, campaign_id=other.pk, data=CampaignInput(pricing_event_ids=[]))
    assert CampaignShippingEvent.objects.filter(campaign=made).count() == 1
