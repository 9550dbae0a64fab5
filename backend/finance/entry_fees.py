"""Entry fees and deposit top-ups paid through the gateway, and the year-end fee rebate.

A payment is taken with backend.payments (idempotent on its key; the dummy
gateway captures at once) and, once captured, posted to the ledger
(fee_charge into platform:fees, deposit_top_up into the vendor's deposit) and
the vendor's standing re-evaluated: paying is what activates a store. A
gateway that answers later reaches the same code through its webhook
(on_vendor_payment_captured).

Payments are asked for outside any transaction, so a declined attempt is
recorded with its error; the ledger side runs under the vendor's row lock,
once per payment.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.money import quantize
from backend.core.periodic import record_processed
from backend.payments import services as payments
from backend.payments.models import Payment, PaymentPurpose, PaymentStatus
from backend.vendors.models import Vendor, VendorStatus

from . import accounts
from . import services as movements
from .error_codes import FinanceErrorCode
from .fees import PlanBook, entry_fee_terms
from .ledger import last_transaction_id, owner_scoped_key
from .models import FeePeriod, LedgerEntry, LedgerTransaction, TransactionKind
from .selectors import may_manage_vendor_money
from .standing import current_fee_period, one_year_after, vendor_standing, vendor_standing_refresh


def _require_payer(actor, vendor: Vendor) -> None:
    """The vendor's owner or operator, or finance staff paying on its behalf."""
    if not may_manage_vendor_money(actor, vendor.pk):
        raise DomainError(
            FinanceErrorCode.PERMISSION_DENIED, "Only the store's owner or operator, or finance staff, may do this."
        )


def _require_trading(vendor: Vendor) -> None:
    if vendor.status in (VendorStatus.CLOSING, VendorStatus.CLOSED):
        raise DomainError(
            FinanceErrorCode.VENDOR_NOT_ELIGIBLE, "A closing or closed store pays no fee or deposit.", field="vendor"
        )


def _token_digest(gateway: str, token: str) -> str:
    return hashlib.sha256(f"{gateway}:{token}".encode()).hexdigest()[:16]


def _gateway_and_token(gateway: str | None, token: str | None) -> tuple[str, str]:
    gateway = (gateway or settings.VENDOR_PAYMENT_GATEWAY).strip()
    token = (token or "").strip()
    if not token:
        if gateway != "dummy":
            raise DomainError(FinanceErrorCode.REQUIRED, "A payment token from the gateway is required.", field="token")
        token = "success"  # the embedded gateway: pay at once
    return gateway, token


def _pay(*, actor, vendor: Vendor, amount: Money, purpose: str, key: str, gateway: str, token: str, description: str,
         metadata: dict) -> Payment:
    try:
        return payments.payment_process(
            gateway=gateway,
            token=token,
            amount=amount,
            idempotency_key=key,
            customer=actor,
            customer_email=vendor.contact_email,
            purpose=purpose,
            vendor=vendor,
            description=description,
            metadata=metadata,
        )
    except DomainError as error:
        code = FinanceErrorCode.__members__.get(error.code.name, FinanceErrorCode.GATEWAY_ERROR)
        raise DomainError(code, error.message, field=error.field) from error


def _last_captured(vendor: Vendor, purpose: str) -> Payment | None:
    return (
        Payment.objects.filter(vendor=vendor, purpose=purpose, status=PaymentStatus.CAPTURED)
        .order_by("-created_at", "-id")
        .first()
    )


# --- Entry fee ---------------------------------------------------------------------------


def vendor_entry_fee_pay(
    *, actor, vendor: Vendor, gateway: str | None = None, token: str | None = None, idempotency_key: str | None = None
) -> Payment | None:
    """Pay what is outstanding of the current fee year's entry fee (the whole fee when no year
    is running: paying starts one). Nothing outstanding: the last fee payment, nothing charged."""
    _require_payer(actor, vendor)
    _require_trading(vendor)
    gateway, token = _gateway_and_token(gateway, token)
    now = timezone.now()
    standing = vendor_standing(vendor, now)
    outstanding = standing.fee_outstanding
    if outstanding.amount <= 0:
        vendor_standing_refresh(vendor=vendor, actor=actor)
        return _last_captured(vendor, PaymentPurpose.VENDOR_FEE)
    anchor = f"year{standing.period.pk}" if standing.period else f"new{timezone.localdate(now):%Y%m%d}"
    key = owner_scoped_key(f"vendor:{vendor.pk}", f"fee:{idempotency_key}") if idempotency_key else (
        f"vendor:{vendor.pk}:fee:{anchor}:{outstanding.amount}:{_token_digest(gateway, token)}"
    )
    payment = _pay(
        actor=actor,
        vendor=vendor,
        amount=outstanding,
        purpose=PaymentPurpose.VENDOR_FEE,
        key=key,
        gateway=gateway,
        token=token,
        description=f"Entry fee of {vendor.name}",
        metadata={"vendor": vendor.pk},
    )
    if payment.status == PaymentStatus.CAPTURED:
        fee_payment_apply(payment=payment, actor=actor)
    return payment


