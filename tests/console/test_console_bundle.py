"""The merchant console's committed bundle is what its sources build, and Django serves it.

Without npm the committed bundle is only checked against the hash of the sources it was built from
(console/source_hash.py); with npm (always in CI, where a missing npm fails instead of skipping)
the sources are installed from the lockfile, built into a temporary folder and compared file by
file with the committed bundle, and the Vitest component tests run.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "console"))
import source_hash  # noqa: E402

CONSOLE = ROOT / "console"
BUNDLE = source_hash.BUNDLE


def _npm_or_skip() -> str:
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        if os.environ.get("CI"):
            pytest.fail("the console build check must run in CI: node and npm are missing")
        pytest.skip("node/npm missing: the console bundle is checked by its source hash only")
    return npm


def _installed(npm: str) -> None:
    if not (CONSOLE / "node_modules" / ".package-lock.json").is_file():
        subprocess.run([npm, "ci", "--prefix", str(CONSOLE), "--no-audit", "--no-fund", "--silent"], check=True, timeout=600)


def test_committed_bundle_matches_the_sources_hash():
    committed = source_hash.HASH_FILE.read_text().strip()
    assert committed == source_hash.source_hash(), (
        "backend/core/static/console/ was not rebuilt after the console's sources (or the core schema) "
        "changed: run `make console` and commit the bundle"
    )


def test_source_hash_covers_sources_and_schema_but_not_component_tests():
    names = {path.relative_to(ROOT).as_posix() for path in source_hash.source_files()}
    assert {"console/package-lock.json", "console/src/App.tsx", "backend/graphql/schema.graphql"} <= names
    assert not [name for name in names if ".test." in name or "node_modules" in name]


def test_bundle_has_no_inline_script_and_names_no_other_host():
    html = (BUNDLE / "index.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/console/' in attrs and not body.strip() for attrs, body in scripts)
    assert "style=" not in html and "<style" not in html
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html)
    css = next((BUNDLE / "assets").glob("*.css")).read_text()
    assert not re.findall(r"url\(\s*['\"]?(?:https?:)?//", css)


def test_console_pages_answer_the_app_with_a_strict_policy(db):
    client = Client()
    for path in ["/console/", "/console/orders", "/console/orders/T3JkZXI6MQ==", "/console/products/new"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/html")
        assert b'<div id="root"></div>' in response.content
        assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "connect-src 'self'" in policy
    assert client.post("/console/").status_code == 405


def test_console_assets_are_static_files():
    from django.contrib.staticfiles import finders

    html = (BUNDLE / "index.html").read_text()
    urls = re.findall(r'(?:src|href)="(/static/console/[^"]+)"', html)
    assert len(urls) == 2
    for url in urls:
        assert finders.find(url.removeprefix("/static/")), url


def test_a_fresh_build_from_the_lockfile_is_the_committed_bundle():
    npm = _npm_or_skip()
    _installed(npm)
    out = Path(tempfile.mkdtemp(prefix="console-build-"))
    # The build regenerates the operation types from the schema first: they must come out as committed.
    generated = CONSOLE / "src" / "gql" / "graphql.ts"
    committed_types = generated.read_bytes()
    try:
        env = {**os.environ, "CONSOLE_OUT_DIR": str(out)}
        build = subprocess.run([npm, "run", "--prefix", str(CONSOLE), "build"], env=env, capture_output=True, text=True, timeout=600)
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        fresh_types = generated.read_bytes()
        if fresh_types != committed_types:
            generated.write_bytes(committed_types)
        assert fresh_types == committed_types, "console/src/gql/graphql.ts is stale: run `make console`"
        built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        committed = sorted(p.relative_to(BUNDLE).as_posix() for p in BUNDLE.rglob("*") if p.is_file() and p.name != "source-hash.txt")
        assert built == committed, "run `make console` and commit the bundle"
        _match, mismatch, errors = filecmp.cmpfiles(out, BUNDLE, built, shallow=False)
        assert mismatch == [] and errors == [], mismatch + errors
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_component_tests_pass():
    npm = _npm_or_skip()
    _installed(npm)
    run = subprocess.run([npm, "test", "--prefix", str(CONSOLE)], capture_output=True, text=True, timeout=600, env={**os.environ, "CI": "true"})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
