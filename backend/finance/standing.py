"""Whether a vendor is paid up, and what its status follows from that.

A vendor may trade (ACTIVE) only while the entry fee of its current fee year is
paid and its deposit covers the requirement. Paying activates an onboarding
store; a trading store that falls short (a fee year ran out, a category with a
higher requirement, a plan change, a deduction) is RESTRICTED with a deadline
(settings.VENDOR_TOP_UP_DAYS), and the periodic check suspends it when the
deadline passes. Paying lifts both. Every change is audit-logged through the
vendors' state machine; running any of this twice changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from backend.core.money import quantize, zero
from backend.core.periodic import record_processed
from backend.notifications.services import notify
from backend.vendors.models import Vendor, VendorStatus

from . import accounts
from .fees import PlanBook, deposit_required, entry_fee_terms, vendor_category_ids
from .ledger import account_balance
from .models import FeePeriod, FeePlan, RestrictionStatus, VendorRestriction

FEE_UNPAID = "fee_unpaid"
DEPOSIT_SHORT = "deposit_short"
OPEN_RESTRICTION = (RestrictionStatus.OPEN, RestrictionStatus.SUSPENDED)


@dataclass(frozen=True)
class Unmet:
    reason: str  # FEE_UNPAID or DEPOSIT_SHORT
    message: str
    amount: Money


@dataclass(frozen=True)
class VendorStanding:
    vendor_id: int
    period: FeePeriod | None
    fee_plan: FeePlan | None
    fee_owed: Money
    fee_paid: Money
    deposit_required: Money
    deposit_held: Money
    restriction: VendorRestriction | None

    @property
    def fee_outstanding(self) -> Money:
        rest = self.fee_owed - self.fee_paid
        return rest if rest.amount > 0 else zero(rest.currency.code)

    @property
    def deposit_shortfall(self) -> Money:
        rest = self.deposit_required - self.deposit_held
        return rest if rest.amount > 0 else zero(rest.currency.code)

    @property
    def unmet(self) -> list[Unmet]:
        found = []
        if self.fee_outstanding.amount > 0:
            found.append(
                Unmet(FEE_UNPAID, f"The entry fee of {_text(self.fee_outstanding)} is unpaid.", self.fee_outstanding)
            )
        if self.deposit_shortfall.amount > 0:
            found.append(
                Unmet(
                    DEPOSIT_SHORT,
                    f"The deposit is {_text(self.deposit_shortfall)} short of {_text(self.deposit_required)}.",
                    self.deposit_shortfall,
                )
            )
        return found


def _text(money: Money) -> str:
    return f"{money.amount} {money.currency.code}"


def one_year_after(start: datetime) -> datetime:
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, day=28)


def current_fee_period(vendor_id: int, at: datetime) -> FeePeriod | None:
    return FeePeriod.objects.filter(vendor_id=vendor_id, starts_at__lte=at, ends_at__gt=at).order_by("-starts_at").first()


def vendor_standing(vendor, at: datetime | None = None, *, book: PlanBook | None = None) -> VendorStanding:
    """What the vendor owes and holds at `at` (now).

    The fee of a fee year is the highest annual fee among the vendor's categories
    under the plans in force when the year began; before the first payment, now.
    """
    at = at or timezone.now()
    book = book or PlanBook()
    vendor_id = int(getattr(vendor, "pk", vendor))
    category_ids = vendor_category_ids([vendor_id])[vendor_id]
    period = current_fee_period(vendor_id, at)
    terms = entry_fee_terms(vendor_id, period.starts_at if period else at, book=book, category_ids=category_ids)
    currency = terms.annual_fee.currency.code
    restriction = VendorRestriction.objects.filter(vendor_id=vendor_id, status__in=OPEN_RESTRICTION).first()
    return VendorStanding(
        vendor_id=vendor_id,
        period=period,
        fee_plan=terms.plan,
        fee_owed=terms.annual_fee,
        fee_paid=Money(quantize(period.paid_amount if period else 0, currency), currency),
        deposit_required=deposit_required(vendor_id, at, book=book, category_ids=category_ids),
        deposit_held=account_balance(accounts.vendor_deposit(vendor_id), currency=currency),
        restriction=restriction,
    )


def vendor_requirements_unmet(vendor, at: datetime | None = None) -> list[Unmet]:
    """What stops the vendor from trading: an unpaid fee year first, then a deposit shortfall."""
    return vendor_standing(vendor, at).unmet


def _move(vendor: Vendor, action: str, reason: str, actor=None) -> Vendor:
    from backend.vendors.services import vendor_status_apply

    return vendor_status_apply(actor=actor, vendor=vendor, action=action, reason=reason)


def vendor_standing_refresh(*, vendor, actor=None, now: datetime | None = None, book: PlanBook | None = None) -> Vendor:
    """Bring the vendor's status in line with what it has paid; idempotent.

    onboarding + paid up -> active; active + short -> restricted (deadline set);
    restricted + paid up -> active; suspended by a missed deadline + paid up -> active.
    """
    now = now or timezone.now()
    vendor_id = int(getattr(vendor, "pk", vendor))
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=vendor_id)
        standing = vendor_standing(vendor, now, book=book)
        unmet = standing.unmet
        restriction = standing.restriction
        status = vendor.status
        if status == VendorStatus.ONBOARDING and not unmet:
            vendor = _move(vendor, "vendor.activate", "Entry fee and deposit paid.", actor)
        elif status == VendorStatus.ACTIVE and unmet:
            deadline = now + timedelta(days=settings.VENDOR_TOP_UP_DAYS)
            VendorRestriction.objects.create(vendor=vendor, reasons=[u.reason for u in unmet], deadline=deadline)
            message = " ".join(u.message for u in unmet)
            vendor = _move(vendor, "vendor.restrict", f"{message} Pay by {deadline:%Y-%m-%d} to avoid suspension.", actor)
            notify("vendor.deposit_short", vendor=vendor, deadline=deadline, reasons=[u.reason for u in unmet])
        elif status == VendorStatus.RESTRICTED and not unmet:
            _lift(restriction, now)
            vendor = _move(vendor, "vendor.restore", "Fee and deposit paid again.", actor)
        elif status == VendorStatus.RESTRICTED and restriction is None:
            # Restricted by hand or before this rule: give it the usual deadline.
            VendorRestriction.objects.create(
                vendor=vendor,
                reasons=[u.reason for u in unmet],
                deadline=now + timedelta(days=settings.VENDOR_TOP_UP_DAYS),
            )
        elif (
            status == VendorStatus.SUSPENDED
            and not unmet
            and restriction is not None
            and restriction.status == RestrictionStatus.SUSPENDED
        ):
            # Suspended only because the deadline passed: paying ends it. A suspension staff
            # decided has no restriction behind it and waits for vendorReinstate.
            _lift(restriction, now)
            vendor = _move(vendor, "vendor.restore", "Fee and deposit paid after the deadline.", actor)
    return vendor


def _lift(restriction: VendorRestriction | None, now: datetime) -> None:
    if restriction is not None:
        restriction.status = RestrictionStatus.LIFTED
        restriction.lifted_at = now
        restriction.save(update_fields=["status", "lifted_at"])


def vendor_restriction_lift(*, vendor) -> None:
    """Staff reinstated the vendor: whatever restriction it had is over."""
    restriction = VendorRestriction.objects.filter(vendor_id=vendor.pk, status__in=OPEN_RESTRICTION).first()
    _lift(restriction, timezone.now())


def vendor_restrictions_expire(*, now: datetime | None = None) -> int:
    """Suspend restricted vendors whose top-up deadline passed; returns how many. Safe to run twice."""
    now = now or timezone.now()
    due = list(
        VendorRestriction.objects.filter(status=RestrictionStatus.OPEN, deadline__lte=now).values_list(
            "pk", "vendor_id"
        )
    )
    suspended = 0
    for pk, vendor_id in due:
        with transaction.atomic():
            vendor = vendor_standing_refresh(vendor=vendor_id, now=now)
            restriction = VendorRestriction.objects.select_for_update().get(pk=pk)
            if restriction.status != RestrictionStatus.OPEN or vendor.status != VendorStatus.RESTRICTED:
                continue
            restriction.status = RestrictionStatus.SUSPENDED
            restriction.suspended_at = now
            restriction.save(update_fields=["status", "suspended_at"])
            _move(
                vendor,
                "vendor.suspend_overdue",
                f"Not paid up by the deadline of {restriction.deadline:%Y-%m-%d}.",
            )
        suspended += 1
        record_processed("suspended vendor", vendor_id)
    return suspended


def vendor_standing_check(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic check: restrict trading vendors that fell short (a fee year ended, a plan or
    category changed), restore those that paid, suspend those past their deadline."""
    now = now or timezone.now()
    book = PlanBook()
    changed = 0
    ids = Vendor.objects.filter(status__in=[VendorStatus.ACTIVE, VendorStatus.RESTRICTED, VendorStatus.SUSPENDED])
    for vendor_id in ids.values_list("pk", flat=True).order_by("pk"):
        with transaction.atomic():
            # The status before, read under the lock the refresh takes: an overlapping run that
            # changed the vendor first is not counted again here.
            status = Vendor.objects.select_for_update().values_list("status", flat=True).get(pk=vendor_id)
            vendor = vendor_standing_refresh(vendor=vendor_id, now=now, book=book)
        if vendor.status != status:
            changed += 1
            record_processed("vendor", vendor_id)
    return {"changed": changed, "suspended": vendor_restrictions_expire(now=now)}
