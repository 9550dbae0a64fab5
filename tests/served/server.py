"""A real marketplace process for end-to-end tests: gunicorn workers on a fresh database.

Nothing here runs inside pytest-django's test transaction: the instance is a separate
gunicorn master with its own worker processes, talking to its own database (a temp
SQLite file, or a fresh PostgreSQL database when DATABASE_URL is set), so every request
commits for real and concurrent requests meet the real locks.

    instance = ServedInstance({"ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT": "0"})
    instance.start()
    status, body = instance.graphql("query { me { email } }", token=token)
    instance.manage("populatedb", "--only", "categories")
    instance.stop()

The web command is the production one: ``gunicorn --config backend/gunicorn.conf.py
backend.wsgi:application``; it binds port 0 and the port the OS picked is read from
gunicorn's "Listening at" line, so parallel workers never collide.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = shutil.which("gunicorn", path=str(Path(PYTHON).parent)) or shutil.which("gunicorn")
WEB_COMMAND = ["--config", "backend/gunicorn.conf.py", "backend.wsgi:application"]

STARTUP_TIMEOUT = 60
REQUEST_TIMEOUT = 60
LISTENING = re.compile(r"Listening at: (http://\S+)")

# Settings of the parent process that must not leak into the instance: it gets its own.
_OWN_SETTINGS = {
    "DATABASE_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "ALLOW_DUMMY_PAYMENTS",
    "SECURE_SSL_REDIRECT",
    "MEDIA_ROOT",
    "PRIVATE_MEDIA_ROOT",
    "STATIC_ROOT",
    "DJANGO_SETTINGS_MODULE",
    "PYTHONPATH",
    "PORT",
    "GUNICORN_BIND",
    "WEB_CONCURRENCY",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CELERY_TASK_ALWAYS_EAGER",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_CURRENT_TEST",
    "PYTEST_ADDOPTS",
}


class ServedStartError(RuntimeError):
    """The instance did not come up; the message carries the server log."""


class GunicornUnavailable(ServedStartError):
    """gunicorn is missing or could not listen at all: the served tests are skipped, not failed."""


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class _Database:
    """A fresh database for one instance: a temp SQLite file, or a new PostgreSQL database."""

    def __init__(self, workdir: Path, parent_url: str | None):
        self.parent_url = parent_url
        self.name: str | None = None
        if parent_url and parent_url.startswith(("postgres://", "postgresql://", "pgsql://")):
            import dj_database_url

            self.params = dj_database_url.parse(parent_url)
            self.name = f"served_{_worker_id()}_{secrets.token_hex(4)}".lower()
            self.url = self._url_for(parent_url, self.name)
        else:
            self.params = None
            self.url = f"sqlite:///{workdir / 'db.sqlite3'}"

    @staticmethod
    def _url_for(url: str, name: str) -> str:
        base, _, query = url.partition("?")
        scheme_host, _, _old = base.rpartition("/")
        return f"{scheme_host}/{name}" + (f"?{query}" if query else "")

    def _admin(self):
        import psycopg

        p = self.params
        return psycopg.connect(
            host=p.get("HOST") or None,
            port=p.get("PORT") or None,
            user=p.get("USER") or None,
            password=p.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        )

    def create(self) -> None:
        if self.name:
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.name:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


_STARTED: set = set()


@atexit.register
def _stop_leftovers() -> None:
    # An interrupted session still stops its servers and drops their databases.
    for instance in list(_STARTED):
        instance.stop()


class ServedInstance:
    """One gunicorn master (2 workers by default) serving the platform with DEBUG off."""

    def __init__(self, extra_env: dict | None = None, *, workers: int = 2, parent_database_url: str | None = None):
        self.workdir = Path(tempfile.mkdtemp(prefix=f"served-{_worker_id()}-"))
        parent = parent_database_url if parent_database_url is not None else os.environ.get("DATABASE_URL")
        self._database = _Database(self.workdir, parent)
        self.database_url = self._database.url
        self.media_root = self.workdir / "media"
        self.media_root.mkdir()
        self.log_path = self.workdir / "gunicorn.log"
        self.secret_key = secrets.token_urlsafe(48)
        env = {key: value for key, value in os.environ.items() if key not in _OWN_SETTINGS}
        env.update(
            {
                "PYTHONPATH": str(REPO_ROOT),
                "DJANGO_SETTINGS_MODULE": "backend.settings",
                "DATABASE_URL": self.database_url,
                "DEBUG": "0",
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "ALLOW_DUMMY_PAYMENTS": "1",
                "SECURE_SSL_REDIRECT": "0",
                "MEDIA_ROOT": str(self.media_root),
                # Private files (documents, evidence) live apart from MEDIA_ROOT (backend/core/storage.py).
                "PRIVATE_MEDIA_ROOT": str(self.workdir / "private-media"),
                "STATIC_ROOT": str(self.workdir / "static"),
                "GUNICORN_BIND": "127.0.0.1:0",
                "WEB_CONCURRENCY": str(workers),
                # A cheap hasher: sign-in speed is not what these tests measure, and the CPU is shared.
                "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
                # Every served test registers its accounts from 127.0.0.1: the per-address cap on
                # registration and reset requests (10 an hour) would refuse them part-way through.
                # Tests of that cap start an instance with their own value.
                "ACCOUNT_EMAIL_REQUESTS_PER_CLIENT": "100000",
                # Module-wide fixtures sign their accounts in once; on a loaded machine a module can
                # outlast the 5-minute access token. Tests of expiry start an instance with their own.
                "JWT_ACCESS_TTL_SECONDS": "3600",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update({key: str(value) for key, value in (extra_env or {}).items()})
        self.env: dict[str, str] = env
        self.base_url = ""
        self.core_url = ""
        self.storefront_url = ""
        self._process: subprocess.Popen | None = None
        self._log_file = None
        self._local = threading.local()
        self._database_created = False

    # --- lifecycle ---

    def start(self) -> ServedInstance:
        if not GUNICORN:
            raise GunicornUnavailable("gunicorn is not installed next to the test interpreter")
        self._database.create()
        self._database_created = True
        _STARTED.add(self)
        migrate = self.manage("migrate", "--noinput")
        if migrate.returncode != 0:
            raise ServedStartError(f"manage.py migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
        self._log_file = open(self.log_path, "ab")
        self._process = subprocess.Popen(
            [GUNICORN, *WEB_COMMAND],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_listening()
        self._wait_until_answering()
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = LISTENING.search(self.log())
            if match:
                self.base_url = match.group(1).rstrip("/")
                self.core_url = f"{self.base_url}/graphql/"
                self.storefront_url = f"{self.base_url}/storefront/graphql/"
                return
            if self._process.poll() is not None:
                raise GunicornUnavailable(f"gunicorn exited before listening:\n{self.log()}")
            time.sleep(0.1)
        raise GunicornUnavailable(f"gunicorn did not listen within {STARTUP_TIMEOUT}s:\n{self.log()}")

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServedStartError(f"gunicorn exited (code {self._process.returncode}):\n{self.log()}")
            try:
                status, body = self.graphql("query Ping { __typename }")
                if status == 200 and body.get("data", {}).get("__typename"):
                    return
                last = (status, body)
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.2)
        raise ServedStartError(f"the instance did not answer within {STARTUP_TIMEOUT}s ({last!r}):\n{self.log()}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        if self._database_created:
            self._database.drop()
            self._database_created = False
        shutil.rmtree(self.workdir, ignore_errors=True)
        _STARTED.discard(self)

    def __enter__(self) -> ServedInstance:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return bool(self._process) and self._process.poll() is None

    def log(self, since: int = 0) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(since)
                return handle.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    # --- HTTP ---

    def _session(self) -> requests.Session:
        # One connection pool per thread: concurrent tests send from several threads at once.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def post(self, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict, bytes]:
        response = self._session().post(self.url(path), data=body, headers=headers or {}, timeout=REQUEST_TIMEOUT)
        return response.status_code, dict(response.headers), response.content

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        response = self._session().get(self.url(path), headers=headers or {}, timeout=REQUEST_TIMEOUT)
        return response.status_code, dict(response.headers), response.content

    def _endpoint(self, endpoint: str) -> str:
        if endpoint == "core":
            return "/graphql/"
        if endpoint == "storefront":
            return "/storefront/graphql/"
        raise ValueError(f"unknown endpoint {endpoint!r} (core or storefront)")

    @staticmethod
    def _auth(token: str | None, headers: dict | None) -> dict:
        merged = dict(headers or {})
        if token:
            merged["Authorization"] = f"Bearer {token}"
        return merged

    def graphql(
        self,
        query: str,
        variables: dict | None = None,
        *,
        endpoint: str = "core",
        token: str | None = None,
        headers: dict | None = None,
    ) -> tuple[int, dict]:
        request_headers = {"Content-Type": "application/json", **self._auth(token, headers)}
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        status, _headers, content = self.post(self._endpoint(endpoint), body, request_headers)
        return status, _json_or_text(content)

    def graphql_multipart(
        self,
        query: str,
        variables: dict,
        files: dict[str, tuple[str, bytes, str]],
        *,
        endpoint: str = "core",
        token: str | None = None,
        headers: dict | None = None,
    ) -> tuple[int, dict]:
        """GraphQL multipart request spec: ``files`` maps a variables path to (name, bytes, content type)."""
        file_map = {str(index): [path] for index, path in enumerate(files)}
        parts = {
            "operations": (None, json.dumps({"query": query, "variables": variables}), "application/json"),
            "map": (None, json.dumps(file_map), "application/json"),
        }
        for index, upload in enumerate(files.values()):
            parts[str(index)] = upload
        response = self._session().post(
            self.url(self._endpoint(endpoint)),
            files=parts,
            headers=self._auth(token, headers),
            timeout=REQUEST_TIMEOUT,
        )
        return response.status_code, _json_or_text(response.content)

    # --- management commands ---

    def manage(self, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run manage.py against this instance's database and settings."""
        return subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=REPO_ROOT,
            env={**self.env, **{k: str(v) for k, v in (env or {}).items()}},
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _json_or_text(content: bytes) -> dict:
    try:
        return json.loads(content)
    except ValueError:
        return {"_text": content.decode("utf-8", "replace")[:4000]}


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
