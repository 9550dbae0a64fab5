"""Request ids, JSON-ready logging, Prometheus metrics, health checks and the
generic answer both GraphQL APIs give for an unexpected error.

- Every request gets an id (X-Request-ID when the caller sent a sane one, else
  a new one), echoed in the response header and bound to every log line
  written while the request runs (RequestIdFilter adds `request_id`).
- /health/live answers while the process runs; /health/ready checks the
  database and, when configured, the Celery broker and Elasticsearch, and
  answers 503 naming what failed; Elasticsearch failing only makes it
  "degraded" (200), since searches are answered from the database meanwhile.
  /health/ is kept as the live check.
- /metrics serves Prometheus metrics; under gunicorn with
  PROMETHEUS_MULTIPROC_DIR set, the metrics of all worker processes.
- With DEBUG off an unexpected exception in a GraphQL resolver or view never
  shows its text: the caller gets a generic message and the request id in
  `extensions` (INTERNAL_ERROR), or DATABASE_UNAVAILABLE with HTTP 503 when
  the database cannot be reached.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

logger = logging.getLogger("backend.observability")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# Per-request flags the error formatting sets for the middleware (one dict per request).
_request_state: ContextVar[dict | None] = ContextVar("request_state", default=None)

GRAPHQL_ENDPOINTS = {"/graphql/": "core", "/storefront/graphql/": "storefront"}

GENERIC_ERROR_MESSAGE = (
    "Something went wrong on our side; please try again. If it keeps happening, quote the request id. "
    "服务器内部错误，请稍后重试；如果问题持续出现，请提供请求编号。"
)
DATABASE_UNAVAILABLE_MESSAGE = (
    "The service is temporarily unavailable; please try again shortly. 服务暂时不可用，请稍后重试。"
)


# --- Request id ---


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(value: str | None):
    """Bind an id (a request's or a task's) to the log lines that follow; returns a token for unbind."""
    return _request_id.set(value)


def unbind_request_id(token) -> None:
    _request_id.reset(token)


def request_id_from(request) -> str:
    supplied = request.META.get("HTTP_X_REQUEST_ID", "")
    return supplied if _SANE_REQUEST_ID.match(supplied) else uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


# --- Metrics ---
# Counters and histograms only: they aggregate across gunicorn workers in multiprocess mode
# without per-process gauges (so no mark_process_dead is needed on worker exit).

GRAPHQL_REQUESTS = Counter(
    "marketplace_graphql_requests",
    "GraphQL requests by API endpoint, operation name and HTTP status.",
    ["endpoint", "operation", "status"],
)
GRAPHQL_LATENCY = Histogram(
    "marketplace_graphql_request_duration_seconds",
    "Time to answer a GraphQL request, by API endpoint and operation name.",
    ["endpoint", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_UNEXPECTED_ERRORS = Counter(
    "marketplace_graphql_unexpected_errors",
    "Unexpected exceptions answered with a generic error, by endpoint and code.",
    ["endpoint", "code"],
)
TASK_RUNS = Counter(
    "marketplace_celery_task_runs",
    "Celery task runs by task name and outcome (succeeded, failed, retried).",
    ["task", "outcome"],
)
TASK_FAILURES = Counter("marketplace_celery_task_failures", "Celery task runs that failed, by task name.", ["task"])
TASK_DURATION = Histogram(
    "marketplace_celery_task_duration_seconds",
    "Celery task run time by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
)
LEDGER_POSTINGS = Counter(
    "marketplace_ledger_postings",
    "Ledger transactions posted (committed, replays excluded), by kind and currency.",
    ["kind", "currency"],
)
LEDGER_POSTED_AMOUNT = Counter(
    "marketplace_ledger_posted_amount",
    "Money moved by posted ledger transactions (the sum of each transaction's debits), by currency.",
    ["currency"],
)

# Operation names come from callers: past this many distinct names a process records "other",
# so a client inventing names cannot grow the metrics without bound.
MAX_OPERATION_NAMES = 500
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
_FIRST_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")
_COMMENT = re.compile(r"#[^\n\r]*")
_seen_operations: set[str] = set()


def _operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _OPERATION_NAME.match(name):
        return "invalid"
    if name not in _seen_operations:
        if len(_seen_operations) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_operations.add(name)
    return name


def graphql_operation_name(request) -> str:
    """The operation's name from the request (operationName, else the document's first operation)."""
    try:
        if request.method == "GET":
            payload = {"operationName": request.GET.get("operationName"), "query": request.GET.get("query")}
        elif request.content_type == "multipart/form-data":
            payload = json.loads(request.POST.get("operations") or "{}")
        else:
            payload = json.loads(request.body or b"{}")
    except Exception:  # an unreadable body is the view's to refuse; here it is only unnamed
        return "invalid"
    if isinstance(payload, list):
        return "batch"
    if not isinstance(payload, dict):
        return "invalid"
    name = payload.get("operationName")
    if not name and isinstance(payload.get("query"), str):
        match = _FIRST_OPERATION.match(_COMMENT.sub("", payload["query"][:10_000]))
        name = match.group(1) if match else None
    return _operation_label(name if isinstance(name, str) else None)


def record_ledger_posting(*, kind: str, moved: dict[str, Decimal], count: int = 1) -> None:
    """Called by the ledger after `count` transactions of a kind commit: `moved` is their debit total per currency."""
    for currency, amount in moved.items():
        LEDGER_POSTINGS.labels(kind=kind, currency=currency).inc(count)
        LEDGER_POSTED_AMOUNT.labels(currency=currency).inc(float(amount))


def metrics_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view(request):
    token = getattr(settings, "METRICS_TOKEN", "")
    if token and not constant_time_compare(request.META.get("HTTP_AUTHORIZATION", ""), f"Bearer {token}"):
        return JsonResponse({"error": "unauthorized"}, status=401)
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


# --- Celery task metrics (signals) ---


def _task_name(sender=None, task=None) -> str:
    task = task or sender
    return getattr(task, "name", None) or str(task or "unknown")


def connect_celery_signals() -> None:
    from celery import signals

    started: dict[str, tuple[float, object]] = {}

    @signals.task_prerun.connect(weak=False)
    def _task_started(task_id=None, task=None, **_kwargs):
        # A task run eagerly inside a request logs under the request's id; in a worker, under its own.
        started[task_id] = (time.monotonic(), bind_request_id(current_request_id() or f"task-{task_id}"))

    @signals.task_postrun.connect(weak=False)
    def _task_finished(task_id=None, task=None, state=None, **_kwargs):
        began, token = started.pop(task_id, (None, None))
        name = _task_name(task=task)
        if began is not None:
            TASK_DURATION.labels(task=name).observe(time.monotonic() - began)
        if state == "SUCCESS":
            TASK_RUNS.labels(task=name, outcome="succeeded").inc()
        if token is not None:
            try:
                unbind_request_id(token)
            except ValueError:  # bound in another context (eager tasks inside a request)
                pass

    @signals.task_failure.connect(weak=False)
    def _task_failed(sender=None, **_kwargs):
        name = _task_name(sender=sender)
        TASK_RUNS.labels(task=name, outcome="failed").inc()
        TASK_FAILURES.labels(task=name).inc()

    @signals.task_retry.connect(weak=False)
    def _task_retried(sender=None, **_kwargs):
        TASK_RUNS.labels(task=_task_name(sender=sender), outcome="retried").inc()

    @signals.worker_ready.connect(weak=False)
    def _serve_worker_metrics(**_kwargs):
        # A worker has no web server: CELERY_METRICS_PORT serves its metrics (all its processes).
        port = os.environ.get("CELERY_METRICS_PORT")
        if port:
            from prometheus_client import start_http_server

            start_http_server(int(port), registry=metrics_registry())


# --- Health ---


def _broker_configured() -> bool:
    url = settings.CELERY_BROKER_URL or ""
    return bool(url) and not url.startswith("memory://") and not settings.CELERY_TASK_ALWAYS_EAGER


def check_database() -> None:
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2, transport_options={"socket_timeout": 2}) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)


def check_search() -> None:
    import requests

    response = requests.get(
        settings.ELASTICSEARCH_URL.rstrip("/") + "/_cluster/health", timeout=min(3.0, settings.ELASTICSEARCH_TIMEOUT + 1)
    )
    response.raise_for_status()
    if response.json().get("status") == "red":
        raise RuntimeError("cluster status red")


# A failing check in here leaves the instance ready, "degraded": the storefront answers
# searches from the database meanwhile (taking instances out of a load balancer would not help).
DEGRADABLE = {"search"}


def readiness() -> dict[str, str]:
    """Each check's outcome: ok, failed, or not_configured."""
    checks = {
        "database": (True, check_database),
        "broker": (_broker_configured(), check_broker),
        "search": (bool(settings.ELASTICSEARCH_URL), check_search),
    }
    outcome = {}
    for name, (configured, check) in checks.items():
        if not configured:
            outcome[name] = "not_configured"
            continue
        try:
            check()
        except Exception:
            logger.warning("Readiness check %s failed", name, exc_info=True)
            outcome[name] = "degraded" if name in DEGRADABLE else "failed"
        else:
            outcome[name] = "ok"
    return outcome


