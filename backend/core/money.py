"""Money helpers: Decimal amounts with a currency, explicit rounding, integer minor units.

py-moneyed carries the currency metadata (ISO code and minor unit); amounts are
never floats. Rounding happens only where these helpers are called.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from moneyed import Money, get_currency

from .exceptions import DomainError

__all__ = [
    "Money", "quantize", "to_minor", "from_minor", "parse_amount", "amount_from_input", "minor_exponent", "zero"
]


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


# User-given amounts stay below what the narrowest amount column holds (max_digits 12 with 2
# places: ten integer digits); larger ones overflowed the columns and the ledger's minor units.
MAX_AMOUNT = Decimal("1e10")


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
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"{value} is too large: amounts are below {MAX_AMOUNT:f}")
    currency = currency or settings.DEFAULT_CURRENCY
    quantized = quantize(amount, currency)
    if amount != quantized:
        raise ValueError(f"{value} has more decimal places than {currency} allows")
    return quantized


def amount_from_input(value, *, error_code, field: str, currency: str | None = None) -> Decimal:
    """parse_amount for an amount a caller gave: a malformed one is DomainError(error_code) on `field`."""
    try:
        return parse_amount(value, currency)
    except ValueError as exc:
        raise DomainError(error_code, str(exc), field=field) from exc
