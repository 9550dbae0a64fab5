"""WeChat Pay (微信支付) API v3: Native payment (a code_url the shopper scans), signed notifications, refunds.

Off by default; staff activate it and give the merchant id (mchid), the app id
bound to it, the merchant API certificate's serial number and private key,
the APIv3 key (32 characters), and either the platform certificate(s) (PEM)
or nothing (then the certificates are downloaded from /v3/certificates,
encrypted with the APIv3 key). The base address is configurable (a local fake
in tests). The library is wechatpayv3: it signs each request with the
merchant key, verifies each answer's and notification's signature with the
platform certificate and decrypts a notification's resource (AEAD_AES_256_GCM
under the APIv3 key).

Amounts go to WeChat Pay in fen (integers), converted exactly from Decimal.
The session reference becomes out_trade_no (6 to 32 letters, digits, _-|*;
anything else is hashed) and the reference itself travels in `attach`; a
refund's idempotency key becomes out_refund_no, so a retry names the same
refund. Native payments are captured when the shopper pays. Settlement to
merchants is through the marketplace's ledger and payouts, not profitsharing.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import requests
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core
from wechatpayv3.utils import load_certificate

from backend.core.money import from_minor, to_minor
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

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
# A notification older than this is refused (WeChat Pay's advice against replays), besides the event-id check.
NOTIFICATION_MAX_AGE_SECONDS = 300
TRADE_STATE = {
    "SUCCESS": GatewayStatus.CAPTURED,
    "REFUND": GatewayStatus.CAPTURED,  # paid, then (partly) refunded
    "NOTPAY": GatewayStatus.ACTION_REQUIRED,
    "USERPAYING": GatewayStatus.PENDING,
    "CLOSED": GatewayStatus.CANCELLED,
    "REVOKED": GatewayStatus.CANCELLED,
    "PAYERROR": GatewayStatus.FAILED,
}
_TRADE_NO = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")
_REFUND_NO = re.compile(r"^[A-Za-z0-9_\-|*@]{1,64}$")
# What WeChat Pay answers for a day whose bill is not made yet (or being made).
BILL_NOT_READY = {"NO_STATEMENT_EXIST", "STATEMENT_CREATING"}
BILL_HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SM3": None}


def bill_rows(text: str) -> list[dict]:
    """The detail rows of a trade bill: a header, rows whose every field starts with a backquote,
    then the summary's header (总交易单数...) and row."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        return []
    header = [name.strip() for name in lines[0].split(",")]
    rows = []
    for line in lines[1:]:
        if line.startswith("总交易单数"):
            break
        # Fields are separated by ",`": a field's own commas (a product name) stay in it.
        values = [value.strip() for value in line[1:].split(",`")] if line.startswith("`") else line.split(",")
        rows.append(dict(zip(header, values)))
    return rows


def out_trade_no(reference: str) -> str:
    return reference if _TRADE_NO.match(reference) else "m" + hashlib.sha256(reference.encode()).hexdigest()[:31]


def out_refund_no(key: str) -> str:
    return key if _REFUND_NO.match(key) else "r" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _time(value: str | None):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class _Core(Core):
    """wechatpayv3's Core with a configurable base address and platform certificates given as PEM.

    The library hard-codes WeChat Pay's address and downloads the certificates while it is
    built; here both the download and every call go to the configured address.
    """

    def __init__(self, *, base_url: str, certificates: list[str], **kwargs):
        self._base_url = base_url
        self._configured = certificates
        self._cache_key = (base_url, kwargs.get("mchid"), kwargs.get("cert_serial_no"))
        super().__init__(**kwargs)
        self._gate_way = base_url

    def _init_certificates(self):
        self._gate_way = self._base_url
        for pem in self._configured:
            certificate = load_certificate(pem)
            if certificate is not None:
                self._certificates.append(certificate)
        if not self._certificates:
            self._certificates.extend(_DOWNLOADED.get(self._cache_key, []))
        if not self._certificates:
            self._update_certificates()
        if not self._certificates:
            raise WeChatPayConfigurationError("No WeChat Pay platform certificate could be loaded or downloaded.")

    def _update_certificates(self):
        self._gate_way = self._base_url
        super()._update_certificates()
        if self._certificates:
            # Kept for this process: the next client does not download them again.
            _DOWNLOADED[self._cache_key] = list(self._certificates)


