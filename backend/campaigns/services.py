"""Campaigns: staff create, open, change and cancel them; stores enrol variants; staff review
the enrolments (as listings are reviewed). Rules are checked at enrolment and again at approval.

Precedence with flash sales: a variant with an active flash sale overlapping the campaign's
window cannot be enrolled (CONFLICT); if a flash sale is created later anyway, the flash sale
prices the line and the campaign does not (one event price per line, see pricing.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from backend.catalog.models import Category, ListingStatus, ProductVariant
from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import parse_amount, quantize
from backend.core.periodic import record_processed
from backend.logistics.models import PricingEvent
from backend.logistics.versions import carrier_data_changed
from backend.promotions.models import FlashSale
from backend.promotions.windows import overlapping
from backend.vendors.selectors import vendor_id_of

from .error_codes import CampaignErrorCode
from .models import Campaign, CampaignEnrolment, CampaignShippingEvent, CampaignStatus, EnrolmentStatus
from .selectors import enrols_for_store, manages_campaigns, visible_campaigns, visible_enrolments
from .states import campaign_machine, enrolment_machine

E = CampaignErrorCode
C = CampaignStatus
N = EnrolmentStatus


def _require_staff(actor) -> None:
    if not manages_campaigns(actor):
        raise DomainError(E.PERMISSION_DENIED, _("You need the REVIEW_LISTINGS permission to manage campaigns."))


# --- Campaigns (platform staff) -----------------------------------------------------------------


@dataclass
class CampaignInput:
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    badge: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    enrolment_deadline: datetime | None = None
    min_discount_percent: Decimal | None = None
    max_units_per_variant: int | None = None
    clear_max_units: bool = False
    category_ids: list[int] | None = None
    pricing_event_ids: list[int] | None = None
    extra: dict = field(default_factory=dict)


def _apply(campaign: Campaign, data: CampaignInput) -> None:
    if data.name is not None:
        name = data.name.strip()
        if not name or len(name) > 128:
            raise DomainError(E.INVALID, _("Give the campaign a name of at most 128 characters."), field="name")
        campaign.name = name
    if data.slug is not None or not campaign.slug:
        slug = slugify(data.slug if data.slug is not None else campaign.name, allow_unicode=True)[:128]
        if not slug:
            raise DomainError(E.INVALID, _("Give the campaign a slug of letters, digits and dashes."), field="slug")
        campaign.slug = slug
    if data.description is not None:
        campaign.description = data.description.strip()
    if data.badge is not None:
        badge = data.badge.strip()
        if len(badge) > 32:
            raise DomainError(E.INVALID, _("A badge has at most 32 characters."), field="badge")
        campaign.badge = badge
    for name in ("starts_at", "ends_at", "enrolment_deadline"):
        value = getattr(data, name)
        if value is not None:
            setattr(campaign, name, value)
    if data.min_discount_percent is not None:
        try:
            percent = Decimal(str(data.min_discount_percent).strip())
        except (InvalidOperation, ValueError):
            percent = None
        # NaN and infinities compare with nothing; more than two decimals would not fit the column.
        if percent is None or not percent.is_finite() or percent != percent.quantize(Decimal("0.01")) or not (0 <= percent <= 99):
            raise DomainError(E.INVALID, _("The minimum discount is between 0 and 99 percent."), field="minDiscountPercent")
        campaign.min_discount_percent = percent
    if data.clear_max_units:
        campaign.max_units_per_variant = None
    elif data.max_units_per_variant is not None:
        if data.max_units_per_variant < 1:
            raise DomainError(E.INVALID, _("A limit is at least 1."), field="maxUnitsPerVariant")
        campaign.max_units_per_variant = data.max_units_per_variant
    if campaign.starts_at is None or campaign.ends_at is None:
        raise DomainError(E.REQUIRED, _("Give the campaign's start and end."), field="startsAt")
    if campaign.ends_at <= campaign.starts_at:
        raise DomainError(E.INVALID, _("The campaign must end after it starts."), field="endsAt")
    if campaign.enrolment_deadline is None:
        campaign.enrolment_deadline = campaign.starts_at
    if campaign.enrolment_deadline > campaign.starts_at:
        raise DomainError(E.INVALID, _("Enrolment closes at the latest when the campaign starts."),
                          field="enrolmentDeadline")


def _save(campaign: Campaign) -> None:
    if Campaign.objects.filter(slug=campaign.slug).exclude(pk=campaign.pk).exists():
        raise DomainError(E.SLUG_TAKEN, _("Another campaign has this slug."), field="slug")
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError as exc:
        raise DomainError(E.SLUG_TAKEN, _("Another campaign has this slug."), field="slug") from exc


def _set_categories(campaign: Campaign, ids) -> None:
    if ids is None:
        return
    found = list(Category.objects.filter(pk__in=set(ids)).values_list("pk", flat=True))
    if len(found) != len(set(ids)):
        raise DomainError(E.NOT_FOUND, _("No such category."), field="categories")
    campaign.categories.set(found)


def sync_shipping_events(campaign: Campaign) -> int:
    """A linked carrier event's window follows its campaign's (and it is off when the campaign is cancelled)."""
    ids = list(campaign.shipping_events.values_list("event_id", flat=True))
    if not ids:
        return 0
    values = {"starts_at": campaign.starts_at, "ends_at": campaign.ends_at}
    if campaign.status == C.CANCELLED:
        values["active"] = False
    updated = PricingEvent.objects.filter(pk__in=ids).update(**values)
    # A bulk update sends no signal: stored shipping quotes under these events must be redone.
    carrier_data_changed()
    return updated


def _link_events(campaign: Campaign, ids) -> None:
    if ids is None:
        return
    ids = set(ids)
    if PricingEvent.objects.filter(pk__in=ids).count() != len(ids):
        raise DomainError(E.NOT_FOUND, _("No such carrier pricing event."), field="pricingEvents")
    taken = CampaignShippingEvent.objects.filter(event_id__in=ids).exclude(campaign=campaign)
    if taken.exists():
        raise DomainError(E.CONFLICT, _("A carrier pricing event is linked to another campaign."), field="pricingEvents")
    campaign.shipping_events.exclude(event_id__in=ids).delete()
    have = set(campaign.shipping_events.values_list("event_id", flat=True))
    CampaignShippingEvent.objects.bulk_create(
        [CampaignShippingEvent(campaign=campaign, event_id=pk) for pk in sorted(ids - have)]
    )


def campaign_create(*, actor, data: CampaignInput) -> Campaign:
    _require_staff(actor)
    with transaction.atomic():
        campaign = Campaign(created_by=actor if actor.is_authenticated else None)
        if data.name is None:
            raise DomainError(E.REQUIRED, _("Give the campaign a name of at most 128 characters."), field="name")
        _apply(campaign, data)
        _save(campaign)
        _set_categories(campaign, data.category_ids)
        _link_events(campaign, data.pricing_event_ids)
        sync_shipping_events(campaign)
        audit_log(actor=actor, action="campaign.create", target=campaign)
    return campaign


def _locked(actor, campaign_id) -> Campaign:
    campaign = visible_campaigns(actor).select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise DomainError(E.NOT_FOUND, _("No such campaign."), field="id")
    return campaign


def campaign_update(*, actor, campaign_id: int, data: CampaignInput) -> Campaign:
    """Change a draft or open campaign (its window and rules too); a live one only its texts."""
    _require_staff(actor)
    with transaction.atomic():
        campaign = _locked(actor, campaign_id)
        if campaign.status in (C.ENDED, C.CANCELLED):
            raise DomainError(E.INVALID_TRANSITION, _("An ended or cancelled campaign cannot change."), field="id")
        if campaign.status == C.LIVE and any(
            v is not None for v in (data.starts_at, data.ends_at, data.enrolment_deadline, data.min_discount_percent,
                                    data.max_units_per_variant, data.category_ids)
        ):
            raise DomainError(E.INVALID_TRANSITION, _("A live campaign's window and rules cannot change."), field="id")
        _apply(campaign, data)
        _save(campaign)
        _set_categories(campaign, data.category_ids)
        _link_events(campaign, data.pricing_event_ids)
        sync_shipping_events(campaign)
        audit_log(actor=actor, action="campaign.update", target=campaign)
    return campaign


def campaign_open(*, actor, campaign_id: int) -> Campaign:
    """A draft opens for enrolment: stores see it and enrol until its deadline."""
    _require_staff(actor)
    with transaction.atomic():
        campaign = _locked(actor, campaign_id)
        if campaign.status == C.DRAFT and campaign.ends_at <= timezone.now():
            raise DomainError(E.INVALID, _("The campaign's window is over."), field="endsAt")
        campaign_machine.apply(campaign, C.OPEN_FOR_ENROLMENT)
        audit_log(actor=actor, action="campaign.open", target=campaign)
    return campaign


def campaign_cancel(*, actor, campaign_id: int, reason: str = "") -> Campaign:
    """Cancelled: its prices stop at once, its linked carrier events are switched off."""
    _require_staff(actor)
    with transaction.atomic():
        campaign = _locked(actor, campaign_id)
        campaign_machine.apply(campaign, C.CANCELLED)
        sync_shipping_events(campaign)
        audit_log(actor=actor, action="campaign.cancel", target=campaign, reason=reason or "")
    return campaign


def campaigns_advance(now=None) -> list[int]:
    """The periodic work: open campaigns whose window began go live, live ones whose window is over
    end (prices follow the dates anyway; this keeps the status the stores and the admin see right)."""
    now = now or timezone.now()
    moved = []
    with transaction.atomic():
        due = Campaign.objects.select_for_update().filter(
            status__in=(C.OPEN_FOR_ENROLMENT, C.LIVE), starts_at__lte=now
        ).order_by("pk")
        for campaign in due:
            before = len(moved)
            if campaign.status == C.OPEN_FOR_ENROLMENT:
                campaign_machine.apply(campaign, C.LIVE)
                moved.append(campaign.pk)
            if campaign.status == C.LIVE and campaign.ends_at <= now:
                campaign_machine.apply(campaign, C.ENDED)
                moved.append(campaign.pk)
            if len(moved) > before:
                record_processed("campaign", campaign.pk)
    return moved


# --- Enrolments (stores) and their review (platform staff) ---------------------------------------


def _category_allowed(campaign: Campaign, category: Category) -> bool:
    allowed = set(campaign.categories.values_list("pk", flat=True))
    if not allowed:
        return True
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    node, seen = category.pk, set()
    while node is not None and node not in seen:
        if node in allowed:
            return True
        seen.add(node)
        node = parents.get(node)
    return False


def _check_rules(campaign: Campaign, variant: ProductVariant, price: Decimal, quantity: int | None) -> None:
    regular = Decimal(variant.price_amount)
    if not (0 < price < regular):
        raise DomainError(E.RULE_BROKEN, _("The campaign price is above zero and below the regular price."), field="price")
    most = quantize(regular * (100 - Decimal(campaign.min_discount_percent)) / 100, variant.currency)
    if price > most:
        raise DomainError(
            E.RULE_BROKEN,
            _("The campaign price must be at least %(percent)s%% below the regular price (at most %(most)s).")
            % {"percent": campaign.min_discount_percent.normalize(), "most": most},
            field="price",
        )
    if quantity is not None and quantity < 1:
        raise DomainError(E.INVALID, _("Give the units at the campaign price (at least 1)."), field="quantity")
    if campaign.max_units_per_variant is not None and (quantity is None or quantity > campaign.max_units_per_variant):
        raise DomainError(
            E.RULE_BROKEN,
            _("This campaign allows at most %(units)d units per variant.") % {"units": campaign.max_units_per_variant},
            field="quantity",
        )
    if not _category_allowed(campaign, variant.product.category):
        raise DomainError(E.RULE_BROKEN, _("The campaign does not take products of this category."), field="variant")
    if overlapping(FlashSale, variant.pk, campaign.starts_at, campaign.ends_at).exists():
        raise DomainError(E.CONFLICT, _("A flash sale of this variant overlaps the campaign."), field="variant")


def campaign_enrol(*, actor, campaign_id: int, variant_id: int, price, quantity: int | None = None, now=None
                   ) -> CampaignEnrolment:
    """A store's owner or operators enrol one of its variants at a campaign price (pending review)."""
    now = now or timezone.now()
    vendor_id = vendor_id_of(actor)
    if vendor_id is None or not enrols_for_store(actor):
        raise DomainError(E.PERMISSION_DENIED, _("Only the store's owner or operators enrol its products."))
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status not in (C.OPEN_FOR_ENROLMENT, C.LIVE):
            raise DomainError(E.NOT_FOUND, _("No such campaign."), field="campaign")
        if campaign.status != C.OPEN_FOR_ENROLMENT or now > campaign.enrolment_deadline:
            raise DomainError(E.ENROLMENT_CLOSED, _("The campaign does not take enrolments any more."), field="campaign")
        variant = ProductVariant.objects.select_related("product").filter(pk=variant_id, vendor_id=vendor_id).first()
        if variant is None:
            raise DomainError(E.NOT_FOUND, _("No such variant."), field="variant")
        if variant.product.status != ListingStatus.PUBLISHED:
            raise DomainError(E.RULE_BROKEN, _("Only published listings are enrolled."), field="variant")
        try:
            amount = parse_amount(price, variant.currency)
        except (ValueError, TypeError) as exc:
            raise DomainError(E.INVALID, _("Give an amount in the currency's unit."), field="price") from exc
        _check_rules(campaign, variant, Decimal(amount), quantity)
        if CampaignEnrolment.objects.filter(campaign=campaign, variant=variant, status__in=(N.PENDING, N.APPROVED)).exists():
            raise DomainError(E.CONFLICT, _("This variant is enrolled in the campaign already."), field="variant")
        enrolment = CampaignEnrolment.objects.create(
            campaign=campaign, vendor_id=vendor_id, variant=variant, price_amount=amount, currency=variant.currency,
            regular_amount=variant.price_amount, quantity=quantity, created_by=actor,
        )
        audit_log(actor=actor, action="campaign.enrol", target=enrolment, campaign=campaign.pk, variant=variant.pk)
    return enrolment


