"""Builders shared by the finance and payments tests."""

from __future__ import annotations

import itertools
from decimal import Decimal

from moneyed import Money

from backend.payments.models import Payment, PaymentStatus

_keys = itertools.count(1)


def cny(amount) -> Money:
    return Money(Decimal(str(amount)), "CNY")


def captured_payment(amount, *, customer=None, currency="CNY") -> Payment:
    """A captured payment straight in the database (no gateway), ready for an escrow hold."""
    n = next(_keys)
    return Payment.objects.create(
        gateway="dummy",
        psp_reference=f"test-{n}",
        idempotency_key=f"test-payment-{n}",
        request_fingerprint="test",
        customer=customer,
        amount=Decimal(str(amount)),
        captured_amount=Decimal(str(amount)),
        currency=currency,
        status=PaymentStatus.CAPTURED,
    )
