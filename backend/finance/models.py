"""The double-entry escrow ledger: accounts, transactions and their entries.

Amounts are signed integers in the currency's minor unit. An account's balance
is the sum of its entries: positive means the account holds money. `gateway`
is the outside world seen through the payment provider, so it is the one
account that normally goes negative (minus the money the platform holds).
Transactions and entries are written once and never changed or deleted; a
correction is a new transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from backend.core.exceptions import DomainError

from .error_codes import FinanceErrorCode


class AccountKind(models.TextChoices):
    GATEWAY = "gateway", "Payment gateway (outside world)"
    ESCROW = "escrow", "Escrow, not yet assigned to a vendor order"
    VENDOR_PENDING = "vendor_pending", "Vendor pending (the vendor's share of escrow)"
    VENDOR_AVAILABLE = "vendor_available", "Vendor available balance"
    VENDOR_DEPOSIT = "vendor_deposit", "Vendor security deposit"
    PLATFORM_COMMISSION = "platform_commission", "Platform commission"
    PLATFORM_FEES = "platform_fees", "Platform fees and penalties"
    BUYER_REFUNDS = "buyer_refunds", "Refunds returned to a shopper"
    PAYOUTS = "payouts", "Payouts in transit to vendors"
    PLATFORM_PROMOTIONS = "platform_promotions", "Platform promotion expense (subsidies of its vouchers)"
    POINTS_LIABILITY = "points_liability", "Members' points outstanding (a liability of the platform)"
    POINTS_EXPENSE = "points_expense", "Platform cost of the points it issued (less those taken back or expired)"


class TransactionKind(models.TextChoices):
    ESCROW_HOLD = "escrow_hold", "Escrow hold"
    ESCROW_RELEASE = "escrow_release", "Escrow release"
    REFUND_FROM_ESCROW = "refund_from_escrow", "Refund from escrow"
    REFUND_FROM_VENDOR = "refund_from_vendor", "Refund from vendor"
    PAYOUT_RESERVE = "payout_reserve", "Payout reserved"
    PAYOUT_SETTLE = "payout_settle", "Payout settled"
    PAYOUT_FAIL = "payout_fail", "Payout failed"
    PAYOUT_REVERSE = "payout_reverse", "Payout reversed"
    FEE_CHARGE = "fee_charge", "Fee charged"
    FEE_REBATE = "fee_rebate", "Fee rebate"
    DEPOSIT_TOP_UP = "deposit_top_up", "Deposit top-up"
    DEPOSIT_DEDUCT = "deposit_deduct", "Deposit deduction"
    DEPOSIT_RELEASE = "deposit_release", "Deposit released"
    ADJUSTMENT = "adjustment", "Adjustment"
    PROMOTION_SUBSIDY = "promotion_subsidy", "Platform promotion subsidy to a store"
    PROMOTION_SUBSIDY_RETURN = "promotion_subsidy_return", "Platform promotion subsidy returned on a refund"
    POINTS_ISSUE = "points_issue", "Points issued to a member (order released)"
    POINTS_REVERSE = "points_reverse", "Points taken back (order refunded)"
    POINTS_REDEEM = "points_redeem", "Points redeemed at checkout"
    POINTS_RETURN = "points_return", "Redeemed points given back (order cancelled)"
    POINTS_EXPIRE = "points_expire", "Points expired"
    POINTS_GRANT = "points_grant", "Points granted to a member by staff"
    POINTS_DEDUCT = "points_deduct", "Points deducted from a member by staff"


class LedgerAccount(models.Model):
    """One account, created on demand from its code (see backend.finance.accounts)."""

    code = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=AccountKind.choices, db_index=True)
    currency = models.CharField(max_length=3)
    vendor = models.ForeignKey(
        "vendors.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    non_negative = models.BooleanField(
        default=False, help_text="Postings may not take the balance below zero (escrow, deposits, ...)."
    )
    # Cache of the sum of entries, updated in the posting's transaction under a row lock; hot accounts
    # (accounts.is_hot: gateway, platform revenue, promotions, points) keep 0 here and are never
    # written by a posting: their balance is the sum of their entries.
    balance = models.BigIntegerField(default=0, help_text="Minor units; equals the sum of the entries.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise DomainError(FinanceErrorCode.IMMUTABLE, "Ledger rows cannot be changed.")

    def delete(self):
        raise DomainError(FinanceErrorCode.IMMUTABLE, "Ledger rows cannot be deleted.")


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise DomainError(FinanceErrorCode.IMMUTABLE, "Ledger rows cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise DomainError(FinanceErrorCode.IMMUTABLE, "Ledger rows cannot be deleted.")


class LedgerTransaction(ImmutableModel):
    """One movement of money: balanced entries posted together under an idempotency key."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=TransactionKind.choices, db_index=True)
    description = models.TextField(blank=True)
    # What the movement is about, e.g. ("order", "42") or ("payment", "7"); strings so any domain fits.
    reference_type = models.CharField(max_length=32, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Hash of what was asked, to tell a retry from a different request reusing the key.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["reference_type", "reference_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class LedgerEntry(ImmutableModel):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(help_text="Signed, in minor units: positive adds to the account.")
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["account", "-id"], name="finance_entry_account_id")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d} {self.currency}"


# --- Fee plans, commission overrides, fee periods --------------------------------------------

AMOUNT = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 5, "decimal_places": 4}


