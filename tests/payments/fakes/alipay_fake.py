"""A stateful fake of Alipay's open-platform gateway (gateway.do) on 127.0.0.1.

Requests are checked against the application's public key (RSA2, as Alipay
does), answers and notifications are signed with the fake's "Alipay" private
key over exactly the bytes Alipay signs: the JSON of the `<method>_response`
member, and the notification's sorted `key=value` pairs without sign and
sign_type. Trades are created by precreate, by opening the payment page or by
a counter payment, paid by `pay` (the shopper), refunded, closed.

Faults: `fail(method, kind)` makes the next call of `method` fail once:
"timeout" does the work and then answers too late (the outcome is lost),
"http500" answers 500 without doing anything, "busy" answers code 20000.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .keys import KeyPair

CHINA = ZoneInfo("Asia/Shanghai")


def _now() -> str:
    return datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def rsa2_sign(pair: KeyPair, message: str) -> str:
    return base64.b64encode(pair.private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(public_pem: str, message: str, signature: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signing_string(params: dict, *, request: bool = False) -> str:
    """What Alipay signs: a request's parameters but `sign`; a notification's but `sign` and `sign_type`."""
    skip = ("sign",) if request else ("sign", "sign_type")
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in skip and v != "")


class AlipayFake:
    def __init__(self, *, app_id: str, app_public_pem: str, alipay_pair: KeyPair, late_seconds: float = 2.0):
        self.app_id = app_id
        self.app_public_pem = app_public_pem
        self.alipay_pair = alipay_pair
        self.late_seconds = late_seconds
        self.trades: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.RLock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle ---

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/gateway.do"

    def start(self) -> AlipayFake:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, kind: str) -> None:
        with self.lock:
            self.faults[method].append(kind)

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    # --- the shopper and Alipay's side ---

    def open_page(self, page_url: str) -> int:
        """The shopper's browser opens the payment page: Alipay creates the trade."""
        return requests.get(page_url, timeout=5).status_code

    def pay(self, out_trade_no: str, *, amount: str | None = None) -> dict:
        """The shopper pays the trade; returns the signed notification Alipay would send."""
        with self.lock:
            trade = self.trades[out_trade_no]
            assert trade["trade_status"] == "WAIT_BUYER_PAY", trade["trade_status"]
            trade["trade_status"] = "TRADE_SUCCESS"
            trade["send_pay_date"] = _now()
            if amount is not None:
                trade["total_amount"] = amount
            return self.notification(out_trade_no)

    def notification(self, out_trade_no: str, **overrides) -> dict:
        trade = self.trades[out_trade_no]
        params = {
            "notify_time": _now(),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "app_id": self.app_id,
            "trade_no": trade["trade_no"],
            "out_trade_no": out_trade_no,
            "trade_status": trade["trade_status"],
            "total_amount": trade["total_amount"],
            "receipt_amount": trade["total_amount"],
            "buyer_pay_amount": trade["total_amount"],
            "subject": trade["subject"],
            "gmt_create": trade["gmt_create"],
            "gmt_payment": trade.get("send_pay_date") or "",
            "seller_id": "2088000000000001",
        }
        if trade.get("passback_params"):
            params["passback_params"] = trade["passback_params"]
        params.update(overrides)
        params = {k: v for k, v in params.items() if v != ""}
        params["sign"] = rsa2_sign(self.alipay_pair, signing_string(params))
        return params

    def refund_notification(self, out_trade_no: str, out_request_no: str) -> dict:
        trade = self.trades[out_trade_no]
        refunded = sum((Decimal(a) for a in trade["refunds"].values()), Decimal(0))
        return self.notification(
            out_trade_no, out_biz_no=out_request_no, refund_fee=str(refunded), gmt_refund=_now() + ".000"
        )

    def post_notification(self, params: dict, url: str | None = None) -> requests.Response:
        target = url or self.trades[params["out_trade_no"]]["notify_url"]
        return requests.post(target, data=params, timeout=10)

    # --- the gateway ---

    def _respond(self, method: str, body: dict) -> str:
        member = method.replace(".", "_") + "_response"
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return '{"%s":%s,"sign":"%s"}' % (member, inner, rsa2_sign(self.alipay_pair, inner))

    @staticmethod
    def _failed(sub_code: str, sub_msg: str) -> dict:
        return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}

    def _new_trade(self, out_trade_no: str, biz: dict, params: dict) -> dict:
        trade = {
            "out_trade_no": out_trade_no,
            "trade_no": datetime.now(CHINA).strftime("%Y%m%d") + uuid.uuid4().hex[:20],
            "total_amount": biz["total_amount"],
            "subject": biz.get("subject", ""),
            "trade_status": "WAIT_BUYER_PAY",
            "gmt_create": _now(),
            "notify_url": params.get("notify_url", ""),
            "passback_params": biz.get("passback_params", ""),
            "refunds": {},
        }
        self.trades[out_trade_no] = trade
        return trade

    def handle(self, params: dict) -> tuple[int, str, str]:
        """(status, content type, body) for one gateway request."""
        method = params.get("method", "")
        signature = params.get("sign", "")
        if params.get("app_id") != self.app_id or not rsa2_verify(self.app_public_pem, signing_string(params, request=True), signature):
            body = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}
            return 200, "application/json", json.dumps({"error_response": body, "sign": ""})
        biz = json.loads(params.get("biz_content") or "{}")
        with self.lock:
            self.calls.append((method, biz))
            fault = self.faults[method].pop(0) if self.faults.get(method) else None
        if fault == "http500":
            return 500, "text/plain", "Internal Server Error"
        if fault == "busy":
            return 200, "application/json", self._respond(method, {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "aop.unknow-error"})
        with self.lock:
            answer = self._operate(method, biz, params)
        if fault == "timeout":
            time.sleep(self.late_seconds)
        if method == "alipay.trade.page.pay":
            return 200, "text/html; charset=utf-8", "<html><body>支付宝 收银台 (fake)</body></html>"
        return 200, "application/json; charset=utf-8", self._respond(method, answer)

    def _operate(self, method: str, biz: dict, params: dict) -> dict:
        no = biz.get("out_trade_no", "")
        trade = self.trades.get(no)
        if method in ("alipay.trade.precreate", "alipay.trade.page.pay"):
            if trade is None:
                trade = self._new_trade(no, biz, params)
            elif trade["total_amount"] != biz["total_amount"]:
                return self._failed("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            elif trade["trade_status"] != "WAIT_BUYER_PAY":
                return self._failed("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            return {"code": "10000", "msg": "Success", "out_trade_no": no, "qr_code": f"https://qr.alipay.com/fake{trade['trade_no'][-12:]}"}
        if method == "alipay.trade.pay":
            if trade is not None and trade["trade_status"] == "TRADE_SUCCESS":
                pass  # a repeat of a paid counter payment answers the same
            elif biz.get("auth_code") == "paycode_ok":
                trade = trade or self._new_trade(no, biz, params)
                trade["trade_status"] = "TRADE_SUCCESS"
                trade["send_pay_date"] = _now()
            else:
                return self._failed("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败")
            return {"code": "10000", "msg": "Success", "out_trade_no": no, "trade_no": trade["trade_no"],
                    "total_amount": trade["total_amount"], "gmt_payment": trade["send_pay_date"]}
        if trade is None:
            return self._failed("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if method == "alipay.trade.query":
            answer = {"code": "10000", "msg": "Success", "out_trade_no": no, "trade_no": trade["trade_no"],
                      "trade_status": trade["trade_status"], "total_amount": trade["total_amount"]}
            if trade.get("send_pay_date"):
                answer.update(send_pay_date=trade["send_pay_date"], buyer_pay_amount=trade["total_amount"])
            return answer
        if method == "alipay.trade.close":
            if trade["trade_status"] != "WAIT_BUYER_PAY":
                return self._failed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            trade["trade_status"] = "TRADE_CLOSED"
            return {"code": "10000", "msg": "Success", "out_trade_no": no, "trade_no": trade["trade_no"]}
        if method == "alipay.trade.refund":
            request_no = biz.get("out_request_no") or no
            amount = Decimal(biz["refund_amount"])
            refunded = sum((Decimal(a) for a in trade["refunds"].values()), Decimal(0))
            base = {"code": "10000", "msg": "Success", "out_trade_no": no, "trade_no": trade["trade_no"]}
            if request_no in trade["refunds"]:
                # The same out_request_no again: nothing moves; the answer says so.
                return {**base, "fund_change": "N", "refund_fee": str(refunded)}
            if trade["trade_status"] != "TRADE_SUCCESS":
                return self._failed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if refunded + amount > Decimal(trade["total_amount"]):
                return self._failed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            trade["refunds"][request_no] = biz["refund_amount"]
            trade.setdefault("refund_dates", {})[request_no] = _now()
            if refunded + amount == Decimal(trade["total_amount"]):
                trade["trade_status"] = "TRADE_CLOSED"
            return {**base, "fund_change": "Y", "refund_fee": str(refunded + amount)}
        if method == "alipay.trade.fastpay.refund.query":
            request_no = biz.get("out_request_no", "")
            if request_no not in trade["refunds"]:
                return {"code": "10000", "msg": "Success", "out_trade_no": no}
            return {"code": "10000", "msg": "Success", "out_trade_no": no, "trade_no": trade["trade_no"],
                    "out_request_no": request_no, "total_amount": trade["total_amount"],
                    "refund_amount": trade["refunds"][request_no], "refund_status": "REFUND_SUCCESS",
                    "gmt_refund_pay": trade["refund_dates"][request_no]}
        return {"code": "40004", "msg": "Business Failed", "sub_code": "isv.missing-method", "sub_msg": method}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, params: dict) -> None:
                status, content_type, body = fake.handle(params)
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout fault)

            def do_GET(self):
                self._serve(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                form.update(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))
                self._serve(form)

            def log_message(self, *args):
                pass

        return Handler
