"""Vouchers and coupons: managing them, applying them to checkouts, pricing, redeeming at placement.

`checkout_pricing` is the one function checkout calls to price a checkout's packages (see
pricing.py); `redeem_at_placement` runs inside checkout's placing transaction, after the
orders are created, and is where the total and per-shopper limits are enforced: each voucher
row is locked (in id order) and its count checked and raised there, so concurrent checkouts
never use a voucher more often than allowed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.catalog.models import Category, Product
from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import Money, parse_amount, quantize
from backend.vendors.models import Vendor
from backend.vendors.selectors import vendor_id_of

from . import pricing as P
from .error_codes import PromotionErrorCode
from .models import (
    CheckoutVoucher, Coupon, DiscountTarget, Funder, OrderDiscount, Voucher, VoucherKind, VoucherRedemption,
)
from .selectors import manages_platform_vouchers, manages_store_vouchers, may_manage_voucher, may_see_voucher

E = PromotionErrorCode

# Reasons an applied voucher gives nothing that the shopper did not cause (checkout stops on them).
UNAVAILABLE_REASONS = ("not_active", "limit_reached")


def reason_message(reason: str) -> str:
    messages = {
        P.OUT_OF_SCOPE: _("Nothing in this checkout is covered by the voucher."),
        P.MIN_SPEND_NOT_REACHED: _("The goods it covers do not reach the voucher's threshold yet."),
        P.NOT_STACKABLE: _("Another voucher of the same kind is applied already."),
        P.NOTHING_TO_DISCOUNT: _("There is nothing left for the voucher to take off."),
        "not_active": _("The voucher is not valid now."),
        "limit_reached": _("The voucher has been used up."),
    }
    return messages.get(reason, reason)


def stacking() -> P.Stacking:
    return P.Stacking(
        platform_per_checkout=int(getattr(settings, "PROMOTIONS_PLATFORM_VOUCHERS_PER_CHECKOUT", 1)),
        store_per_package=int(getattr(settings, "PROMOTIONS_STORE_VOUCHERS_PER_PACKAGE", 1)),
    )


# --- Terms and pricing -----------------------------------------------------------------------


def _with_scope(queryset):
    return queryset.select_related("vendor").prefetch_related("categories", "products", "vendors")


def _category_children() -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    return children


def _descendants(roots: set[int], children: dict[int | None, list[int]]) -> frozenset:
    found, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)


def voucher_terms(vouchers: list[Voucher]) -> list[P.VoucherTerms]:
    """Vouchers as the pricing path takes them (categories expanded to their descendants, one
    query for the tree whatever the number of vouchers)."""
    children = _category_children() if any(v.categories.all() for v in vouchers) else {}
    return [
        P.VoucherTerms(
            id=voucher.pk,
            label=voucher.name,
            kind=voucher.kind,
            vendor_id=voucher.vendor_id,
            platform_share_percent=Decimal(voucher.platform_share_percent),
            value=voucher.value,
            max_discount=voucher.max_discount,
            min_spend=voucher.min_spend,
            product_ids=frozenset(p.pk for p in voucher.products.all()),
            category_ids=_descendants({c.pk for c in voucher.categories.all()}, children),
            vendor_ids=frozenset(v.pk for v in voucher.vendors.all()),
        )
        for voucher in vouchers
    ]


def _is_live(voucher: Voucher, now: datetime, currency: str) -> bool:
    return (
        voucher.is_active
        and voucher.currency == currency
        and (voucher.starts_at is None or voucher.starts_at <= now)
        and (voucher.ends_at is None or voucher.ends_at > now)
    )


def _used_up(voucher: Voucher) -> bool:
    return voucher.usage_limit is not None and voucher.used_count >= voucher.usage_limit


def package_inputs(packages) -> list[P.PackageInput]:
    """Checkout packages (checkout.services.CheckoutPackage) as pricing inputs."""
    return [
        P.PackageInput(
            vendor_id=package.vendor.pk,
            lines=tuple(
                P.LineInput(
                    key=line.pk,
                    vendor_id=package.vendor.pk,
                    product_id=line.variant.product_id,
                    category_id=line.variant.product.category_id,
                    amount=quantize(line.price_amount * line.quantity, package.currency),
                )
                for line in package.lines
            ),
            shipping=package.method.price_amount if package.method is not None else Decimal(0),
        )
        for package in packages
    ]


def applied_vouchers(checkout) -> list[Voucher]:
    if checkout.pk is None:
        return []
    return [cv.voucher for cv in CheckoutVoucher.objects.filter(checkout_id=checkout.pk).select_related("voucher")]


def checkout_pricing(checkout, packages, *, now: datetime | None = None, extra: list[Voucher] = ()) -> P.Pricing:
    """The one pricing of a checkout's packages: goods, adjustments, shipping (see pricing.py).

    The checkout's applied vouchers that are no longer valid (switched off, out of their window,
    used up) are skipped with their reason; the per-shopper limit is checked when a voucher is
    applied and again, authoritatively, at placement.
    """
    now = now or timezone.now()
    ids = [cv.voucher_id for cv in CheckoutVoucher.objects.filter(checkout_id=checkout.pk)] if checkout.pk else []
    ids += [v.pk for v in extra if v.pk not in ids]
    vouchers = list(_with_scope(Voucher.objects.filter(pk__in=ids))) if ids else []
    order = {pk: i for i, pk in enumerate(ids)}
    vouchers.sort(key=lambda v: order[v.pk])
    skipped = {}
    usable = []
    for voucher in vouchers:
        if not _is_live(voucher, now, checkout.currency):
            skipped[voucher.pk] = "not_active"
        elif _used_up(voucher):
            skipped[voucher.pk] = "limit_reached"
        else:
            usable.append(voucher)
    flash = _flash(checkout, packages, now=now)
    from backend.members.services import member_terms

    group_adjustments, group_buy = _group(checkout, packages, now=now)
    # A line at a group deal's price takes no flash sale price as well.
    grouped = {a.line_key for a in group_adjustments}
    flash_adjustments = [a for a in flash.adjustments if a.line_key not in grouped]
    flash_units = {key: value for key, value in flash.units.items() if key not in grouped}
    result = P.price_packages(
        currency=checkout.currency, packages=package_inputs(packages), vouchers=voucher_terms(usable),
        stacking=stacking(), line_adjustments=group_adjustments + flash_adjustments, member=member_terms(checkout),
    )
    result.skipped.update(skipped)
    result.vouchers = {v.pk: v for v in vouchers}
    result.flash_units, result.flash_sales = flash_units, flash.sales
    result.group_buy = group_buy
    result.campaign_units = {key: value for key, value in flash.campaign_units.items() if key not in grouped}
    result.campaign_enrolments = flash.enrolments
    return result


def _group(checkout, packages, *, now=None, user=None):
    """The group deal price of the checkout's line, when it is marked for a group buy."""
    from .group_buying import group_line_adjustments

    buyer = checkout.user or (user if user is not None and user.is_authenticated else None)
    return group_line_adjustments(checkout, packages, user=buyer, email=checkout.email or "", now=now)


