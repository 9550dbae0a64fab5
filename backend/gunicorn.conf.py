"""Gunicorn settings for the web process, read from the environment.

    gunicorn --config backend/gunicorn.conf.py backend.wsgi:application

GUNICORN_BIND (e.g. "0.0.0.0:8000" or "unix:/run/web.sock") wins over PORT; without
either the server listens on 0.0.0.0:8000. WEB_CONCURRENCY sets the number of worker
processes (default 2; each is a separate process, so the web tier scales out by adding
processes or hosts behind the proxy). The access log is off unless GUNICORN_ACCESS_LOG
names a file or "-" (stdout): the proxy in front usually logs requests already.
gunicorn's own lines follow LOG_FORMAT like the application's: JSON objects (the default with
DEBUG off; see backend/core/gunicorn_logging.py) or gunicorn's plain text.
"""

import os

bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request that takes longer than this is a hung worker: it is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Behind a proxy that keeps connections open; a little above common proxy idle timeouts is not needed.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers are recycled after this many requests (with jitter) to bound slow memory growth; 0 is never.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "100"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The same rule as settings.LOG_FORMAT: JSON unless DEBUG is on or LOG_FORMAT says "text".
_debug = os.environ.get("DEBUG", "1").strip().lower() in {"1", "true", "yes", "on"}
if os.environ.get("LOG_FORMAT", "text" if _debug else "json") == "json":
    logger_class = "backend.core.gunicorn_logging.JsonLogger"
# The proxy's X-Forwarded-* headers are trusted from these addresses only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Worker temp files in memory where the platform has /dev/shm (containers with a small disk).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
