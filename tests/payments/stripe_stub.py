"""A tiny Stripe API stand-in on 127.0.0.1 that records what the stripe library sends.

Answers just enough of PaymentIntents, refunds and transfers for the plugin;
a payment_method of pm_card_chargeDeclined gets Stripe's card_error, and
pm_card_hangup gets the connection closed without an answer. The transfers it
made are listed by GET /v1/transfers with Stripe's `created` range, `limit` and
`starting_after` (newest first, as Stripe lists); its charges and refunds lists
are empty.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


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
    transfers: list[dict] = field(default_factory=list)  # oldest first

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def posts(self, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)]

    def gets(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and r.path.split("?")[0] == path]


def created_filter(query: dict) -> list:
    """Stripe's created[gt|gte|lt|lte] of a list request as predicates on an object's `created`."""
    tests = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    return [
        (lambda obj, test=tests[op], bound=int(values[0]): test(obj["created"], bound))
        for op in tests
        for values in [query.get(f"created[{op}]")]
        if values
    ]


def list_page(objects: list[dict], query: dict, url: str) -> dict:
    """One page of a Stripe list: newest first, `limit` long, after `starting_after`."""
    tests = created_filter(query)
    chosen = [obj for obj in reversed(objects) if all(test(obj) for test in tests)]
    after = query.get("starting_after", [None])[0]
    if after:
        ids = [obj["id"] for obj in chosen]
        chosen = chosen[ids.index(after) + 1:] if after in ids else []
    limit = int(query.get("limit", ["10"])[0])
    return {"object": "list", "url": url, "data": chosen[:limit], "has_more": len(chosen) > limit}


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
                transfer = {
                    "id": f"tr_test_{len(stub.transfers) + 1}", "object": "transfer", "amount": int(form["amount"][0]),
                    "currency": form["currency"][0], "destination": form["destination"][0], "created": int(time.time()),
                    "reversed": False, "amount_reversed": 0,
                }
                stub.transfers.append(transfer)
                return self.answer(200, transfer)
            return self.answer(404, {"error": {"type": "invalid_request_error", "message": f"No such path {self.path}"}})

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            stub.requests.append(Recorded("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, query))
            if parts.path == "/v1/transfers":
                return self.answer(200, list_page(stub.transfers, query, parts.path))
            if parts.path in ("/v1/charges", "/v1/refunds"):
                return self.answer(200, list_page([], query, parts.path))
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