def _flash(checkout, packages, *, now=None, user=None):
    """The flash sale prices of the checkout's lines for its shopper, then the platform campaigns'
    prices of the other lines (backend/campaigns/pricing.py), applied before vouchers."""
    from backend.campaigns.pricing import with_campaign_prices

    from .flash_sales import flash_line_adjustments

    buyer = checkout.user or (user if user is not None and user.is_authenticated else None)
    flash = flash_line_adjustments(packages, currency=checkout.currency, user=buyer, email=checkout.email or "", now=now)
    return with_campaign_prices(flash, packages, currency=checkout.currency, now=now)


# --- Shopper actions -------------------------------------------------------------------------


def _shopper_uses(voucher: Voucher, *, user, email: str) -> int:
    query = VoucherRedemption.objects.filter(voucher_id=voucher.pk, released_at__isnull=True)
    if user is not None and getattr(user, "is_authenticated", False):
        return query.filter(Q(user_id=user.pk) | Q(email__iexact=user.email)).count()
    if email:
        return query.filter(email__iexact=email).count()
    return 0


def _check_usable(voucher: Voucher, *, user, email: str, currency: str, now=None) -> None:
    now = now or timezone.now()
    if not _is_live(voucher, now, currency):
        raise DomainError(E.VOUCHER_NOT_ACTIVE, _("The voucher is not valid now."), field="code")
    if _used_up(voucher):
        raise DomainError(E.VOUCHER_LIMIT_REACHED, _("The voucher has been used up."), field="code")
    if voucher.per_shopper_limit is not None and _shopper_uses(voucher, user=user, email=email) >= voucher.per_shopper_limit:
        raise DomainError(E.VOUCHER_LIMIT_REACHED, _("You have used this voucher as often as it allows."), field="code")


