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
    DEPOSIT_TOP_UP = "deposit_top_up", "Deposit top-up"
    DEPOSIT_DEDUCT = "deposit_deduct", "Deposit deduction"
    DEPOSIT_RELEASE = "deposit_release", "Deposit released"
    ADJUSTMENT = "adjustment", "Adjustment"


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
    # Cache of the sum of entries, updated in the posting's transaction under a row lock.
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
