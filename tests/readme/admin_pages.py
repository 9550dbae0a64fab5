"""The staff console's key pages as the demo staff sees them: fetched, checked, and photographed.

Pages are fetched over HTTP from a served instance (signed in through /admin/login/), checked
for what staff must never see ("None", money with more places than its currency has), and
written to docs/screenshots/admin/ as PNG pictures by headless Chromium (the page's HTML with
the admin's stylesheets from Django's own static folder, so no static server is needed).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import django.contrib.admin
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots" / "admin"


def screenshot_folder() -> Path:
    """The README's folder with WRITE_SCREENSHOTS=1 (to refresh the committed pictures); otherwise a
    temporary one, so that a test run leaves the work tree as it was."""
    import os

    if os.environ.get("WRITE_SCREENSHOTS") == "1":
        return SCREENSHOTS
    return Path(tempfile.mkdtemp(prefix="admin-screenshots-"))
ADMIN_STATIC = Path(django.contrib.admin.__file__).parent / "static"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
WINDOW = "1366,900"

# (picture name, path): the application queue, listing review, orders, disputes, payouts, ledger.
PAGES = [
    ("application-queue", "/admin/vendors/vendorapplication/"),
    ("listing-review", "/admin/catalog/listingreview/"),
    ("orders", "/admin/orders/order/"),
    ("disputes", "/admin/disputes/dispute/"),
    ("payouts", "/admin/finance/payout/"),
    ("ledger", "/admin/finance/ledgertransaction/"),
    ("payments", "/admin/payments/payment/"),
    ("reviews", "/admin/reviews/productreview/"),
]

NONE_WORD = re.compile(r"\bNone\b")
# An amount with a currency (code or symbol) and three or more places: 55.8000 CNY, CN¥ 1.2500.
# Only within one piece of text: a rate (0.0500) in the cell after a currency is not money.
LONG_MONEY = re.compile(r"\d\.\d{3,}[ \u00a0]?(?:[A-Z]{3}\b)|(?:[A-Z]{2}¥|¥|[A-Z]{3})[ \u00a0]?\d[\d,]*\.\d{3,}")


def chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class PlainHTTPStaffSession(requests.Session):
    """A signed-in staff browser over the plain-HTTP test server.

    With DEBUG off the cookies are Secure and HTTPS is taken from X-Forwarded-Proto (as behind
    the production proxy), so the session says it came through the proxy and keeps sending
    its cookies over plain HTTP.
    """

    def request(self, method, url, **kwargs):
        https = "https://" + url.split("://", 1)[1]
        headers = {"X-Forwarded-Proto": "https", "Referer": https, **(kwargs.pop("headers", None) or {})}
        response = super().request(method, url, headers=headers, timeout=60, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def staff_session(base_url: str, email: str, password: str) -> requests.Session:
    session = PlainHTTPStaffSession()
    login = base_url.rstrip("/") + "/admin/login/"
    page = session.get(login)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, f"no CSRF token on the admin login page (HTTP {page.status_code})"
    response = session.post(
        login,
        data={"csrfmiddlewaretoken": token[1], "username": email, "password": password, "next": "/admin/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, f"admin sign-in refused ({response.status_code})"
    return session


def visible_text(page: str) -> str:
    """What a reader sees: no tags, scripts, styles or attribute values; pieces of text kept apart by " | "."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " | ", page)
    page = re.sub(r"(?s)<[^>]+>", " | ", page)
    return html.unescape(page)


def page_problems(name: str, status: int, page: str) -> list[str]:
    if status != 200:
        return [f"{name}: HTTP {status}"]
    text = visible_text(page)
    found = []
    if 'id="login-form"' in page:
        found.append(f"{name}: the login form, not the page")
    for match in NONE_WORD.finditer(text):
        found.append(f"{name}: shows None: ...{text[max(match.start() - 60, 0):match.end() + 20].strip()!r}")
    for match in LONG_MONEY.finditer(text):
        found.append(f"{name}: money with too many places: {match.group(0)!r}")
    return found


def offline_html(page: str) -> str:
    """The page with /static/ pointing into Django's admin static folder on disk."""
    return page.replace('"/static/', f'"{ADMIN_STATIC.as_uri()}/')


def screenshot(browser: str, page: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "page.html"
        source.write_text(offline_html(page), encoding="utf-8")
        subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--hide-scrollbars", f"--user-data-dir={folder}/profile", f"--window-size={WINDOW}",
                f"--screenshot={target}", source.as_uri(),
            ],
            check=True, capture_output=True, timeout=120,
        )


def first_change_link(page: str, list_path: str) -> str | None:
    """The first object's page linked from a change list."""
    match = re.search(rf'href="({re.escape(list_path)}\d+/change/)', page)
    return match[1] if match else None
