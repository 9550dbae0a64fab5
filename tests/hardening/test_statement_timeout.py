"""The production database statement timeout (settings.DATABASE_STATEMENT_TIMEOUT_MS).

Settings are read once per process, so each case runs a fresh interpreter with the
environment under test.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "statement-timeout-test-key-0123456789",
    "ALLOWED_HOSTS": "testserver",
    "ALLOW_DUMMY_PAYMENTS": "1",
    "SECURE_SSL_REDIRECT": "0",
}
POSTGRES_URL = "postgres://user:secret@127.0.0.1:5432/somewhere"


def run(code: str, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "backend.settings", **env}
    if "DATABASE_STATEMENT_TIMEOUT_MS" not in env:
        environment.pop("DATABASE_STATEMENT_TIMEOUT_MS", None)
    return subprocess.run([sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def database_options(**env) -> dict:
    done = run("import django, json; django.setup(); from django.conf import settings; "
               "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))", **env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_on_postgresql_has_a_30_second_statement_timeout():
    assert database_options(**PRODUCTION, DATABASE_URL=POSTGRES_URL)["options"] == "-c statement_timeout=30000"


def test_the_timeout_comes_from_the_environment_and_keeps_other_options():
    options = database_options(
        **PRODUCTION, DATABASE_URL=POSTGRES_URL + "?options=-c%20search_path%3Dshop", DATABASE_STATEMENT_TIMEOUT_MS="500"
    )
    assert options["options"] == "-c search_path=shop -c statement_timeout=500"
    assert "options" not in database_options(**PRODUCTION, DATABASE_URL=POSTGRES_URL, DATABASE_STATEMENT_TIMEOUT_MS="0")


def test_development_and_sqlite_have_none():
    assert "options" not in database_options(DEBUG="1", DATABASE_URL=POSTGRES_URL)
    assert "options" not in database_options(**PRODUCTION, DATABASE_URL="sqlite:////tmp/statement-timeout.sqlite3")


def test_a_statement_over_the_timeout_is_cancelled_on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI does)")
    params = connection.settings_dict  # the test database of this worker
    url = f"postgres://{quote(params['USER'])}:{quote(params['PASSWORD'])}@{params['HOST']}:{params['PORT']}/{params['NAME']}"
    code = (
        "import django; django.setup()\n"
        "from django.db import connection, OperationalError\n"
        "from django.db.utils import DatabaseError\n"
        "cursor = connection.cursor()\n"
        "cursor.execute('SELECT pg_sleep(0.05)')\n"
        "try:\n"
        "    cursor.execute('SELECT pg_sleep(5)')\n"
        "except DatabaseError as error:\n"
        "    print('cancelled:', error)\n"
    )
    done = run(code, **PRODUCTION, DATABASE_URL=url, DATABASE_STATEMENT_TIMEOUT_MS="300")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cancelled:" in done.stdout and "statement timeout" in done.stdout
