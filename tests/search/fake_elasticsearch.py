"""A loopback stand-in for Elasticsearch 8 that speaks the part of its REST API the backend uses.

It keeps indices (settings, mappings, documents) and aliases, applies _bulk and
_aliases, and answers _search with hits shaped like Elasticsearch's. It does
not rank or aggregate: hits are the documents whose name or body contain every
word of the query's first multi_match (any order), and a test that needs
aggregations or suggestions hands it a recorded response (`respond_with`).
Every request is recorded (method, path, parsed body) for assertions.

`down = True` makes it drop connections; `delay` (seconds) makes it slow.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def _first_text(body) -> str | None:
    if isinstance(body, dict):
        if "multi_match" in body:
            return body["multi_match"]["query"]
        for value in body.values():
            found = _first_text(value)
            if found is not None:
                return found
    if isinstance(body, list):
        for value in body:
            found = _first_text(value)
            if found is not None:
                return found
    return None


class FakeElasticsearch:
    def __init__(self):
        self.indices: dict[str, dict] = {}
        self.aliases: dict[str, set[str]] = {}
        self.requests: list[tuple[str, str, object]] = []
        self.responses: list[tuple] = []
        self.status = "green"
        self.down = False
        self.delay = 0.0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if fake.down:
                    self.close_connection = True
                    self.connection.close()
                    return
                if fake.delay:
                    time.sleep(fake.delay)
                status, body = fake.answer(self.command, self.path, raw)
                data = b"" if self.command == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # --- what tests use ---

    def respond_with(self, path_part: str, body: dict, when=None) -> None:
        """Answer the next request whose path contains path_part (and whose parsed body passes
        `when`, if given) with this recorded body."""
        self.responses.append((path_part, body, when))

    def bodies(self, path_part: str, method: str | None = None) -> list:
        return [b for m, p, b in self.requests if path_part in p and (method is None or m == method)]

    def live_index(self, alias: str) -> str:
        (name,) = self.aliases[alias]
        return name

    def docs(self, alias: str) -> dict[str, dict]:
        return self.indices[self.live_index(alias)]["docs"]

    # --- the API ---

    def _resolve(self, name: str) -> list[str]:
        if name in self.indices:
            return [name]
        return sorted(self.aliases.get(name, ()))

    def answer(self, method: str, path: str, raw: bytes):
        url = urlsplit(path)
        parts = [p for p in url.path.split("/") if p]
        if raw and parts and parts[-1] == "_bulk":
            body = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        else:
            body = json.loads(raw) if raw else None
        with self.lock:
            self.requests.append((method, url.path, body))
            for position, (part, response, when) in enumerate(self.responses):
                if part in url.path and (when is None or when(body)):
                    del self.responses[position]
                    return 200, response
            return self._route(method, parts, body)

    def _route(self, method, parts, body):
        if not parts:
            return 200, {"name": "fake", "cluster_name": "fake", "version": {"number": "8.15.0"}, "tagline": "You Know, for Search"}
        if parts == ["_cluster", "health"]:
            return 200, {"cluster_name": "fake", "status": self.status}
        if parts[0] == "_alias" and len(parts) == 2:
            found = {index: {"aliases": {parts[1]: {}}} for index in self._resolve(parts[1]) if parts[1] in self.aliases}
            return (200, found) if found else (404, {"error": "alias missing", "status": 404})
        if parts == ["_aliases"] and method == "POST":
            for action in body["actions"]:
                (kind, spec), = action.items()
                if kind == "add":
                    self.aliases.setdefault(spec["alias"], set()).add(spec["index"])
                elif kind == "remove":
                    self.aliases.get(spec["alias"], set()).discard(spec["index"])
                    if not self.aliases.get(spec["alias"]):
                        self.aliases.pop(spec["alias"], None)
            return 200, {"acknowledged": True}
        if parts[-1] == "_bulk":
            return 200, self._bulk(parts[0] if len(parts) == 2 else None, body)
        name = parts[0]
        if len(parts) == 1:
            if method == "HEAD":
                return (200 if self._resolve(name) else 404), {}
            if method == "PUT":
                if name in self.indices:
                    return 400, {"error": {"type": "resource_already_exists_exception"}, "status": 400}
                self.indices[name] = {"settings": body.get("settings"), "mappings": body.get("mappings"), "docs": {}}
                for alias in (body.get("aliases") or {}):
                    self.aliases.setdefault(alias, set()).add(name)
                return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}
            if method == "DELETE":
                if name not in self.indices:
                    return 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
                del self.indices[name]
                for members in self.aliases.values():
                    members.discard(name)
                return 200, {"acknowledged": True}
        if parts[-1] == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if parts[-1] == "_search":
            return self._search(name, body or {})
        return 404, {"error": f"fake has no {method} /{'/'.join(parts)}", "status": 404}

    def _bulk(self, default_index, lines):
        items, errors, position = [], False, 0
        while position < len(lines):
            (action, meta), = lines[position].items()
            position += 1
            targets = self._resolve(meta.get("_index") or default_index)
            if len(targets) != 1:
                items.append({action: {"_id": meta["_id"], "status": 404, "error": {"type": "index_not_found_exception"}}})
                errors = True
                position += action != "delete"
                continue
            docs = self.indices[targets[0]]["docs"]
            if action == "delete":
                status = 200 if docs.pop(meta["_id"], None) is not None else 404
                errors = errors or status == 404
                items.append({"delete": {"_index": targets[0], "_id": meta["_id"], "status": status}})
            else:
                docs[meta["_id"]] = lines[position]
                position += 1
                items.append({action: {"_index": targets[0], "_id": meta["_id"], "status": 201, "result": "created"}})
        return {"took": 1, "errors": errors, "items": items}

    def _search(self, name, body):
        targets = self._resolve(name)
        if not targets:
            return 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
        text = _first_text(body.get("query"))
        docs = [(doc_id, doc) for index in targets for doc_id, doc in self.indices[index]["docs"].items()]
        if text:
            words = text.lower().split()
            docs = [(i, d) for i, d in docs if all(w in f"{d['name']} {d['body']}".lower() for w in words)]
        size = body.get("size", 10)
        hits = [
            {"_index": targets[0], "_id": doc_id, "_score": float(len(docs) - n), **({"_source": doc} if body.get("_source") is not False else {})}
            for n, (doc_id, doc) in enumerate(docs[:size])
        ]
        return 200, {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(docs), "relation": "eq"}, "max_score": 1.0 if hits else None, "hits": hits},
        }
