"""Flash sales (限时折扣 / 秒杀): a store's event price for a variant in a window, for a promotional
quantity, with an optional per-shopper limit.

They join the checkout's one pricing path as line adjustments (store-funded goods discounts of
(regular - event price) x the units at the event price), applied before any voucher so that
thresholds count the price paid; commission is therefore taken on the event price. The units a
shopper gets at the price are what is left of the quantity and of their own limit when the
checkout is priced; at placement, in the placing transaction, the flash sale rows are locked (in
id order, before the vouchers) and the same units checked again: if the price shown cannot be
had any more (sold out, over the shopper's limit, the window closed), the placement is refused
with PRICE_CHANGED and nothing is kept, so the promotional quantity never oversells (the
database also refuses `sold_count` above `quantity`). A cancelled order gives its units back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.catalog.models import ProductVariant
from backend.core.exceptions import DomainError
from backend.core.money import quantize

from . import pricing as P
from .error_codes import PromotionErrorCode
from . import windows as W
from .models import FlashSale, FlashSalePurchase

E = PromotionErrorCode
SOURCE = "flash_sale"


def flash_label(sale: FlashSale) -> str:
    return sale.name or _("Flash sale")


# --- What shoppers see and pay ------------------------------------------------------------


def live_flash_sales(now: datetime | None = None):
    """Switched on and inside their window (sold out or not)."""
    now = now or timezone.now()
    return FlashSale.objects.filter(is_active=True, starts_at__lte=now, ends_at__gt=now)


def shown_flash_sales(now: datetime | None = None):
    """What the storefront shows on a variant: the sale on now, or the next one coming (its countdown)."""
    now = now or timezone.now()
    return FlashSale.objects.filter(is_active=True, ends_at__gt=now).order_by("starts_at", "id")


def _bought(sale_ids, *, user, email: str) -> dict[int, int]:
    """Units each shopper already bought at these sales (orders not given back)."""
    query = FlashSalePurchase.objects.filter(flash_sale_id__in=list(sale_ids), released_at__isnull=True)
    if user is not None and getattr(user, "is_authenticated", False):
        query = query.filter(Q(user_id=user.pk) | Q(email__iexact=user.email))
    elif email:
        query = query.filter(email__iexact=email)
    else:
        return {}
    return dict(query.values_list("flash_sale_id").annotate(units=Sum("quantity")).order_by())


def units_allowed(sale: FlashSale, wanted: int, bought: int) -> int:
    left = sale.remaining
    if sale.per_shopper_limit is not None:
        left = min(left, max(0, sale.per_shopper_limit - bought))
    return max(0, min(wanted, left))


@dataclass(frozen=True)
class FlashPricing:
    adjustments: list[P.LineAdjustment]
    units: dict[int, tuple[int, int]]  # checkout line -> (flash sale id, units at the event price)
    sales: dict[int, FlashSale]


def flash_line_adjustments(packages, *, currency: str, user, email: str, now: datetime | None = None) -> FlashPricing:
    """The flash sale prices of a checkout's lines now, for this shopper (two queries)."""
    now = now or timezone.now()
    lines = [line for package in packages for line in package.lines]
    variant_ids = {line.variant_id for line in lines}
    if not variant_ids:
        return FlashPricing([], {}, {})
    sales = {
        s.variant_id: s
        for s in live_flash_sales(now).filter(variant_id__in=variant_ids, currency=currency).order_by("-starts_at", "-id")
    }
    if not sales:
        return FlashPricing([], {}, {})
    bought = _bought([s.pk for s in sales.values()], user=user, email=email)
    taken: dict[int, int] = defaultdict(int)  # units given to earlier lines of the same sale
    adjustments, units = [], {}
    for line in sorted(lines, key=lambda item: item.pk):
        sale = sales.get(line.variant_id)
        if sale is None:
            continue
        count = units_allowed(sale, line.quantity, bought.get(sale.pk, 0) + taken[sale.pk])
        off = quantize(Decimal(line.price_amount) - Decimal(sale.price_amount), currency)
        if count <= 0 or off <= 0:
            continue
        taken[sale.pk] += count
        units[line.pk] = (sale.pk, count)
        adjustments.append(P.LineAdjustment(SOURCE, sale.pk, flash_label(sale), P.STORE, line.pk, off * count))
    return FlashPricing(adjustments, units, {s.pk: s for s in sales.values()})


