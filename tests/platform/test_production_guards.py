"""With DEBUG off the platform refuses to start on an unsafe configuration, whatever starts it.

Each case runs in a fresh subprocess: the refusal happens while the settings
load, so manage.py (runserver, migrate, check), gunicorn's workers (which load
backend.wsgi) and Celery (which loads the Django settings) all stop with the
same message.
"""

import os
import stat

import pytest
from django.conf import settings

from backend.core.production import PUBLISHED_SECRET_KEYS, is_unsafe_secret_key

from .processes import PYTHON, base_env, manage, plugins_without_dummy, production_env, run, run_python

REFUSAL = "Refusing to start with DEBUG off"


def test_a_safe_production_configuration_starts(tmp_path):
    result = manage("check", env=production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert REFUSAL not in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "insecure-development-key-change-me"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "django-insecure-" + "k" * 50}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short-key"}, "SECRET_KEY must be set"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must list the site's host names, not '*'"),
        ({"ALLOWED_HOSTS": "shop.example.com,*"}, "not '*'"),
        ({"PLUGINS": None}, "The dummy payment gateway (plugins.payments.dummy) accepts any payment"),
        ({"PLUGINS": "plugins.payments.dummy.DummyGatewayPlugin"}, "ALLOW_DUMMY_PAYMENTS=1"),
    ],
)
def test_manage_py_refuses_an_unsafe_configuration(tmp_path, change, message):
    env = production_env(tmp_path)
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    result = manage("check", env=env)
    assert result.returncode != 0
    assert REFUSAL in result.stderr and message in result.stderr, result.stderr


def test_every_problem_is_named_at_once(tmp_path):
    env = production_env(tmp_path, ALLOWED_HOSTS="*")
    env.pop("SECRET_KEY")
    env.pop("PLUGINS")
    result = manage("check", env=env)
    assert result.returncode != 0
    for message in ("SECRET_KEY must be set", "not '*'", "plugins.payments.dummy"):
        assert message in result.stderr


@pytest.mark.parametrize(
    "entry_point",
    [
        ["manage.py", "runserver", "--noreload", "127.0.0.1:0"],
        ["-c", "from backend.wsgi import application"],  # what gunicorn's workers import
        ["-m", "celery", "-A", "backend", "worker", "-l", "INFO", "--pool", "solo"],
        ["-m", "gunicorn", "--config", "backend/gunicorn.conf.py", "backend.wsgi:application"],  # the web command
    ],
    ids=["runserver", "wsgi", "celery-worker", "gunicorn"],
)
def test_each_process_refuses_the_dummy_gateway(tmp_path, entry_point):
    env = production_env(tmp_path, CELERY_BROKER_URL="memory://", GUNICORN_BIND="127.0.0.1:0", WEB_CONCURRENCY="1")
    env.pop("PLUGINS")
    result = run([PYTHON, *entry_point], env, timeout=60)
    assert result.returncode != 0
    assert "plugins.payments.dummy" in result.stderr, result.stderr[-3000:]


def test_the_dummy_gateway_is_allowed_on_staging(tmp_path):
    env = production_env(tmp_path, ALLOW_DUMMY_PAYMENTS="1")
    env.pop("PLUGINS")
    result = run_python(
        "import django; django.setup(); from django.conf import settings; "
        "print([p for p in settings.PLUGINS if 'dummy' in p])",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert "plugins.payments.dummy.DummyGatewayPlugin" in result.stdout


def test_check_deploy_is_clean_for_production(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_https_is_switched_off(tmp_path):
    # The clean result above is not a given: turning the protections off is reported.
    env = production_env(tmp_path, SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012"):
        assert check in result.stdout + result.stderr


# --- The development key ---


def _development_key(key_file) -> str:
    env = base_env(DEBUG="1", SECRET_KEY_FILE=str(key_file))
    result = run_python("import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)", env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_development_key_is_generated_once_per_installation(tmp_path):
    key_file = tmp_path / "install-a" / ".secret_key"
    first = _development_key(key_file)
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert not is_unsafe_secret_key(first) and first not in PUBLISHED_SECRET_KEYS
    assert _development_key(key_file) == first  # kept across restarts
    assert _development_key(tmp_path / "install-b" / ".secret_key") != first  # another installation


def test_processes_starting_together_agree_on_one_key(tmp_path):
    import subprocess

    key_file = tmp_path / ".secret_key"
    env = base_env(DEBUG="1", SECRET_KEY_FILE=str(key_file))
    code = "from pathlib import Path; from backend.core.production import development_secret_key as k; print(k(Path(%r)))"
    procs = [
        subprocess.Popen([PYTHON, "-c", code % str(key_file)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert keys == {key_file.read_text().strip()}
    assert list(tmp_path.iterdir()) == [key_file]  # no temporary file left behind


def test_the_repository_publishes_no_key():
    # The test run itself uses a generated key (or the environment's), never a literal from the source.
    source = (settings.BASE_DIR / "backend" / "settings.py").read_text()
    assert settings.SECRET_KEY not in source
    assert "insecure-development-key-change-me" not in source
    assert plugins_without_dummy()  # the production plugin list keeps the other plugins


def test_an_unwritable_key_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = base_env(DEBUG="1", SECRET_KEY_FILE=str(blocker / ".secret_key"))
    result = run_python("import django; django.setup()", env)
    assert result.returncode != 0
    assert "Cannot read or create the development key file" in result.stderr and "SECRET_KEY_FILE" in result.stderr
