"""Group buying (拼团): a store's deal price for a variant when `group_size` shoppers join one group
within its window.

A shopper opens a group or joins an open one by marking the checkout (checkout_group_buy_set);
the deal price joins the checkout's one pricing path as a store-funded line adjustment, like a
flash sale's (a line priced by a group deal takes no flash sale price as well). Each member pays
into escrow as for any order; the member's order (the deal store's order of that checkout) is
held (Order.group_hold): it cannot be shipped, and so no release timer starts, until the group
fills.

- Placement (redeem_group, inside checkout's placing transaction): the deal row, then the group
  row are locked and everything checked again: the deal is live, the group open, unexpired, with a
  free slot (members whose order was cancelled freed theirs), the shopper not in it yet and within
  their limit. Concurrent last joiners are ordered by the group's row lock: one gets the slot, the
  other is refused (GROUP_NOT_JOINABLE) and pays nothing.
- Filling (on_orders_paid): under the group's row lock, once `group_size` members have paid,
  OPEN -> FILLED and the holds are lifted, once. Checkout calls it after its placing transaction
  (fill_groups_of), a later capture in the capture's transaction; the periodic closing fills a
  complete group whose fill was lost (a crash in between) instead of failing it.
- Failing (groups_close_expired, periodic): an expired OPEN group goes FAILED in a short
  transaction of its own; then each member's order is cancelled and refunded in full through
  orders' cancellation (its refund keyed `order:<id>:cancel`, the gateway asked with no row
  locked), one member at a time, each marked settled after; a second run, or one after a crash
  between members, settles only the members left and never refunds twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.catalog.models import ProductVariant
from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import quantize
from backend.core.periodic import record_processed
from backend.notifications.services import notify

from . import pricing as P
from .error_codes import PromotionErrorCode
from . import windows as W
from .models import CheckoutGroupBuy, Group, GroupDeal, GroupMember, GroupStatus
from .state_machines import GROUP_STATUS

E = PromotionErrorCode
SOURCE = "group_deal"


def deal_label(deal: GroupDeal) -> str:
    return deal.name or _("Group deal")


# --- What shoppers see ------------------------------------------------------------------------


def live_group_deals(now: datetime | None = None):
    now = now or timezone.now()
    return GroupDeal.objects.filter(is_active=True, starts_at__lte=now, ends_at__gt=now)


def active_members():
    """Members holding a slot: their order was not cancelled while the group was open."""
    return GroupMember.objects.filter(left_at__isnull=True)


def open_groups(now: datetime | None = None):
    """Open, unexpired groups, each with `member_count` (slots taken); full ones are left to the caller."""
    now = now or timezone.now()
    return (
        Group.objects.filter(status=GroupStatus.OPEN, expires_at__gt=now)
        .annotate(member_count=Count("members", filter=Q(members__left_at__isnull=True)))
        .order_by("expires_at", "pk")
    )


def joinable_groups(deal_ids, now: datetime | None = None):
    """Open groups of these deals a shopper may still join, each with `member_count`."""
    return open_groups(now).filter(deal_id__in=list(deal_ids))


def shown_group_deals(now: datetime | None = None):
    """What the storefront shows on a variant: its live deal with its open groups (two queries for a page)."""
    from django.db.models import Prefetch

    return live_group_deals(now).order_by("-starts_at", "-id").prefetch_related(
        Prefetch("groups", queryset=open_groups(now), to_attr="open_groups")
    )


def group_expires_at(deal: GroupDeal, opened: datetime) -> datetime:
    """A group runs for the deal's window from its opening, cut at the deal's end."""
    return min(opened + timedelta(hours=deal.window_hours), deal.ends_at)


# --- Pricing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupPricing:
    """The checkout's group buy as priced: the deal, the group joined (None: a new one), the line
    at the deal price and its units; `problem` says why it was not priced (the completion stops)."""

    deal_id: int
    group_id: int | None
    line_key: int | None = None
    units: int = 0
    problem: str | None = None
    # As loaded for pricing (what the storefront shows of the checkout's group buy).
    deal: GroupDeal | None = field(default=None, compare=False, repr=False)
    group: Group | None = field(default=None, compare=False, repr=False)
    members: int | None = None


def _bought(deal_id: int, *, user, email: str, exclude_order_ids=()) -> int:
    """Units this shopper holds at the deal's price (memberships whose orders were not cancelled)."""
    query = GroupMember.objects.filter(group__deal_id=deal_id, left_at__isnull=True, settled_at__isnull=True)
    if user is not None and getattr(user, "is_authenticated", False):
        query = query.filter(Q(user_id=user.pk) | Q(email__iexact=user.email))
    elif email:
        query = query.filter(email__iexact=email)
    else:
        return 0
    return query.aggregate(units=Sum("quantity"))["units"] or 0