def redeem_flash_sales(*, pricing: P.Pricing, orders, user, email: str, now) -> None:
    """Inside the placing transaction: lock the sales priced in (id order), check the units again,
    count them and record each order's purchase."""
    if not pricing.flash_units:
        return
    by_vendor = {order.vendor_id: order.pk for order in orders}
    line_orders = {a.line_key: by_vendor[a.vendor_id] for a in pricing.adjustments if a.source == SOURCE}
    wanted: dict[int, list[tuple[int, int]]] = defaultdict(list)  # sale -> [(line, units)]
    for line_key, (sale_id, count) in pricing.flash_units.items():
        wanted[sale_id].append((line_key, count))
    locked = {s.pk: s for s in FlashSale.objects.select_for_update().filter(pk__in=sorted(wanted)).order_by("pk")}
    buyer = user if user is not None and getattr(user, "is_authenticated", False) else None
    bought = _bought(list(locked), user=buyer, email=email)
    changed = _("The flash sale price is no longer available (sold out, over your limit or ended); "
                "the checkout shows the price now.")
    rows = []
    for sale_id in sorted(wanted):
        sale = locked.get(sale_id)
        total = sum(count for _line, count in wanted[sale_id])
        if (
            sale is None or not sale.is_active or not (sale.starts_at <= now < sale.ends_at)
            or units_allowed(sale, total, bought.get(sale_id, 0)) < total
        ):
            raise DomainError(E.PRICE_CHANGED, changed, field="lines")
        per_order: dict[int, int] = defaultdict(int)
        for line_key, count in wanted[sale_id]:
            per_order[line_orders[line_key]] += count
        for order_id, count in per_order.items():
            rows.append(FlashSalePurchase(flash_sale_id=sale_id, order_id=order_id, user=buyer, email=email or "",
                                          quantity=count))
        FlashSale.objects.filter(pk=sale_id).update(sold_count=F("sold_count") + total)
    FlashSalePurchase.objects.bulk_create(rows)


def give_back_flash_units(order, *, now=None) -> int:
    """A cancelled order's units at flash sale prices go back to their sales (once)."""
    purchases = list(
        FlashSalePurchase.objects.select_for_update().filter(order_id=order.pk, released_at__isnull=True).order_by("flash_sale_id")
    )
    if not purchases:
        return 0
    list(FlashSale.objects.select_for_update().filter(pk__in=[p.flash_sale_id for p in purchases]).order_by("pk")
         .values_list("pk", flat=True))
    for purchase in purchases:
        purchase.released_at = now or timezone.now()
        purchase.save(update_fields=["released_at"])
        FlashSale.objects.filter(pk=purchase.flash_sale_id, sold_count__gte=purchase.quantity).update(
            sold_count=F("sold_count") - purchase.quantity
        )
    return sum(p.quantity for p in purchases)


# --- Stores managing their flash sales -------------------------------------------------------


@dataclass
class FlashSaleInput:
    name: str | None = None
    price: object = None
    quantity: int | None = None
    per_shopper_limit: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    is_active: bool | None = None


def visible_flash_sales(user, queryset=None):
    """Core API: a store's staff see its flash sales; finance staff see all; nobody else any."""
    return W.visible_events(FlashSale, user, queryset)


def _may_change(actor, vendor_id: int) -> None:
    W.refuse_unless_store_manager(actor, vendor_id, _("Only the store's owner or operators manage its flash sales."))


def _apply(sale: FlashSale, data: FlashSaleInput, variant: ProductVariant) -> None:
    W.apply_name_price_fields(
        sale, data, variant, ("quantity", "per_shopper_limit", "starts_at", "ends_at", "is_active"),
        name_message=_("Give the flash sale a name of at most 128 characters."),
        price_message=_("The event price is above zero and below the regular price."),
    )
    if sale.quantity is None or sale.quantity < 1:
        raise DomainError(E.INVALID, _("Give the units on sale (at least 1)."), field="quantity")
    if sale.quantity < sale.sold_count:
        raise DomainError(E.INVALID, _("More units than that were sold already."), field="quantity")
    W.check_limit_and_window(
        sale, required_message=_("Give the flash sale's start and end."),
        order_message=_("The flash sale must end after it starts."),
    )


def flash_sale_create(*, actor, variant_id: int, data: FlashSaleInput) -> FlashSale:
    """A store's owner or operators put one of its variants on a flash sale."""
    return W.create_event(
        actor=actor, variant_id=variant_id, may_change=_may_change, action="flash_sale.create",
        build=lambda variant: FlashSale(vendor_id=variant.vendor_id, variant=variant, currency=variant.currency,
                                        price_amount=None, quantity=None),
        apply=lambda sale, variant: _apply(sale, data, variant),
        overlap_message=_("Another flash sale of this variant overlaps these times."),
    )


def flash_sale_update(*, actor, sale_id: int, data: FlashSaleInput) -> FlashSale:
    return W.update_event(
        actor=actor, model=FlashSale, event_id=sale_id, may_change=_may_change, action="flash_sale.update",
        apply=lambda sale, variant: _apply(sale, data, variant), not_found_message=_("No such flash sale."),
        overlap_message=_("Another flash sale of this variant overlaps these times."),
    )