class FeePlan(models.Model):
    """What selling in a category costs from `effective_from` on.

    A change is a new row, never an edit: the plan in force at a moment is the
    row of the category (or its nearest ancestor with one) with the latest
    effective_from not after that moment.
    """

    category = models.ForeignKey("catalog.Category", on_delete=models.PROTECT, related_name="fee_plans")
    effective_from = models.DateTimeField(db_index=True)
    currency = models.CharField(max_length=3)
    annual_fee = models.DecimalField(**AMOUNT, help_text="Entry fee per fee year.")
    commission_rate = models.DecimalField(**RATE, help_text="0.0500 = 5% of each order line.")
    deposit_amount = models.DecimalField(**AMOUNT, help_text="Security deposit a vendor of the category keeps.")
    rebate_rules = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"threshold": "500000.00", "fraction": "0.5"}, ...]: part of the annual fee paid back '
        "when the vendor's sales in the fee year reach the threshold (the highest reached applies).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category_id", "-effective_from", "-id"]
        indexes = [models.Index(fields=["category", "-effective_from"], name="finance_plan_category_from")]

    def __str__(self) -> str:
        return f"Fee plan of {self.category_id} from {self.effective_from:%Y-%m-%d}"


class VendorCommissionOverride(models.Model):
    """A negotiated commission rate for one vendor in one category (or all, category null).

    Like plans, a change is a new row; rate null ends an override from effective_from on.
    """

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="commission_overrides")
    category = models.ForeignKey(
        "catalog.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rate = models.DecimalField(**RATE, null=True, blank=True, help_text="Null: back to the category plan.")
    effective_from = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor_id", "-effective_from", "-id"]
        indexes = [models.Index(fields=["vendor", "-effective_from"], name="finance_override_vendor_from")]

    def __str__(self) -> str:
        return f"Commission override of {self.vendor_id} in {self.category_id}: {self.rate}"


class FeePeriod(models.Model):
    """One fee year of a vendor: from the day its entry fee was first paid, one year long."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.PROTECT, related_name="fee_periods")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True)
    currency = models.CharField(max_length=3)
    paid_amount = models.DecimalField(**AMOUNT, default=0)
    # The plan whose fee set what is owed (the highest among the vendor's categories): its rebate rules apply.
    fee_plan = models.ForeignKey(FeePlan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sales_amount = models.DecimalField(**AMOUNT, null=True, blank=True, help_text="Released sales of the year.")
    rebate_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    rebated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor_id", "-starts_at"]
        constraints = [models.UniqueConstraint(fields=["vendor", "starts_at"], name="finance_one_fee_period_start")]

    def __str__(self) -> str:
        return f"Fee year of {self.vendor_id} from {self.starts_at:%Y-%m-%d}"


class RestrictionStatus(models.TextChoices):
    OPEN = "open", "Open: waiting for the top-up"
    SUSPENDED = "suspended", "Deadline passed: vendor suspended"
    LIFTED = "lifted", "Lifted"


class VendorRestriction(models.Model):
    """A vendor fell short of the fee or deposit while trading: it may not sell until it pays,
    and is suspended when the deadline passes."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="restrictions")
    status = models.CharField(max_length=16, choices=RestrictionStatus.choices, default=RestrictionStatus.OPEN)
    reasons = models.JSONField(default=list, help_text="deposit_short and/or fee_unpaid.")
    deadline = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor"],
                condition=models.Q(status__in=["open", "suspended"]),
                name="finance_one_open_restriction",
            )
        ]

    def __str__(self) -> str:
        return f"Restriction of {self.vendor_id} until {self.deadline:%Y-%m-%d} ({self.status})"


class ClosureStatus(models.TextChoices):
    COOLING_OFF = "cooling_off", "Cooling off"
    SETTLED = "settled", "Settled: deposit returned, store closed"


class VendorClosure(models.Model):
    """A store on its way out: the deposit comes back after the cooling-off period once
    no order is unreleased and no dispute is open."""

    vendor = models.OneToOneField("vendors.Vendor", on_delete=models.CASCADE, related_name="closure")
    status = models.CharField(max_length=16, choices=ClosureStatus.choices, default=ClosureStatus.COOLING_OFF)
    requested_at = models.DateTimeField()
    deposit_release_after = models.DateTimeField(db_index=True)
    deposit_returned = models.DecimalField(**AMOUNT, null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deposit_release_after", "id"]

    def __str__(self) -> str:
        return f"Closure of {self.vendor_id} ({self.status})"


class PayoutTrigger(models.TextChoices):
    MANUAL = "manual", "Asked for"
    SCHEDULED = "scheduled", "Payout schedule"
    CLOSURE = "closure", "Store closure"


class Payout(models.Model):
    """Money out of a vendor's available balance through the gateway (a payments Transfer)."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    trigger = models.CharField(max_length=16, choices=PayoutTrigger.choices, default=PayoutTrigger.MANUAL)
    # Unique per vendor, not globally: one store's key can never answer or block another's payout.
    idempotency_key = models.CharField(max_length=200)
    transfer = models.OneToOneField(
        "payments.Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="payout"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "idempotency_key"], name="payout_idempotency_key_per_vendor")
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk} of {self.amount} {self.currency} to {self.vendor_id}"

    @property
    def reference(self) -> str:
        return f"P{self.pk}"

    @property
    def status(self) -> str:
        return self.transfer.status if self.transfer_id else "pending"
