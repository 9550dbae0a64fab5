"""Request ids, Prometheus metrics, JSON logs and the generic answer to unexpected errors."""

import json
import re
from decimal import Decimal

import pytest
from celery import shared_task
from moneyed import Money
from prometheus_client.parser import text_string_to_metric_families

from backend.core import observability
from backend.finance import accounts
from backend.finance.ledger import post_transaction
from backend.finance.models import TransactionKind

from .processes import production_env, run_python
from .test_health import closed_port

pytestmark = pytest.mark.django_db


def metric(client, name: str, **labels) -> float:
    """The current value of one sample of /metrics (0 when it was never recorded)."""
    text = client.get("/metrics").content.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def post_graphql(client, path, query, **headers):
    return client.post(path, {"query": query}, content_type="application/json", **headers)


# --- Request id ---


def test_a_sane_request_id_is_echoed(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="edge-7f3a.42")
    assert response["X-Request-ID"] == "edge-7f3a.42"


def test_a_missing_or_odd_request_id_is_replaced(client):
    generated = client.get("/graphql/", HTTP_ACCEPT="application/json")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    odd = client.get("/health/live", HTTP_X_REQUEST_ID="x" * 500 + "\n")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)
    assert odd != generated


# --- Metrics ---


@pytest.mark.parametrize(("path", "endpoint"), [("/graphql/", "core"), ("/storefront/graphql/", "storefront")])
def test_requests_are_counted_by_endpoint_and_operation_name(client, path, endpoint):
    labels = {"endpoint": endpoint, "operation": "CategoryTree", "status": "200"}
    before = metric(client, "marketplace_graphql_requests_total", **labels)
    latency_before = metric(
        client, "marketplace_graphql_request_duration_seconds_count", endpoint=endpoint, operation="CategoryTree"
    )
    for _ in range(2):
        assert post_graphql(client, path, "query CategoryTree { categories { name } }").status_code == 200
    assert metric(client, "marketplace_graphql_requests_total", **labels) == before + 2
    assert (
        metric(client, "marketplace_graphql_request_duration_seconds_count", endpoint=endpoint, operation="CategoryTree")
        == latency_before + 2
    )


def test_operation_name_field_wins_and_anonymous_operations_are_grouped(client):
    named = {"endpoint": "core", "operation": "Chosen", "status": "200"}
    anonymous = {"endpoint": "core", "operation": "anonymous", "status": "200"}
    before_named = metric(client, "marketplace_graphql_requests_total", **named)
    before_anonymous = metric(client, "marketplace_graphql_requests_total", **anonymous)
    body = {"query": "query Other { __typename } query Chosen { __typename }", "operationName": "Chosen"}
    assert client.post("/graphql/", body, content_type="application/json").status_code == 200
    assert post_graphql(client, "/graphql/", "{ __typename }").status_code == 200
    assert metric(client, "marketplace_graphql_requests_total", **named) == before_named + 1
    assert metric(client, "marketplace_graphql_requests_total", **anonymous) == before_anonymous + 1


def test_invented_operation_names_cannot_grow_the_metrics_without_bound(monkeypatch):
    monkeypatch.setattr(observability, "_seen_operations", set())
    monkeypatch.setattr(observability, "MAX_OPERATION_NAMES", 3)
    assert [observability._operation_label(f"Op{i}") for i in range(5)] == ["Op0", "Op1", "Op2", "other", "other"]
    assert observability._operation_label("Op1") == "Op1"
    assert observability._operation_label("not a name!") == "invalid"


def test_ledger_postings_are_counted_once_committed(client, django_capture_on_commit_callbacks):
    labels = {"kind": TransactionKind.ADJUSTMENT, "currency": "CNY"}
    count_before = metric(client, "marketplace_ledger_postings_total", **labels)
    amount_before = metric(client, "marketplace_ledger_posted_amount_total", currency="CNY")
    entries = [(accounts.GATEWAY, -Money(Decimal("12.34"), "CNY")), (accounts.ESCROW, Money(Decimal("12.34"), "CNY"))]
    with django_capture_on_commit_callbacks(execute=True):
        post_transaction(idempotency_key="metrics-1", kind=TransactionKind.ADJUSTMENT, entries=entries)
    with django_capture_on_commit_callbacks(execute=True):
        # A replay of the same key moves nothing and is not counted again.
        post_transaction(idempotency_key="metrics-1", kind=TransactionKind.ADJUSTMENT, entries=entries)
    assert metric(client, "marketplace_ledger_postings_total", **labels) == count_before + 1
    assert metric(client, "marketplace_ledger_posted_amount_total", currency="CNY") == pytest.approx(
        amount_before + 12.34
    )


