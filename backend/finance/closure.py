"""Store closure: no new orders at once, the deposit back after the cooling-off period.

vendorClose moves a trading store to CLOSING (it is no longer sellable) and
opens its VendorClosure here. Once the cooling-off period
(settings.VENDOR_CLOSURE_COOLING_OFF_DAYS) is over, no order is unreleased and
no dispute is open, the periodic task (or staff, with vendorCloseComplete)
settles it: the deposit goes back to the available balance (deposit_release),
the store becomes CLOSED, and once that is committed the available balance is
paid out (closure_payout: the gateway is not asked under the settlement's locks). The entry fee
is not refunded. A store that never traded closes at once and gets its deposit
back at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.core.exceptions import DomainError
from backend.core.periodic import record_processed
from backend.vendors.models import Vendor, VendorStatus

from . import accounts
from . import services as movements
from .error_codes import FinanceErrorCode
from .ledger import account_balances
from .models import ClosureStatus, Payout, PayoutTrigger, VendorClosure
from .payouts import payout_create
from .standing import vendor_restriction_lift

logger = logging.getLogger(__name__)

UNRELEASED_ORDER_STATUSES = ("unpaid", "paid", "shipped", "delivered")


def vendor_closure_open(*, actor, vendor: Vendor) -> VendorClosure | None:
    """Called by vendors.services.vendor_close inside its transaction, after the status change."""
    now = timezone.now()
    vendor_restriction_lift(vendor=vendor)
    if vendor.status == VendorStatus.CLOSING:
        closure, _created = VendorClosure.objects.get_or_create(
            vendor=vendor,
            defaults={
                "requested_at": now,
                "deposit_release_after": now + timedelta(days=settings.VENDOR_CLOSURE_COOLING_OFF_DAYS),
            },
        )
        return closure
    if vendor.status == VendorStatus.CLOSED:
        # Never traded: nothing to cool off; whatever it paid into the deposit goes back now.
        closure, _created = VendorClosure.objects.get_or_create(
            vendor=vendor, defaults={"requested_at": now, "deposit_release_after": now}
        )
        _settle_money(closure, vendor)
        return closure
    return None


def closure_blockers(vendor: Vendor, *, now: datetime | None = None) -> list[str]:
    """What still keeps a closing store from being settled; empty when it may be."""
    now = now or timezone.now()
    closure = VendorClosure.objects.filter(vendor=vendor).first()
    if closure is None or vendor.status != VendorStatus.CLOSING:
        return ["The store is not closing."]
    blockers = []
    if now < closure.deposit_release_after:
        blockers.append(f"The cooling-off period runs until {closure.deposit_release_after:%Y-%m-%d}.")
    Order = apps.get_model("orders", "Order")
    unreleased = Order.objects.filter(vendor=vendor, status__in=UNRELEASED_ORDER_STATUSES).count()
    if unreleased:
        blockers.append(f"{unreleased} order(s) are not released yet.")
    if apps.is_installed("backend.disputes"):
        from backend.disputes.models import ACTIVE_STATUSES, Dispute

        open_disputes = Dispute.objects.filter(vendor=vendor, status__in=ACTIVE_STATUSES).count()
        if open_disputes:
            blockers.append(f"{open_disputes} dispute(s) are open.")
    balances = account_balances(
        [accounts.vendor_pending(vendor.pk), accounts.vendor_available(vendor.pk), accounts.vendor_deposit(vendor.pk)]
    )
    pending, available, deposit = balances.values()
    if pending.amount > 0:
        blockers.append(f"{pending.amount} {pending.currency.code} is still held in escrow.")
    if available.amount + deposit.amount < 0:
        blockers.append(f"The store owes {-(available.amount + deposit.amount)} {available.currency.code}.")
    return blockers


def _settle_money(closure: VendorClosure, vendor: Vendor) -> None:
    """Deposit back to available, then everything available paid out (no minimum)."""
    deposit = account_balances([accounts.vendor_deposit(vendor.pk)])[accounts.vendor_deposit(vendor.pk)]
    if deposit.amount > 0:
        movements.deposit_release(ref=f"closure:{closure.pk}", vendor=vendor, amount=deposit)
    closure.deposit_returned = deposit.amount
    closure.status = ClosureStatus.SETTLED
    closure.settled_at = timezone.now()
    closure.save(update_fields=["deposit_returned", "status", "settled_at"])
    # Paid out once the settlement is committed: the gateway is never asked under the locks held here.
    transaction.on_commit(partial(closure_payout, closure.pk))


def closure_payout(closure_id: int) -> Payout | None:
    """Everything available paid out to a settled store (no minimum), once: the payout's key is
    the closure's. Run after the settlement's transaction; staff may run it again."""
    closure = VendorClosure.objects.select_related("vendor").get(pk=closure_id)
    vendor = closure.vendor
    available = account_balances([accounts.vendor_available(vendor.pk)])[accounts.vendor_available(vendor.pk)]
    if available.amount <= 0:
        return None
    try:
        return payout_create(
            actor=None,
            vendor=vendor,
            amount=available,
            derived_key=f"closure:{closure.pk}:payout",
            trigger=PayoutTrigger.CLOSURE,
            enforce_minimum=False,
        )
    except DomainError as error:
        # The money stays available; staff pay it out with payoutCreate once the gateway can.
        logger.warning("Closure payout of vendor %s failed: %s", vendor.pk, error.message)
        return None


def vendor_closure_settle(*, actor, vendor: Vendor, now: datetime | None = None) -> Vendor:
    """Settle a closing store (see the module doc) and close it; NOT_SETTLED says what is missing."""
    from backend.vendors.services import vendor_status_apply

    now = now or timezone.now()
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
        blockers = closure_blockers(vendor, now=now)
        if blockers:
            raise DomainError(FinanceErrorCode.NOT_SETTLED, " ".join(blockers), field="id")
        closure = VendorClosure.objects.select_for_update().get(vendor=vendor)
        _settle_money(closure, vendor)
        return vendor_status_apply(
            actor=actor,
            vendor=vendor,
            action="vendor.close_complete",
            reason=f"Settled; deposit of {closure.deposit_returned} returned.",
        )


def closures_settle(*, now: datetime | None = None) -> int:
    """The periodic task: settle every closing store whose cooling-off is over; returns how many."""
    now = now or timezone.now()
    due = VendorClosure.objects.filter(
        status=ClosureStatus.COOLING_OFF, deposit_release_after__lte=now, vendor__status=VendorStatus.CLOSING
    ).values_list("vendor_id", flat=True)
    settled = 0
    for vendor_id in list(due):
        try:
            vendor_closure_settle(actor=None, vendor=Vendor.objects.get(pk=vendor_id), now=now)
        except DomainError:
            continue
        settled += 1
        record_processed("vendor", vendor_id)
    return settled