def _find_for_shopper(*, user, code: str | None, voucher_id: int | None) -> Voucher:
    code = (code or "").strip().upper()
    if code:
        voucher = Voucher.objects.filter(code=code).first()
        if voucher is None:
            raise DomainError(E.NOT_FOUND, _("No voucher with this code."), field="code")
        return voucher
    if voucher_id is None:
        raise DomainError(E.REQUIRED, _("Give a voucher code or a claimed coupon."), field="code")
    signed_in = user is not None and user.is_authenticated
    coupon = (
        Coupon.objects.filter(user_id=user.pk, voucher_id=voucher_id).select_related("voucher").first()
        if signed_in else None
    )
    if coupon is None:
        raise DomainError(E.NOT_FOUND, _("You have not claimed this coupon."), field="coupon")
    return coupon.voucher


def checkout_voucher_apply(*, checkout, user, code: str | None = None, voucher_id: int | None = None, now=None):
    """Apply a voucher (by code, or a coupon the shopper claimed) to an open checkout.

    It must give something to this checkout now. Under Tmall's stacking rule a platform voucher
    replaces the platform voucher applied before, a store voucher the same store's one.
    """
    from backend.checkout.services import checkout_summary

    if checkout.completed_at is not None:
        raise DomainError(E.INVALID, _("This checkout was completed; start a new one."), field="id")
    voucher = _find_for_shopper(user=user, code=code, voucher_id=voucher_id)
    buyer = checkout.user or (user if user is not None and user.is_authenticated else None)
    _check_usable(voucher, user=buyer, email=checkout.email, currency=checkout.currency, now=now)
    with transaction.atomic():
        current = list(CheckoutVoucher.objects.select_related("voucher").filter(checkout=checkout))
        if any(cv.voucher_id == voucher.pk for cv in current):
            return checkout
        rules = stacking()
        same_slot = [cv for cv in current if cv.voucher.vendor_id == voucher.vendor_id]
        limit = rules.platform_per_checkout if voucher.is_platform else rules.store_per_package
        replaced = same_slot[: max(0, len(same_slot) - limit + 1)]
        kept = [cv.voucher for cv in current if cv not in replaced]
        summary = checkout_summary(checkout, with_pricing=False)
        priced = P.price_packages(
            currency=checkout.currency,
            packages=package_inputs(summary.packages),
            vouchers=voucher_terms(list(_with_scope(Voucher.objects.filter(pk__in=[v.pk for v in kept + [voucher]])))),
            stacking=rules,
            line_adjustments=_flash(checkout, summary.packages, now=now, user=user).adjustments,
        )
        if voucher.pk not in priced.applied:
            reason = priced.skipped.get(voucher.pk, P.OUT_OF_SCOPE)
            raise DomainError(E.VOUCHER_NOT_APPLICABLE, reason_message(reason), field="code")
        CheckoutVoucher.objects.filter(pk__in=[cv.pk for cv in replaced]).delete()
        CheckoutVoucher.objects.create(checkout=checkout, voucher=voucher)
        checkout.save(update_fields=["updated_at"])
    return checkout


