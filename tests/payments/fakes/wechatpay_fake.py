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
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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


class WeChatPayFake:
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
        self.mchid = mchid
        self.merchant_key = serialization.load_pem_public_key(merchant_public_pem.encode())
        self.merchant_serial = merchant_serial
        self.platform_pair = platform_pair
        self.platform_certificate = platform_certificate
        self.apiv3_key = apiv3_key
        self.late_seconds = late_seconds
        self.orders: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.RLock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def serial(self) -> str:
        return serial_hex(self.platform_certificate)

    def start(self) -> WeChatPayFake:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, kind_of_call: str, kind: str) -> None:
        """kind_of_call: native, query, close, refund, query_refund, certificates."""
        with self.lock:
            self.faults[kind_of_call].append(kind)

    def count(self, kind_of_call: str) -> int:
        return sum(1 for name, _, _ in self.calls if name == kind_of_call)

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

    def handle(self, method: str, path: str, body: str, authorization: str) -> tuple[int, str]:
        if not self._authorized(method, path, body, authorization):
            return 401, json.dumps({"code": "SIGN_ERROR", "message": "签名错误"})
        data = json.loads(body) if body else {}
        route = path.split("?")[0]
        if route == "/v3/certificates":
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
        with self.lock:
            self.calls.append((kind, path, data))
            fault = self.faults[kind].pop(0) if self.faults.get(kind) else None
        if fault == "http500":
            return 500, json.dumps({"code": "SYSTEM_ERROR", "message": "系统错误"})
        with self.lock:
            status, answer = getattr(self, "_" + kind)(route, data)
        if fault == "timeout":
            time.sleep(self.late_seconds)
        return status, "" if answer is None else json.dumps(answer, ensure_ascii=False)

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

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, answer = fake.handle(self.command, self.path, body, self.headers.get("Authorization", ""))
                data = answer.encode()
                try:
                    self.send_response(status)
                    if status != 204:
                        self.send_header("Content-Type", "application/json; charset=utf-8")
                    for name, value in fake.sign(answer).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        return Handler
