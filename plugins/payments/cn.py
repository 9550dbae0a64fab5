"""What the Alipay and WeChat Pay plugins share: CNY only, paid means captured, and the daily bill.

Both providers cut their bills by the day in China time and make yesterday's the next morning
(Alipay before about 09:00, WeChat Pay after 10:00). `gateway_records` downloads the bill of each
China day the period touches and keeps the rows inside the period, so a trade the marketplace
never recorded is found too. While a bill is not made yet, the plugin asks about each trade and
refund the marketplace made in the period instead (`_queried_records`); the periodic task runs
again later and finds the bill then.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from backend.core.money import quantize
from plugins.base import BasePlugin

from .interface import GatewayErrorCode, GatewayRecord, GatewayResponse, SessionQuery

CURRENCY = "CNY"
CHINA = ZoneInfo("Asia/Shanghai")


class BillNotReady(Exception):
    """The provider has not made the day's bill yet."""


def yuan(value) -> Decimal | None:
    """An amount in yuan as the providers write it ("12.30", "-5.00", " 7.1 "), or None."""
    try:
        return quantize(Decimal(str(value).strip()), CURRENCY) if str(value or "").strip() else None
    except InvalidOperation:
        return None


def china_time(value: str | None) -> datetime | None:
    """"2026-12-02 10:11:12" in China time."""
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        return None


def china_days(start: datetime, end: datetime) -> list[date]:
    """The China calendar days that [start, end) touches, each one bill."""
    first = start.astimezone(CHINA).date()
    last = (end - timedelta(microseconds=1)).astimezone(CHINA).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class ChinaGatewayPlugin(BasePlugin):
    """Alipay's and WeChat Pay's common ground. Subclasses name the settings without which
    nothing can be asked (REQUIRED_SETTINGS), answer `_query(trade_no)` and
    `close_payment_session`, and read their bills (`_bill_records(day)`)."""

    PROVIDER = ""
    REQUIRED_SETTINGS: tuple[str, ...] = ()

    def payment_available(self, currency, amount, *, previous_value):
        if currency != CURRENCY or not all(self.get(name) for name in self.REQUIRED_SETTINGS):
            return False
        limit = self.get("max_amount")
        return amount is None or limit is None or Decimal(str(amount)) <= Decimal(str(limit))

    def _wrong_currency(self, currency: str) -> GatewayResponse | None:
        if currency != CURRENCY:
            return GatewayResponse(
                success=False, error_code=GatewayErrorCode.INVALID_REQUEST, error_message=f"{self.PROVIDER} takes CNY only."
            )
        return None

    def _query(self, trade_no: str) -> GatewayResponse:
        raise NotImplementedError

    def capture_payment(self, capture_data, *, previous_value):
        # Paid trades are captured already (there is no separate authorization): report what the provider has.
        return self._query(capture_data.psp_reference)

    def void_payment(self, capture_data, *, previous_value):
        return self.close_payment_session(
            SessionQuery(capture_data.psp_reference, capture_data.psp_reference, capture_data.amount, capture_data.currency),
            previous_value=None,
        )

    # --- reconciliation ---

    def _bill_records(self, day: date) -> list[GatewayRecord]:
        """The trades paid and refunds made on `day` (China time) as the bill lists them.

        Raise BillNotReady while there is no bill yet, RuntimeError when the provider fails
        or the file does not verify."""
        raise NotImplementedError

    def _queried_records(self, start, end) -> list[GatewayRecord]:
        """The fallback: the provider's answer for each trade and refund we made in [start, end)."""
        raise NotImplementedError

    def gateway_records(self, start, end, *, previous_value):
        records: list[GatewayRecord] = []
        try:
            for day in china_days(start, end):
                records.extend(self._bill_records(day))
        except BillNotReady:
            return self._queried_records(start, end)
        return [r for r in records if r.occurred_at is None or start <= r.occurred_at < end]