def checkout_voucher_remove(*, checkout, voucher_id: int):
    if checkout.completed_at is not None:
        raise DomainError(E.INVALID, _("This checkout was completed; start a new one."), field="id")
    deleted, _rows = CheckoutVoucher.objects.filter(checkout=checkout, voucher_id=voucher_id).delete()
    if not deleted:
        raise DomainError(E.NOT_FOUND, _("This voucher is not applied to the checkout."), field="voucher")
    checkout.save(update_fields=["updated_at"])
    return checkout


def coupon_claim(*, user, voucher: Voucher, now=None) -> Coupon:
    """A signed-in shopper claims a claimable coupon (once)."""
    if user is None or not user.is_authenticated:
        raise DomainError(E.SIGN_IN_REQUIRED, _("Sign in to claim coupons."), field="voucher")
    now = now or timezone.now()
    if not voucher.claimable:
        raise DomainError(E.NOT_FOUND, _("No such coupon."), field="voucher")
    if not _is_live(voucher, now, voucher.currency):
        raise DomainError(E.VOUCHER_NOT_ACTIVE, _("The voucher is not valid now."), field="voucher")
    if _used_up(voucher):
        raise DomainError(E.VOUCHER_LIMIT_REACHED, _("The voucher has been used up."), field="voucher")
    try:
        with transaction.atomic():
            return Coupon.objects.create(voucher=voucher, user=user)
    except IntegrityError as exc:
        raise DomainError(E.ALREADY_CLAIMED, _("You have claimed this coupon already."), field="voucher") from exc


@dataclass(frozen=True)
class VoucherOffer:
    voucher: Voucher
    amount: Money
    vendor_id: int | None
    claimed: bool
    applied: bool


def best_vouchers(*, checkout, user, now=None) -> list[VoucherOffer]:
    """What the shopper could use on this checkout now, each priced alone on it, best first:
    the coupons they claimed, the coupons they may still claim (the platform's and the checkout's
    stores'), and the vouchers applied. One best per slot comes first (the platform slot, then
    each store's), then the rest."""
    from backend.checkout.services import checkout_summary

    now = now or timezone.now()
    summary = checkout_summary(checkout, with_pricing=False)
    vendor_ids = [p.vendor.pk for p in summary.packages]
    signed_in = user is not None and user.is_authenticated
    claimed = set(Coupon.objects.filter(user_id=user.pk).values_list("voucher_id", flat=True)) if signed_in else set()
    applied = set(CheckoutVoucher.objects.filter(checkout_id=checkout.pk).values_list("voucher_id", flat=True))
    candidates = _with_scope(
        Voucher.objects.filter(
            Q(pk__in=claimed | applied)
            | Q(claimable=True, vendor__isnull=True)
            | Q(claimable=True, vendor_id__in=vendor_ids)
        )
    )
    inputs = package_inputs(summary.packages)
    flash = _flash(checkout, summary.packages, now=now, user=user).adjustments
    buyer = checkout.user or (user if signed_in else None)
    offers = []
    for voucher in candidates:
        if not _is_live(voucher, now, checkout.currency) or _used_up(voucher):
            continue
        try:
            _check_usable(voucher, user=buyer, email=checkout.email, currency=checkout.currency, now=now)
        except DomainError:
            continue
        priced = P.price_packages(
            currency=checkout.currency, packages=inputs, vouchers=voucher_terms([voucher]), line_adjustments=flash
        )
        amount = priced.voucher_amount(voucher.pk)
        if amount.amount > 0:
            offers.append(
                VoucherOffer(voucher, amount, voucher.vendor_id, voucher.pk in claimed, voucher.pk in applied)
            )
    offers.sort(key=lambda o: (-o.amount.amount, o.voucher.pk))
    return offers