def health_live(_request=None):
    return JsonResponse({"status": "ok"})


def health_ready(_request=None):
    checks = readiness()
    failed = [name for name, state in checks.items() if state == "failed"]
    degraded = [name for name, state in checks.items() if state == "degraded"]
    body = {"status": "unavailable" if failed else "degraded" if degraded else "ok", "checks": checks, "failed": failed}
    if degraded:
        body["degraded"] = degraded
    return JsonResponse(body, status=503 if failed else 200)


EARLY_ROUTES = {
    "/health/": health_live,
    "/health/live": health_live,
    "/health/live/": health_live,
    "/health/ready": health_ready,
    "/health/ready/": health_ready,
    "/metrics": metrics_view,
    "/metrics/": metrics_view,
}


# --- Unexpected errors ---


def is_database_outage(exc: BaseException) -> bool:
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DatabaseError) and "connection" in type(exc).__name__.lower()
    )


def _mark(flag: str) -> None:
    state = _request_state.get()
    if state is not None:
        state[flag] = True


def unexpected_error(exc: BaseException, *, endpoint: str = "", path=None, locations=None) -> dict:
    """The GraphQL error entry for an exception nobody meant to show: logged in full, answered generically."""
    outage = is_database_outage(exc)
    code = "DATABASE_UNAVAILABLE" if outage else "INTERNAL_ERROR"
    if outage:
        _mark("database_unavailable")
    GRAPHQL_UNEXPECTED_ERRORS.labels(endpoint=endpoint or "unknown", code=code).inc()
    logger.error(
        "Unexpected error in the %s GraphQL API at %s",
        endpoint or "unknown",
        ".".join(str(p) for p in path) if path else "-",
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    if settings.DEBUG:
        message = f"{type(exc).__name__}: {exc}"
    else:
        message = DATABASE_UNAVAILABLE_MESSAGE if outage else GENERIC_ERROR_MESSAGE
    entry: dict = {"message": message}
    if locations:
        entry["locations"] = locations
    if path:
        entry["path"] = list(path)
    entry["extensions"] = {"code": code, "requestId": current_request_id()}
    return entry


def format_graphql_error(error, *, endpoint: str = "") -> dict:
    """An entry of a GraphQL response's `errors`.

    Validation errors and errors raised on purpose (GraphQLError) keep their
    message; an exception that escaped a resolver becomes unexpected_error().
    """
    if not isinstance(error, GraphQLError):
        from graphene_django.views import HttpError

        if isinstance(error, HttpError):  # the view refusing the request itself (no query, wrong method)
            return {"message": str(error)}
        return unexpected_error(error, endpoint=endpoint)
    original = error.original_error
    if original is None or isinstance(original, GraphQLError) or not error.path:
        return error.formatted
    locations = error.formatted.get("locations")
    return unexpected_error(original, endpoint=endpoint, path=error.path, locations=locations)


def graphql_result_payload(result, *, endpoint: str) -> dict:
    """A strawberry execution result as the HTTP payload, errors formatted by format_graphql_error."""
    payload: dict = {"data": result.data}
    if result.errors:
        payload["errors"] = [format_graphql_error(error, endpoint=endpoint) for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


# --- Middleware ---


class ObservabilityMiddleware:
    """Outermost middleware: request id, GraphQL metrics, health and metrics routes, coded errors.

    Health and metrics are answered here, before the host check and the SSL
    redirect, so container health checks and in-cluster scrapes work over plain
    HTTP on any address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request)
        request.request_id = request_id
        id_token = _request_id.set(request_id)
        state_token = _request_state.set({})
        try:
            early = EARLY_ROUTES.get(request.path_info)
            if early is not None:
                response = early(request)
            else:
                response = self._serve(request)
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            _request_state.reset(state_token)
            _request_id.reset(id_token)

    def _serve(self, request):
        endpoint = GRAPHQL_ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        if (_request_state.get() or {}).get("database_unavailable") and response.status_code < 500:
            response.status_code = 503
            response["Retry-After"] = "5"
        if request.method in ("GET", "POST") and not response.get("Content-Type", "").startswith("text/html"):
            operation = graphql_operation_name(request)
            GRAPHQL_REQUESTS.labels(endpoint=endpoint, operation=operation, status=str(response.status_code)).inc()
            GRAPHQL_LATENCY.labels(endpoint=endpoint, operation=operation).observe(time.perf_counter() - started)
        return response

    def process_exception(self, request, exception):
        """An exception that escaped a GraphQL view (e.g. the database down while authenticating)."""
        endpoint = GRAPHQL_ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return None
        entry = unexpected_error(exception, endpoint=endpoint)
        outage = entry["extensions"]["code"] == "DATABASE_UNAVAILABLE"
        response = JsonResponse({"data": None, "errors": [entry]}, status=503 if outage else 500)
        if outage:
            response["Retry-After"] = "5"
        return response
