"""Gunicorn's own log lines (errors and the access log) in the platform's LOG_FORMAT.

With LOG_FORMAT=json (the production default) the web server's lines are JSON objects with the same
fields as the application's (`timestamp`, `level`, `logger`, `message`, `request_id`), so one log
pipeline parses everything a web process writes. Access lines add the request's `method`, `path`,
`query`, `status`, `duration_ms`, `remote_addr`, `bytes` and `user_agent`; `request_id` is the
X-Request-ID the platform answered with, so an access line joins the application lines of its request.
"""

from __future__ import annotations

import logging

from gunicorn import glogging
from pythonjsonlogger.json import JsonFormatter


def json_formatter() -> logging.Formatter:
    """The formatter of settings.LOGGING["formatters"]["json"], built without importing the settings."""
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s",
        timestamp=True,
        rename_fields={"levelname": "level", "name": "logger"},
        defaults={"request_id": None},
    )


def _header(headers, name: str) -> str | None:
    for key, value in headers or ():
        if key.lower() == name:
            return value
    return None


class JsonLogger(glogging.Logger):
    """gunicorn's Logger writing JSON lines (set as `logger_class` by backend/gunicorn.conf.py)."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(json_formatter())

    def access(self, resp, req, environ, request_time):
        if not self.cfg.accesslog:
            return
        status = resp.status_code if getattr(resp, "status_code", None) else str(resp.status).split(" ")[0]
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or "",
            "status": int(status),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "bytes": getattr(resp, "sent", None),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
            "request_id": _header(getattr(resp, "headers", None), "x-request-id") or environ.get("HTTP_X_REQUEST_ID"),
        }
        try:
            self.access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields)
        except Exception:  # noqa: BLE001 - a log line must never break a response
            self.exception("Could not write the access log line")
