"""Both GraphiQL pages work with no network: every asset is the project's own, and the page runs a query.

The HTML is parsed for every URL it names (src, href, srcset, url(...) in styles, and the CSS files
those name); none may name another host. The browser check opens each page in Debian's chromium
through playwright-core (tests/graphiql/browser), aborts any request to another host, and runs a
query through GraphiQL's own Run button.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from .conftest import CATEGORY_NAME

ENDPOINTS = ["/graphql/", "/storefront/graphql/"]
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)['"]""")


class _URLCollector(HTMLParser):
    """Every URL in a page: attributes that load or link something, srcset lists, and style url()s."""

    URL_ATTRIBUTES = {"src", "href", "action", "formaction", "poster", "data", "manifest", "background"}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in self.URL_ATTRIBUTES:
                self.urls.append(value)
            elif name in {"srcset", "imagesrcset"}:
                self.urls.extend(part.strip().split(" ")[0] for part in value.split(",") if part.strip())
            elif name == "style":
                self.urls.extend(CSS_URL.findall(value))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls.extend(CSS_URL.findall(data) + CSS_IMPORT.findall(data))


def page_urls(html: str) -> list[str]:
    collector = _URLCollector()
    collector.feed(html)
    return collector.urls


def external_host(url: str) -> str | None:
    """The other host a URL names, if any (data: URLs and same-origin paths name none)."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme == "data":
        return None
    if parsed.netloc or parsed.scheme:
        return url
    return None


def graphiql_page(path: str) -> str:
    response = Client().get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_url_collector_sees_every_kind_of_reference():
    html = """<link href="https://cdn.example.net/a.css"><script src="//unpkg.example.com/b.js"></script>
    <img srcset="/local.png 1x, https://img.example.org/c.png 2x"><div style="background: url('http://x.example/d.png')">
    <style>@import "https://fonts.example.com/e.css"; body { background: url(data:image/png;base64,AAAA) }</style>"""
    urls = page_urls(html)
    assert [u for u in urls if external_host(u)] == [
        "https://cdn.example.net/a.css",
        "//unpkg.example.com/b.js",
        "https://img.example.org/c.png",
        "http://x.example/d.png",
        "https://fonts.example.com/e.css",
    ]
    assert external_host("/static/a.js") is None and external_host("data:,") is None


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_graphiql_page_names_no_external_host(db, endpoint):
    html = graphiql_page(endpoint)
    urls = page_urls(html)
    assert len([u for u in urls if u.startswith("/static/")]) >= 6, urls
    assert [u for u in urls if external_host(u)] == []
    # The page queries its own endpoint.
    assert f'data-endpoint="{endpoint}"' in html


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_graphiql_assets_are_the_projects_own_static_files(db, endpoint):
    for url in page_urls(graphiql_page(endpoint)):
        if not url.startswith("/static/"):
            continue
        path = finders.find(url.removeprefix("/static/"))
        assert path, f"{url} is not a static file of the project"
        if path.endswith(".css"):
            css = Path(path).read_text(encoding="utf-8")
            assert [u for u in CSS_URL.findall(css) + CSS_IMPORT.findall(css) if external_host(u)] == []


def test_both_endpoints_share_one_page(db):
    core, storefront = (graphiql_page(endpoint) for endpoint in ENDPOINTS)
    assert core != storefront
    assert core.replace("/graphql/", "/storefront/graphql/") == storefront


def test_api_answers_json_not_the_page_to_api_clients(db):
    response = Client().get("/storefront/graphql/?query=%7B__typename%7D", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_served_asset_urls_answer_200(dev_server, endpoint):
    status, _headers, body = dev_server.get(endpoint, {"Accept": "text/html"})
    assert status == 200
    assets = [url for url in page_urls(body.decode()) if url.startswith("/")]
    assert len(assets) >= 6
    for url in assets:
        status, headers, content = dev_server.get(url)
        assert status == 200, url
        assert content, url
        expected = "text/css" if url.endswith(".css") else "javascript"
        assert expected in headers["Content-Type"], (url, headers["Content-Type"])


def _browser_unavailable() -> str | None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return f"{chromium} is missing (apt-get install chromium)"
    if not shutil.which("node"):
        return "node is missing (apt-get install nodejs)"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return f"playwright-core is not installed (npm ci --prefix {BROWSER_DIR})"
    return None


@pytest.fixture
def browser():
    missing = _browser_unavailable()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the GraphiQL browser check must run in CI: {missing}")
        pytest.skip(f"GraphiQL browser check: {missing}")

    def open_and_run(url: str, expected: str) -> dict:
        completed = subprocess.run(
            ["node", str(BROWSER_DIR / "check_graphiql.mjs"), url, expected],
            capture_output=True, text=True, timeout=180, check=False,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        return json.loads(completed.stdout.strip().splitlines()[-1])

    return open_and_run


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_graphiql_renders_and_runs_a_query_in_chromium(browser, dev_server, endpoint):
    query = "query OfflineCategories { categories { name } }"
    url = f"{dev_server.base_url}{endpoint}#query={urllib.parse.quote(query)}"
    report = browser(url, CATEGORY_NAME)
    assert report.get("error") is None, report
    assert report["rendered"], report
    assert report["external"] == [], report
    assert report["pageErrors"] == [], report
    # The answer shown is the server's: the category created in the server's own database.
    response = report["response"]
    assert '"categories"' in response and CATEGORY_NAME in response, report
    # The page loaded only its own assets and ran the query by POSTing to its endpoint.
    assert f"POST {endpoint}" in report["requests"], report
    assert all(" /static/" in r or r.endswith(endpoint) for r in report["requests"]), report
