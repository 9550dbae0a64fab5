"""Payouts: a vendor's available balance out through the gateway's transfer hook.

payoutCreate and the payout schedule both end in payout_create: under the
vendor's row lock, at least settings.PAYOUT_MINIMUM_AMOUNT, at most what is
available, one Payout per idempotency key. The payout and its transfer are
claimed and the amount reserved in one transaction (payments.transfer_claim);
the gateway is asked after it, with no lock held (payments.transfer_send), and
the answer settles it, or gives it back to available when the transfer fails
(or later, when the gateway's webhook says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import parse_amount
from backend.core.periodic import record_processed
from backend.payments import services as payments
from backend.vendors.models import Vendor, VendorStatus

from . import accounts
from .error_codes import FinanceErrorCode
from .ledger import account_balance, last_transaction_id, owner_scoped_key
from .models import AccountKind, Payout, PayoutTrigger
from .selectors import may_manage_vendor_money

# A suspended store's money stays until it is reinstated; onboarding stores have none.
PAYABLE_STATUSES = (VendorStatus.ACTIVE, VendorStatus.RESTRICTED, VendorStatus.CLOSING, VendorStatus.CLOSED)
SCHEDULES = ("daily", "weekly", "monthly", "manual")


def payout_minimum() -> Money:
    currency = settings.DEFAULT_CURRENCY
    return Money(parse_amount(settings.PAYOUT_MINIMUM_AMOUNT, currency), currency)


def payout_create(
    *,
    actor,
    vendor: Vendor,
    amount: Money | None = None,
    idempotency_key: str | None = None,
    derived_key: str | None = None,
    trigger: str = PayoutTrigger.MANUAL,
    enforce_minimum: bool = True,
) -> Payout:
    """Pay `amount` (all that is available when None) out to the vendor through the gateway.

    The same key returns the same payout; without one, the key is derived from the
    vendor's last available-balance movement, so a double submit pays once. Keys are the
    vendor's own: a caller's key is stored inside the vendor's namespace (owner_scoped_key)
    and payouts are unique per (vendor, key), so no other store's key can answer or block.
    `derived_key` is the platform's own (the schedule's, a closure's), used as it is.
    """
    if actor is not None and not may_manage_vendor_money(actor, vendor.pk):
        raise DomainError(
            FinanceErrorCode.PERMISSION_DENIED, "Only the store's owner or operator, or finance staff, may do this."
        )
    payout, created = _payout_claim(
        actor=actor, vendor=vendor, amount=amount, idempotency_key=idempotency_key, derived_key=derived_key,
        trigger=trigger, enforce_minimum=enforce_minimum,
    )
    if payout.transfer is not None:
        # The gateway is asked once the payout and its reserve are committed, with no lock held.
        # No answer leaves it pending (reserved): the same key again, or payments.complete_transfers,
        # asks again under the transfer's key.
        payout.transfer = payments.transfer_send(payout.transfer)
    if created:
        audit_log(
            actor=actor,
            action="vendor.payout",
            target=vendor,
            payout=payout.pk,
            amount=str(payout.amount),
            trigger=trigger,
            status=payout.status,
        )
    return payout


def _payout_claim(*, actor, vendor, amount, idempotency_key, derived_key, trigger, enforce_minimum) -> tuple[Payout, bool]:
    """The payout (an existing one for the key, or a new one with its transfer claimed and the
    amount reserved) under the vendor's row lock; whether it is new."""
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
        if vendor.status not in PAYABLE_STATUSES:
            raise DomainError(
                FinanceErrorCode.VENDOR_NOT_ELIGIBLE,
                f"A store that is {vendor.get_status_display().lower()} receives no payouts.",
                field="vendor",
            )
        own_payouts = Payout.objects.select_related("transfer").filter(vendor=vendor)
        if idempotency_key:
            idempotency_key = owner_scoped_key(f"vendor:{vendor.pk}", idempotency_key)
            existing = own_payouts.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                if amount is not None and existing.amount != amount.amount:
                    raise DomainError(
                        FinanceErrorCode.IDEMPOTENCY_CONFLICT,
                        "This idempotency key was used for another payout.",
                        field="idempotencyKey",
                    )
                return existing, False
        account = accounts.vendor_available(vendor.pk)
        available = account_balance(account)
        key = idempotency_key or derived_key or f"{trigger}:vendor:{vendor.pk}:{last_transaction_id(account)}"
        existing = own_payouts.filter(idempotency_key=key).first()
        if existing is not None:
            return existing, False
        amount = available if amount is None else amount
        if amount.currency.code != available.currency.code:
            raise DomainError(FinanceErrorCode.CURRENCY_MISMATCH, "Payouts are in the platform currency.")
        minimum = payout_minimum()
        if amount.amount <= 0 or (enforce_minimum and amount.amount < minimum.amount):
            raise DomainError(
                FinanceErrorCode.BELOW_MINIMUM,
                f"A payout is at least {minimum.amount} {minimum.currency.code}; "
                f"{amount.amount} {amount.currency.code} was asked for.",
                field="amount",
            )
        if amount.amount > available.amount:
            raise DomainError(
                FinanceErrorCode.INSUFFICIENT_FUNDS,
                f"Only {available.amount} {available.currency.code} is available.",
                field="amount",
            )
        payout = Payout.objects.create(
            vendor=vendor,
            amount=amount.amount,
            currency=amount.currency.code,
            trigger=trigger,
            idempotency_key=key,
            requested_by=actor if actor is not None and actor.is_authenticated else None,
        )
        try:
            payout.transfer = payments.transfer_claim(vendor=vendor, amount=amount, payout_ref=payout.reference)
        except DomainError as error:
            code = FinanceErrorCode.__members__.get(error.code.name, FinanceErrorCode.GATEWAY_ERROR)
            raise DomainError(code, error.message, field=error.field) from error
        payout.save(update_fields=["transfer"])
    return payout, True


