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

The day's bill (alipay.data.dataservice.bill.downloadurl.query, bill_type trade) is built
from the trades: a zip holding Alipay's two GBK CSV files, 业务明细 (a 交易 row for each
trade paid that day, a 退款 row for each refund made that day) and 业务明细(汇总), served at the
bill_download_url it answers. Unlike Alipay it has today's bill too (the tests reconcile the
day they pay on); `bills_ready = False` answers isp.bill_not_exist, as Alipay does for a day
whose bill is not made yet (before about 09:00 the next day), and a future day has none.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
import time
import uuid
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .http import Answer, FakeGateway, Request
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


PID = "2088000000000001"
# 业务明细's columns, as Alipay's trade bill has them.
BILL_COLUMNS = [
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
    "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
    "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
    "服务费（元）", "分润（元）", "备注",
]


class AlipayFake(FakeGateway):
    def __init__(self, *, app_id: str, app_public_pem: str, alipay_pair: KeyPair, late_seconds: float = 2.0):
        super().__init__(late_seconds=late_seconds)
        self.app_id = app_id
        self.app_public_pem = app_public_pem
        self.alipay_pair = alipay_pair
        self.trades: dict[str, dict] = {}
        self.bills_ready = True
        self.bill_files: dict[str, bytes] = {}  # download token -> zip

    @property
    def url(self) -> str:
        return f"{self.base_url}/gateway.do"

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

    def paid_elsewhere(self, out_trade_no: str, amount: str) -> dict:
        """A trade paid to the merchant's account that the marketplace never asked for (a counter, another shop)."""
        with self.lock:
            trade = self._new_trade(out_trade_no, {"total_amount": amount, "subject": "线下收款"}, {})
            trade["trade_status"] = "TRADE_SUCCESS"
            trade["send_pay_date"] = _now()
            return trade

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

    def respond(self, request: Request) -> Answer:
        if request.route == "/bill":
            data = self.bill_files.get(request.query.get("token", ""))
            return Answer(200, data, "application/zip") if data is not None else Answer(404, "no such bill", "text/plain")
        params = request.query
        if request.method == "POST":
            params = {**dict(parse_qsl(request.body.decode(), keep_blank_values=True)), **params}
        status, content_type, body = self.handle(params)
        return Answer(status, body, content_type)

    def handle(self, params: dict) -> tuple[int, str, str]:
        """(status, content type, body) for one gateway request."""
        method = params.get("method", "")
        signature = params.get("sign", "")
        if params.get("app_id") != self.app_id or not rsa2_verify(self.app_public_pem, signing_string(params, request=True), signature):
            body = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}
            return 200, "application/json", json.dumps({"error_response": body, "sign": ""})
        biz = json.loads(params.get("biz_content") or "{}")
        fault = self.record(method, biz)
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

    # --- the day's bill ---

    def bill_rows(self, day: date) -> list[dict]:
        """业务明细 rows of `day` (China time): a 交易 row for each trade paid, a 退款 row for each refund."""
        rows = []
        for no, trade in self.trades.items():
            paid = trade.get("send_pay_date") or ""
            if paid.startswith(day.isoformat()):
                rows.append({"支付宝交易号": trade["trade_no"], "商户订单号": no, "业务类型": "交易", "商品名称": trade["subject"],
                             "创建时间": trade["gmt_create"], "完成时间": paid, "订单金额（元）": trade["total_amount"],
                             "商家实收（元）": trade["total_amount"], "退款批次号/请求号": ""})
            for request_no, amount in trade["refunds"].items():
                when = trade["refund_dates"][request_no]
                if when.startswith(day.isoformat()):
                    rows.append({"支付宝交易号": trade["trade_no"], "商户订单号": no, "业务类型": "退款", "商品名称": trade["subject"],
                                 "创建时间": trade["gmt_create"], "完成时间": when, "订单金额（元）": f"-{amount}",
                                 "商家实收（元）": f"-{amount}", "退款批次号/请求号": request_no})
        return rows

    def bill_zip(self, day: date, rows: list[dict] | None = None) -> bytes:
        """The trade bill of `day` as Alipay packs it: a zip of two GBK CSV files, detail and summary."""
        rows = self.bill_rows(day) if rows is None else rows
        compact = day.strftime("%Y%m%d")
        detail = io.StringIO()
        detail.write(f"#支付宝业务明细查询\r\n#账号：[{PID}0156]\r\n")
        detail.write(f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day:%Y年%m月%d日} 23:59:59]\r\n")
        detail.write("#-----------------------------------------业务明细列表----------------------------------------\r\n")
        writer = csv.writer(detail, lineterminator="\r\n")
        writer.writerow(BILL_COLUMNS)
        for row in rows:
            # Alipay pads its numbers with a tab, so that spreadsheets keep them as text.
            writer.writerow([f"{row.get(column, '')}\t" if row.get(column) else "" for column in BILL_COLUMNS])
        trades = sum(1 for row in rows if row["业务类型"] == "交易")
        detail.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
        detail.write(f"#交易合计：{trades}笔，退款合计：{len(rows) - trades}笔\r\n#导出时间：[{_now()}]\r\n")
        summary = "#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）\r\n"
        summary += f"合计,,{trades},{len(rows) - trades},{sum((Decimal(r['订单金额（元）']) for r in rows if r['业务类型'] == '交易'), Decimal(0))}\r\n"
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w") as archive:
            archive.writestr(f"{PID}0156_{compact}_业务明细.csv", detail.getvalue().encode("gbk"))
            archive.writestr(f"{PID}0156_{compact}_业务明细(汇总).csv", summary.encode("gbk"))
        return packed.getvalue()

    def _bill_url(self, biz: dict) -> dict:
        try:
            day = date.fromisoformat(biz.get("bill_date", ""))
        except ValueError:
            return self._failed("isv.invalid-arguments", "账单日期格式不正确")
        if biz.get("bill_type") != "trade":
            return self._failed("isv.invalid-arguments", "账单类型不正确")
        if not self.bills_ready or day >= datetime.now(CHINA).date() + timedelta(days=1):
            return self._failed("isp.bill_not_exist", "账单不存在")
        token = secrets.token_hex(8)
        self.bill_files[token] = self.bill_zip(day)
        return {"code": "10000", "msg": "Success", "bill_download_url": f"{self.base_url}/bill?token={token}"}

    def _operate(self, method: str, biz: dict, params: dict) -> dict:
        if method == "alipay.data.dataservice.bill.downloadurl.query":
            return self._bill_url(biz)
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
