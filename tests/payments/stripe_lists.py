"""A front for localstripe that lists charges and refunds the way Stripe does: by a `created` range.

localstripe (see tests/localstripe_server.py) lists charges with `created[gt]` alone (a range
answers 500 "Not implemented"), refunds with no `created` filter at all, and has no transfers
(no Connect). Stripe filters every list by `created[gte]`/`created[lt]` and pages newest first.
This front answers GET /v1/charges and /v1/refunds from localstripe's own complete lists (its
objects, amounts, captures and refunds, read page by page), filtered by the range and paged
with `limit` and `starting_after` as Stripe does; it answers /v1/transfers with an empty list
(transfers are listed against the in-repo stub, tests/payments/stripe_stub.py); every other
request passes through unchanged.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

from .stripe_stub import list_page

LISTED = ("/v1/charges", "/v1/refunds")


@dataclass
class StripeLists:
    server: ThreadingHTTPServer
    target: str
    lists: list[tuple[str, dict]] = field(default_factory=list)  # (path, query) of each list request

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _everything(target: str, path: str, authorization: str) -> list[dict]:
    """localstripe's whole list at `path`, oldest first, read 100 at a time."""
    objects: list[dict] = []
    after = None
    while True:
        params = {"limit": 100, **({"starting_after": after} if after else {})}
        page = requests.get(target + path, params=params, headers={"Authorization": authorization}, timeout=10).json()
        objects.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            return objects
        after = page["data"][-1]["id"]


def start(target: str) -> StripeLists:
    front: StripeLists

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _pass(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urlsplit(self.path)
            if self.command == "GET" and parts.path in (*LISTED, "/v1/transfers"):
                query = parse_qs(parts.query)
                front.lists.append((parts.path, query))
                if parts.path == "/v1/transfers":
                    return self._answer(200, list_page([], query, parts.path))
                objects = _everything(front.target, parts.path, self.headers.get("Authorization", ""))
                # Stripe's order: newest first (localstripe's `created` is in seconds; ties keep creation order).
                objects.sort(key=lambda obj: obj["created"])
                return self._answer(200, list_page(objects, query, parts.path))
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "idempotency-key")}
            try:
                response = requests.request(self.command, front.target + self.path, data=body, headers=headers, timeout=10)
            except requests.ConnectionError:
                self.close_connection = True  # the proxy behind dropped the answer (a fault): drop it too
                return
            self._send(response.status_code, response.content)

        def _answer(self, status: int, payload: dict):
            self._send(status, json.dumps(payload).encode())

        def _send(self, status: int, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    front = StripeLists(server=server, target=target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return front
