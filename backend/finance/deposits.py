"""Staff deductions from a vendor's security deposit: penalties, or compensation for a shopper."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import transaction
from moneyed import Money

from backend.core.audit import audit_log
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.models import Vendor

from . import services as movements
from .entry_fees import last_deposit_transaction_id
from .error_codes import FinanceErrorCode
from .ledger import owner_scoped_key
from .models import LedgerTransaction


def require_deposit_deductor(actor, *, for_dispute: bool) -> None:
    """Finance staff may deduct; arbitrators too when the deduction compensates a dispute.

    Callers that look the vendor or the dispute up first call this before (as staff-only
    mutations check their permission first), so no one learns which IDs exist.
    """
    allowed = has_permission(actor, PlatformPermission.MANAGE_FINANCE) or (
        for_dispute and has_permission(actor, PlatformPermission.ARBITRATE_DISPUTES)
    )
    if not allowed:
        raise DomainError(FinanceErrorCode.PERMISSION_DENIED, "You need the MANAGE_FINANCE permission for this action.")


def vendor_deposit_deduct(
    *, actor, vendor: Vendor, amount: Money, reason: str, dispute=None, idempotency_key: str | None = None
) -> LedgerTransaction:
    """Take `amount` from the deposit: to the platform's fees, or, with a dispute of this vendor,
    to that dispute's shopper as compensation. Audit-logged; a deposit left short restricts
    the vendor (see services.deposit_deduct). Finance staff; arbitrators for a dispute."""
    require_deposit_deductor(actor, for_dispute=dispute is not None)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(FinanceErrorCode.REQUIRED, "Say why the deposit is deducted.", field="reason")
    if len(reason) > 5000:
        raise DomainError(FinanceErrorCode.INVALID, "At most 5000 characters.", field="reason")
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise DomainError(FinanceErrorCode.INVALID, "The amount must be positive.", field="amount")
    if amount.currency.code != settings.DEFAULT_CURRENCY:
        raise DomainError(FinanceErrorCode.CURRENCY_MISMATCH, "Deposits are kept in the platform currency.")
    buyer = None
    if dispute is not None:
        if dispute.vendor_id != vendor.pk:
            raise DomainError(FinanceErrorCode.INVALID, "The dispute is about another vendor.", field="dispute")
        buyer = dispute.order.user_id
    digest = hashlib.sha256(reason.encode()).hexdigest()[:12]
    # A caller's key is the vendor's (owner_scoped_key): the same key for another store is another deduction.
    ref = owner_scoped_key(f"vendor:{vendor.pk}", idempotency_key) if idempotency_key else (
        f"staff:vendor:{vendor.pk}:{amount.amount}:{digest}:"
        f"{getattr(dispute, 'pk', '')}:{last_deposit_transaction_id(vendor.pk)}"
    )
    with transaction.atomic():
        repeated = LedgerTransaction.objects.filter(idempotency_key=f"deposit_deduct:{ref}").first()
        if repeated is not None:
            return repeated
        posted = movements.deposit_deduct(
            ref=ref, vendor=vendor, amount=amount, buyer=buyer, to_buyer=dispute is not None, reason=reason
        )
        audit_log(
            actor=actor,
            action="vendor.deposit_deduct",
            target=vendor,
            reason=reason,
            amount=str(amount.amount),
            dispute=getattr(dispute, "pk", None),
            to_buyer=dispute is not None,
            transaction=posted.pk,
        )
    return posted
