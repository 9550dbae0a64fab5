"""The commission rate an order line is placed at.

The fees issue replaces this with the category fee plan and vendor overrides;
until then every line pays settings.DEFAULT_COMMISSION_RATE.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings


def commission_rate_for(vendor, category, at: datetime) -> Decimal:
    """The platform's share (0.05 = 5%) of a line of `vendor` in `category` placed at `at`."""
    return Decimal(str(settings.DEFAULT_COMMISSION_RATE))