@shared_task(name="tests.platform.succeeds")
def succeeds():
    return "done"


@shared_task(name="tests.platform.fails")
def fails():
    raise RuntimeError("task failed on purpose")


def test_task_runs_and_failures_are_counted_by_task_name(client):
    ok_before = metric(client, "marketplace_celery_task_runs_total", task="tests.platform.succeeds", outcome="succeeded")
    failed_before = metric(client, "marketplace_celery_task_failures_total", task="tests.platform.fails")
    succeeds.apply()
    succeeds.apply()
    fails.apply(throw=False)  # the failure stays in the result, as in a worker
    assert (
        metric(client, "marketplace_celery_task_runs_total", task="tests.platform.succeeds", outcome="succeeded")
        == ok_before + 2
    )
    assert metric(client, "marketplace_celery_task_failures_total", task="tests.platform.fails") == failed_before + 1
    assert metric(client, "marketplace_celery_task_runs_total", task="tests.platform.fails", outcome="succeeded") == 0


def test_metrics_token_guards_the_scrape(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200 and b"marketplace_graphql_requests_total" in response.content


def test_multiprocess_metrics_add_up_across_processes(tmp_path):
    """Under gunicorn every worker is a process: /metrics in any one of them reports all of them."""
    env = production_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"), SECURE_SSL_REDIRECT="0")
    (tmp_path / "prometheus").mkdir()
    assert run_python("import django; django.setup(); from django.core.management import call_command; "
                      "call_command('migrate', verbosity=0)", env).returncode == 0
    request = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().post('/graphql/', {'query': 'query FromWorker { __typename }'}, content_type='application/json')\n"
        "assert r.status_code == 200, r.content\n"
    )
    for _ in range(2):
        result = run_python(request, env)
        assert result.returncode == 0, result.stderr
    scrape = "import django; django.setup()\nfrom django.test import Client\nprint(Client().get('/metrics').content.decode())"
    result = run_python(scrape, env)
    assert result.returncode == 0, result.stderr
    values = [
        sample.value
        for family in text_string_to_metric_families(result.stdout)
        for sample in family.samples
        if sample.name == "marketplace_graphql_requests_total" and sample.labels.get("operation") == "FromWorker"
    ]
    assert values == [2.0]


# --- Unexpected errors ---


class Exploding:
    """Stands in for a models module: any query through it raises, carrying internal details."""

    def __getattr__(self, _name):
        return self

    def __call__(self, *args, **kwargs):
        raise RuntimeError("secret detail: db.internal:5432 user=marketplace")


@pytest.fixture
def broken_category_resolvers(monkeypatch):
    import backend.graphql.catalog.schema as core_catalog
    import storefront_api.catalog as storefront_catalog

    monkeypatch.setattr(core_catalog, "models", Exploding())
    monkeypatch.setattr(storefront_catalog, "models", Exploding())