def _fee_key(payment: Payment) -> str:
    return f"fee_charge:payment:{payment.pk}"


def fee_payment_apply(*, payment: Payment, actor=None) -> FeePeriod:
    """A captured entry-fee payment: into platform:fees, onto the current fee year (started now
    when none runs), then the standing. Once per payment."""
    now = timezone.now()
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=payment.vendor_id)
        period = current_fee_period(vendor.pk, now)
        if LedgerTransaction.objects.filter(idempotency_key=_fee_key(payment)).exists():
            return period
        if period is None:
            terms = entry_fee_terms(vendor, now)
            period = FeePeriod.objects.create(
                vendor=vendor, starts_at=now, ends_at=one_year_after(now), currency=payment.currency, fee_plan=terms.plan
            )
        else:
            # A category added during the year may have raised the fee: its plan's rebate rules apply.
            period.fee_plan = entry_fee_terms(vendor, period.starts_at).plan
        amount = payment.captured
        movements.fee_charge(
            fee_ref=f"payment:{payment.pk}",
            vendor=vendor,
            amount=amount,
            description=f"Entry fee, fee year {period.starts_at:%Y-%m-%d} to {period.ends_at:%Y-%m-%d}",
        )
        period.paid_amount += amount.amount
        period.save(update_fields=["paid_amount", "fee_plan"])
        audit_log(
            actor=actor,
            action="vendor.entry_fee_paid",
            target=vendor,
            amount=str(amount.amount),
            payment=payment.pk,
            fee_year=period.pk,
        )
    vendor_standing_refresh(vendor=vendor, actor=actor)
    return period


# --- Deposit top-up ---------------------------------------------------------------------


def last_deposit_transaction_id(vendor_id: int) -> int:
    """The newest movement of the vendor's deposit (see last_transaction_id)."""
    return last_transaction_id(accounts.vendor_deposit(vendor_id))


def vendor_deposit_top_up(
    *,
    actor,
    vendor: Vendor,
    amount: Money | None = None,
    gateway: str | None = None,
    token: str | None = None,
    idempotency_key: str | None = None,
) -> Payment | None:
    """Pay into the vendor's deposit: `amount`, or what it is short of the requirement.
    Nothing short and no amount: the last deposit payment, nothing charged."""
    _require_payer(actor, vendor)
    _require_trading(vendor)
    gateway, token = _gateway_and_token(gateway, token)
    if amount is None:
        amount = vendor_standing(vendor).deposit_shortfall
        if amount.amount <= 0:
            vendor_standing_refresh(vendor=vendor, actor=actor)
            return _last_captured(vendor, PaymentPurpose.VENDOR_DEPOSIT)
    elif amount.amount <= 0:
        raise DomainError(FinanceErrorCode.INVALID, "The amount must be positive.", field="amount")
    key = owner_scoped_key(f"vendor:{vendor.pk}", f"deposit:{idempotency_key}") if idempotency_key else (
        f"vendor:{vendor.pk}:deposit:{amount.amount}:{last_deposit_transaction_id(vendor.pk)}:"
        f"{_token_digest(gateway, token)}"
    )
    payment = _pay(
        actor=actor,
        vendor=vendor,
        amount=amount,
        purpose=PaymentPurpose.VENDOR_DEPOSIT,
        key=key,
        gateway=gateway,
        token=token,
        description=f"Security deposit of {vendor.name}",
        metadata={"vendor": vendor.pk},
    )
    if payment.status == PaymentStatus.CAPTURED:
        deposit_payment_apply(payment=payment, actor=actor)
    return payment