def payout_day(day: date, schedule: str | None = None) -> bool:
    """Whether the payout schedule (settings.PAYOUT_SCHEDULE) pays out on `day`."""
    schedule = (schedule or settings.PAYOUT_SCHEDULE).lower()
    if schedule not in SCHEDULES:
        raise DomainError(FinanceErrorCode.INVALID, f"Unknown payout schedule {schedule!r}.", field="schedule")
    if schedule == "daily":
        return True
    if schedule == "weekly":
        return day.weekday() == settings.PAYOUT_WEEKDAY
    if schedule == "monthly":
        return day.day == settings.PAYOUT_MONTH_DAY
    return False


def vendors_due_for_payout() -> list[int]:
    """Vendors that may be paid and hold at least the minimum, in one query."""
    minimum = payout_minimum()
    from backend.core.money import to_minor

    return list(
        Vendor.objects.filter(
            status__in=(VendorStatus.ACTIVE, VendorStatus.RESTRICTED),
            ledger_accounts__kind=AccountKind.VENDOR_AVAILABLE,
            ledger_accounts__balance__gte=max(to_minor(minimum.amount, minimum.currency.code), 1),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def payouts_run_scheduled(
    *, now: datetime | None = None, force: bool = False, vendor_ids: Iterable[int] | None = None, progress=None
) -> dict[str, int]:
    """Pay every due vendor its whole available balance, if today is a payout day (or force).

    The key is per vendor and day, so running twice on the same day pays once. A failed
    transfer leaves the money available for the next run. `progress` wraps the vendor list
    (the management command's progress bar).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    result = {"paid": 0, "failed": 0, "pending": 0, "skipped": 0}
    if not force and not payout_day(today):
        return result
    ids = list(vendor_ids) if vendor_ids is not None else vendors_due_for_payout()
    for vendor_id in progress(ids) if progress else ids:
        vendor = Vendor.objects.get(pk=vendor_id)
        try:
            payout = payout_create(
                actor=None,
                vendor=vendor,
                derived_key=f"scheduled:vendor:{vendor_id}:{today:%Y%m%d}",
                trigger=PayoutTrigger.SCHEDULED,
            )
        except DomainError:
            result["skipped"] += 1
            continue
        result[{"paid": "paid", "failed": "failed"}.get(payout.status, "pending")] += 1
        record_processed("payout", payout.pk)
    return result
