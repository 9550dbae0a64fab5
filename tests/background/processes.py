"""Real processes for the background tests: a database they share with the test, and the commands
of the README (celery worker and beat, `make serve`) started as subprocesses.

The database is not pytest's (which lives inside one test's transaction): a temporary SQLite file,
or a fresh PostgreSQL database next to DATABASE_URL's when that is set, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# Long enough for any honest run on a busy 2-core machine; the wait ends as soon as the work is seen.
WAIT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SharedDatabase:
    """A migrated database for subprocesses: `url` goes into their DATABASE_URL."""

    def __init__(self, workdir: Path, *, sqlite: bool = False):
        self.workdir = workdir
        base = "" if sqlite else os.environ.get("DATABASE_URL", "")
        self.name = None
        if base.startswith(("postgres://", "postgresql://")):
            import psycopg

            config = dj_database_url.parse(base)
            self.name = f"{config['NAME']}_bg_{uuid.uuid4().hex[:10]}"
            self._admin = {
                "host": config["HOST"] or "127.0.0.1",
                "port": config["PORT"] or 5432,
                "user": config["USER"],
                "password": config["PASSWORD"],
                "dbname": "postgres",
            }
            with psycopg.connect(**self._admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = base.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.url = f"sqlite:///{workdir / 'shared.sqlite3'}"

    def drop(self) -> None:
        if self.name:
            import psycopg

            with psycopg.connect(**self._admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def base_env(database: SharedDatabase, workdir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # pytest-xdist's and pytest-django's own variables stay out of the processes.
        if not key.startswith(("PYTEST_", "CELERY_", "PERIODIC_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL=database.url,
        MEDIA_ROOT=str(workdir / "media"),
        SCENARIO_DIR=str(workdir),
        CELERY_BEAT_SCHEDULE_FILENAME=str(workdir / "celerybeat-schedule"),
        # The fast hasher of the test suite: seeding makes users.
        PASSWORD_HASHERS="django.contrib.auth.hashers.MD5PasswordHasher",
        PLUGINS="plugins.logistics.table_rate.TableRateCarrierPlugin,plugins.payments.dummy.DummyGatewayPlugin",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def migrate(env: dict[str, str]) -> None:
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env)


def scenario(step: str, env: dict[str, str]) -> dict:
    return json.loads(run([PYTHON, "-m", "tests.background.scenario", step], env).stdout.strip().splitlines()[-1])


class Process:
    """A command in its own process group, its output in a log file; stop() ends the whole group."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], workdir: Path):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def group_alive(self) -> bool:
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.popen.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, signum: int = signal.SIGTERM, wait: float = 30) -> None:
        if self.alive():
            self.signal_group(signum)
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        # Whatever of this group is left (a worker's pool children) goes too.
        deadline = time.monotonic() + wait
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.signal_group(signal.SIGKILL)
        if self.alive():
            self.popen.wait(timeout=10)
        self._log.close()


def wait_for(
    probe: Callable[[], object], done: Callable[[object], bool], *, processes: list[Process], what: str,
    seconds: float = WAIT_SECONDS,
):
    """Poll probe() until done(its answer); fail with the processes' logs when that never comes or a
    process died. Returns the last answer."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if done(last):
            return last
        if any(not p.alive() for p in processes):
            break
        time.sleep(1)
    logs = "\n".join(
        f"--- {p.name} ({'running' if p.alive() else f'exited {p.popen.returncode}'}):\n{p.log[-6000:]}"
        for p in processes
    )
    raise AssertionError(f"{what}: not seen (last: {last!r})\n{logs}")
