"""A tiny Stripe API stand-in on 127.0.0.1 that records what the stripe library sends.

Answers just enough of PaymentIntents, refunds and transfers for the plugin;
a payment_method of pm_card_chargeDeclined gets Stripe's card_error, and
pm_card_hangup gets the connection closed without an answer.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    form: dict  # parse_qs of the body: every value a list


@dataclass
class StripeStub:
    server: ThreadingHTTPServer
    requests: list[Recorded] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def posts(self, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)]


def _intent(form, status: str, pi_id: str = "pi_test_1") -> dict:
    amount = int(form.get("amount", ["0"])[0]) if "amount" in form else 1234
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": form.get("currency", ["cny"])[0],
        "status": status,
    }


def start() -> StripeStub:
    stub: StripeStub

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            stub.requests.append(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, form))
            method = form.get("payment_method", [""])[0]
            if method == "pm_card_hangup":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if method == "pm_card_chargeDeclined":
                return self.answer(402, {"error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}})
            if self.path == "/v1/payment_intents":
                return self.answer(200, _intent(form, "requires_capture"))
            if self.path.endswith("/capture"):
                body = _intent({}, "succeeded", self.path.split("/")[3])
                if "amount_to_capture" in form:
                    body["amount"] = body["amount_received"] = int(form["amount_to_capture"][0])
                return self.answer(200, body)
            if self.path.endswith("/cancel"):
                return self.answer(200, _intent({}, "canceled", self.path.split("/")[3]))
            if self.path == "/v1/refunds":
                amount = int(form["amount"][0])
                return self.answer(200, {"id": "re_test_1", "object": "refund", "amount": amount, "currency": "cny", "status": "succeeded"})
            if self.path == "/v1/transfers":
                amount = int(form["amount"][0])
                return self.answer(
                    200, {"id": "tr_test_1", "object": "transfer", "amount": amount, "currency": form["currency"][0], "destination": form["destination"][0]}
                )
            return self.answer(404, {"error": {"type": "invalid_request_error", "message": f"No such path {self.path}"}})

        def answer(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub = StripeStub(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return stub