def _locked_enrolment(actor, enrolment_id) -> CampaignEnrolment:
    enrolment = (
        visible_enrolments(actor).select_for_update(of=("self",)).select_related("campaign")
        .filter(pk=enrolment_id).first()
    )
    if enrolment is None:
        raise DomainError(E.NOT_FOUND, _("No such enrolment."), field="id")
    return enrolment


def campaign_withdraw(*, actor, enrolment_id: int, now=None) -> CampaignEnrolment:
    """The store takes an enrolment back: a pending one any time, an approved one until the campaign starts."""
    now = now or timezone.now()
    if not enrols_for_store(actor):
        raise DomainError(E.PERMISSION_DENIED, _("Only the store's owner or operators enrol its products."))
    with transaction.atomic():
        enrolment = _locked_enrolment(actor, enrolment_id)
        if enrolment.vendor_id != vendor_id_of(actor):
            raise DomainError(E.NOT_FOUND, _("No such enrolment."), field="id")
        if enrolment.status == N.APPROVED and enrolment.campaign.is_running(now):
            raise DomainError(E.INVALID_TRANSITION, _("An approved enrolment stays while the campaign runs."), field="id")
        enrolment_machine.apply(enrolment, N.WITHDRAWN)
        audit_log(actor=actor, action="campaign.withdraw", target=enrolment)
    return enrolment


