"""Members' tiers and points: the rules (see models.py for the shapes).

Points are a liability of the platform, valued at the redemption rate (MEMBERS_POINTS_PER_UNIT
points = 1 unit of the currency); each movement of them is one balanced ledger transaction:

    issue (order released)      points_issue:order:<order>       platform:points_expense -V; platform:points +V
    take back (order refunded)  points_reverse:<refund key>      platform:points -V; platform:points_expense +V
    redeem (order placed)       points_redeem:checkout:<token>   platform:points -V; platform:promotions +V
    give back (cancelled)       points_return:checkout:<token>   platform:promotions -V; platform:points +V
    expire                      points_expire:<entry key>        platform:points -V; platform:points_expense +V
    grant (staff)               points_adjust:user:<staff>:request:<key>  platform:points_expense -V; platform:points +V
    deduct (staff)              points_adjust:user:<staff>:request:<key>  platform:points -V; platform:points_expense +V

A redemption is a platform-funded goods discount (source "points") through the pricing path:
the store is paid it at release as the platform's subsidy out of platform:promotions, which the
redemption credited with the same amount, so the points' cost ends in platform:points_expense.

Locks: the member row first, then the ledger (a release, a refund, a placement, the expiry all
lock the member before any ledger account), so no two of them wait on each other in a cycle.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import DomainError
from backend.core.money import Money, from_minor, quantize, to_minor
from backend.core.periodic import record_processed
from backend.finance import accounts
from backend.finance.ledger import Posting, owner_scoped_key, post, post_transactions
from backend.finance.models import TransactionKind
from backend.promotions import pricing as P

from .error_codes import MemberErrorCode
from .models import CheckoutPoints, Member, PointsEntry, PointsKind, Tier

logger = logging.getLogger(__name__)
E = MemberErrorCode

# The entries whose `remaining` points are lots: taken from by redemptions, expiring at `expires_at`.
LOT_KINDS = (PointsKind.EARN, PointsKind.GRANT)
# The most points one staff adjustment may grant or deduct.
ADJUST_MAX_POINTS = 10_000_000
REASON_MAX_LENGTH = 200


def points_per_unit() -> int:
    return int(settings.MEMBERS_POINTS_PER_UNIT)


def points_value(points: int, currency: str) -> Money:
    """What `points` are worth at the redemption rate (rounded down to the minor unit)."""
    minor = P.points_value_minor(max(0, points), currency, points_per_unit())
    return Money(from_minor(minor, currency), currency)


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


# --- Locks -------------------------------------------------------------------------------


def member_lock(user) -> Member:
    """The shopper's member row, created if missing, locked for this transaction."""
    user_id = user if isinstance(user, int) else user.pk
    Member.objects.bulk_create([Member(user_id=user_id)], ignore_conflicts=True)
    return Member.objects.select_for_update(of=("self",)).get(user_id=user_id)


def _lock_members(user_ids) -> dict[int, Member]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    Member.objects.bulk_create([Member(user_id=pk) for pk in ids], ignore_conflicts=True)
    found = Member.objects.select_for_update(of=("self",)).filter(user_id__in=ids).order_by("pk")
    return {m.user_id: m for m in found.select_related("tier")}


def _take_from_lots(member: Member, points: int, *, first=None) -> dict[str, int]:
    """Take `points` from the member's lots, `first` (a lot) first, then those expiring soonest;
    returns {lot id: points taken}. What the lots do not cover is not taken from any lot."""
    taken: dict[str, int] = {}
    lots = list(PointsEntry.objects.filter(member=member, kind__in=LOT_KINDS, remaining__gt=0).order_by("expires_at", "pk"))
    if first is not None:
        lots.sort(key=lambda lot: lot.pk != first.pk)
    for lot in lots:
        if points <= 0:
            break
        part = min(points, lot.remaining)
        lot.remaining -= part
        points -= part
        taken[str(lot.pk)] = part
        lot.save(update_fields=["remaining"])
    return taken