# (base address, mchid, merchant serial) -> platform certificates downloaded by this process.
_DOWNLOADED: dict[tuple, list] = {}


class WeChatPayConfigurationError(Exception):
    pass


class _Client(WeChatPay):
    """A Native-payment direct merchant client over _Core (WeChatPay.__init__ builds its own Core)."""

    def __init__(self, *, core: Core, mchid: str, appid: str, notify_url: str):
        self._type = WeChatPayType.NATIVE
        self._mchid = mchid
        self._appid = appid
        self._notify_url = notify_url
        self._core = core
        self._partner_mode = False


def _split_certificates(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    return [part.strip() + "\n" + end + "\n" for part in (text or "").split(end) if "BEGIN CERTIFICATE" in part]


class WeChatPayGatewayPlugin(ChinaGatewayPlugin):
    PLUGIN_ID = "wechatpay"
    PLUGIN_NAME = "WeChat Pay"
    DESCRIPTION = "WeChat Pay (微信支付) Native QR payments in CNY, API v3."
    DEFAULT_ACTIVE = False
    PROVIDER = "WeChat Pay"
    REQUIRED_SETTINGS = ("mchid", "merchant_private_key")
    CONFIG_STRUCTURE = {
        "mchid": ConfigField(ConfigType.STRING, "", "Merchant id (商户号)."),
        "appid": ConfigField(ConfigType.STRING, "", "The app id bound to the merchant (公众号/小程序/开放平台 AppID)."),
        "merchant_serial_no": ConfigField(ConfigType.STRING, "", "Serial number of the merchant API certificate."),
        "merchant_private_key": ConfigField(ConfigType.SECRET, "", "The merchant API certificate's private key (PEM)."),
        "apiv3_key": ConfigField(ConfigType.SECRET, "", "The APIv3 key (32 characters) that encrypts notifications."),
        "platform_certificates": ConfigField(
            ConfigType.STRING, "", "WeChat Pay platform certificate(s), PEM; empty downloads them from /v3/certificates."
        ),
        "base_url": ConfigField(ConfigType.STRING, DEFAULT_BASE_URL, "WeChat Pay's API address."),
        "notify_url": ConfigField(
            ConfigType.STRING, "", "Where WeChat Pay posts notifications: https://<host>/webhooks/payments/wechatpay/."
        ),
        "max_amount": ConfigField(ConfigType.DECIMAL, None, "Largest amount taken in one payment (CNY)."),
        "timeout_seconds": ConfigField(ConfigType.INTEGER, 15, "How long to wait for WeChat Pay."),
    }

    # --- client ---

    def client(self) -> _Client:
        timeout = self.get("timeout_seconds", 15)
        core = _Core(
            base_url=(self.get("base_url") or DEFAULT_BASE_URL).rstrip("/"),
            certificates=_split_certificates(self.get("platform_certificates")),
            mchid=self.get("mchid"),
            cert_serial_no=self.get("merchant_serial_no"),
            private_key=self.get("merchant_private_key"),
            apiv3_key=self.get("apiv3_key"),
            timeout=(timeout, timeout),
        )
        return _Client(core=core, mchid=self.get("mchid"), appid=self.get("appid"), notify_url=self.get("notify_url"))

    def _ask(self, call, *args, **kwargs) -> tuple[int, dict, GatewayResponse | None]:
        """Run one SDK call: (HTTP status, the verified JSON answer, None) or (status, {}, the failure)."""
        try:
            client = self.client()
            code, body = call(client)(*args, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            return 0, {}, GatewayResponse(
                success=False, error_code=GatewayErrorCode.TIMEOUT, error_message=f"WeChat Pay did not answer: {exc}"
            )
        except WeChatPayConfigurationError as exc:
            return 0, {}, GatewayResponse(success=False, error_code=GatewayErrorCode.ERROR, error_message=str(exc))
        except Exception as exc:  # the library raises bare Exception for bad signatures and bad input
            return 0, {}, GatewayResponse(
                success=False, error_code=GatewayErrorCode.ERROR, error_message=f"WeChat Pay: {exc}"
            )
        try:
            answer = json.loads(body) if body else {}
        except (TypeError, ValueError):
            answer = {}
        if code >= 500:
            # SYSTEM_ERROR and the like: the outcome is unknown; retry under the same number.
            return code, answer, GatewayResponse(
                success=False,
                error_code=GatewayErrorCode.TIMEOUT,
                error_message=answer.get("message") or f"WeChat Pay answered HTTP {code}.",
                raw=answer,
            )
        return code, answer, None

    @staticmethod
    def _refused(code: int, answer: dict, error: GatewayErrorCode = GatewayErrorCode.DECLINED) -> GatewayResponse:
        return GatewayResponse(
            success=False,
            error_code=error,
            error_message=answer.get("message") or f"WeChat Pay refused the request (HTTP {code}).",
            raw=answer,
        )

    # --- availability and sessions ---

    def create_payment_session(self, session_data, *, previous_value):
        refused = self._wrong_currency(session_data.currency)
        if refused:
            return refused
        try:
            total = to_minor(session_data.amount, CURRENCY)
        except ValueError as exc:
            return GatewayResponse(success=False, error_code=GatewayErrorCode.INVALID_REQUEST, error_message=str(exc))
        trade_no = out_trade_no(session_data.reference)
        params = {
            "description": (session_data.description or session_data.reference)[:127],
            "out_trade_no": trade_no,
            "amount": {"total": total, "currency": CURRENCY},
            "attach": session_data.reference[:128],
            "pay_type": WeChatPayType.NATIVE,
        }
        if session_data.expires_at is not None:
            params["time_expire"] = session_data.expires_at.astimezone(CHINA).isoformat(timespec="seconds")
        if session_data.client_ip:
            params["scene_info"] = {"payer_client_ip": session_data.client_ip}
        code, answer, failure = self._ask(lambda client: client.pay, **params)
        if failure:
            return failure
        if code != 200 or not answer.get("code_url"):
            return self._refused(code, answer, GatewayErrorCode.INVALID_REQUEST)
        return GatewayResponse(
            success=True,
            psp_reference=trade_no,
            status=GatewayStatus.ACTION_REQUIRED,
            amount=from_minor(total, CURRENCY),
            currency=CURRENCY,
            client_data={"code_url": answer["code_url"], "out_trade_no": trade_no},
        )

    def _query(self, trade_no: str) -> GatewayResponse:
        code, answer, failure = self._ask(lambda client: client.query, out_trade_no=trade_no)
        if failure:
            return failure
        if code == 404 or answer.get("code") == "ORDER_NOT_EXIST":
            return GatewayResponse(success=True, psp_reference=trade_no, status=GatewayStatus.PENDING, raw=answer)
        if code != 200:
            return self._refused(code, answer, GatewayErrorCode.ERROR)
        status = TRADE_STATE.get(answer.get("trade_state", ""), GatewayStatus.PENDING)
        amount = answer.get("amount") or {}
        # The order's total (what the merchant is paid), not payer_total (less WeChat-funded coupons).
        total = amount.get("total")
        return GatewayResponse(
            success=status != GatewayStatus.FAILED,
            psp_reference=trade_no,
            status=status,
            amount=from_minor(int(total), CURRENCY) if total is not None else None,
            currency=CURRENCY,
            error_code=GatewayErrorCode.DECLINED if status == GatewayStatus.FAILED else None,
            error_message=answer.get("trade_state_desc", "") if status == GatewayStatus.FAILED else "",
            raw=answer,
        )

    def query_payment_session(self, session_query, *, previous_value):
        return self._query(session_query.psp_reference or out_trade_no(session_query.reference))

    def close_payment_session(self, session_query, *, previous_value):
        trade_no = session_query.psp_reference or out_trade_no(session_query.reference)
        code, answer, failure = self._ask(lambda client: client.close, out_trade_no=trade_no)
        if failure:
            return failure
        if code in (200, 204):
            return GatewayResponse(success=True, psp_reference=trade_no, status=GatewayStatus.CANCELLED, raw=answer)
        if answer.get("code") == "ORDERPAID":
            current = self._query(trade_no)
            return GatewayResponse(
                success=False,
                psp_reference=trade_no,
                status=current.status,
                amount=current.amount,
                currency=CURRENCY,
                error_code=GatewayErrorCode.INVALID_REQUEST,
                error_message="The WeChat Pay order was paid and cannot be closed.",
                raw=answer,
            )
        return self._refused(code, answer, GatewayErrorCode.ERROR)

    # --- the older server-side hooks ---

    def process_payment(self, payment_data, *, previous_value):
        return GatewayResponse(
            success=False,
            error_code=GatewayErrorCode.INVALID_REQUEST,
            error_message="WeChat Pay is paid through a payment session (a Native QR code), not a token.",
        )

    def refund_payment(self, refund_data, *, previous_value):
        refused = self._wrong_currency(refund_data.currency)
        if refused:
            return refused
        try:
            refund = to_minor(refund_data.amount, CURRENCY)
        except ValueError as exc:
            return GatewayResponse(success=False, error_code=GatewayErrorCode.INVALID_REQUEST, error_message=str(exc))
        # WeChat Pay wants the order's total with each refund.
        trade = self._query(refund_data.psp_reference)
        if not trade.success or trade.status != GatewayStatus.CAPTURED:
            return trade if not trade.success else self._refused(0, {"message": "The order is not paid."}, GatewayErrorCode.INVALID_REQUEST)
        total = int((trade.raw.get("amount") or {}).get("total"))
        refund_no = out_refund_no(refund_data.idempotency_key)
        params = {
            "out_refund_no": refund_no,
            "out_trade_no": refund_data.psp_reference,
            "amount": {"refund": refund, "total": total, "currency": CURRENCY},
        }
        if refund_data.reason:
            params["reason"] = refund_data.reason[:80]
        code, answer, failure = self._ask(lambda client: client.refund, **params)
        if failure:
            # The refund's number is ours: kept with the unanswered refund, so its notification finds it.
            return replace(failure, psp_reference=refund_no)
        if code != 200:
            return self._refused(code, answer)
        return self._refund_response(refund_no, answer)

    @staticmethod
    def _refund_response(refund_no: str, answer: dict) -> GatewayResponse:
        status = answer.get("status")
        if status in ("CLOSED", "ABNORMAL"):
            return GatewayResponse(
                success=False,
                psp_reference=refund_no,
                error_code=GatewayErrorCode.DECLINED,
                error_message=f"The WeChat Pay refund is {status}.",
                raw=answer,
            )
        amount = (answer.get("amount") or {}).get("refund")
        return GatewayResponse(
            success=True,
            psp_reference=refund_no,
            status=GatewayStatus.REFUNDED if status == "SUCCESS" else GatewayStatus.PENDING,
            amount=from_minor(int(amount), CURRENCY) if amount is not None else None,
            currency=CURRENCY,
            raw=answer,
        )

    # --- notifications ---

    def parse_webhook(self, request, *, previous_value):
        """A v3 notification: signed with the platform certificate, its resource encrypted under the APIv3 key."""
        if not self.get("apiv3_key"):
            raise WebhookVerificationError("No APIv3 key is configured.")
        try:
            stamp = int(request.headers.get("Wechatpay-Timestamp", ""))
        except ValueError as exc:
            raise WebhookVerificationError("The notification has no timestamp.") from exc
        if abs(time.time() - stamp) > NOTIFICATION_MAX_AGE_SECONDS:
            raise WebhookVerificationError("The notification is too old (or from the future).")
        try:
            body = request.body.decode("utf-8")
            data = self.client().callback(request.headers, body)
        except WebhookVerificationError:
            raise
        except Exception as exc:  # the library raises bare Exception for unknown algorithms
            raise WebhookVerificationError(f"The notification cannot be verified: {exc}") from exc
        if not data or not isinstance(data.get("resource"), dict):
            raise WebhookVerificationError("Bad signature or a resource that does not decrypt.")
        resource = data["resource"]
        if resource.get("mchid") not in (None, self.get("mchid")):
            raise WebhookVerificationError("The notification is for another merchant.")
        event_type = data.get("event_type", "")
        amount = resource.get("amount") or {}
        if event_type.startswith("TRANSACTION."):
            paid = event_type == "TRANSACTION.SUCCESS" and resource.get("trade_state") == "SUCCESS"
            total = amount.get("total")
            return [
                GatewayEvent(
                    event_id=str(data["id"]),
                    type=GatewayEventType.PAYMENT_CAPTURED if paid else GatewayEventType.IGNORED,
                    psp_reference=str(resource.get("out_trade_no", "")),
                    amount=from_minor(int(total), CURRENCY) if total is not None else None,
                    currency=CURRENCY,
                    raw=data,
                    reference=str(resource.get("attach") or resource.get("out_trade_no", "")),
                )
            ]
        if event_type.startswith("REFUND."):
            kind = {
                "REFUND.SUCCESS": GatewayEventType.REFUND_SUCCEEDED,
                "REFUND.ABNORMAL": GatewayEventType.REFUND_FAILED,
                "REFUND.CLOSED": GatewayEventType.REFUND_FAILED,
            }.get(event_type, GatewayEventType.IGNORED)
            refund = amount.get("refund")
            return [
                GatewayEvent(
                    event_id=str(data["id"]),
                    type=kind,
                    psp_reference=str(resource.get("out_refund_no", "")),
                    amount=from_minor(int(refund), CURRENCY) if refund is not None else None,
                    currency=CURRENCY,
                    raw=data,
                )
            ]
        return [GatewayEvent(event_id=str(data.get("id", "")), type=GatewayEventType.IGNORED, raw=data)]

    def webhook_response(self, result, *, previous_value):
        if result is None:
            return (400, "application/json", json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False))
        return (200, "application/json", json.dumps({"code": "SUCCESS", "message": "成功"}, ensure_ascii=False))

    # --- reconciliation ---

    def _bill_records(self, day):
        """The day's trade bill: GET /v3/bill/tradebill, then its download_url, checked against its hash."""
        code, answer, failure = self._ask(lambda client: client.trade_bill, day.isoformat(), bill_type="ALL", tar_type="GZIP")
        if failure:
            raise RuntimeError(f"WeChat Pay did not answer for the bill of {day}: {failure.error_message}")
        if code != 200:
            if answer.get("code") in BILL_NOT_READY:
                raise BillNotReady(day)
            raise RuntimeError(f"WeChat Pay refused the bill of {day}: {answer.get('message') or code}")
        digest = BILL_HASHES.get(str(answer.get("hash_type", "")).upper())
        if digest is None or not answer.get("download_url"):
            raise RuntimeError(f"WeChat Pay's bill of {day} has no download address or an unknown hash {answer.get('hash_type')!r}.")
        try:
            code, content = self.client().download_bill(answer["download_url"])
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise RuntimeError(f"WeChat Pay's bill of {day} did not download: {exc}") from exc
        if code != 200:
            raise RuntimeError(f"WeChat Pay's bill of {day} did not download (HTTP {code}).")
        try:
            data = content if isinstance(content, bytes) else content.encode()
            data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        except (OSError, EOFError) as exc:
            raise RuntimeError(f"WeChat Pay's bill of {day} is not a gzip file: {exc}") from exc
        # The hash is of the bill itself (decompressed).
        if not hmac.compare_digest(digest(data).hexdigest().lower(), str(answer.get("hash_value", "")).lower()):
            raise RuntimeError(f"WeChat Pay's bill of {day} does not match its {answer['hash_type']} hash.")
        records = []
        for row in bill_rows(data.decode("utf-8")):
            if row.get("交易状态") == "REFUND":
                records.append(
                    GatewayRecord(
                        kind="refund",
                        psp_reference=row.get("商户退款单号", ""),
                        amount=yuan(row.get("退款金额")) or Decimal(0),
                        currency=row.get("货币种类") or CURRENCY,
                        occurred_at=china_time(row.get("交易时间")),
                        status={"SUCCESS": "succeeded", "PROCESSING": "pending"}.get(row.get("退款状态", ""), "failed"),
                        raw=row,
                    )
                )
            elif row.get("交易状态") in ("SUCCESS", "REVOKED"):
                records.append(
                    GatewayRecord(
                        kind="charge",
                        psp_reference=row.get("商户订单号", ""),
                        # The order's amount (what the merchant is paid), as our payments record it.
                        amount=yuan(row.get("订单金额")) or yuan(row.get("应结订单金额")) or Decimal(0),
                        currency=row.get("货币种类") or CURRENCY,
                        occurred_at=china_time(row.get("交易时间")),
                        status="succeeded" if row["交易状态"] == "SUCCESS" else "cancelled",
                        raw=row,
                    )
                )
        return records

    def _queried_records(self, start, end):
        """WeChat Pay's view of the day's known orders and refunds (the order and refund queries).

        Until the bill is made: it finds amounts, states and orders WeChat Pay does not have,
        not an order the marketplace never recorded.
        """
        from backend.payments.selectors import gateway_references

        known = gateway_references(self.PLUGIN_ID, start, end)
        records: list[GatewayRecord] = []
        for reference, _key in known.charges:
            if not reference:
                continue  # Native orders are created with their number; none means never created
            trade_no = reference
            code, answer, failure = self._ask(lambda client: client.query, out_trade_no=trade_no)
            if failure:
                raise RuntimeError(f"WeChat Pay did not answer for order {trade_no}: {failure.error_message}")
            if code != 200:
                continue
            state = answer.get("trade_state", "")
            amount = answer.get("amount") or {}
            paid = state in ("SUCCESS", "REFUND")
            records.append(
                GatewayRecord(
                    kind="charge",
                    psp_reference=trade_no,
                    amount=from_minor(int(amount.get("total", 0)), CURRENCY),
                    currency=amount.get("currency", CURRENCY),
                    occurred_at=_time(answer.get("success_time")),
                    status="succeeded" if paid else ("cancelled" if state in ("CLOSED", "REVOKED") else "pending"),
                    raw=answer,
                )
            )
        for _trade_no, reference, key in known.refunds:
            refund_no = reference or out_refund_no(key)
            code, answer, failure = self._ask(lambda client: client.query_refund, out_refund_no=refund_no)
            if failure:
                raise RuntimeError(f"WeChat Pay did not answer for refund {refund_no}: {failure.error_message}")
            if code != 200:
                continue
            status = answer.get("status")
            records.append(
                GatewayRecord(
                    kind="refund",
                    psp_reference=refund_no,
                    amount=from_minor(int((answer.get("amount") or {}).get("refund", 0)), CURRENCY),
                    currency=CURRENCY,
                    occurred_at=_time(answer.get("success_time") or answer.get("create_time")),
                    status={"SUCCESS": "succeeded", "PROCESSING": "pending"}.get(status, "failed"),
                    raw=answer,
                )
            )
        return records

