"""Start the platform in a subprocess with a chosen environment (production guards, outages, logs).

The environment is built from scratch, not inherited, so a setting of the test
run (DEBUG, SECRET_KEY, DATABASE_URL ...) never leaks into what is tested.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def base_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def plugins_without_dummy() -> str:
    return ",".join(path for path in settings.DEFAULT_PLUGINS if not path.startswith("plugins.payments.dummy."))


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A production configuration that passes every guard (DEBUG off, real key, no dummy gateway)."""
    env = base_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="shop.example.com,testserver",
        PLUGINS=plugins_without_dummy(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def run_python(code: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return run([PYTHON, "-c", code], env, timeout)


def manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return run([PYTHON, "manage.py", *args], env, timeout)
