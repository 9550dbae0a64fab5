"""Who may see which payments; what was asked of a gateway."""

from dataclasses import dataclass

from backend.core.permissions import PlatformPermission, has_permission
from backend.vendors.selectors import vendor_of

from .models import Payment, Refund


def visible_payments(user, queryset=None):
    """Finance and order staff see all; a vendor's staff its fee and deposit payments; a shopper their own."""
    queryset = Payment.objects.all() if queryset is None else queryset
    if has_permission(user, PlatformPermission.MANAGE_FINANCE) or has_permission(user, PlatformPermission.MANAGE_ORDERS):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    vendor = vendor_of(user)
    if vendor is not None:
        return queryset.filter(vendor=vendor)
    return queryset.filter(customer=user)


@dataclass(frozen=True)
class KnownReferences:
    """A gateway's payments and refunds made in a period, for plugins that ask the provider about each.

    Each comes with its idempotency key: one whose answer was lost has no provider reference,
    and a plugin that derives the provider's number from the key can still ask about it.
    """

    charges: list[tuple[str, str]]  # (the payment's reference or "", its idempotency key)
    refunds: list[tuple[str, str, str]]  # (the payment's reference, the refund's reference or "", its key)


def gateway_references(gateway: str, start, end) -> KnownReferences:
    """What the marketplace asked a gateway for in [start, end) (two queries)."""
    charges = list(
        Payment.objects.filter(gateway=gateway, created_at__gte=start, created_at__lt=end)
        .order_by("pk")
        .values_list("psp_reference", "idempotency_key")
    )
    refunds = list(
        Refund.objects.filter(payment__gateway=gateway, created_at__gte=start, created_at__lt=end)
        .order_by("pk")
        .values_list("payment__psp_reference", "psp_reference", "idempotency_key")
    )
    return KnownReferences(charges=[tuple(row) for row in charges], refunds=[tuple(row) for row in refunds])


def gateway_movements(gateway: str, start, end) -> list:
    """The money a gateway moved for us in [start, end) as GatewayRecords, from our rows (the dummy's books)."""
    from plugins.payments.interface import GatewayRecord

    from .models import PaymentStatus, RefundStatus, Transfer, TransferStatus

    charge_status = {PaymentStatus.AUTHORIZED: "authorized", PaymentStatus.CAPTURED: "succeeded",
                     PaymentStatus.PARTIALLY_REFUNDED: "succeeded", PaymentStatus.REFUNDED: "succeeded"}
    window = {"created_at__gte": start, "created_at__lt": end}
    records = []
    for p in Payment.objects.filter(gateway=gateway, status__in=list(charge_status), **window).exclude(psp_reference=""):
        status = charge_status[p.status]
        amount = p.captured_amount if status == "succeeded" else p.amount
        records.append(GatewayRecord("charge", p.psp_reference, amount, p.currency, p.created_at, status))
    for r in Refund.objects.filter(payment__gateway=gateway, status=RefundStatus.SUCCEEDED, **window).exclude(psp_reference=""):
        records.append(GatewayRecord("refund", r.psp_reference, r.amount, r.currency, r.created_at, "succeeded"))
    for t in Transfer.objects.filter(gateway=gateway, status__in=[TransferStatus.PAID, TransferStatus.REVERSED], **window).exclude(psp_reference=""):
        records.append(GatewayRecord("transfer", t.psp_reference, t.amount, t.currency, t.created_at, t.status))
    return records
