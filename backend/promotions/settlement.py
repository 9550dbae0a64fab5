"""The platform's subsidy of its vouchers in the ledger.

An order keeps what the shopper paid (`total_amount`, held in escrow at payment, as before)
and the platform-funded part of its discounts (`subsidy_amount`). The subsidy is paid to the
store at release, in the same database transaction as the release and before it:

    promotion_subsidy:order:<order>   platform:promotions -S'; vendor:<v>:pending +S'

so the release then moves the shopper's money and the subsidy together out of pending
(commission on both: Tmall's base, the price paid by the shopper plus the platform's subsidy).
S' is the subsidy less the share of what was refunded before release. Escrow therefore only
ever holds money shoppers actually paid (it reconciles with the gateway), and an order
cancelled or refunded before release never moves subsidy money at all.

A refund of X out of the P the shopper paid takes back X/P of the subsidy (cumulatively
rounded, so refunds adding up to P take back exactly S). After release that share is owed by
the store back to the platform:

    promotion_subsidy_return:<refund key>   vendor:<v>:available -s; platform:promotions +s

(the store's available balance may go below zero, recovered from later sales, as the rest of
an after-release refund). Before release there is nothing to move: the subsidy still to be
paid at release shrinks by the same share.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from backend.core.money import Money, quantize
from backend.finance import accounts
from backend.finance.ledger import Posting, post
from backend.finance.models import TransactionKind
from backend.vendors.models import Vendor


def subsidy_share(order, refunded: Decimal) -> Decimal:
    """The part of the order's subsidy that follows `refunded` of the shopper's money back."""
    subsidy, paid = Decimal(order.subsidy_amount or 0), Decimal(order.total_amount)
    if subsidy <= 0 or refunded <= 0:
        return quantize(Decimal(0), order.currency)
    if refunded >= paid:
        return quantize(subsidy, order.currency)
    return quantize(subsidy * refunded / paid, order.currency, ROUND_HALF_UP)


def subsidy_outstanding(order) -> Money:
    """What the platform still pays the store at release (nothing once released)."""
    return order.money(Decimal(order.subsidy_amount or 0) - subsidy_share(order, Decimal(order.refunded_amount)))


def subsidy_posting(order) -> Posting | None:
    """The release-time subsidy of an order (None when there is none left to pay)."""
    amount = subsidy_outstanding(order)
    if amount.amount <= 0:
        return None
    return Posting(
        idempotency_key=f"promotion_subsidy:order:{order.pk}",
        kind=TransactionKind.PROMOTION_SUBSIDY,
        entries=[(accounts.PLATFORM_PROMOTIONS, -amount), (accounts.vendor_pending(order.vendor_id), amount)],
        description=f"Order {order.pk}: the platform's voucher subsidy {amount.amount} {order.currency}",
        reference=("order", order.pk),
        metadata={"vendor": order.vendor_id},
    )


def order_refund_shares(*, order, amount: Money, refund_ref: str, after_release: bool) -> Money:
    """order_refund's one call: the platform's subsidy share of this refund back to the platform.

    `order` is as before the refund (refunded_amount not yet raised). Returns the share (zero
    when the order has no subsidy); only after release is anything posted. Called before the
    refund's own ledger movement: the store's row, then platform:promotions, then the accounts
    the refund locks, so every transaction takes platform:promotions before platform:commission
    (a release does too) and none waits on another in a cycle.
    """
    refunded = Decimal(order.refunded_amount)
    share = order.money(subsidy_share(order, refunded + amount.amount) - subsidy_share(order, refunded))
    if share.amount <= 0 or not after_release:
        return share
    list(Vendor.objects.select_for_update().filter(pk=order.vendor_id).values_list("pk", flat=True))
    post(
        Posting(
            idempotency_key=f"promotion_subsidy_return:{refund_ref}",
            kind=TransactionKind.PROMOTION_SUBSIDY_RETURN,
            entries=[(accounts.vendor_available(order.vendor_id), -share), (accounts.PLATFORM_PROMOTIONS, share)],
            allow_negative=[accounts.vendor_available(order.vendor_id)],
            description=f"Refund {refund_ref} of order {order.pk}: the platform's subsidy share back",
            reference=("order", order.pk),
            metadata={"vendor": order.vendor_id, "refund": str(refund_ref)},
        )
    )
    return share
