"""Money helpers: Decimal amounts with a currency, explicit rounding, integer minor units.

py-moneyed carries the currency metadata (ISO code and minor unit); amounts are
never floats. Rounding happens only where these helpers are called.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from moneyed import Money, get_currency

__all__ = ["Money", "quantize", "to_minor", "from_minor", "parse_amount", "minor_exponent", "zero"]


def minor_exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (CNY: 2, JPY: 0)."""
    sub_unit = get_currency(currency).sub_unit or 1
    exponent = 0
    while sub_unit > 1:
        sub_unit //= 10
        exponent += 1
    return exponent


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_exponent(currency))


def quantize(amount: Decimal, currency: str | None = None, rounding: str = ROUND_HALF_UP) -> Decimal:
    currency = currency or settings.DEFAULT_CURRENCY
    return Decimal(amount).quantize(_quantum(currency), rounding=rounding)


def to_minor(amount: Decimal, currency: str | None = None) -> int:
    """Exact conversion to integer minor units; refuses amounts finer than the minor unit."""
    currency = currency or settings.DEFAULT_CURRENCY
    scaled = Decimal(amount).scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more precision than {currency} allows")
    return int(scaled)


def from_minor(minor: int, currency: str | None = None) -> Decimal:
    currency = currency or settings.DEFAULT_CURRENCY
    return quantize(Decimal(minor).scaleb(-minor_exponent(currency)), currency)


def zero(currency: str | None = None) -> Money:
    currency = currency or settings.DEFAULT_CURRENCY
    return Money(quantize(Decimal(0), currency), currency)


def parse_amount(value, currency: str | None = None) -> Decimal:
    """Parse a user-given amount (string or Decimal) exactly; raises ValueError."""
    if isinstance(value, float):
        raise ValueError("amounts are never floats")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{value!r} is not a decimal amount") from exc
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    currency = currency or settings.DEFAULT_CURRENCY
    if amount != quantize(amount, currency):
        raise ValueError(f"{value} has more decimal places than {currency} allows")
    return quantize(amount, currency)