# --- Placement ---------------------------------------------------------------------------------


def redeem_at_placement(*, pricing: P.Pricing, orders, user, email: str, checkout_token, now=None) -> None:
    """Inside checkout's placing transaction, after the orders: record each order's discount lines
    and count each voucher used, under its row lock, refusing one whose limits are used up."""
    from backend.orders.models import OrderLine

    if pricing.points_requested != 0:
        from backend.members.services import points_check_at_placement

        # The member's row first: the members' lock order (before flash sales, vouchers, the ledger).
        points_check_at_placement(pricing=pricing, user=user)
    from .flash_sales import redeem_flash_sales
    from .group_buying import redeem_group

    now = now or timezone.now()
    # Group deals, flash sales, campaign enrolments, then vouchers: every placement takes their row locks in that order.
    redeem_group(pricing=pricing, orders=orders, user=user, email=email, now=now)
    if not pricing.adjustments:
        return
    currency = pricing.currency
    from backend.campaigns.pricing import redeem_campaign_units

    # Then campaign enrolments after flash sales, then vouchers.
    redeem_flash_sales(pricing=pricing, orders=orders, user=user, email=email, now=now)
    redeem_campaign_units(pricing=pricing, orders=orders, now=now)
    used = sorted({a.source_id for a in pricing.adjustments if a.source == "voucher"})
    locked = {v.pk: v for v in Voucher.objects.select_for_update().filter(pk__in=used).order_by("pk")}
    buyer = user if user is not None and getattr(user, "is_authenticated", False) else None
    for pk in used:
        voucher = locked.get(pk)
        if voucher is None:
            raise DomainError(E.VOUCHER_NOT_ACTIVE, _("The voucher is not valid now."), field="code")
        _check_usable(voucher, user=buyer, email=email, currency=currency, now=now)
    by_vendor = {order.vendor_id: order for order in orders}
    lines = {
        (line.order_id, line.variant_id): line for line in OrderLine.objects.filter(order__in=[o.pk for o in orders])
    }
    checkout_lines = _checkout_line_variants(pricing)
    rows = []
    for adjustment in pricing.adjustments:
        order = by_vendor[adjustment.vendor_id]
        line = None
        if adjustment.line_key is not None:
            line = lines[(order.pk, checkout_lines[adjustment.line_key])]
        voucher = locked.get(adjustment.source_id) if adjustment.source == "voucher" else None
        flash_sale_id = adjustment.source_id if adjustment.source == "flash_sale" else None
        group_deal_id = adjustment.source_id if adjustment.source == "group_deal" else None
        rows.append(
            OrderDiscount(
                order=order, order_line=line, voucher=voucher, flash_sale_id=flash_sale_id, group_deal_id=group_deal_id,
                source=adjustment.source,
                label=(f"{voucher.name} ({voucher.code})" if voucher is not None and voucher.code else adjustment.label)[:160],
                funder=adjustment.funder, target=adjustment.target, amount=adjustment.amount.amount, currency=currency,
            )
        )
    OrderDiscount.objects.bulk_create(rows)
    for pk in used:
        VoucherRedemption.objects.create(
            voucher_id=pk, user=buyer, email=email or "", checkout_token=checkout_token,
            amount=pricing.voucher_amount(pk).amount, currency=currency,
        )
    Voucher.objects.filter(pk__in=used).update(used_count=F("used_count") + 1)
    if pricing.points_used:
        from backend.members.services import points_redeem

        points_redeem(pricing=pricing, orders=orders, user=buyer, checkout_token=checkout_token)