def _in_group(group_id: int, *, user, email: str) -> bool:
    query = active_members().filter(group_id=group_id)
    if user is not None and getattr(user, "is_authenticated", False):
        return query.filter(Q(user_id=user.pk) | Q(email__iexact=user.email)).exists()
    return bool(email) and query.filter(email__iexact=email).exists()


def _problem(deal: GroupDeal, group: Group | None, *, now, currency: str, user, email: str, members: int | None) -> str | None:
    """Why this group buy cannot be had now (stable codes), or None."""
    if not deal.is_active or not (deal.starts_at <= now < deal.ends_at) or deal.currency != currency:
        return "deal_not_active"
    if group is None:
        return None
    if group.status != GroupStatus.OPEN or group.expires_at <= now:
        return "group_closed"
    if members is not None and members >= deal.group_size:
        return "group_full"
    if _in_group(group.pk, user=user, email=email):
        return "already_member"
    return None


def problem_message(problem: str) -> str:
    messages = {
        "deal_not_active": _("The group deal is not on now."),
        "group_closed": _("This group has closed; start a new group or join another."),
        "group_full": _("This group is full; start a new group or join another."),
        "already_member": _("You are in this group already."),
        "limit_reached": _("You have bought as many units at this group deal's price as you may."),
        "not_in_checkout": _("Add the deal's variant to the checkout first."),
    }
    return messages.get(problem, problem)


def group_line_adjustments(checkout, packages, *, user, email: str, now: datetime | None = None):
    """(adjustments, GroupPricing | None) for a checkout marked for a group buy (one query when unmarked)."""
    if checkout.pk is None:
        return [], None
    choice = CheckoutGroupBuy.objects.filter(checkout_id=checkout.pk).select_related("deal__variant", "group").first()
    if choice is None:
        return [], None
    now = now or timezone.now()
    deal, group = choice.deal, choice.group
    members = active_members().filter(group_id=group.pk).count() if group is not None else None
    problem = _problem(deal, group, now=now, currency=checkout.currency, user=user, email=email, members=members)
    line = next((line for package in packages for line in package.lines if line.variant_id == deal.variant_id), None)
    if problem is None and line is None:
        problem = "not_in_checkout"
    units = 0
    if problem is None:
        units = line.quantity
        if deal.per_shopper_limit is not None:
            units = min(units, max(0, deal.per_shopper_limit - _bought(deal.pk, user=user, email=email)))
        if units <= 0:
            problem = "limit_reached"
    result = GroupPricing(deal.pk, choice.group_id, line.pk if line is not None else None, units, problem,
                          deal=deal, group=group, members=members)
    if problem is not None:
        return [], result
    off = quantize(Decimal(line.price_amount) - Decimal(deal.price_amount), checkout.currency)
    if off <= 0:
        return [], result
    return [P.LineAdjustment(SOURCE, deal.pk, deal_label(deal), P.STORE, line.pk, off * units)], result


# --- Shoppers marking a checkout -------------------------------------------------------------