def _entry(member: Member, *, kind: str, points: int, key: str, currency: str, value: Money, **extra) -> PointsEntry:
    member.points_balance += points
    return PointsEntry.objects.create(
        member=member, kind=kind, points=points, balance_after=member.points_balance, key=key,
        value_amount=value.amount, currency=currency, **extra,
    )


# --- Checkout ----------------------------------------------------------------------------


def member_terms(checkout) -> P.MemberTerms | None:
    """What the checkout's shopper's tier and points give in the pricing path (None for guests)."""
    if not checkout.user_id:
        return None
    member = Member.objects.select_related("tier").filter(user_id=checkout.user_id).first()
    if member is None:
        return None
    use = CheckoutPoints.objects.filter(checkout_id=checkout.pk).first() if checkout.pk else None
    tier = member.tier if member.tier is not None and member.tier.currency == checkout.currency else None
    return P.MemberTerms(
        tier_id=tier.pk if tier else None,
        tier_label=tier.name if tier else "",
        discount_percent=tier.discount_percent if tier else Decimal(0),
        free_shipping_threshold=tier.free_shipping_threshold if tier else None,
        points_balance=member.points_balance,
        points_requested=0 if use is None else use.points,
        points_per_unit=points_per_unit(),
        points_max_percent=Decimal(settings.MEMBERS_POINTS_MAX_PERCENT),
        points_label=_("Points"),
    )


def checkout_points_use(*, checkout, user, points: int | None):
    """The shopper asks to use `points` on the checkout (None: as many as allowed; 0: none).
    The pricing path caps them (balance, MEMBERS_POINTS_MAX_PERCENT of the goods); they are
    deducted when the order is placed."""
    if checkout.completed_at is not None:
        raise DomainError(E.INVALID, _("This checkout was completed; start a new one."), field="id")
    if not _signed_in(user) or checkout.user_id != user.pk:
        raise DomainError(E.SIGN_IN_REQUIRED, _("Sign in to use points."), field="points")
    if points is not None and points < 0:
        raise DomainError(E.INVALID, _("Give a number of points of 0 or more."), field="points")
    balance = Member.objects.filter(user_id=user.pk).values_list("points_balance", flat=True).first() or 0
    if points is not None and points > balance:
        raise DomainError(
            E.POINTS_INSUFFICIENT, _("You have %(balance)s points.") % {"balance": max(0, balance)}, field="points"
        )
    with transaction.atomic():
        if points == 0:
            CheckoutPoints.objects.filter(checkout_id=checkout.pk).delete()
        else:
            CheckoutPoints.objects.update_or_create(checkout_id=checkout.pk, defaults={"points": points})
        checkout.save(update_fields=["updated_at"])
    return checkout


def points_check_at_placement(*, pricing: P.Pricing, user) -> Member | None:
    """The first step of placing a checkout with a points request, under the member's lock: the
    points asked for, and those the checkout was priced with, must still be there (another tab
    spent them or a refund took some back meanwhile: the shopper looks at the new total first).
    Points earned meanwhile change nothing: the checkout uses what it was priced with."""
    if pricing.points_requested == 0:
        return None
    if not _signed_in(user):
        raise DomainError(E.SIGN_IN_REQUIRED, _("Sign in to use points."), field="points")
    member = member_lock(user)
    requested = pricing.points_requested
    if (requested is not None and member.points_balance < requested) or member.points_balance < pricing.points_used:
        raise DomainError(
            E.POINTS_INSUFFICIENT, _("Your points balance changed; look at the checkout again."), field="points"
        )
    return member


