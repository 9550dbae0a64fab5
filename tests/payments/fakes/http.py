"""What the gateway fakes share: a loopback HTTP server, its lifecycle, the calls made, faults once.

A fake answers each request in `respond(request)`; the calls it records are tuples whose first
member names the kind of call, which `count` and `fail` use.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str  # with its query string, as sent
    headers: dict
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))


@dataclass
class Answer:
    status: int
    body: bytes | str = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict = field(default_factory=dict)


class FakeGateway:
    def __init__(self, *, late_seconds: float = 2.0):
        self.late_seconds = late_seconds
        self.calls: list[tuple] = []
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.RLock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, name: str, kind: str) -> None:
        """The next call named `name` fails once, as `kind` says (each fake says which kinds it knows)."""
        with self.lock:
            self.faults[name].append(kind)

    def count(self, name: str) -> int:
        return sum(1 for call in self.calls if call[0] == name)

    def record(self, *call) -> str | None:
        """Note a call; the fault waiting for it, if any."""
        with self.lock:
            self.calls.append(call)
            return self.faults[call[0]].pop(0) if self.faults.get(call[0]) else None

    def respond(self, request: Request) -> Answer:
        raise NotImplementedError

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length) if length else b"")
                answer = fake.respond(request)
                data = answer.body.encode() if isinstance(answer.body, str) else answer.body
                try:
                    self.send_response(answer.status)
                    if answer.status != 204:
                        self.send_header("Content-Type", answer.content_type)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout fault)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        return Handler