def checkout_group_buy_set(*, checkout, user, deal_id: int, group_id: int | None = None, now=None) -> CheckoutGroupBuy:
    """Buy the checkout's line of the deal's variant at the group price: joining `group_id`, or
    opening a new group (no group). Checked again, authoritatively, at placement."""
    if checkout.completed_at is not None:
        raise DomainError(E.INVALID, _("This checkout was completed; start a new one."), field="id")
    now = now or timezone.now()
    deal = live_group_deals(now).filter(pk=deal_id).first()
    if deal is None or deal.currency != checkout.currency:
        raise DomainError(E.NOT_FOUND, _("No such group deal on now."), field="deal")
    group = None
    if group_id is not None:
        group = Group.objects.filter(pk=group_id, deal_id=deal.pk).first()
        if group is None:
            raise DomainError(E.NOT_FOUND, _("No such group."), field="group")
    buyer = checkout.user or (user if user is not None and user.is_authenticated else None)
    members = active_members().filter(group_id=group.pk).count() if group is not None else None
    problem = _problem(deal, group, now=now, currency=checkout.currency, user=buyer, email=checkout.email or "",
                       members=members)
    if problem is None and not checkout.lines.filter(variant_id=deal.variant_id).exists():
        problem = "not_in_checkout"
    if problem is not None:
        raise DomainError(E.GROUP_NOT_JOINABLE, problem_message(problem), field="group" if group else "deal")
    choice, _created = CheckoutGroupBuy.objects.update_or_create(
        checkout_id=checkout.pk, defaults={"deal": deal, "group": group}
    )
    return choice


def checkout_group_buy_remove(*, checkout) -> bool:
    if checkout.completed_at is not None:
        raise DomainError(E.INVALID, _("This checkout was completed; start a new one."), field="id")
    return CheckoutGroupBuy.objects.filter(checkout_id=checkout.pk).delete()[0] > 0


# --- Placement and filling --------------------------------------------------------------------


def redeem_group(*, pricing: P.Pricing, orders, user, email: str, now) -> GroupMember | None:
    """Inside the placing transaction, after the orders: lock the deal, then the group, check the
    group buy again, open the group or take its slot, and hold the member's order."""
    priced: GroupPricing | None = pricing.group_buy
    if priced is None:
        return None
    if priced.problem is not None:
        raise DomainError(E.GROUP_NOT_JOINABLE, problem_message(priced.problem), field="group")
    deal = GroupDeal.objects.select_for_update().filter(pk=priced.deal_id).first()
    buyer = user if user is not None and getattr(user, "is_authenticated", False) else None
    group = None
    if deal is not None and priced.group_id is not None:
        group = Group.objects.select_for_update().filter(pk=priced.group_id).first()
    members = active_members().filter(group_id=group.pk).count() if group is not None else None
    problem = "deal_not_active" if deal is None else (
        "group_closed" if priced.group_id is not None and group is None else
        _problem(deal, group, now=now, currency=pricing.currency, user=buyer, email=email, members=members)
    )
    if problem is None and deal.per_shopper_limit is not None:
        if _bought(deal.pk, user=buyer, email=email) + priced.units > deal.per_shopper_limit:
            problem = "limit_reached"
    if problem is not None:
        raise DomainError(E.GROUP_NOT_JOINABLE, problem_message(problem), field="group")
    order = next(o for o in orders if o.vendor_id == deal.vendor_id)
    if group is None:
        group = Group.objects.create(deal=deal, opened_by=buyer, expires_at=group_expires_at(deal, now))
    member = GroupMember.objects.create(group=group, order=order, user=buyer, email=email or "", quantity=priced.units)
    order.group_hold = True
    type(order).objects.filter(pk=order.pk).update(group_hold=True)
    audit_log(actor=buyer, action="group.join", target=group, order=order.pk, opened=members is None)
    return member


def group_fill(group: Group, *, now=None) -> bool:
    """Under the group's row lock (the caller's): OPEN -> FILLED once `group_size` members paid;
    their orders' holds are lifted (shippable). Returns whether it filled now."""
    from backend.orders.models import Order

    if group.status != GroupStatus.OPEN:
        return False
    paid = list(
        active_members().filter(group_id=group.pk, order__paid_at__isnull=False).values_list("order_id", flat=True)
    )
    if len(paid) < group.deal.group_size:
        return False
    group.filled_at = now or timezone.now()
    GROUP_STATUS.apply(group, GroupStatus.FILLED, update_fields=["filled_at"])
    Order.objects.filter(pk__in=paid).update(group_hold=False)
    orders = list(Order.objects.filter(pk__in=paid).order_by("pk"))
    audit_log(actor=None, action="group.filled", target=group, orders=paid)
    notify("group.filled", group=group, orders=orders)
    # The store learns of them now: until the group filled they were not to be shipped.
    notify("order.paid", orders=orders)
    return True