def points_redeem(*, pricing: P.Pricing, orders, user, checkout_token) -> PointsEntry | None:
    """Inside the placing transaction (promotions.redeem_at_placement): deduct the points the
    pricing used, once per checkout, under the member's lock; refuse if the balance is short now."""
    if not pricing.points_used:
        return None
    if not _signed_in(user):
        raise DomainError(E.SIGN_IN_REQUIRED, _("Sign in to use points."), field="points")
    member = member_lock(user)
    key = f"redeem:checkout:{checkout_token}"
    existing = PointsEntry.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if member.points_balance < pricing.points_used:
        raise DomainError(
            E.POINTS_INSUFFICIENT, _("Your points balance changed; look at the checkout again."), field="points"
        )
    currency = pricing.currency
    value = sum(
        (a.amount for a in pricing.adjustments if a.source == P.POINTS), Money(quantize(Decimal(0), currency), currency)
    )
    consumed = _take_from_lots(member, pricing.points_used)
    entry = _entry(
        member, kind=PointsKind.REDEEM, points=-pricing.points_used, key=key, currency=currency, value=value,
        checkout_token=checkout_token, order=orders[0] if len(orders) == 1 else None, consumed=consumed,
    )
    member.save(update_fields=["points_balance"])
    post(
        Posting(
            idempotency_key=f"points_redeem:checkout:{checkout_token}",
            kind=TransactionKind.POINTS_REDEEM,
            entries=[(accounts.POINTS_LIABILITY, -value), (accounts.PLATFORM_PROMOTIONS, value)],
            description=f"Checkout {checkout_token}: {pricing.points_used} points redeemed for {value.amount} {currency}",
            reference=("checkout", checkout_token),
            metadata={"user": member.user_id, "points": pricing.points_used},
        )
    )
    return entry


def points_give_back(*, checkout_token, order=None) -> PointsEntry | None:
    """promotions' give-back when every order of the checkout is cancelled: the points redeemed on
    it return to the lots they came from, once."""
    redeemed = PointsEntry.objects.filter(key=f"redeem:checkout:{checkout_token}").select_related("member").first()
    if redeemed is None:
        return None
    member = member_lock(redeemed.member.user_id)
    key = f"return:checkout:{checkout_token}"
    if PointsEntry.objects.filter(key=key).exists():
        return None
    lots = {str(lot.pk): lot for lot in PointsEntry.objects.filter(pk__in=[int(k) for k in redeemed.consumed])}
    for lot_id, points in redeemed.consumed.items():
        lot = lots.get(lot_id)
        if lot is not None:
            PointsEntry.objects.filter(pk=lot.pk).update(remaining=F("remaining") + points)
    value = Money(redeemed.value_amount, redeemed.currency)
    entry = _entry(
        member, kind=PointsKind.RETURN, points=-redeemed.points, key=key, currency=redeemed.currency, value=value,
        checkout_token=checkout_token, order=order,
    )
    member.save(update_fields=["points_balance"])
    post(
        Posting(
            idempotency_key=f"points_return:checkout:{checkout_token}",
            kind=TransactionKind.POINTS_RETURN,
            entries=[(accounts.PLATFORM_PROMOTIONS, -value), (accounts.POINTS_LIABILITY, value)],
            description=f"Checkout {checkout_token} cancelled: {-redeemed.points} points given back",
            reference=("checkout", checkout_token),
            metadata={"user": member.user_id, "points": -redeemed.points},
        )
    )
    return entry


# --- Release and refunds -----------------------------------------------------------------


def earn_basis(order, shipping_discount: Decimal) -> Decimal:
    """The goods the shopper paid for, as released: what they paid less refunds and shipping paid."""
    paid = Decimal(order.total_amount) - Decimal(order.refunded_amount)
    shipping_paid = max(Decimal(0), Decimal(order.shipping_amount) - shipping_discount)
    return max(Decimal(0), paid - shipping_paid)


def points_earned(basis: Decimal, multiplier: Decimal) -> int:
    points = basis * Decimal(settings.MEMBERS_POINTS_EARN_PER_UNIT) * Decimal(multiplier)
    return int(points.to_integral_value(rounding=ROUND_DOWN))


def _shipping_discounts(order_ids) -> dict[int, Decimal]:
    from backend.promotions.models import OrderDiscount

    rows = (
        OrderDiscount.objects.filter(order_id__in=order_ids, target="shipping")
        .values("order_id").annotate(total=Sum("amount")).values_list("order_id", "total")
    )
    return {pk: total or Decimal(0) for pk, total in rows}


