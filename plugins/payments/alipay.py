"""Alipay (支付宝): computer-website payment page and QR code, RSA2-signed notifications, refunds.

Off by default; staff activate it and give the app id, the app's private key
(RSA 2048, PEM) and Alipay's public key (PEM, from the open platform's key
settings). The gateway address is configurable (the sandbox, or a local fake in
tests). The library is python-alipay-sdk: it signs every request with the app
key and verifies every synchronous answer and notification with Alipay's key.

The marketplace's session reference becomes Alipay's out_trade_no (Alipay
takes at most 64 letters, digits and underscores; a longer or other reference
is hashed), so a retried create names the same trade and Alipay refuses to
take it twice. A refund's idempotency key becomes its out_request_no: a retry
of a refund that did happen answers fund_change=N and is confirmed by the
refund query instead of refunding again. Alipay trades are captured when the
shopper pays (there is no separate authorization); settlement to merchants is
through the marketplace's ledger and payouts, not Alipay royalty.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import socket
import zipfile
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote

import requests
from alipay import AliPay, AliPayConfig
from alipay.exceptions import AliPayException, AliPayValidationError

from backend.core.money import quantize
from plugins.base import ConfigField, ConfigType

from .cn import CHINA, CURRENCY, BillNotReady, ChinaGatewayPlugin, china_time, yuan

from .interface import (
    GatewayErrorCode,
    GatewayEvent,
    GatewayEventType,
    GatewayRecord,
    GatewayResponse,
    GatewayStatus,
    WebhookVerificationError,
)

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
SUCCESS = "10000"
# Alipay's answer codes whose outcome is unknown: the same request may be repeated.
UNKNOWN_OUTCOME = {"20000", "20001"}
TRADE_STATUS = {
    "WAIT_BUYER_PAY": GatewayStatus.PENDING,
    "TRADE_SUCCESS": GatewayStatus.CAPTURED,
    "TRADE_FINISHED": GatewayStatus.CAPTURED,
    "TRADE_CLOSED": GatewayStatus.CANCELLED,
}
_OUT_NO = re.compile(r"^[A-Za-z0-9_]{1,64}$")
BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
# What Alipay answers for a day whose bill is not made yet.
BILL_NOT_READY = {"isp.bill_not_exist", "BILL_NOT_EXIST"}


def out_no(value: str) -> str:
    """An Alipay out_trade_no / out_request_no for our reference or key: itself when Alipay takes it."""
    if _OUT_NO.match(value):
        return value
    return "m" + hashlib.sha256(value.encode()).hexdigest()[:40]


_amount = yuan
_china_time = china_time


def bill_rows(archive: bytes) -> list[dict]:
    """The detail rows of Alipay's trade bill: a zip of GBK CSV files (业务明细 and its summary).

    The detail file is the one with the 支付宝交易号 header (the files' names are GBK without
    the zip's UTF-8 flag, so they are not relied on); its rows run to the next '#' line, and
    Alipay pads values with tabs."""
    rows: list[dict] = []
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        for name in files.namelist():
            lines = files.read(name).decode("gbk").splitlines()
            start = next((n for n, line in enumerate(lines) if line.startswith("支付宝交易号")), None)
            if start is None:
                continue  # the summary
            body = [lines[start]]
            for line in lines[start + 1:]:
                if line.startswith("#"):
                    break
                body.append(line)
            for row in csv.DictReader(body):
                rows.append({key.strip(): (value or "").strip() for key, value in row.items() if key})
    return rows


class AlipayGatewayPlugin(ChinaGatewayPlugin):
    PLUGIN_ID = "alipay"
    PLUGIN_NAME = "Alipay"
    DESCRIPTION = "Alipay (支付宝) payment page and QR code in CNY; RSA2-signed notifications."
    DEFAULT_ACTIVE = False
    PROVIDER = "Alipay"
    REQUIRED_SETTINGS = ("app_id", "app_private_key")
    CONFIG_STRUCTURE = {
        "app_id": ConfigField(ConfigType.STRING, "", "The application's APPID on the Alipay open platform."),
        "app_private_key": ConfigField(ConfigType.SECRET, "", "The application's RSA2 private key (PEM)."),
        "alipay_public_key": ConfigField(ConfigType.STRING, "", "Alipay's public key for this application (PEM)."),
        "gateway_url": ConfigField(ConfigType.STRING, DEFAULT_GATEWAY, "Alipay's gateway.do address."),
        "notify_url": ConfigField(
            ConfigType.STRING, "", "Where Alipay posts notifications: https://<host>/webhooks/payments/alipay/."
        ),
        "return_url": ConfigField(ConfigType.STRING, "", "Where the payment page sends the shopper back."),
        "qr_code": ConfigField(ConfigType.BOOLEAN, True, "Also precreate a QR code (当面付) with each session."),
        "max_amount": ConfigField(ConfigType.DECIMAL, None, "Largest amount taken in one payment (CNY)."),
        "timeout_seconds": ConfigField(ConfigType.INTEGER, 15, "How long to wait for Alipay."),
    }

    # --- client ---

    def client(self) -> AliPay:
        client = AliPay(
            appid=self.get("app_id"),
            app_notify_url=self.get("notify_url") or None,
            app_private_key_string=self.get("app_private_key"),
            alipay_public_key_string=self.get("alipay_public_key"),
            sign_type="RSA2",
            config=AliPayConfig(timeout=self.get("timeout_seconds", 15)),
        )
        # The library knows only Alipay's production and sandbox addresses.
        client._gateway = self.get("gateway_url") or DEFAULT_GATEWAY
        return client

    def _ask(self, call, *args, **kwargs) -> tuple[dict | None, GatewayResponse | None]:
        """Run one SDK call: (the verified answer, None), or (None, the failure as a GatewayResponse)."""
        try:
            answer = call(*args, **kwargs)
        except HTTPError as exc:
            # A 5xx may have done the work: unknown outcome, retried under the same out_* number.
            code = GatewayErrorCode.TIMEOUT if exc.code >= 500 else GatewayErrorCode.ERROR
            return None, GatewayResponse(success=False, error_code=code, error_message=f"Alipay answered HTTP {exc.code}.")
        except (URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
            return None, GatewayResponse(
                success=False, error_code=GatewayErrorCode.TIMEOUT, error_message=f"Alipay did not answer: {exc}"
            )
        except AliPayValidationError:
            return None, GatewayResponse(
                success=False, error_code=GatewayErrorCode.ERROR, error_message="Alipay's answer is not signed by Alipay."
            )
        except (AliPayException, ValueError, KeyError) as exc:
            return None, GatewayResponse(success=False, error_code=GatewayErrorCode.ERROR, error_message=str(exc))
        if answer.get("code") in UNKNOWN_OUTCOME:
            return None, GatewayResponse(
                success=False,
                error_code=GatewayErrorCode.TIMEOUT,
                error_message=answer.get("sub_msg") or answer.get("msg") or "Alipay is busy.",
                raw=answer,
            )
        return answer, None

    @staticmethod
    def _refused(answer: dict, code: GatewayErrorCode = GatewayErrorCode.DECLINED) -> GatewayResponse:
        return GatewayResponse(
            success=False,
            error_code=code,
            error_message=answer.get("sub_msg") or answer.get("msg") or "Alipay refused the request.",
            raw=answer,
        )

    # --- availability and sessions ---

    def create_payment_session(self, session_data, *, previous_value):
        refused = self._wrong_currency(session_data.currency)
        if refused:
            return refused
        client = self.client()
        trade_no = out_no(session_data.reference)
        total = str(quantize(session_data.amount, CURRENCY))
        subject = (session_data.description or session_data.reference)[:256]
        extra = {"passback_params": quote(session_data.reference)}
        if session_data.expires_at is not None:
            extra["time_expire"] = session_data.expires_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        # The payment page is a signed address the shopper's browser opens; no call to Alipay here.
        page_query = client.api_alipay_trade_page_pay(
            subject,
            trade_no,
            total,
            return_url=session_data.return_url or self.get("return_url") or None,
            notify_url=self.get("notify_url") or None,
            **extra,
        )
        client_data = {"page_url": f"{client._gateway}?{page_query}", "out_trade_no": trade_no}
        if self.get("qr_code"):
            answer, failure = self._ask(
                client.api_alipay_trade_precreate, subject, trade_no, total, notify_url=self.get("notify_url") or None, **extra
            )
            if failure:
                return failure
            if answer.get("code") != SUCCESS:
                return self._refused(answer, GatewayErrorCode.INVALID_REQUEST)
            client_data["qr_code"] = answer["qr_code"]
        return GatewayResponse(
            success=True,
            psp_reference=trade_no,
            status=GatewayStatus.ACTION_REQUIRED,
            amount=quantize(session_data.amount, CURRENCY),
            currency=CURRENCY,
            client_data=client_data,
        )

    def _trade_response(self, answer: dict, trade_no: str) -> GatewayResponse:
        status = TRADE_STATUS.get(answer.get("trade_status", ""), GatewayStatus.PENDING)
        return GatewayResponse(
            success=True,
            psp_reference=answer.get("out_trade_no") or trade_no,
            status=status,
            amount=_amount(answer.get("total_amount")),
            currency=CURRENCY,
            raw=answer,
        )

    def _query(self, trade_no: str) -> GatewayResponse:
        answer, failure = self._ask(self.client().api_alipay_trade_query, out_trade_no=trade_no)
        if failure:
            return failure
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                # A page-pay trade exists at Alipay only once the shopper opened the page.
                return GatewayResponse(success=True, psp_reference=trade_no, status=GatewayStatus.PENDING, raw=answer)
            return self._refused(answer, GatewayErrorCode.ERROR)
        return self._trade_response(answer, trade_no)

    def query_payment_session(self, session_query, *, previous_value):
        return self._query(session_query.psp_reference or out_no(session_query.reference))

    def close_payment_session(self, session_query, *, previous_value):
        trade_no = session_query.psp_reference or out_no(session_query.reference)
        answer, failure = self._ask(self.client().api_alipay_trade_close, out_trade_no=trade_no)
        if failure:
            return failure
        if answer.get("code") == SUCCESS or answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return GatewayResponse(success=True, psp_reference=trade_no, status=GatewayStatus.CANCELLED, raw=answer)
        if answer.get("sub_code") == "ACQ.TRADE_STATUS_ERROR":
            # Paid (or closed) meanwhile: say what it is now, so the caller completes or refunds it.
            current = self._query(trade_no)
            if current.success and current.status == GatewayStatus.CANCELLED:
                return current
            return GatewayResponse(
                success=False,
                psp_reference=trade_no,
                status=current.status,
                amount=current.amount,
                currency=CURRENCY,
                error_code=GatewayErrorCode.INVALID_REQUEST,
                error_message="The Alipay trade was paid and cannot be closed.",
                raw=answer,
            )
        return self._refused(answer, GatewayErrorCode.ERROR)

    # --- the older server-side hooks ---

    def process_payment(self, payment_data, *, previous_value):
        """A shopper's payment code (付款码) scanned at a counter: the token is the auth_code."""
        refused = self._wrong_currency(payment_data.currency)
        if refused:
            return refused
        trade_no = out_no(payment_data.psp_reference or payment_data.idempotency_key)
        answer, failure = self._ask(
            self.client().api_alipay_trade_pay,
            trade_no,
            "bar_code",
            payment_data.token,
            (payment_data.description or trade_no)[:256],
            total_amount=str(quantize(payment_data.amount, CURRENCY)),
        )
        if failure:
            return failure
        if answer.get("code") == SUCCESS:
            return GatewayResponse(
                success=True,
                psp_reference=trade_no,
                status=GatewayStatus.CAPTURED,
                amount=_amount(answer.get("total_amount")) or quantize(payment_data.amount, CURRENCY),
                currency=CURRENCY,
                raw=answer,
            )
        if answer.get("code") == "10003":  # the shopper confirms on the phone; the notification tells
            return GatewayResponse(success=True, psp_reference=trade_no, status=GatewayStatus.PENDING, raw=answer)
        return self._refused(answer)

    def refund_payment(self, refund_data, *, previous_value):
        refused = self._wrong_currency(refund_data.currency)
        if refused:
            return refused
        request_no = out_no(refund_data.idempotency_key)
        amount = str(quantize(refund_data.amount, CURRENCY))
        client = self.client()
        answer, failure = self._ask(
            client.api_alipay_trade_refund,
            amount,
            out_trade_no=refund_data.psp_reference,
            out_request_no=request_no,
            refund_reason=(refund_data.reason or "")[:256] or None,
        )
        if failure:
            # The refund's number is ours: kept with the unanswered refund, so its notification finds it.
            return replace(failure, psp_reference=request_no)
        if answer.get("code") != SUCCESS:
            return self._refused(answer)
        if answer.get("fund_change") != "Y":
            # Nothing moved by this call: a repeat of a refund that did happen, or one still in progress.
            answer, failure = self._ask(
                client.api_alipay_trade_fastpay_refund_query, request_no, out_trade_no=refund_data.psp_reference
            )
            if failure:
                return failure
            if answer.get("code") != SUCCESS:
                return self._refused(answer, GatewayErrorCode.ERROR)
            if answer.get("refund_status") != "REFUND_SUCCESS":
                return GatewayResponse(success=True, psp_reference=request_no, status=GatewayStatus.PENDING, raw=answer)
        return GatewayResponse(
            success=True,
            psp_reference=request_no,
            status=GatewayStatus.REFUNDED,
            amount=quantize(refund_data.amount, CURRENCY),
            currency=CURRENCY,
            raw=answer,
        )

    # --- notifications ---

    def parse_webhook(self, request, *, previous_value):
        """Alipay's asynchronous notification: a form post signed with Alipay's key (RSA2)."""
        if not self.get("alipay_public_key"):
            raise WebhookVerificationError("No Alipay public key is configured.")
        data = {key: request.POST.get(key) for key in request.POST}
        signature = data.pop("sign", None)
        if not signature:
            raise WebhookVerificationError("The notification is not signed.")
        try:
            verified = self.client().verify(dict(data), signature)
        except (AliPayException, ValueError, TypeError) as exc:
            raise WebhookVerificationError(str(exc)) from exc
        if not verified:
            raise WebhookVerificationError("Bad signature.")
        if data.get("app_id") != self.get("app_id"):
            raise WebhookVerificationError("The notification is for another application.")
        notify_id = data.get("notify_id")
        trade_no = data.get("out_trade_no")
        if not notify_id or not trade_no:
            raise WebhookVerificationError("The notification has no notify_id or out_trade_no.")
        reference = unquote(data.get("passback_params") or "") or trade_no
        trade_status = data.get("trade_status", "")
        if data.get("out_biz_no") and data.get("gmt_refund"):
            # A refund of the trade: out_biz_no is our out_request_no.
            return [
                GatewayEvent(
                    event_id=notify_id,
                    type=GatewayEventType.REFUND_SUCCEEDED,
                    psp_reference=data["out_biz_no"],
                    amount=_amount(data.get("refund_fee")),
                    currency=CURRENCY,
                    raw=data,
                    reference=reference,
                )
            ]
        kind = {
            "TRADE_SUCCESS": GatewayEventType.PAYMENT_CAPTURED,
            "TRADE_FINISHED": GatewayEventType.IGNORED,  # the refund window closed: nothing to do
            "TRADE_CLOSED": GatewayEventType.PAYMENT_CANCELLED,
        }.get(trade_status, GatewayEventType.IGNORED)
        return [
            GatewayEvent(
                event_id=notify_id,
                type=kind,
                psp_reference=trade_no,
                amount=_amount(data.get("total_amount")),
                currency=CURRENCY,
                raw=data,
                reference=reference,
            )
        ]

    def webhook_response(self, result, *, previous_value):
        # Alipay stops redelivering only on the plain text "success".
        if result is None:
            return (400, "text/plain; charset=utf-8", "fail")
        return (200, "text/plain; charset=utf-8", "success")

    # --- reconciliation ---

    def _bill_records(self, day):
        """The day's trade bill: alipay.data.dataservice.bill.downloadurl.query, then the zip it names."""
        answer, failure = self._ask(self.client().server_api, BILL_METHOD, {"bill_type": "trade", "bill_date": day.isoformat()})
        if failure:
            raise RuntimeError(f"Alipay did not answer for the bill of {day}: {failure.error_message}")
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") in BILL_NOT_READY:
                raise BillNotReady(day)
            raise RuntimeError(f"Alipay refused the bill of {day}: {answer.get('sub_msg') or answer.get('msg')}")
        try:
            response = requests.get(answer["bill_download_url"], timeout=self.get("timeout_seconds", 15))
            response.raise_for_status()
            rows = bill_rows(response.content)
        except (requests.RequestException, KeyError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
            raise RuntimeError(f"Alipay's bill of {day} could not be read: {exc}") from exc
        records = []
        for row in rows:
            refund = row.get("业务类型") == "退款"
            amount = _amount(row.get("订单金额（元）"))
            records.append(
                GatewayRecord(
                    kind="refund" if refund else "charge",
                    psp_reference=(row.get("退款批次号/请求号") or row.get("商户订单号", "")) if refund else row.get("商户订单号", ""),
                    amount=abs(amount) if amount is not None else Decimal(0),
                    currency=CURRENCY,
                    occurred_at=_china_time(row.get("完成时间")) or _china_time(row.get("创建时间")),
                    status="succeeded",  # the bill lists money moved only
                    raw=row,
                )
            )
        return records

    def _queried_records(self, start, end):
        """Alipay's view of the day's known trades and refunds (alipay.trade.query and the refund query).

        Until the bill is made: it finds amounts, statuses and trades Alipay does not have,
        not a trade the marketplace never recorded. A trade Alipay cannot answer for is an error.
        """
        from backend.payments.selectors import gateway_references

        known = gateway_references(self.PLUGIN_ID, start, end)
        client = self.client()
        records: list[GatewayRecord] = []
        for reference, key in known.charges:
            trade_no = reference or out_no(key)
            answer, failure = self._ask(client.api_alipay_trade_query, out_trade_no=trade_no)
            if failure:
                raise RuntimeError(f"Alipay did not answer for trade {trade_no}: {failure.error_message}")
            if answer.get("code") != SUCCESS:
                continue  # Alipay has no such trade: the ledger's side is then unmatched
            status = answer.get("trade_status", "")
            paid = status in ("TRADE_SUCCESS", "TRADE_FINISHED") or (status == "TRADE_CLOSED" and answer.get("send_pay_date"))
            records.append(
                GatewayRecord(
                    kind="charge",
                    psp_reference=trade_no,
                    amount=_amount(answer.get("total_amount")) or Decimal(0),
                    currency=CURRENCY,
                    occurred_at=_china_time(answer.get("send_pay_date")),
                    status="succeeded" if paid else ("cancelled" if status == "TRADE_CLOSED" else "pending"),
                    raw=answer,
                )
            )
        for trade_no, reference, key in known.refunds:
            if not trade_no:
                continue
            request_no = reference or out_no(key)
            answer, failure = self._ask(client.api_alipay_trade_fastpay_refund_query, request_no, out_trade_no=trade_no)
            if failure:
                raise RuntimeError(f"Alipay did not answer for refund {request_no}: {failure.error_message}")
            if answer.get("code") != SUCCESS or not answer.get("refund_amount"):
                continue
            records.append(
                GatewayRecord(
                    kind="refund",
                    psp_reference=request_no,
                    amount=_amount(answer.get("refund_amount")) or Decimal(0),
                    currency=CURRENCY,
                    occurred_at=_china_time(answer.get("gmt_refund_pay")),
                    status="succeeded" if answer.get("refund_status") == "REFUND_SUCCESS" else "pending",
                    raw=answer,
                )
            )
        return records