def fill_groups_of(orders) -> None:
    """After checkout's placing transaction (which holds the variants' row locks, and so must not
    wait for other members' order rows): the groups these paid orders complete fill, in a short
    transaction of their own. Should the process die before this, the periodic closing fills a
    complete group instead of failing it."""
    if not any(getattr(o, "group_hold", False) and o.paid_at is not None for o in orders):
        return
    with transaction.atomic():
        on_orders_paid(orders)


def on_orders_paid(orders) -> None:
    """Held orders were paid; their groups fill if complete (in the caller's transaction). Each group
    row is locked (in id order) and checked there, so it fills exactly once."""
    held = [o.pk for o in orders if getattr(o, "group_hold", False)]
    if not held:
        return
    group_ids = sorted(set(GroupMember.objects.filter(order_id__in=held).values_list("group_id", flat=True)))
    released: set[int] = set()
    for group in Group.objects.select_for_update().filter(pk__in=group_ids).select_related("deal").order_by("pk"):
        if group_fill(group):
            released |= set(active_members().filter(group_id=group.pk).values_list("order_id", flat=True))
    for order in orders:  # the caller's instances show it too
        if order.pk in released:
            order.group_hold = False


def on_order_cancelled(order, *, now=None) -> None:
    """orders' cancellation, under the order's lock: a member leaves its group (an open group's slot
    is free again, the units count no more against the shopper's limit). A failed group's members
    are marked settled by the closing task itself."""
    GroupMember.objects.filter(order_id=order.pk, left_at__isnull=True, settled_at__isnull=True).exclude(
        group__status=GroupStatus.FAILED
    ).update(left_at=now or timezone.now())
    if getattr(order, "group_hold", False):  # a cancelled order waits for nothing any more
        order.group_hold = False
        type(order).objects.filter(pk=order.pk).update(group_hold=False)


# --- Closing expired groups ------------------------------------------------------------------


def _fill_complete(now) -> int:
    """Open groups whose members have all paid but did not fill (the process died between the
    placement and the fill) fill now."""
    from django.db.models import F

    complete = (
        Group.objects.filter(status=GroupStatus.OPEN)
        .annotate(paid=Count("members", filter=Q(members__left_at__isnull=True, members__order__paid_at__isnull=False)))
        .filter(paid__gte=F("deal__group_size"))
        .values_list("pk", flat=True)
    )
    filled = 0
    for group_id in list(complete[:200]):
        with transaction.atomic():
            group = Group.objects.select_for_update().select_related("deal").filter(pk=group_id).first()
            if group is not None and group_fill(group, now=now):
                filled += 1
                record_processed("group", group_id)
    return filled


def _fail(group_id: int, now) -> bool:
    with transaction.atomic():
        group = Group.objects.select_for_update().select_related("deal").filter(pk=group_id).first()
        if group is None or group.status != GroupStatus.OPEN or group.expires_at > now:
            return False
        if group_fill(group, now=now):  # complete after all (its fill was lost): it does not fail
            return False
        group.failed_at = now
        GROUP_STATUS.apply(group, GroupStatus.FAILED, update_fields=["failed_at"])
        audit_log(actor=None, action="group.failed", target=group)
    return True


def _settle_member(member_id: int, *, now, manager) -> bool:
    """Cancel and refund one member's order of a failed group (idempotent), then mark it settled."""
    from backend.orders import services as orders_services

    member = GroupMember.objects.select_related("order", "group").get(pk=member_id)
    if member.settled_at is not None or member.left_at is not None:
        return False
    orders_services.order_cancel_for_group(
        order=member.order, reason="The group did not fill in time.", manager=manager
    )
    settled = GroupMember.objects.filter(pk=member.pk, settled_at__isnull=True).update(settled_at=now)
    if settled:
        member.order.refresh_from_db()
        notify("group.failed", member=member, order=member.order)
    return bool(settled)


