"""Static files with DEBUG off (whitenoise), HTTPS behind a proxy, HSTS, secure cookies, the admin's CSP."""

import json
import re

import pytest

from .processes import manage, production_env, run_python

pytestmark = pytest.mark.django_db

PROBE = """
import django, json; django.setup()
from django.test import Client
c = Client()
out = {}
def record(name, response):
    out[name] = {"status": response.status_code, "headers": dict(response.headers),
                 "cookies": {k: {"secure": bool(m["secure"])} for k, m in response.cookies.items()}}
record("plain", c.get("/admin/login/", HTTP_HOST="shop.example.com"))
record("forwarded_proto", c.get("/admin/login/", HTTP_HOST="shop.example.com", HTTP_X_FORWARDED_PROTO="https"))
record("forwarded_ssl", c.get("/admin/login/", HTTP_HOST="shop.example.com", HTTP_X_FORWARDED_SSL="on"))
record("static", c.get("/static/admin/css/base.css", HTTP_HOST="shop.example.com", HTTP_X_FORWARDED_PROTO="https"))
record("static_gzip", c.get("/static/admin/css/base.css", HTTP_HOST="shop.example.com",
                            HTTP_X_FORWARDED_PROTO="https", HTTP_ACCEPT_ENCODING="gzip"))
print(json.dumps(out))
"""


def probe(tmp_path, **env) -> dict:
    environment = production_env(tmp_path, **env)
    collected = manage("collectstatic", "--noinput", env=environment)
    assert collected.returncode == 0, collected.stderr
    result = run_python(PROBE, environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_serves_static_files_and_https_only(tmp_path):
    answers = probe(tmp_path)
    # Plain HTTP is redirected; the proxy's X-Forwarded-Proto marks HTTPS.
    assert answers["plain"]["status"] == 301
    assert answers["plain"]["headers"]["Location"].startswith("https://shop.example.com/admin/login/")
    secure = answers["forwarded_proto"]
    assert secure["status"] == 200
    assert secure["headers"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert secure["cookies"]["csrftoken"]["secure"] is True
    assert "default-src 'self'" in secure["headers"]["Content-Security-Policy"]
    # Collected static files are served by the application itself, compressed when asked.
    assert answers["static"]["status"] == 200 and answers["static"]["headers"]["Content-Type"].startswith("text/css")
    assert answers["static_gzip"]["headers"].get("Content-Encoding") == "gzip"
    # Only the configured proxy header is trusted.
    assert answers["forwarded_ssl"]["status"] == 301


def test_the_proxy_header_and_hsts_are_configurable(tmp_path):
    answers = probe(
        tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl: on", SECURE_HSTS_SECONDS="600", SECURE_HSTS_PRELOAD="0"
    )
    assert answers["forwarded_ssl"]["status"] == 200
    assert answers["forwarded_ssl"]["headers"]["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    assert answers["forwarded_proto"]["status"] == 301


def test_admin_pages_carry_a_csp_they_comply_with(client):
    response = client.get("/admin/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    html = response.content.decode()
    # No inline script the policy would block: every <script> loads a file from this site.
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(re.search(r'\bsrc="/static/', tag) for tag in scripts)


def test_graphiql_pages_are_left_to_their_own_bootstrap(client):
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_project_templates_need_no_inline_script_or_style():
    # The CSP allows scripts and styles from this site only; inline ones would silently stop working.
    from .processes import ROOT

    offenders = []
    for template in ROOT.glob("backend/**/templates/**/*.html"):
        text = template.read_text()
        for pattern in (r"\sstyle=", r"<style\b", r"<script\b(?![^>]*\bsrc=)", r"\son[a-z]+="):
            if re.search(pattern, text):
                offenders.append(f"{template.relative_to(ROOT)}: {pattern}")
    assert not offenders


def test_static_files_are_served_before_any_collectstatic(tmp_path):
    # A production process started without collectstatic still serves the admin's files (from the apps).
    env = production_env(tmp_path, SECURE_SSL_REDIRECT="0")
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "print(Client().get('/static/admin/css/base.css', HTTP_HOST='shop.example.com').status_code)\n"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "200"
