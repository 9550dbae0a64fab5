"""A small carrier API on 127.0.0.1 for the HTTP carrier's tests.

It speaks the protocol documented in plugins/logistics/http_carrier.py and can be told
to answer slowly, with 5xx, with 4xx or with something that is not JSON.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CarrierSimulator:
    def __init__(self):
        self.mode = "ok"  # ok | slow | error | reject | garbage
        self.slow_seconds = 3.0
        self.mode_only_for = ""  # a path prefix: the mode then applies to those requests only
        self.requests: list[dict] = []
        self.bookings: dict[str, dict] = {}  # by idempotency key
        self.events: dict[str, list[dict]] = {}  # by tracking number
        self.cancelled: list[str] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CarrierSimulator:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _answer(self, status: int, body) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"null") if length else None
                with simulator._lock:
                    simulator.requests.append(
                        {"method": method, "path": self.path, "headers": dict(self.headers), "json": payload}
                    )
                mode = simulator.mode
                if simulator.mode_only_for and not self.path.startswith(simulator.mode_only_for):
                    mode = "ok"
                if mode == "error":
                    return self._answer(503, {"error": "overloaded"})
                if mode == "reject":
                    return self._answer(422, {"error": "destination not served"})
                if mode == "garbage":
                    return self._answer(200, b"<html>maintenance</html>")
                answer = simulator.route(method, self.path, payload, self.headers)
                if mode == "slow":
                    # The work is done but the answer comes too late for the client.
                    simulator._release.wait(simulator.slow_seconds)
                try:
                    self._answer(*answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, path: str, payload, headers) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/quotes":
            weight = sum(Decimal(p["weight"]) for p in payload["parcels"])
            return 200, {
                "quotes": [
                    {"service_code": "standard", "service_name": "Standard", "price": str(Decimal("7.00") + 3 * weight),
                     "currency": "CNY", "promised_days": 3, "time_guaranteed": False},
                    {"service_code": "next-day", "service_name": "Next day", "price": str(Decimal("15.00") + 5 * weight),
                     "currency": "CNY", "promised_days": 1, "time_guaranteed": True},
                ]
            }
        if method == "POST" and path == "/v1/shipments":
            key = headers.get("Idempotency-Key") or ""
            with self._lock:
                if key not in self.bookings:
                    number = f"SIM{len(self.bookings) + 1:09d}"
                    self.bookings[key] = {
                        "id": f"bk_{len(self.bookings) + 1}", "tracking_number": number,
                        "label": {"format": "zpl", "data": f"^XA^FD{number}^FS^XZ"},
                    }
                return 201, self.bookings[key]
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["v1", "shipments"]:
            number, action = parts[2], parts[3]
            if method == "GET" and action == "events":
                return 200, {"events": self.events.get(number, [])}
            if method == "POST" and action == "cancel":
                self.cancelled.append(number)
                return 200, {"cancelled": True}
        return 404, {"error": "no such endpoint"}