def _decide(enrolment: CampaignEnrolment, actor, status: str, reason: str = "") -> None:
    enrolment.decided_by = actor
    enrolment.decided_at = timezone.now()
    enrolment.reason = reason
    enrolment_machine.apply(enrolment, status, update_fields=["decided_by", "decided_at", "reason"])


def enrolment_approve(*, actor, enrolment_id: int) -> CampaignEnrolment:
    """Staff approve a pending enrolment; the rules are checked again against the price now."""
    _require_staff(actor)
    with transaction.atomic():
        enrolment = _locked_enrolment(actor, enrolment_id)
        if enrolment.status == N.PENDING:
            if enrolment.campaign.status not in (C.OPEN_FOR_ENROLMENT, C.LIVE):
                raise DomainError(E.ENROLMENT_CLOSED, _("The campaign does not take enrolments any more."), field="id")
            variant = ProductVariant.objects.select_related("product").get(pk=enrolment.variant_id)
            _check_rules(enrolment.campaign, variant, Decimal(enrolment.price_amount), enrolment.quantity)
        _decide(enrolment, actor, N.APPROVED)
        audit_log(actor=actor, action="campaign.enrolment_approve", target=enrolment, vendor=enrolment.vendor_id)
        _notify("campaign.enrolment_approved", enrolment)
    return enrolment


def enrolment_reject(*, actor, enrolment_id: int, reason: str) -> CampaignEnrolment:
    _require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(E.REQUIRED, _("Give the store a reason."), field="reason")
    with transaction.atomic():
        enrolment = _locked_enrolment(actor, enrolment_id)
        _decide(enrolment, actor, N.REJECTED, reason)
        audit_log(actor=actor, action="campaign.enrolment_reject", target=enrolment, reason=reason,
                  vendor=enrolment.vendor_id)
        _notify("campaign.enrolment_rejected", enrolment)
    return enrolment


def _notify(name: str, enrolment: CampaignEnrolment) -> None:
    from backend.notifications.events import EVENTS

    if name in EVENTS:
        from backend.notifications.services import notify

        notify(name, enrolment=enrolment)
