"""Campaign prices on the checkout's one pricing path (backend/promotions), and the units counted
at placement.

In a campaign's window an approved enrolment prices its variant at the campaign price: a line
adjustment of (regular - campaign price) x the units at the campaign price, funded by the store
(it chose the price), source "campaign", applied before any voucher like a flash sale's (so
thresholds count the price paid and commission is taken on the campaign price). A line that a
flash sale prices keeps the flash sale's price (one event price per line). With a quantity set,
the units at the price are what is left of it when the checkout is priced; at placement the
enrolment rows are locked (id order, after the flash sales and before the vouchers) and the
units checked again: if the price shown cannot be had any more, the placement is refused with
PRICE_CHANGED and nothing is kept (the database also refuses `sold_count` above `quantity`).
A cancelled order gives its units back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import DomainError
from backend.core.money import quantize
from backend.promotions import pricing as P

from .error_codes import CampaignErrorCode
from .models import CampaignEnrolment, CampaignPurchase
from .selectors import running_enrolments

SOURCE = "campaign"


def campaign_label(enrolment: CampaignEnrolment) -> str:
    return enrolment.campaign.badge_text


@dataclass(frozen=True)
class EventPricing:
    """The flash sales' pricing of a checkout with the campaigns' added (what promotions' `_flash` returns)."""

    adjustments: list
    units: dict  # flash sales: checkout line -> (flash sale id, units)
    sales: dict
    campaign_units: dict = field(default_factory=dict)  # checkout line -> (enrolment id, units)
    enrolments: dict = field(default_factory=dict)


def campaign_units_allowed(enrolment: CampaignEnrolment, wanted: int) -> int:
    left = enrolment.remaining
    return max(0, wanted if left is None else min(wanted, left))


def with_campaign_prices(flash, packages, *, currency: str, now: datetime | None = None) -> EventPricing:
    """Add the campaign prices of the lines no flash sale prices (one query)."""
    now = now or timezone.now()
    lines = [line for package in packages for line in package.lines]
    flash_lines = {a.line_key for a in flash.adjustments}
    variant_ids = {line.variant_id for line in lines if line.pk not in flash_lines}
    if not variant_ids:
        return EventPricing(list(flash.adjustments), flash.units, flash.sales)
    enrolments = {
        e.variant_id: e
        for e in running_enrolments(now).filter(variant_id__in=variant_ids, currency=currency)
        .select_related("campaign").order_by("-campaign__starts_at", "-id")
    }
    if not enrolments:
        return EventPricing(list(flash.adjustments), flash.units, flash.sales)
    taken: dict[int, int] = defaultdict(int)
    adjustments, units = list(flash.adjustments), {}
    for line in sorted(lines, key=lambda item: item.pk):
        enrolment = enrolments.get(line.variant_id)
        if enrolment is None or line.pk in flash_lines:
            continue
        wanted = line.quantity
        count = wanted if enrolment.quantity is None else min(wanted, max(0, enrolment.remaining - taken[enrolment.pk]))
        off = quantize(Decimal(line.price_amount) - Decimal(enrolment.price_amount), currency)
        if count <= 0 or off <= 0:
            continue
        taken[enrolment.pk] += count
        units[line.pk] = (enrolment.pk, count)
        adjustments.append(P.LineAdjustment(SOURCE, enrolment.pk, campaign_label(enrolment), P.STORE, line.pk, off * count))
    return EventPricing(adjustments, flash.units, flash.sales, units, {e.pk: e for e in enrolments.values()})


def redeem_campaign_units(*, pricing, orders, now) -> None:
    """Inside the placing transaction: lock the enrolments priced in (id order), check the window and
    the units again, count them and record each order's purchase."""
    units = getattr(pricing, "campaign_units", None) or {}
    if not units:
        return
    by_vendor = {order.vendor_id: order.pk for order in orders}
    line_orders = {a.line_key: by_vendor[a.vendor_id] for a in pricing.adjustments if a.source == SOURCE}
    wanted: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line_key, (enrolment_id, count) in units.items():
        wanted[enrolment_id].append((line_key, count))
    locked = {
        e.pk: e for e in CampaignEnrolment.objects.select_for_update(of=("self",)).select_related("campaign")
        .filter(pk__in=sorted(wanted)).order_by("pk")
    }
    changed = _("The campaign price is no longer available (its units sold or the campaign ended); "
                "the checkout shows the price now.")
    rows = []
    for enrolment_id in sorted(wanted):
        enrolment = locked.get(enrolment_id)
        total = sum(count for _line, count in wanted[enrolment_id])
        if (
            enrolment is None or enrolment.status != "approved" or not enrolment.campaign.is_running(now)
            or campaign_units_allowed(enrolment, total) < total
        ):
            raise DomainError(CampaignErrorCode.PRICE_CHANGED, changed, field="lines")
        per_order: dict[int, int] = defaultdict(int)
        for line_key, count in wanted[enrolment_id]:
            per_order[line_orders[line_key]] += count
        rows += [CampaignPurchase(enrolment_id=enrolment_id, order_id=order_id, quantity=count)
                 for order_id, count in per_order.items()]
        CampaignEnrolment.objects.filter(pk=enrolment_id).update(sold_count=F("sold_count") + total)
    CampaignPurchase.objects.bulk_create(rows)


def give_back_campaign_units(order, *, now=None) -> int:
    """A cancelled order's units at campaign prices go back to their enrolments (once)."""
    purchases = list(
        CampaignPurchase.objects.select_for_update().filter(order_id=order.pk, released_at__isnull=True)
        .order_by("enrolment_id")
    )
    if not purchases:
        return 0
    list(CampaignEnrolment.objects.select_for_update().filter(pk__in=[p.enrolment_id for p in purchases])
         .order_by("pk").values_list("pk", flat=True))
    for purchase in purchases:
        purchase.released_at = now or timezone.now()
        purchase.save(update_fields=["released_at"])
        CampaignEnrolment.objects.filter(pk=purchase.enrolment_id, sold_count__gte=purchase.quantity).update(
            sold_count=F("sold_count") - purchase.quantity
        )
    return sum(p.quantity for p in purchases)
