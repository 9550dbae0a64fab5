"""Production guards and the per-installation development secret key.

Imported by the settings module, so it must not import Django models or
anything that needs configured settings.

With DEBUG off the platform refuses to start (ImproperlyConfigured at settings
import, which stops manage.py, gunicorn's workers and Celery alike) when:

- SECRET_KEY is unset, a published development value, or a placeholder;
- ALLOWED_HOSTS contains "*";
- the dummy payment gateway (which "captures" any payment for the token
  "success") is among the configured plugins, unless ALLOW_DUMMY_PAYMENTS is
  set (staging, the served test suite).

With DEBUG on and no SECRET_KEY in the environment, a random key is generated
once per installation into a local, git-ignored file (mode 0600), so no key
published in the repository ever signs tokens or document links.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

# Keys that were published (in this repository or Django's own templates) or are
# obviously placeholders: never acceptable with DEBUG off.
PUBLISHED_SECRET_KEYS = frozenset({"insecure-development-key-change-me", "change-me", "changeme", "secret"})
PLACEHOLDER_PREFIXES = ("django-insecure-", "change-me", "changeme", "replace-me")
DUMMY_GATEWAY_MODULE = "plugins.payments.dummy."


def development_secret_key(path: Path) -> str:
    """The key in `path`, created there (random, mode 0600) on first use.

    Safe when several processes start at once (xdist workers, gunicorn workers):
    the key is written to a temporary file and linked into place, so a reader
    never sees a half-written file and exactly one key wins.
    """
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process linked its key first; use that one
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def is_unsafe_secret_key(key: str) -> bool:
    value = (key or "").strip()
    lowered = value.lower()
    return (
        not value
        or lowered in PUBLISHED_SECRET_KEYS
        or lowered.startswith(PLACEHOLDER_PREFIXES)
        or len(value) < 32
        or len(set(value)) < 5
    )


def production_problems(
    *, secret_key: str, allowed_hosts: Iterable[str], plugins: Iterable[str], allow_dummy_payments: bool
) -> list[str]:
    """What makes this configuration unsafe to serve with DEBUG off (empty when it is fine)."""
    problems = []
    if is_unsafe_secret_key(secret_key):
        problems.append(
            "SECRET_KEY must be set to a long random value of your own (at least 32 characters; "
            "for example: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    hosts = list(allowed_hosts)
    if "*" in hosts:
        problems.append("ALLOWED_HOSTS must list the site's host names, not '*'.")
    if not hosts:
        problems.append("ALLOWED_HOSTS must list the site's host names.")
    dummy = [path for path in plugins if path.startswith(DUMMY_GATEWAY_MODULE)]
    if dummy and not allow_dummy_payments:
        problems.append(
            "The dummy payment gateway (plugins.payments.dummy) accepts any payment: remove it from PLUGINS, "
            "or set ALLOW_DUMMY_PAYMENTS=1 on a staging instance."
        )
    return problems


def refusal_message(problems: list[str]) -> str:
    return "Refusing to start with DEBUG off:\n" + "\n".join(f"  - {problem}" for problem in problems)
