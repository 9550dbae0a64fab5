"""A development server (DEBUG on, a temporary SQLite database) for the GraphiQL page checks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATEGORY_NAME = "Offline Longjing tea"


@dataclass
class DevServer:
    base_url: str

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.base_url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _wait_until_up(process: subprocess.Popen, url: str, log: Path) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/health/", timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"the development server did not answer: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def dev_server():
    """`manage.py runserver` on a free port, DEBUG on, its own migrated SQLite database (per xdist worker)."""
    workdir = Path(tempfile.mkdtemp(prefix="graphiql-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "GRAPHIQL_ENABLED": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "shell", "-c", f"from backend.catalog.models import Category; Category.objects.create(name={CATEGORY_NAME!r})")
    log = workdir / "server.log"
    process = None
    try:
        for _attempt in range(3):  # the free port may be taken between asking for it and binding it
            port = _free_port()
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                )
            if _wait_until_up(process, f"http://127.0.0.1:{port}", log):
                break
        else:
            raise RuntimeError(f"the development server did not start: {log.read_text()[-2000:]}")
        yield DevServer(base_url=f"http://127.0.0.1:{port}")
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