@pytest.mark.parametrize("path", ["/graphql/", "/storefront/graphql/"])
def test_an_unexpected_error_answers_a_generic_message_with_the_request_id(client, settings, path, broken_category_resolvers):
    settings.DEBUG = False
    response = post_graphql(client, path, "query Tree { categories { name } }", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 200
    body = response.json()
    assert "secret detail" not in response.content.decode() and "5432" not in response.content.decode()
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-123"}
    assert error["message"] == observability.GENERIC_ERROR_MESSAGE
    assert "服务器内部错误" in error["message"]
    assert error["path"] == ["categories"]


def test_with_debug_on_developers_see_the_exception(client, settings, broken_category_resolvers):
    settings.DEBUG = True
    error = post_graphql(client, "/graphql/", "{ categories { name } }").json()["errors"][0]
    assert "secret detail" in error["message"]
    assert error["extensions"]["code"] == "INTERNAL_ERROR"


@pytest.mark.parametrize("path", ["/graphql/", "/storefront/graphql/"])
def test_validation_errors_keep_their_message(client, path):
    error = post_graphql(client, path, "{ noSuchField }").json()["errors"][0]
    assert "noSuchField" in error["message"]
    assert "INTERNAL_ERROR" not in json.dumps(error)


def test_refused_requests_keep_their_message(client):
    response = client.get("/graphql/", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": "Must provide query string."}]


def test_database_outage_answers_a_coded_503_without_driver_details(tmp_path):
    """PostgreSQL configured on a port where nothing listens; the JSON log line carries the request id."""
    pytest.importorskip("psycopg")
    port = closed_port()
    env = production_env(
        tmp_path,
        DATABASE_URL=f"postgres://marketplace:pw@127.0.0.1:{port}/down",
        SECURE_SSL_REDIRECT="0",
        LOG_FORMAT="json",
    )
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(raise_request_exception=False)\n"
        "for path in ('/graphql/', '/storefront/graphql/'):\n"
        "    r = c.post(path, {'query': 'query Tree { categories { name } }'}, content_type='application/json',\n"
        "               HTTP_X_REQUEST_ID='outage-' + path.strip('/').replace('/', '-'))\n"
        "    print(json.dumps([path, r.status_code, r['X-Request-ID'], r.content.decode()]))\n"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        path, status, request_id, content = json.loads(line)
        assert status == 503, content
        assert str(port) not in content and "127.0.0.1" not in content and "connection" not in content.lower()
        error = json.loads(content)["errors"][0]
        assert error["extensions"] == {"code": "DATABASE_UNAVAILABLE", "requestId": request_id}
    # Every log line is one JSON object; the error's lines name the request they belong to.
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert records and len(records) == len([line for line in result.stderr.splitlines() if line.strip()])
    logged = [r for r in records if r.get("request_id") == "outage-graphql" and r["level"] == "ERROR"]
    assert logged and "exc_info" in logged[0] and str(port) in logged[0]["exc_info"]


# --- A real worker ---


def test_a_worker_serves_the_metrics_of_its_task_processes(tmp_path):
    """celery worker (prefork: tasks run in a child process) with CELERY_METRICS_PORT, through Redis."""
    import os
    import subprocess
    import time
    import urllib.request
    import uuid

    import redis
    from celery import Celery

    from .processes import PYTHON

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {url} ({error})")
    queue = f"metrics-{uuid.uuid4().hex}"
    port = closed_port()
    (tmp_path / "prometheus").mkdir()
    env = production_env(
        tmp_path,
        ALLOW_DUMMY_PAYMENTS="1",
        CELERY_BROKER_URL=url,
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_METRICS_PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    args = [PYTHON, "-m", "celery", "-A", "backend", "worker", "-l", "INFO", "-c", "1", "-Q", queue,
            "--include", "tests.platform.worker_tasks", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    # Not the current app: shared tasks called later in this process must keep using the project's
    # app (eager on the test settings), not this sender's broker.
    sender = Celery(broker=url, set_as_current=False)
    try:
        for name in ("tests.platform.worker_succeeds", "tests.platform.worker_succeeds", "tests.platform.worker_fails"):
            sender.send_task(name, queue=queue)

        def samples() -> dict:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                text = response.read().decode()
            return {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
            }

        wanted = {
            ("marketplace_celery_task_runs_total", (("outcome", "succeeded"), ("task", "tests.platform.worker_succeeds"))): 2.0,
            ("marketplace_celery_task_failures_total", (("task", "tests.platform.worker_fails"),)): 1.0,
        }
        seen: dict = {}
        deadline = time.monotonic() + 90  # a wait for the worker, not a measurement
        while time.monotonic() < deadline and worker.poll() is None:
            try:
                seen = samples()
            except OSError:
                seen = {}
            if all(seen.get(key) == value for key, value in wanted.items()):
                break
            time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert all(seen.get(key) == value for key, value in wanted.items()), output[-4000:]
        # The worker logs one JSON object per line (the startup banner aside), task lines under the task's id.
        task_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"task-' in line]
        assert task_lines and all(record["request_id"].startswith("task-") for record in task_lines)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        redis.Redis.from_url(url).delete(queue)
