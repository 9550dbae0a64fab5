"""/health/live, /health/ready (database, broker, search) and the old /health/."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .processes import production_env, run_python

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fake_search():
    """A stand-in for Elasticsearch's /_cluster/health on a free port; set .status to change the answer."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"cluster_name": "test", "status": server.status}).encode()
            self.send_response(200 if self.path.startswith("/_cluster/health") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.status = "green"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/health/", "/health/live", "/health/live/"])
def test_live_answers_while_the_process_runs(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_answers_on_any_host_and_over_plain_http(client, settings):
    # Container health checks and probes come from inside the network, by IP, without TLS.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    assert client.get("/health/live", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/health/ready", HTTP_HOST="10.1.2.3:8000").status_code == 200
    # ... while everything else keeps both protections.
    assert client.get("/graphql/", HTTP_HOST="10.1.2.3:8000").status_code == 400
    assert client.get("/graphql/", HTTP_HOST="shop.example.com").status_code == 301


def test_ready_checks_the_database_and_skips_what_is_not_configured(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "not_configured", "search": "not_configured"},
        "failed": [],
    }


def test_ready_names_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"] and body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"


def test_ready_with_a_running_redis_broker(client, settings):
    import os

    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {url} ({error})")
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["broker"] == "ok"


def test_ready_checks_search_when_configured(client, settings, fake_search):
    settings.ELASTICSEARCH_URL = fake_search.url
    assert client.get("/health/ready").json()["checks"]["search"] == "ok"

    # Search down leaves the instance ready: the storefront answers from the database meanwhile.
    fake_search.status = "red"
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["checks"]["search"], body["failed"], body["degraded"]) == (
        "degraded", "degraded", [], ["search"]
    )

    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{closed_port()}"
    response = client.get("/health/ready")
    assert response.status_code == 200 and response.json()["degraded"] == ["search"]


def test_ready_names_the_database_when_it_is_down(tmp_path):
    """A real outage: PostgreSQL configured on a port where nothing listens."""
    pytest.importorskip("psycopg")
    port = closed_port()
    env = production_env(tmp_path, DATABASE_URL=f"postgres://marketplace:pw@127.0.0.1:{port}/down", SECURE_SSL_REDIRECT="0")
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "for path in ('/health/live', '/health/ready'):\n"
        "    r = c.get(path)\n"
        "    print(json.dumps([path, r.status_code, r.json()]))\n"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    answers = {path: (status, body) for path, status, body in map(json.loads, result.stdout.splitlines())}
    assert answers["/health/live"] == (200, {"status": "ok"})
    status, body = answers["/health/ready"]
    assert status == 503
    assert body["failed"] == ["database"] and body["checks"]["database"] == "failed"
    assert str(port) not in json.dumps(body)