def deposit_payment_apply(*, payment: Payment, actor=None) -> None:
    """A captured deposit payment: into the vendor's deposit, then the standing. Once per payment."""
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().get(pk=payment.vendor_id)
        ref = f"payment:{payment.pk}"
        if not LedgerTransaction.objects.filter(idempotency_key=f"deposit_top_up:{ref}").exists():
            movements.deposit_top_up(ref=ref, vendor=vendor, amount=payment.captured)
            audit_log(
                actor=actor,
                action="vendor.deposit_top_up",
                target=vendor,
                amount=str(payment.captured.amount),
                payment=payment.pk,
            )
    vendor_standing_refresh(vendor=vendor, actor=actor)


def on_vendor_payment_captured(payment: Payment) -> None:
    """payments' hook: a fee or deposit payment the gateway captured after answering pending."""
    if payment.vendor_id is None:
        return
    if payment.purpose == PaymentPurpose.VENDOR_FEE:
        fee_payment_apply(payment=payment)
    elif payment.purpose == PaymentPurpose.VENDOR_DEPOSIT:
        deposit_payment_apply(payment=payment)


# --- Year-end rebate -------------------------------------------------------------------------


def rebate_for(*, paid: Money, sales: Money, rules: list) -> tuple[Money, Decimal]:
    """The rebate earned: the fraction of the highest threshold reached, times the fee paid,
    rounded half up to the minor unit. Returns (rebate, fraction)."""
    fraction = Decimal(0)
    for rule in sorted(rules or [], key=lambda r: Decimal(str(r["threshold"]))):
        if sales.amount >= Decimal(str(rule["threshold"])):
            fraction = Decimal(str(rule["fraction"]))
    currency = paid.currency.code
    return Money(quantize(paid.amount * fraction, currency, ROUND_HALF_UP), currency), fraction


def fee_period_sales(period: FeePeriod) -> Money:
    """The vendor's released sales in the fee year: what left escrow to it at release, from the ledger."""
    released = (
        LedgerEntry.objects.filter(
            account__code=accounts.vendor_pending(period.vendor_id),
            transaction__kind=TransactionKind.ESCROW_RELEASE,
            transaction__created_at__gte=period.starts_at,
            transaction__created_at__lt=period.ends_at,
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    from backend.core.money import from_minor

    return Money(from_minor(-released, period.currency), period.currency)


def fee_rebate_pay(*, period: FeePeriod, now: datetime | None = None) -> Money | None:
    """Settle one ended fee year: record its sales and pay the rebate earned through the
    ledger (key per vendor and year, so running twice pays once)."""
    now = now or timezone.now()
    with transaction.atomic():
        list(Vendor.objects.select_for_update().filter(pk=period.vendor_id).values_list("pk"))
        period = FeePeriod.objects.select_for_update().get(pk=period.pk)
        if period.rebated_at is not None or period.ends_at > now:
            return None
        sales = fee_period_sales(period)
        rules = period.fee_plan.rebate_rules if period.fee_plan_id else []
        rebate, fraction = rebate_for(paid=Money(period.paid_amount, period.currency), sales=sales, rules=rules)
        if rebate.amount > 0:
            movements.fee_rebate(
                rebate_ref=f"vendor:{period.vendor_id}:year:{period.pk}",
                vendor=period.vendor_id,
                amount=rebate,
                description=(
                    f"Fee rebate ({fraction * 100:.2f}%) of the fee year from {period.starts_at:%Y-%m-%d}: "
                    f"sales {sales.amount} {sales.currency.code}"
                ),
            )
        period.sales_amount = sales.amount
        period.rebate_amount = rebate.amount
        period.rebated_at = now
        period.save(update_fields=["sales_amount", "rebate_amount", "rebated_at"])
        audit_log(
            actor=None,
            action="vendor.fee_rebate",
            target=period.vendor,
            fee_year=period.pk,
            sales=str(sales.amount),
            rebate=str(rebate.amount),
        )
    return rebate


def fee_rebates_pay(*, now: datetime | None = None) -> int:
    """The periodic year-end task: every fee year that ended and was not settled; returns how many."""
    now = now or timezone.now()
    ids = list(FeePeriod.objects.filter(ends_at__lte=now, rebated_at__isnull=True).values_list("pk", flat=True))
    done = 0
    for pk in ids:
        if fee_rebate_pay(period=FeePeriod.objects.get(pk=pk), now=now) is not None:
            done += 1
            record_processed("fee year", pk)
    return done


__all__ = [
    "PlanBook",
    "deposit_payment_apply",
    "fee_payment_apply",
    "fee_rebate_pay",
    "fee_rebates_pay",
    "rebate_for",
    "vendor_deposit_top_up",
    "vendor_entry_fee_pay",
]
