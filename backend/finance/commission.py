"""Commission arithmetic: the only place a commission is rounded.

Rounding is ROUND_HALF_UP to the currency's minor unit. A refund returns
commission pro rata, computed on cumulative amounts so that a series of
partial refunds adding up to the whole order returns exactly the commission
that was taken, whatever the rounding of each step.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from moneyed import Money

from backend.core.exceptions import DomainError
from backend.core.money import quantize

from .error_codes import FinanceErrorCode


def _check_rate(rate: Decimal) -> Decimal:
    if isinstance(rate, float) or not isinstance(rate, (Decimal, int)):
        raise DomainError(FinanceErrorCode.INVALID, "A commission rate is a Decimal, never a float.", field="rate")
    rate = Decimal(rate)
    if not rate.is_finite() or rate < 0 or rate > 1:
        raise DomainError(FinanceErrorCode.INVALID, "A commission rate is between 0 and 1.", field="rate")
    return rate


def commission_for(amount: Money, rate: Decimal) -> Money:
    """The platform's commission on `amount` at `rate` (0.05 = 5%), rounded half up to the minor unit."""
    rate = _check_rate(rate)
    currency = amount.currency.code
    return Money(quantize(amount.amount * rate, currency, ROUND_HALF_UP), currency)


def _share(commission: Money, part: Decimal, gross: Money) -> Decimal:
    currency = commission.currency.code
    return quantize(commission.amount * part / gross.amount, currency, ROUND_HALF_UP)


def commission_return_for(*, gross: Money, commission: Money, refunded_before: Money, refund: Money) -> Money:
    """Commission the platform gives back when `refund` of an order's `gross` is refunded,
    `refunded_before` having been refunded already."""
    currency = gross.currency.code
    if {commission.currency.code, refunded_before.currency.code, refund.currency.code} != {currency}:
        raise DomainError(FinanceErrorCode.CURRENCY_MISMATCH, "Amounts are in different currencies.")
    if refund.amount < 0 or refunded_before.amount < 0:
        raise DomainError(FinanceErrorCode.INVALID, "Refunded amounts cannot be negative.", field="amount")
    if refunded_before.amount + refund.amount > gross.amount:
        raise DomainError(FinanceErrorCode.INVALID, "Cannot refund more than the order's amount.", field="amount")
    if gross.amount == 0:
        return Money(quantize(Decimal(0), currency), currency)
    after = _share(commission, refunded_before.amount + refund.amount, gross)
    before = _share(commission, refunded_before.amount, gross)
    return Money(after - before, currency)
