"""localstripe (a stateful fake Stripe server from PyPI) on a free loopback port, for the test session.

`start()` runs `python -m localstripe --port N --from-scratch` as a subprocess and puts a small
proxy in front of it, because localstripe does not implement two things real Stripe does that
the tests need:

- Idempotency-Key: Stripe answers a repeated POST with the same key with the first answer;
  the proxy does the same (localstripe would create a second object);
- faults: the proxy can answer the next matching request with a 500, or forward it and drop the
  answer (the request took effect; the client sees a broken connection, i.e. a timeout).

`Browser` confirms a PaymentIntent the way the shopper's browser does with Stripe.js, straight
against localstripe: a card PaymentMethod, then confirm, then the 3-D Secure step with the
publishable key and the client_secret. (localstripe needs the secret key to create the
PaymentMethod and to confirm; Stripe.js uses the publishable key.)
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

SECRET_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Fault:
    method: str
    path_prefix: str
    kind: str  # "500" or "drop"
    skip: int = 0  # matching requests let through before this one fails


@dataclass
class LocalStripe:
    upstream: str
    url: str
    process: subprocess.Popen
    proxy: ThreadingHTTPServer
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, idempotency key)
    answers: dict[tuple[str, str], tuple[int, bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, method: str, path_prefix: str, kind: str, skip: int = 0) -> None:
        with self.lock:
            self.faults.append(Fault(method, path_prefix, kind, skip))

    def keys_for(self, method: str, path: str) -> list[str]:
        """The idempotency keys of the requests made to exactly this path."""
        return [key for m, p, key in self.requests if m == method and p.split("?")[0] == path]

    def api(self, method: str, path: str, **data) -> dict:
        """Ask localstripe directly (as Stripe's dashboard would show the object)."""
        response = requests.request(method, self.upstream + path, data=data, auth=(SECRET_KEY, ""), timeout=10)
        return response.json()

    def configure_webhook(self, url: str, secret: str, name: str = "marketplace") -> None:
        requests.post(f"{self.upstream}/_config/webhooks/{name}", data={"url": url, "secret": secret}, timeout=10).raise_for_status()

    def stop(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start() -> LocalStripe:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.environ.get("TMPDIR", "/tmp"),
    )
    upstream = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(upstream + "/v1/customers", auth=(SECRET_KEY, ""), timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.1)
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _forward(self):
            server: LocalStripe = state["server"]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("Idempotency-Key", "")
            with server.lock:
                server.requests.append((self.command, self.path, key))
                fault = next(
                    (f for f in server.faults if f.method == self.command and self.path.startswith(f.path_prefix)), None
                )
                if fault is not None and fault.skip:
                    fault.skip -= 1
                    fault = None
                elif fault is not None:
                    server.faults.remove(fault)
                cached = server.answers.get((self.path, key)) if key and self.command == "POST" else None
            if fault is not None and fault.kind == "500":
                return self._answer(500, json.dumps({"error": {"type": "api_error", "message": "Stripe failed."}}).encode())
            if cached is None:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                response = requests.request(self.command, upstream + self.path, data=body, headers=headers, timeout=10)
                cached = (response.status_code, response.content)
                if key and self.command == "POST" and response.status_code < 500:
                    with server.lock:
                        server.answers[(self.path, key)] = cached
            if fault is not None and fault.kind == "drop":
                # It happened at "Stripe"; the answer never reaches the client.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._answer(*cached)

        def _answer(self, status: int, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _forward

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    server = LocalStripe(upstream=upstream, url=f"http://127.0.0.1:{proxy.server_address[1]}", process=process, proxy=proxy)
    state["server"] = server
    atexit.register(server.stop)
    return server


@dataclass
class Browser:
    """The shopper's browser confirming a PaymentIntent with its client_secret."""

    server: LocalStripe

    def confirm(self, client_secret: str, card: str = "4242424242424242") -> dict:
        intent = client_secret.split("_secret_")[0]
        method = self.server.api(
            "POST", "/v1/payment_methods", type="card", **{
                "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123",
            },
        )
        self.server.api("POST", f"/v1/payment_intents/{intent}", payment_method=method["id"])
        return self.server.api("POST", f"/v1/payment_intents/{intent}/confirm")

    def authenticate(self, client_secret: str, success: bool = True) -> dict:
        """The 3-D Secure step: Stripe.js with the publishable key and the client_secret."""
        intent = client_secret.split("_secret_")[0]
        response = requests.post(
            f"{self.server.upstream}/v1/payment_intents/{intent}/_authenticate?success={'true' if success else 'false'}",
            data=json.dumps({"key": PUBLISHABLE_KEY, "client_secret": client_secret}), timeout=10,
        )
        return response.json()