def _spend(user_ids, *, now, exclude=()) -> dict[int, Decimal]:
    """Spend on completed orders over the window per user: what they paid less refunds."""
    from backend.orders.models import Order, OrderStatus

    since = now - timedelta(days=settings.MEMBERS_TIER_WINDOW_DAYS)
    rows = (
        Order.objects.filter(user_id__in=user_ids, status=OrderStatus.COMPLETED, completed_at__gte=since)
        .exclude(pk__in=list(exclude))
        .values("user_id")
        .annotate(total=Sum(ExpressionWrapper(F("total_amount") - F("refunded_amount"), output_field=DecimalField())))
        .values_list("user_id", "total")
    )
    return {pk: total or Decimal(0) for pk, total in rows}


def tier_for(spend: Decimal, tiers: list[Tier]) -> Tier | None:
    """The highest tier whose threshold the spend reaches (tiers in ascending threshold)."""
    found = None
    for tier in tiers:
        if spend >= tier.min_spend:
            found = tier
    return found


def _tiers(currency: str | None = None) -> list[Tier]:
    return list(Tier.objects.filter(currency=currency or settings.DEFAULT_CURRENCY).order_by("min_spend"))


def _set_tier(member: Member, tier: Tier | None, spend: Decimal, now, *, upgrade_only: bool) -> bool:
    current = member.tier.min_spend if member.tier is not None else None
    new = tier.min_spend if tier is not None else None
    changed = member.tier_id != (tier.pk if tier else None)
    if upgrade_only and changed and current is not None and (new is None or new < current):
        changed = False
    spend = quantize(spend, settings.DEFAULT_CURRENCY)
    if not changed and member.tier_spend == spend and member.tier_checked_at is not None:
        return False  # nothing to write (the daily run over every member writes only what moved)
    if changed:
        member.tier = tier
    member.tier_spend, member.tier_checked_at = spend, now
    member.save(update_fields=["tier", "tier_spend", "tier_checked_at"])
    return changed