def groups_close_expired(*, now: datetime | None = None, manager=None, limit: int = 200) -> int:
    """Periodic: complete open groups whose fill was lost fill; expired open groups fail, and every
    member of a failed group is cancelled and refunded once. Returns how many members were settled."""
    now = now or timezone.now()
    _fill_complete(now)
    due = Group.objects.filter(status=GroupStatus.OPEN, expires_at__lte=now).order_by("expires_at", "pk")
    for group_id in list(due.values_list("pk", flat=True)[:limit]):
        if _fail(group_id, now):
            record_processed("group", group_id)
    pending = (
        GroupMember.objects.filter(group__status=GroupStatus.FAILED, settled_at__isnull=True, left_at__isnull=True)
        .order_by("group_id", "pk")
    )
    settled = 0
    touched = set()
    for member_id, group_id in list(pending.values_list("pk", "group_id")[:limit]):
        try:
            settled += _settle_member(member_id, now=now, manager=manager)
        except DomainError as error:
            # A refused refund leaves the order cancelled, its money in escrow for staff; no answer: the
            # refund is finished later (payments.complete_refunds). Either way the order is settled.
            if error.code.name == "REFUND_FAILED":
                GroupMember.objects.filter(pk=member_id, settled_at__isnull=True).update(settled_at=now)
            continue
        touched.add(group_id)
        record_processed("group_member", member_id)
    for group_id in sorted(touched):
        if not GroupMember.objects.filter(group_id=group_id, settled_at__isnull=True, left_at__isnull=True).exists():
            Group.objects.filter(pk=group_id, settled_at__isnull=True).update(settled_at=now)
    return settled


# --- Stores managing their group deals -------------------------------------------------------


@dataclass
class GroupDealInput:
    name: str | None = None
    price: object = None
    group_size: int | None = None
    window_hours: int | None = None
    per_shopper_limit: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    is_active: bool | None = None


def visible_group_deals(user, queryset=None):
    """Core API: a store's staff see its group deals; finance staff see all; nobody else any."""
    return W.visible_events(GroupDeal, user, queryset)


def _may_change(actor, vendor_id: int) -> None:
    W.refuse_unless_store_manager(actor, vendor_id, _("Only the store's owner or operators manage its group deals."))


def _apply(deal: GroupDeal, data: GroupDealInput, variant: ProductVariant) -> None:
    W.apply_name_price_fields(
        deal, data, variant, ("group_size", "window_hours", "per_shopper_limit", "starts_at", "ends_at", "is_active"),
        name_message=_("Give the group deal a name of at most 128 characters."),
        price_message=_("The deal price is above zero and below the regular price."),
    )
    if deal.group_size is None or not (2 <= deal.group_size <= 100):
        raise DomainError(E.INVALID, _("A group has 2 to 100 members."), field="groupSize")
    if deal.window_hours is None or not (1 <= deal.window_hours <= 24 * 7):
        raise DomainError(E.INVALID, _("A group stays open 1 to 168 hours."), field="windowHours")
    W.check_limit_and_window(
        deal, required_message=_("Give the group deal's start and end."),
        order_message=_("The group deal must end after it starts."),
    )


def group_deal_create(*, actor, variant_id: int, data: GroupDealInput) -> GroupDeal:
    """A store's owner or operators offer one of its variants as a group deal."""
    return W.create_event(
        actor=actor, variant_id=variant_id, may_change=_may_change, action="group_deal.create",
        build=lambda variant: GroupDeal(vendor_id=variant.vendor_id, variant=variant, currency=variant.currency,
                                        price_amount=None, group_size=None),
        apply=lambda deal, variant: _apply(deal, data, variant),
        overlap_message=_("Another group deal of this variant overlaps these times."),
    )


def group_deal_update(*, actor, deal_id: int, data: GroupDealInput) -> GroupDeal:
    """Changes apply to groups opened from now on, and to the price of members joining from now on;
    a group open already keeps its expiry and the members it has."""
    return W.update_event(
        actor=actor, model=GroupDeal, event_id=deal_id, may_change=_may_change, action="group_deal.update",
        apply=lambda deal, variant: _apply(deal, data, variant), not_found_message=_("No such group deal."),
        overlap_message=_("Another group deal of this variant overlaps these times."),
    )