def give_back_on_cancel(order, *, now=None) -> list[int]:
    """orders' cancellation's one call, under the order's row lock once it is CANCELLED: when every
    order of its checkout is cancelled (before shipment: unpaid, or paid and refunded in full), the
    vouchers that checkout used count as unused again (Tmall gives an unused coupon back on a
    cancelled order); the voucher rows are locked in id order, as at placement. A checkout with an
    order still going keeps its vouchers used: the discount is part of what that order paid.
    Returns the vouchers given back (none when run again)."""
    from backend.orders.models import Order, OrderStatus

    from backend.campaigns.pricing import give_back_campaign_units

    from .flash_sales import give_back_flash_units
    from .group_buying import on_order_cancelled

    give_back_flash_units(order, now=now)
    on_order_cancelled(order, now=now)
    give_back_campaign_units(order, now=now)
    if Order.objects.filter(checkout_token=order.checkout_token).exclude(status=OrderStatus.CANCELLED).exists():
        return []
    from backend.members.services import points_give_back

    # The member's row before any voucher row or ledger account (the members' lock order).
    points_give_back(checkout_token=order.checkout_token, order=order)
    pending = VoucherRedemption.objects.filter(checkout_token=order.checkout_token, released_at__isnull=True)
    ids = sorted(set(pending.values_list("voucher_id", flat=True)))
    if not ids:
        return []
    list(Voucher.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    released = []
    for redemption in pending.select_for_update().order_by("voucher_id"):
        redemption.released_at = now or timezone.now()
        redemption.save(update_fields=["released_at"])
        Voucher.objects.filter(pk=redemption.voucher_id, used_count__gt=0).update(used_count=F("used_count") - 1)
        released.append(redemption.voucher_id)
    if released:
        audit_log(actor=None, action="voucher.given_back", target=order, vouchers=released)
    return released


def orders_to_give_back(orders) -> set[int]:
    """Of these orders (being cancelled together), the ones give_back_on_cancel has anything to do
    for: flash sale or campaign units, a group membership or hold, or a checkout that redeemed
    vouchers or points. A constant number of queries however many orders (the periodic expiry
    calls give_back_on_cancel only for these)."""
    from backend.campaigns.models import CampaignPurchase
    from backend.members.models import PointsEntry

    from .models import FlashSalePurchase, GroupMember

    orders = list(orders)
    if not orders:
        return set()
    ids = [order.pk for order in orders]
    wanted = {order.pk for order in orders if getattr(order, "group_hold", False)}
    wanted |= set(FlashSalePurchase.objects.filter(order_id__in=ids, released_at__isnull=True).values_list("order_id", flat=True))
    wanted |= set(CampaignPurchase.objects.filter(order_id__in=ids, released_at__isnull=True).values_list("order_id", flat=True))
    wanted |= set(
        GroupMember.objects.filter(order_id__in=ids, left_at__isnull=True, settled_at__isnull=True).values_list("order_id", flat=True)
    )
    tokens = {order.checkout_token for order in orders}
    with_vouchers = set(
        VoucherRedemption.objects.filter(checkout_token__in=tokens, released_at__isnull=True).values_list("checkout_token", flat=True)
    )
    keys = {f"redeem:checkout:{token}": token for token in tokens}
    with_points = {keys[key] for key in PointsEntry.objects.filter(key__in=list(keys)).values_list("key", flat=True)}
    wanted |= {order.pk for order in orders if order.checkout_token in with_vouchers or order.checkout_token in with_points}
    return wanted


def _checkout_line_variants(pricing: P.Pricing) -> dict[int, int]:
    from backend.checkout.models import CheckoutLine

    keys = {a.line_key for a in pricing.adjustments if a.line_key is not None}
    return dict(CheckoutLine.objects.filter(pk__in=keys).values_list("pk", "variant_id"))


# --- Managing vouchers (stores and platform staff) -------------------------------------------


@dataclass
class VoucherInput:
    name: str | None = None
    code: str | None = None
    claimable: bool | None = None
    kind: str | None = None
    value: object = None
    max_discount: object = None
    min_spend: object = None
    platform_share_percent: object = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_shopper_limit: int | None = None
    is_active: bool | None = None
    category_ids: list[int] | None = None
    product_ids: list[int] | None = None
    vendor_ids: list[int] | None = None


def _amount(value, field: str, currency: str) -> Decimal:
    try:
        amount = parse_amount(value, currency)
    except ValueError as exc:
        raise DomainError(E.INVALID, _("Give an amount in the currency's unit."), field=field) from exc
    if amount < 0:
        raise DomainError(E.INVALID, _("Amounts cannot be negative."), field=field)
    return amount


def _apply_input(voucher: Voucher, data: VoucherInput, *, platform_staff: bool) -> None:
    if data.name is not None:
        name = data.name.strip()
        if not name or len(name) > 128:
            raise DomainError(E.INVALID, _("Give the voucher a name of at most 128 characters."), field="name")
        voucher.name = name
    if data.code is not None:
        code = data.code.strip().upper()
        if code and (len(code) > 32 or not code.isalnum() or not code.isascii()):
            raise DomainError(E.INVALID, _("A code is up to 32 letters and digits."), field="code")
        voucher.code = code or None
    if data.claimable is not None:
        voucher.claimable = bool(data.claimable)
    if data.kind is not None:
        if data.kind not in VoucherKind.values:
            raise DomainError(E.INVALID, _("Unknown voucher kind."), field="kind")
        voucher.kind = data.kind
    for name in ("value", "min_spend"):
        value = getattr(data, name)
        if value is not None:
            setattr(voucher, name, _amount(value, name, voucher.currency))
    if data.max_discount is not None:
        voucher.max_discount = _amount(data.max_discount, "maxDiscount", voucher.currency) if str(data.max_discount) != "" else None
    if data.platform_share_percent is not None:
        if not platform_staff:
            raise DomainError(
                E.PERMISSION_DENIED, _("Only platform staff set the platform's share of a voucher."),
                field="platformSharePercent",
            )
        share = _amount(data.platform_share_percent, "platformSharePercent", voucher.currency)
        if share > 100:
            raise DomainError(E.INVALID, _("A share is between 0 and 100 percent."), field="platformSharePercent")
        voucher.platform_share_percent = share
    for name in ("starts_at", "ends_at", "usage_limit", "per_shopper_limit", "is_active"):
        value = getattr(data, name)
        if value is not None:
            setattr(voucher, name, value)
    for name in ("usage_limit", "per_shopper_limit"):
        value = getattr(voucher, name)
        if value is not None and (isinstance(value, bool) or int(value) < 1):
            raise DomainError(E.INVALID, _("A limit is at least 1."), field=name)
    if not voucher.kind:
        raise DomainError(E.REQUIRED, _("Choose the voucher's kind."), field="kind")
    if voucher.kind == VoucherKind.AMOUNT_OFF:
        if voucher.value <= 0:
            raise DomainError(E.INVALID, _("Give the amount off."), field="value")
        if voucher.min_spend and voucher.value >= voucher.min_spend:
            raise DomainError(E.INVALID, _("The amount off must be below the threshold."), field="value")
    if voucher.kind == VoucherKind.PERCENTAGE and not (0 < voucher.value < 100):
        raise DomainError(E.INVALID, _("A percentage off is above 0 and below 100."), field="value")
    if voucher.starts_at and voucher.ends_at and voucher.ends_at <= voucher.starts_at:
        raise DomainError(E.INVALID, _("The voucher must end after it starts."), field="endsAt")
    if not voucher.code and not voucher.claimable:
        raise DomainError(E.REQUIRED, _("A voucher has a code, or is a claimable coupon, or both."), field="code")


def _apply_scope(voucher: Voucher, data: VoucherInput) -> None:
    if data.category_ids is not None:
        found = list(Category.objects.filter(pk__in=data.category_ids))
        if len(found) != len(set(data.category_ids)):
            raise DomainError(E.NOT_FOUND, _("No such category."), field="categories")
        voucher.categories.set(found)
    if data.product_ids is not None:
        products = Product.objects.filter(pk__in=data.product_ids)
        if voucher.vendor_id is not None:
            products = products.filter(vendor_id=voucher.vendor_id)
        found = list(products)
        if len(found) != len(set(data.product_ids)):
            raise DomainError(E.NOT_FOUND, _("No such product."), field="products")
        voucher.products.set(found)
    if data.vendor_ids is not None:
        if voucher.vendor_id is not None and data.vendor_ids:
            raise DomainError(E.INVALID, _("A store's voucher covers that store only."), field="vendors")
        found = list(Vendor.objects.filter(pk__in=data.vendor_ids))
        if len(found) != len(set(data.vendor_ids)):
            raise DomainError(E.NOT_FOUND, _("No such store."), field="vendors")
        voucher.vendors.set(found)


def _save(voucher: Voucher) -> None:
    try:
        with transaction.atomic():
            voucher.save()
    except IntegrityError as exc:
        raise DomainError(E.CODE_TAKEN, _("Another voucher has this code."), field="code") from exc


def voucher_create(*, actor, data: VoucherInput, vendor: Vendor | None = None) -> Voucher:
    """A store's staff create their store's vouchers (store-funded); finance staff create platform
    vouchers (vendor None, platform-funded by default) and may co-fund a store's voucher."""
    platform_staff = manages_platform_vouchers(actor)
    own = vendor_id_of(actor)
    if vendor is None and not platform_staff:
        if own is None:
            raise DomainError(E.PERMISSION_DENIED, _("Only a store's staff or finance staff create vouchers."))
        vendor = Vendor.objects.get(pk=own)
    if vendor is not None and not platform_staff and vendor.pk != own:
        raise DomainError(E.NOT_FOUND, _("No such store."), field="vendor")
    if not platform_staff and not manages_store_vouchers(actor):
        raise DomainError(E.PERMISSION_DENIED, _("Only the store's owner or operators manage its vouchers."))
    voucher = Voucher(
        vendor=vendor, kind="", currency=settings.DEFAULT_CURRENCY,
        platform_share_percent=Decimal(100) if vendor is None else Decimal(0),
    )
    with transaction.atomic():
        _apply_input(voucher, data, platform_staff=platform_staff)
        _save(voucher)
        _apply_scope(voucher, data)
        audit_log(actor=actor, action="voucher.create", target=voucher, vendor=voucher.vendor_id, kind=voucher.kind)
    voucher.refresh_from_db()
    return voucher


def voucher_update(*, actor, voucher: Voucher, data: VoucherInput) -> Voucher:
    if not may_see_voucher(actor, voucher):
        raise DomainError(E.NOT_FOUND, _("No such voucher."), field="id")
    if not may_manage_voucher(actor, voucher):
        raise DomainError(E.PERMISSION_DENIED, _("Only the store's owner or operators manage its vouchers."))
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
        _apply_input(voucher, data, platform_staff=manages_platform_vouchers(actor))
        _save(voucher)
        _apply_scope(voucher, data)
        audit_log(actor=actor, action="voucher.update", target=voucher, vendor=voucher.vendor_id)
    voucher.refresh_from_db()
    return voucher


def voucher_for_manager(*, actor, voucher_id: int) -> Voucher:
    """The voucher, if the caller may manage it (NOT_FOUND otherwise: others' vouchers stay unseen)."""
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is None or not may_see_voucher(actor, voucher):
        raise DomainError(E.NOT_FOUND, _("No such voucher."), field="id")
    return voucher


__all__ = [
    "VoucherInput", "VoucherOffer", "best_vouchers", "checkout_pricing", "checkout_voucher_apply",
    "checkout_voucher_remove", "coupon_claim", "redeem_at_placement", "voucher_create", "voucher_update",
    "Funder", "DiscountTarget",
]
