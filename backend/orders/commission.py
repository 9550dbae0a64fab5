"""The commission rate an order line is placed at.

Decided by the fee plans (backend.finance.fees.commission_rate_for): the
vendor's override for the category if any, else the category plan (inherited
from the parent), else settings.DEFAULT_COMMISSION_RATE; fixed on the line
at placement.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from backend.finance.fees import commission_rate_for as _fee_plan_rate
from backend.finance.fees import commission_rates_for as _fee_plan_rates


def commission_rate_for(vendor, category, at: datetime) -> Decimal:
    """The platform's share (0.05 = 5%) of a line of `vendor` in `category` placed at `at`."""
    return _fee_plan_rate(vendor, category, at)


def commission_rates_for(pairs, at: datetime) -> dict:
    """commission_rate_for of many (vendor id, category id) pairs at once (a fixed number of queries)."""
    return _fee_plan_rates(pairs, at)
