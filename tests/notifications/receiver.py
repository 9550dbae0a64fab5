"""A loopback webhook receiver: checks each request's signature and records what came.

`fail_next(n)` makes the next n requests answer 503 (a receiver that is down, then recovers).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from backend.notifications.webhooks import SIGNATURE_HEADER, verify


class Receiver:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.received: list[dict] = []  # verified deliveries, as sent
        self.refused: list[str] = []  # why a request was refused
        self._failures = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    if receiver._failures:
                        receiver._failures -= 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    if not verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body):
                        receiver.refused.append(self.headers.get(SIGNATURE_HEADER, ""))
                        self.send_response(401)
                        self.end_headers()
                        return
                    message = json.loads(body)
                    message["headers"] = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(message)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures = count

    def events(self) -> list[str]:
        with self._lock:
            return [m["event"] for m in self.received]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
