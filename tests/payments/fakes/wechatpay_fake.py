"""A stateful fake of WeChat Pay API v3 on 127.0.0.1.

Every request's Authorization (WECHATPAY2-SHA256-RSA2048) is checked with the
merchant's public key; every answer and notification is signed with the
platform key ("timestamp\\nnonce\\nbody\\n", RSA-SHA256) and names the platform
certificate's serial; /v3/certificates serves the certificate encrypted
under the APIv3 key (AEAD_AES_256_GCM), and notifications' resources are
encrypted the same way, as WeChat Pay does.

Native orders are created by POST /v3/pay/transactions/native, paid by `pay`
(the shopper scans and pays), refunded, closed. `fail(path_kind, kind)` makes
the next such call fail once: "timeout" does the work and answers too late,
"http500" answers 500 SYSTEM_ERROR without doing anything.

GET /v3/bill/tradebill answers the day's trade bill (bill_type ALL) built from the orders and
refunds: hash_type SHA1, the hash of the bill's CSV and a download_url on the fake, which
serves the CSV gzipped (tar_type GZIP) in WeChat Pay's format: a header, one row per payment
(交易状态 SUCCESS) and per refund (REFUND), each field prefixed with a backquote, then the
summary header and row. Unlike WeChat Pay it has today's bill too (the tests reconcile the day
they pay on); `bills_ready = False` answers 400 NO_STATEMENT_EXIST, as for a day whose bill is
not made yet (before 10:00 the next day); `bill_tampered = True` serves a file that does not
match its hash.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .http import Answer, FakeGateway, Request
from .keys import KeyPair, certificate_pem, serial_hex

CHINA = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


def _now() -> str:
    return datetime.now(CHINA).isoformat(timespec="seconds")


def encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay's nonces
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


# The ALL trade bill's columns and its summary's, as WeChat Pay writes them.
BILL_COLUMNS = [
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态",
    "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额",
    "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
]
SUMMARY_COLUMNS = ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class WeChatPayFake(FakeGateway):
    def __init__(
        self,
        *,
        mchid: str,
        merchant_public_pem: str,
        merchant_serial: str,
        platform_pair: KeyPair,
        platform_certificate: x509.Certificate,
        apiv3_key: str,
        late_seconds: float = 2.0,
    ):
        super().__init__(late_seconds=late_seconds)
        self.mchid = mchid
        self.merchant_key = serialization.load_pem_public_key(merchant_public_pem.encode())
        self.merchant_serial = merchant_serial
        self.platform_pair = platform_pair
        self.platform_certificate = platform_certificate
        self.apiv3_key = apiv3_key
        self.orders: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.bills_ready = True
        self.bill_tampered = False
        self.bill_files: dict[str, bytes] = {}  # download token -> gzipped CSV

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def serial(self) -> str:
        return serial_hex(self.platform_certificate)

    def fail(self, kind_of_call: str, kind: str) -> None:
        """kind_of_call: native, query, close, refund, query_refund, certificates, tradebill, billdownload."""
        super().fail(kind_of_call, kind)

    # --- signing ---

    def sign(self, body: str, *, timestamp: str | None = None, nonce: str | None = None) -> dict:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or uuid.uuid4().hex.upper()
        message = f"{timestamp}\n{nonce}\n{body}\n".encode()
        signature = self.platform_pair.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Serial": self.serial,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def _authorized(self, method: str, path: str, body: str, authorization: str) -> bool:
        if not authorization.startswith(SIGNATURE_TYPE + " "):
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', authorization))
        if fields.get("mchid") != self.mchid or fields.get("serial_no") != self.merchant_serial:
            return False
        message = f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body}\n".encode()
        try:
            self.merchant_key.verify(base64.b64decode(fields.get("signature", "")), message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    # --- the shopper and WeChat Pay's side ---

    def pay(self, out_trade_no: str, *, payer_total: int | None = None) -> tuple[dict, bytes]:
        """The shopper pays; returns the signed notification (headers, body) WeChat Pay would post."""
        with self.lock:
            order = self.orders[out_trade_no]
            assert order["trade_state"] == "NOTPAY", order["trade_state"]
            order["trade_state"] = "SUCCESS"
            order["success_time"] = _now()
            order["transaction_id"] = "4200" + uuid.uuid4().hex[:24]
            if payer_total is not None:
                order["amount"]["payer_total"] = payer_total
            else:
                order["amount"]["payer_total"] = order["amount"]["total"]
            return self.notification("TRANSACTION.SUCCESS", "transaction", self._transaction(order))

    def paid_elsewhere(self, out_trade_no: str, total: int) -> dict:
        """An order paid to the merchant that the marketplace never created (another app of the merchant's)."""
        with self.lock:
            order = {
                "appid": "wx0000000000000099", "mchid": self.mchid, "out_trade_no": out_trade_no, "description": "线下",
                "attach": "", "notify_url": "", "amount": {"total": total, "currency": "CNY", "payer_total": total},
                "trade_state": "SUCCESS", "success_time": _now(), "transaction_id": "4200" + uuid.uuid4().hex[:24],
                "code_url": "", "refunded": 0,
            }
            self.orders[out_trade_no] = order
            return order

    def notification(self, event_type: str, original_type: str, resource: dict, **sign_options) -> tuple[dict, bytes]:
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": _now(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功" if event_type == "TRANSACTION.SUCCESS" else "退款成功",
                "resource": {
                    "original_type": original_type,
                    **encrypt(self.apiv3_key, json.dumps(resource, ensure_ascii=False), original_type),
                },
            },
            ensure_ascii=False,
        )
        headers = {"Content-Type": "application/json", **self.sign(body, **sign_options)}
        return headers, body.encode()

    def refund_notification(self, out_refund_no: str) -> tuple[dict, bytes]:
        refund = self.refunds[out_refund_no]
        return self.notification("REFUND.SUCCESS", "refund", {"mchid": self.mchid, **refund})

    def post_notification(self, url: str, notification: tuple[dict, bytes]) -> requests.Response:
        headers, body = notification
        return requests.post(url, data=body, headers=headers, timeout=10)

    # --- the API ---

    def _transaction(self, order: dict) -> dict:
        answer = {key: order[key] for key in ("appid", "mchid", "out_trade_no", "trade_state", "attach", "amount") if key in order}
        answer["trade_type"] = "NATIVE"
        answer["trade_state_desc"] = {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭", "REFUND": "转入退款"}.get(order["trade_state"], "")
        for key in ("transaction_id", "success_time"):
            if order.get(key):
                answer[key] = order[key]
        return answer

    @staticmethod
    def _error(status: int, code: str, message: str) -> tuple[int, dict]:
        return status, {"code": code, "message": message}

    def respond(self, request: Request) -> Answer:
        body = request.body.decode()
        if request.route == "/v3/billdownload/file":
            status, answer = self._download(request)
            return Answer(status, answer, "application/octet-stream" if status == 200 else "application/json; charset=utf-8")
        status, answer = self.handle(request.method, request.path, body, request.headers.get("Authorization", ""))
        return Answer(status, answer, headers=self.sign(answer))

    def handle(self, method: str, path: str, body: str, authorization: str) -> tuple[int, str]:
        if not self._authorized(method, path, body, authorization):
            return 401, json.dumps({"code": "SIGN_ERROR", "message": "签名错误"})
        data = json.loads(body) if body else {}
        route = path.split("?")[0]
        if route == "/v3/bill/tradebill":
            kind = "tradebill"
            data = dict(Request(method, path, {}, b"").query)
        elif route == "/v3/certificates":
            kind = "certificates"
        elif route == "/v3/pay/transactions/native":
            kind = "native"
        elif route.endswith("/close"):
            kind = "close"
        elif route.startswith("/v3/pay/transactions/out-trade-no/"):
            kind = "query"
        elif route == "/v3/refund/domestic/refunds":
            kind = "refund"
        elif route.startswith("/v3/refund/domestic/refunds/"):
            kind = "query_refund"
        else:
            return 404, json.dumps({"code": "NOT_FOUND", "message": route})
        fault = self.record(kind, path, data)
        if fault == "http500":
            return 500, json.dumps({"code": "SYSTEM_ERROR", "message": "系统错误"})
        with self.lock:
            status, answer = getattr(self, "_" + kind)(route, data)
        if fault == "timeout":
            time.sleep(self.late_seconds)
        return status, "" if answer is None else json.dumps(answer, ensure_ascii=False)

    # --- the day's trade bill ---

    def bill_csv(self, day: date) -> str:
        """The ALL trade bill of `day` (China time): a SUCCESS row per order paid, a REFUND row per refund."""
        rows = []
        for order in self.orders.values():
            if order.get("success_time", "").startswith(day.isoformat()):
                total = order["amount"]["total"]
                rows.append({"交易时间": order["success_time"][:19].replace("T", " "), "公众账号ID": order["appid"],
                             "商户号": self.mchid, "特约商户号": "0", "微信订单号": order["transaction_id"],
                             "商户订单号": order["out_trade_no"], "交易类型": "NATIVE", "交易状态": "SUCCESS",
                             "付款银行": "OTHERS", "货币种类": "CNY", "应结订单金额": _yuan(total), "代金券金额": "0.00",
                             "微信退款单号": "0", "商户退款单号": "0", "退款金额": "0.00", "充值券退款金额": "0.00",
                             "商品名称": order["description"], "商户数据包": order.get("attach", ""), "手续费": "0.00",
                             "费率": "0.60%", "订单金额": _yuan(total), "申请退款金额": "0.00"})
        for refund in self.refunds.values():
            if refund["create_time"].startswith(day.isoformat()):
                order = self.orders[refund["out_trade_no"]]
                rows.append({"交易时间": refund["create_time"][:19].replace("T", " "), "公众账号ID": order["appid"],
                             "商户号": self.mchid, "特约商户号": "0", "微信订单号": order.get("transaction_id", ""),
                             "商户订单号": order["out_trade_no"], "交易类型": "NATIVE", "交易状态": "REFUND",
                             "付款银行": "OTHERS", "货币种类": "CNY", "应结订单金额": "0.00", "代金券金额": "0.00",
                             "微信退款单号": refund["refund_id"], "商户退款单号": refund["out_refund_no"],
                             "退款金额": _yuan(refund["amount"]["refund"]), "充值券退款金额": "0.00", "退款类型": "ORIGINAL",
                             "退款状态": refund["status"], "商品名称": order["description"], "商户数据包": order.get("attach", ""),
                             "手续费": "0.00", "费率": "0.60%", "订单金额": "0.00",
                             "申请退款金额": _yuan(refund["amount"]["refund"])})
        lines = [",".join(BILL_COLUMNS)]
        lines += [",".join("`" + str(row.get(column, "")) for column in BILL_COLUMNS) for row in rows]
        paid = sum(1 for row in rows if row["交易状态"] == "SUCCESS")
        settled = sum(int(order["amount"]["total"]) for order in self.orders.values() if order.get("success_time", "").startswith(day.isoformat()))
        refunded = sum(int(r["amount"]["refund"]) for r in self.refunds.values() if r["create_time"].startswith(day.isoformat()))
        lines.append(",".join(SUMMARY_COLUMNS))
        lines.append(",".join("`" + v for v in (str(paid), _yuan(settled), _yuan(refunded), "0.00", "0.00", _yuan(settled), _yuan(refunded))))
        return "\r\n".join(lines) + "\r\n"

    def _tradebill(self, route, data):
        try:
            day = date.fromisoformat(data.get("bill_date", ""))
        except ValueError:
            return self._error(400, "PARAM_ERROR", "账单日期格式不正确")
        if not self.bills_ready or day >= datetime.now(CHINA).date() + timedelta(days=1):
            return self._error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        text = self.bill_csv(day).encode()
        digest = hashlib.sha1(text).hexdigest()
        if self.bill_tampered:
            text = text.replace(b"SUCCESS", b"SUCCES5", 1)
        token = secrets.token_hex(8)
        self.bill_files[token] = gzip.compress(text) if data.get("tar_type") == "GZIP" else text
        return 200, {"hash_type": "SHA1", "hash_value": digest, "download_url": f"{self.url}/v3/billdownload/file?token={token}"}

    def _download(self, request: Request) -> tuple[int, bytes | str]:
        if not self._authorized(request.method, request.path, "", request.headers.get("Authorization", "")):
            return 401, json.dumps({"code": "SIGN_ERROR", "message": "签名错误"})
        fault = self.record("billdownload", request.path, {})
        if fault == "http500":
            return 500, json.dumps({"code": "SYSTEM_ERROR", "message": "系统错误"})
        data = self.bill_files.get(request.query.get("token", ""))
        if data is None:
            return 400, json.dumps({"code": "INVALID_REQUEST", "message": "下载链接已失效"})
        return 200, data

    def _certificates(self, route, data):
        pem = certificate_pem(self.platform_certificate)
        return 200, {
            "data": [
                {
                    "serial_no": self.serial,
                    "effective_time": self.platform_certificate.not_valid_before_utc.isoformat(),
                    "expire_time": self.platform_certificate.not_valid_after_utc.isoformat(),
                    "encrypt_certificate": encrypt(self.apiv3_key, pem, "certificate"),
                }
            ]
        }

    def _native(self, route, data):
        no = data["out_trade_no"]
        order = self.orders.get(no)
        if order is not None:
            if order["trade_state"] != "NOTPAY":
                return self._error(400, "ORDERPAID", "该订单已支付")
            if order["amount"]["total"] != data["amount"]["total"] or order["description"] != data["description"]:
                return self._error(400, "INVALID_REQUEST", "201 商户订单号重复")
            return 200, {"code_url": order["code_url"]}
        if not isinstance(data["amount"]["total"], int) or data["amount"]["total"] <= 0:
            return self._error(400, "PARAM_ERROR", "amount.total 应为正整数")
        self.orders[no] = {
            "appid": data["appid"],
            "mchid": data["mchid"],
            "out_trade_no": no,
            "description": data["description"],
            "attach": data.get("attach", ""),
            "notify_url": data["notify_url"],
            "amount": {"total": data["amount"]["total"], "currency": data["amount"].get("currency", "CNY")},
            "trade_state": "NOTPAY",
            "code_url": f"weixin://wxpay/bizpayurl?pr={uuid.uuid4().hex[:10]}",
            "refunded": 0,
        }
        return 200, {"code_url": self.orders[no]["code_url"]}

    def _query(self, route, data):
        order = self.orders.get(route.rsplit("/", 1)[1])
        if order is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        return 200, self._transaction(order)

    def _close(self, route, data):
        order = self.orders.get(route.split("/")[-2])
        if order is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        if order["trade_state"] in ("SUCCESS", "REFUND"):
            return self._error(400, "ORDERPAID", "订单已支付")
        order["trade_state"] = "CLOSED"
        return 204, None

    def _refund(self, route, data):
        no = data["out_refund_no"]
        if no in self.refunds:
            return 200, self.refunds[no]  # the same out_refund_no: the same refund
        order = self.orders.get(data.get("out_trade_no", ""))
        if order is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        amount = data["amount"]
        if order["trade_state"] not in ("SUCCESS", "REFUND"):
            return self._error(400, "INVALID_REQUEST", "订单未支付")
        if amount["total"] != order["amount"]["total"]:
            return self._error(400, "PARAM_ERROR", "订单金额不一致")
        if order["refunded"] + amount["refund"] > order["amount"]["total"]:
            return self._error(403, "NOT_ENOUGH", "退款金额超过可退金额")
        order["refunded"] += amount["refund"]
        order["trade_state"] = "REFUND"
        self.refunds[no] = {
            "refund_id": "5030" + uuid.uuid4().hex[:24],
            "out_refund_no": no,
            "out_trade_no": order["out_trade_no"],
            "transaction_id": order.get("transaction_id", ""),
            "channel": "ORIGINAL",
            "status": "SUCCESS",
            "create_time": _now(),
            "success_time": _now(),
            "amount": {"total": order["amount"]["total"], "refund": amount["refund"],
                       "payer_total": order["amount"]["total"], "payer_refund": amount["refund"], "currency": "CNY"},
        }
        return 200, self.refunds[no]

    def _query_refund(self, route, data):
        refund = self.refunds.get(route.rsplit("/", 1)[1])
        if refund is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return 200, refund