def points_on_release(orders, *, now: datetime | None = None) -> list[PointsEntry]:
    """orders' release calls this in its transaction, under the orders' locks and before its own
    ledger postings: each shopper's tier is raised by what they have now spent (the orders being
    released counted), then the points of each order are issued, once per order."""
    now = now or timezone.now()
    orders = [o for o in orders if o.user_id]
    if not orders:
        return []
    keys = {f"earn:order:{o.pk}": o for o in orders}
    done = set(PointsEntry.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    orders = [o for key, o in keys.items() if key not in done]
    if not orders:
        return []
    members = _lock_members(o.user_id for o in orders)
    releasing = defaultdict(Decimal)
    for order in orders:
        releasing[order.user_id] += Decimal(order.total_amount) - Decimal(order.refunded_amount)
    spend = _spend(list(members), now=now, exclude=[o.pk for o in orders])
    tiers = _tiers()
    for user_id, member in members.items():
        total = spend.get(user_id, Decimal(0)) + releasing[user_id]
        _set_tier(member, tier_for(total, tiers), total, now, upgrade_only=True)
    shipping = _shipping_discounts([o.pk for o in orders])
    expires = now + timedelta(days=settings.MEMBERS_POINTS_EXPIRY_DAYS)
    entries, postings = [], []
    for order in orders:
        member = members[order.user_id]
        multiplier = member.tier.points_multiplier if member.tier is not None else Decimal(1)
        points = points_earned(earn_basis(order, shipping.get(order.pk, Decimal(0))), multiplier)
        if points <= 0:
            continue
        value = points_value(points, order.currency)
        entries.append(
            _entry(
                member, kind=PointsKind.EARN, points=points, key=f"earn:order:{order.pk}", currency=order.currency,
                value=value, order_id=order.pk, remaining=points, expires_at=expires,
                paid_amount=Decimal(order.total_amount) - Decimal(order.refunded_amount),
            )
        )
        if value.amount > 0:
            postings.append(
                Posting(
                    idempotency_key=f"points_issue:order:{order.pk}",
                    kind=TransactionKind.POINTS_ISSUE,
                    entries=[(accounts.POINTS_EXPENSE, -value), (accounts.POINTS_LIABILITY, value)],
                    description=f"Order {order.pk}: {points} points issued to user {order.user_id}",
                    reference=("order", order.pk),
                    metadata={"user": order.user_id, "points": points},
                )
            )
    for member in {m.pk: m for m in members.values()}.values():
        member.save(update_fields=["points_balance"])
    if postings:
        post_transactions(postings)
    return entries


def points_on_refund(*, order, amount: Money, refund_ref: str) -> PointsEntry | None:
    """order_refund's call after release, before its own ledger movement (the member's lock before
    the ledger's): the points issued for the order follow the refund back in proportion to what
    was paid at release, cumulatively (refunds adding up to it take back exactly what was issued),
    once per refund. The shopper's balance may go below zero (points already spent)."""
    earned = PointsEntry.objects.filter(key=f"earn:order:{order.pk}").first()
    if earned is None or earned.points <= 0:
        return None
    member = member_lock(order.user_id)
    key = f"reverse:{refund_ref}"
    if PointsEntry.objects.filter(key=key).exists():
        return None
    before = PointsEntry.objects.filter(order_id=order.pk, kind=PointsKind.REVERSE).aggregate(
        points=Sum("points"), refunded=Sum("refund_amount")
    )
    taken_before = -(before["points"] or 0)
    refunded = (before["refunded"] or Decimal(0)) + amount.amount
    paid = Decimal(earned.paid_amount)
    if paid <= 0 or refunded >= paid:
        target = earned.points
    else:
        target = min(earned.points, int((earned.points * refunded / paid).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    take = max(0, target - taken_before)
    currency = order.currency
    value = Money(
        points_value(target, currency).amount - points_value(taken_before, currency).amount, currency
    )
    earned.refresh_from_db(fields=["remaining"])
    _take_from_lots(member, take, first=earned)
    entry = _entry(
        member, kind=PointsKind.REVERSE, points=-take, key=key, currency=currency, value=value, order_id=order.pk,
        refund_amount=amount.amount,
    )
    member.save(update_fields=["points_balance"])
    if value.amount > 0:
        post(
            Posting(
                idempotency_key=f"points_reverse:{refund_ref}",
                kind=TransactionKind.POINTS_REVERSE,
                entries=[(accounts.POINTS_LIABILITY, -value), (accounts.POINTS_EXPENSE, value)],
                description=f"Refund {refund_ref} of order {order.pk}: {take} points taken back",
                reference=("order", order.pk),
                metadata={"user": order.user_id, "points": take, "refund": str(refund_ref)},
            )
        )
    return entry


# --- Staff adjustments -------------------------------------------------------------------


def points_adjust(*, actor, member: Member, points: int, reason: str, idempotency_key: str) -> PointsEntry:
    """A staff grant (points > 0) or deduction (points < 0) of a member's points, with a reason.

    Once per key: the caller's key is scoped to the staff user (`user:<id>:request:<key>`), so a
    retry returns the first adjustment and moves nothing; the same key for a different adjustment
    is refused. A grant is a lot, expiring like earned points; a deduction takes from the lots
    that expire first and never takes the balance below zero. The ledger moves the points' value
    between platform:points_expense and platform:points (see the module's table), once per key.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise DomainError(E.INVALID, _("Give a number of points other than 0."), field="points")
    if abs(points) > ADJUST_MAX_POINTS:
        raise DomainError(
            E.INVALID, _("An adjustment moves at most %(max)s points.") % {"max": ADJUST_MAX_POINTS}, field="points"
        )
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(E.REQUIRED, _("Give the reason for the adjustment."), field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            E.INVALID, _("A reason is at most %(max)s characters.") % {"max": REASON_MAX_LENGTH}, field="reason"
        )
    scoped = owner_scoped_key(f"user:{actor.pk}", idempotency_key)
    try:
        with transaction.atomic():
            return _points_adjust(actor, member_lock(member.user_id), points, reason, scoped)
    except IntegrityError as clash:
        # The same key used at the same moment for another member (each under its own lock).
        raise DomainError(
            E.IDEMPOTENCY_CONFLICT, _("This idempotency key was already used for a different adjustment."),
            field="idempotencyKey",
        ) from clash


def _points_adjust(actor, member: Member, points: int, reason: str, scoped: str) -> PointsEntry:
    key = f"adjust:{scoped}"
    existing = PointsEntry.objects.filter(key=key).first()
    if existing is not None:
        if existing.member_id != member.pk or existing.points != points or existing.reason != reason:
            raise DomainError(
                E.IDEMPOTENCY_CONFLICT,
                _("This idempotency key was already used for a different adjustment."),
                field="idempotencyKey",
            )
        return existing
    currency = settings.DEFAULT_CURRENCY
    if points > 0:
        value = points_value(points, currency)
        entry = _entry(
            member, kind=PointsKind.GRANT, points=points, key=key, currency=currency, value=value,
            remaining=points, expires_at=timezone.now() + timedelta(days=settings.MEMBERS_POINTS_EXPIRY_DAYS),
            reason=reason, created_by=actor,
        )
        kind, entries = TransactionKind.POINTS_GRANT, [(accounts.POINTS_EXPENSE, -value), (accounts.POINTS_LIABILITY, value)]
        what = "granted to"
    else:
        taken = -points
        if member.points_balance < taken:
            raise DomainError(
                E.POINTS_INSUFFICIENT,
                _("The member has %(balance)s points; a deduction never takes the balance below 0.")
                % {"balance": max(0, member.points_balance)},
                field="points",
            )
        value = points_value(taken, currency)
        consumed = _take_from_lots(member, taken)
        entry = _entry(
            member, kind=PointsKind.DEDUCT, points=points, key=key, currency=currency, value=value,
            consumed=consumed, reason=reason, created_by=actor,
        )
        kind, entries = TransactionKind.POINTS_DEDUCT, [(accounts.POINTS_LIABILITY, -value), (accounts.POINTS_EXPENSE, value)]
        what = "deducted from"
    member.save(update_fields=["points_balance"])
    if value.amount > 0:
        post(
            Posting(
                idempotency_key=f"points_adjust:{scoped}",
                kind=kind,
                entries=entries,
                description=f"{abs(points)} points {what} user {member.user_id} by staff {actor.pk}: {reason}",
                reference=("user", member.user_id),
                metadata={"user": member.user_id, "points": abs(points), "staff": actor.pk, "reason": reason},
            )
        )
    return entry


# --- Periodic work -----------------------------------------------------------------------


def points_expire(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Expire what is left of every lot past its date, in batches of members (each batch one
    transaction, the members locked and their lots read again under the lock: two runs at once
    expire each lot once); returns the points expired."""
    now = now or timezone.now()
    batch_size = batch_size or settings.MEMBERS_BATCH_SIZE
    total, after = 0, 0
    while True:
        ids = list(
            PointsEntry.objects.filter(kind__in=LOT_KINDS, remaining__gt=0, expires_at__lte=now, member_id__gt=after)
            .order_by("member_id").values_list("member_id", flat=True).distinct()[:batch_size]
        )
        if not ids:
            return total
        after = ids[-1]
        total += _expire_batch(ids, now=now)


def _expire_batch(member_ids: list[int], *, now) -> int:
    with transaction.atomic():
        members = {m.pk: m for m in Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk")}
        lots = defaultdict(list)
        for lot in PointsEntry.objects.filter(
            member_id__in=list(members), kind__in=LOT_KINDS, remaining__gt=0, expires_at__lte=now
        ).order_by("pk"):
            lots[lot.member_id].append(lot)
        counts = defaultdict(int)
        for member_id in PointsEntry.objects.filter(member_id__in=list(members), kind=PointsKind.EXPIRE).values_list(
            "member_id", flat=True
        ):
            counts[member_id] += 1
        postings, expired = [], 0
        for member_id, member_lots in lots.items():
            member = members[member_id]
            points = sum(lot.remaining for lot in member_lots)
            currency = member_lots[0].currency
            value = points_value(points, currency)
            PointsEntry.objects.filter(pk__in=[lot.pk for lot in member_lots]).update(remaining=0)
            key = f"expire:member:{member_id}:{member_lots[0].pk}-{member_lots[-1].pk}:{counts[member_id] + 1}"
            _entry(member, kind=PointsKind.EXPIRE, points=-points, key=key, currency=currency, value=value)
            member.save(update_fields=["points_balance"])
            expired += points
            if value.amount > 0:
                postings.append(
                    Posting(
                        idempotency_key=f"points_expire:{key}",
                        kind=TransactionKind.POINTS_EXPIRE,
                        entries=[(accounts.POINTS_LIABILITY, -value), (accounts.POINTS_EXPENSE, value)],
                        description=f"{points} points of user {member.user_id} expired",
                        reference=("user", member.user_id),
                        metadata={"user": member.user_id, "points": points},
                    )
                )
        if postings:
            post_transactions(postings)
        record_processed("member", *sorted(lots))
        return expired


def points_warn_expiring(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Tell each shopper once, MEMBERS_POINTS_EXPIRY_WARNING_DAYS before, of the points about to
    expire (event points.expiring); returns how many shoppers were told."""
    from backend.notifications.services import notify

    now = now or timezone.now()
    batch_size = batch_size or settings.MEMBERS_BATCH_SIZE
    until = now + timedelta(days=settings.MEMBERS_POINTS_EXPIRY_WARNING_DAYS)
    told = 0
    while True:
        with transaction.atomic():
            ids = list(
                PointsEntry.objects.filter(
                    kind__in=LOT_KINDS, remaining__gt=0, warned_at__isnull=True, expires_at__gt=now, expires_at__lte=until
                ).order_by("member_id").values_list("member_id", flat=True).distinct()[:batch_size]
            )
            if not ids:
                return told
            members = {m.pk: m for m in Member.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
            lots = defaultdict(list)
            for lot in PointsEntry.objects.filter(
                member_id__in=list(members), kind__in=LOT_KINDS, remaining__gt=0, warned_at__isnull=True,
                expires_at__gt=now, expires_at__lte=until,
            ).order_by("expires_at", "pk"):
                lots[lot.member_id].append(lot)
            warnings = [
                {"user_id": members[m].user_id, "points": sum(lot.remaining for lot in ls),
                 "expires_at": ls[0].expires_at, "key": f"points.expiring:{ls[0].pk}"}
                for m, ls in lots.items()
            ]
            PointsEntry.objects.filter(pk__in=[lot.pk for ls in lots.values() for lot in ls]).update(warned_at=now)
            if warnings:
                notify("points.expiring", warnings=warnings)
            told += len(warnings)
            record_processed("member", *sorted(lots))


def tiers_recompute(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Every member's tier from their spend over the window, up or down; shoppers with completed
    orders in the window and no member row get one. Returns how many tiers changed."""
    from backend.orders.models import Order, OrderStatus

    now = now or timezone.now()
    batch_size = batch_size or settings.MEMBERS_BATCH_SIZE
    since = now - timedelta(days=settings.MEMBERS_TIER_WINDOW_DAYS)
    buyers = set(
        Order.objects.filter(status=OrderStatus.COMPLETED, completed_at__gte=since, user_id__isnull=False)
        .values_list("user_id", flat=True).distinct()
    )
    user_ids = sorted(buyers | set(Member.objects.values_list("user_id", flat=True)))
    tiers = _tiers()
    changed = 0
    for start in range(0, len(user_ids), batch_size):
        batch = user_ids[start:start + batch_size]
        with transaction.atomic():
            members = _lock_members(batch)
            spend = _spend(batch, now=now)
            for user_id, member in members.items():
                total = spend.get(user_id, Decimal(0))
                if _set_tier(member, tier_for(total, tiers), total, now, upgrade_only=False):
                    changed += 1
                    record_processed("member", member.pk)
    return changed


__all__ = [
    "checkout_points_use", "member_lock", "points_adjust", "points_check_at_placement", "member_terms", "points_expire", "points_give_back", "points_on_refund",
    "points_on_release", "points_redeem", "points_value", "points_warn_expiring", "tier_for", "tiers_recompute",
]
