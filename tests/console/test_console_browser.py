"""The merchant console in a real browser (Debian's chromium through playwright-core, see
console/e2e/console_e2e.mjs) against a served platform (gunicorn, DEBUG off) with the demo data:

- a new merchant applies with a document, answers staff's request for information (asked through
  the API) with another document, is approved (by staff through the API), pays the
  entry fee and deposit, lists a product with a picture and submits it for review;
- demo merchants ship an order (with its packing slip), answer a dispute with a message and a
  picture, and download a statement as CSV and PDF;
- a merchant opening another store's order by its URL sees "not found", and signs out;
- a demo merchant's home page shows the store's analytics (storefront visits made by the test, the
  demo orders of the last weeks) as the API counts them, in both languages, with its CSV;
- the main pages are photographed in both languages (docs/screenshots/console/ with
  WRITE_SCREENSHOTS=1, a temporary folder otherwise).

Every scenario also asserts that the page made no request to another host and raised no error
(a Content Security Policy violation shows as a console error).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from fixtures.demo.documents import minimal_pdf
from tests.served.journey import confirmation_token
from tests.served.server import GunicornUnavailable, ServedInstance

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
SCRIPT = CONSOLE / "e2e" / "console_e2e.mjs"
SCREENSHOTS = ROOT / "docs" / "screenshots" / "console"
DEMO_PASSWORD = "Market-Demo-2024"
NEW_EMAIL = "owner@jade-luggage.example.com"
NEW_PASSWORD = "Jade-Luggage-2026"
CATEGORY = "Bags & Luggage"


def _browser_missing() -> str | None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return f"{chromium} is missing (apt-get install chromium)"
    if not shutil.which("node"):
        return "node is missing (apt-get install nodejs)"
    if not (CONSOLE / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (npm ci --prefix console)"
    return None


@pytest.fixture(scope="module")
def served():
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the console browser tests must run in CI: {missing}")
        pytest.skip(f"console browser tests: {missing}")
    # Visits are written within a second and today's figures are not cached: the analytics test
    # reads back at once what it recorded.
    instance = ServedInstance({"ANALYTICS_FLUSH_SECONDS": "1", "ANALYTICS_LIVE_CACHE_SECONDS": "0"})
    try:
        instance.start()
    except GunicornUnavailable as exc:
        instance.stop()
        pytest.skip(f"console browser tests: gunicorn cannot start ({str(exc).splitlines()[0]})")
    try:
        loaded = instance.manage("populatedb", "--no-progress", timeout=900)
        assert loaded.returncode == 0, loaded.stdout[-2000:] + loaded.stderr[-2000:]
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def files():
    folder = Path(tempfile.mkdtemp(prefix="console-e2e-"))
    image = Image.new("RGB", (800, 800), (40, 90, 160))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    (folder / "suitcase.png").write_bytes(buffer.getvalue())
    (folder / "licence.pdf").write_bytes(minimal_pdf(["BUSINESS LICENCE", "Jade Luggage Co., Ltd."]))
    shots = SCREENSHOTS if os.environ.get("WRITE_SCREENSHOTS") == "1" else folder / "screenshots"
    yield {"image": str(folder / "suitcase.png"), "document": str(folder / "licence.pdf"), "screenshots": str(shots)}
    shutil.rmtree(folder, ignore_errors=True)


def run(served, scenario: str, **config) -> dict:
    config = {"baseUrl": served.base_url.rstrip("/"), **config}
    completed = subprocess.run(
        ["node", str(SCRIPT), scenario, json.dumps(config)], capture_output=True, text=True, timeout=600, check=False
    )
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr[-3000:]
    report = json.loads(lines[-1])
    assert report["ok"], json.dumps(report, ensure_ascii=False, indent=1)
    assert report["external"] == [], report["external"]
    assert report["pageErrors"] == [], report["pageErrors"]
    assert report["consoleErrors"] == [], report["consoleErrors"]
    return report


def api(served, query, variables=None, token=None) -> dict:
    status, body = served.graphql(query, variables, token=token)
    assert status == 200 and "errors" not in body, body
    return body["data"]


def sign_in(served, email, password=DEMO_PASSWORD) -> str:
    data = api(served, "mutation($e: String!, $p: String!) { tokenCreate(email: $e, password: $p) { token errors { code } } }",
               {"e": email, "p": password})
    assert data["tokenCreate"]["token"], data
    return data["tokenCreate"]["token"]


def test_a_new_merchant_applies_is_approved_pays_and_lists_a_product(served, files):
    api(served, "mutation($i: AccountRegisterInput!) { accountRegister(input: $i) { errors { code } } }",
        {"i": {"email": NEW_EMAIL, "password": NEW_PASSWORD}})
    api(served, "mutation($e: String!, $t: String!) { accountConfirm(email: $e, token: $t) { errors { code } } }",
        {"e": NEW_EMAIL, "t": confirmation_token(served, NEW_EMAIL)})
    common = {"email": NEW_EMAIL, "password": NEW_PASSWORD, "category": CATEGORY, "storeName": "玉园箱包 Jade Luggage", **files}
    applied = run(served, "apply", **common)
    assert "application submitted with its document" in applied["steps"]

    # Staff ask for more (through the API); the applicant answers in the console and resubmits.
    staff = sign_in(served, "staff@example.com")
    waiting = api(served, "{ vendorApplications(first: 50, filter: {status: SUBMITTED}) { edges { node { id storeName } } } }", token=staff)
    [application] = [e["node"]["id"] for e in waiting["vendorApplications"]["edges"] if e["node"]["storeName"] == "玉园箱包 Jade Luggage"]
    question = "Please add your trademark certificate for the Jade brand."
    asked = api(served, "mutation($id: ID!, $m: String!) { vendorApplicationRequestInfo(id: $id, message: $m) { errors { code } } }",
                {"id": application, "m": question}, token=staff)
    assert asked["vendorApplicationRequestInfo"]["errors"] == []
    resubmitted = run(served, "resubmit", infoRequest=question, **common)
    assert resubmitted["steps"][-1] == "application resubmitted"

    # Staff decide through the API: the application has the documents the browser uploaded.
    queue = api(served, """{ vendorApplications(first: 50, filter: {status: SUBMITTED}) {
        edges { node { id storeName documents { documentType contentType size } } } } }""", token=staff)
    mine = [e["node"] for e in queue["vendorApplications"]["edges"] if e["node"]["storeName"] == "玉园箱包 Jade Luggage"]
    assert len(mine) == 1
    assert sorted(d["documentType"] for d in mine[0]["documents"]) == ["BUSINESS_LICENSE", "TRADEMARK_CERTIFICATE"]
    assert {d["contentType"] for d in mine[0]["documents"]} == {"application/pdf"}
    approved = api(served, "mutation($id: ID!) { vendorApplicationApprove(id: $id) { vendorApplication { status } errors { code } } }",
                   {"id": mine[0]["id"]}, token=staff)
    assert approved["vendorApplicationApprove"]["errors"] == []

    onboarded = run(served, "onboard", **common)
    assert "submitted for review" in onboarded["steps"]
    owner = sign_in(served, NEW_EMAIL, NEW_PASSWORD)
    store = api(served, "{ me { vendorMembership { vendor { id status } } } }", token=owner)["me"]["vendorMembership"]["vendor"]
    assert store["status"] == "ACTIVE"
    listed = api(served, """query($v: ID!) { products(first: 5, filter: {vendor: $v}) { edges { node {
        name status media { width height } variants { sku price { amount currency } stock } } } } }""", {"v": store["id"]}, token=owner)
    [product] = [e["node"] for e in listed["products"]["edges"]]
    assert product["status"] == "PENDING_REVIEW" and product["name"] == "Cabin suitcase 20 inch 登机箱"
    assert product["variants"] == [{"sku": "CABIN-20-BLK", "price": {"amount": "399.00", "currency": "CNY"}, "stock": 12}]
    assert [(m["width"], m["height"]) for m in product["media"]] == [(800, 800)]


def test_demo_merchants_ship_an_order_download_a_statement_and_answer_a_dispute(served, files):
    owner = "owner@huaqiang-digital.example.com"
    token = sign_in(served, owner)
    paid_before = api(served, "{ orders(first: 1, filter: {status: PAID}) { totalCount } }", token=token)["orders"]["totalCount"]
    assert paid_before >= 1, "the demo data has a paid order of Huaqiang Digital waiting to ship"
    today = date.today()
    shipped = run(served, "ship", email=owner, password=DEMO_PASSWORD, statementFrom=(today - timedelta(days=60)).isoformat(),
                  statementTo=today.isoformat(), **files)
    number = shipped["facts"]["shipped"]
    order = api(served, """query($n: OrderStatus) { orders(first: 50, filter: {status: $n}) { edges { node { number status
        shipment { trackingNumber } } } } }""", {"n": "SHIPPED"}, token=token)
    [mine] = [e["node"] for e in order["orders"]["edges"] if e["node"]["number"] == number]
    assert mine["shipment"]["trackingNumber"]
    csv, pdf = shipped["downloads"]["csv"], shipped["downloads"]["pdf"]
    assert csv["name"].endswith(".csv") and csv["size"] > 50
    assert pdf["name"].endswith(".pdf") and pdf["head"].startswith("%PDF")

    road = "owner@roadtrip-gear.example.com"
    answered = run(served, "dispute", email=road, password=DEMO_PASSWORD, **files)
    assert "dispute answered with a message and evidence" in answered["steps"]
    disputes = api(served, "{ disputes(first: 20, filter: {status: AWAITING_BUYER}) { edges { node { messages { role body evidence { width } } } } } }",
                   token=sign_in(served, road))
    messages = [m for e in disputes["disputes"]["edges"] for m in e["node"]["messages"] if m["role"] == "VENDOR"]
    assert any(m["body"].startswith("The parcel left intact") and len(m["evidence"]) == 1 for m in messages)


def test_a_merchant_cannot_open_another_stores_order_by_its_url(served, files):
    other = api(served, "{ orders(first: 1) { edges { node { id number } } } }", token=sign_in(served, "owner@huaqiang-digital.example.com"))
    foreign = other["orders"]["edges"][0]["node"]
    # The API answers West Lake Tea's owner the same as for an order that does not exist.
    tea = sign_in(served, "owner@west-lake-tea.example.com")
    assert api(served, "query($id: ID!) { order(id: $id) { number } }", {"id": foreign["id"]}, token=tea)["order"] is None
    report = run(served, "isolation", email="owner@west-lake-tea.example.com", password=DEMO_PASSWORD,
                 foreignOrder=foreign["id"], foreignNumber=foreign["number"], **files)
    assert report["steps"][-1] == "signed out"


ANALYTICS = """query($v: ID!, $from: Date!, $to: Date!, $period: AnalyticsPeriod) {
  analytics(vendor: $v, from: $from, to: $to, period: $period, first: 5) {
    totals { visitors productViews storeViews orders gmv { amount } averageOrderValue { amount } conversionRate refundRate repurchaseRate }
    periods { date }
    topProducts { name orders quantity gmv { amount } }
    trafficSources { source visitors }
  }
}"""


def _count(value: int) -> str:
    return f"{value:,}"


def _money(amount: str | None) -> str:
    return "—" if amount is None else f"¥{Decimal(amount):,.2f}"


def _percent(rate: str | None) -> str:
    if rate is None:
        return "—"
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01')).normalize():f}%"


def _shown(report: dict) -> dict:
    """The panel's headline figures as the console shows them (en-GB), from the API's answer."""
    totals = report["totals"]
    return {
        "Visitors": _count(totals["visitors"]),
        "Views": _count(totals["productViews"] + totals["storeViews"]),
        "Orders": _count(totals["orders"]),
        "GMV": _money(totals["gmv"]["amount"]),
        "Conversion rate": _percent(totals["conversionRate"]),
        "Average order value": _money((totals["averageOrderValue"] or {}).get("amount")),
        "Refund rate": _percent(totals["refundRate"]),
        "Repurchase rate": _percent(totals["repurchaseRate"]),
    }


def test_the_home_page_shows_the_stores_analytics_in_both_languages(served, files):
    owner = "owner@huaqiang-digital.example.com"
    token = sign_in(served, owner)
    store = api(served, "{ me { vendorMembership { vendor { id slug } } } }", token=token)["me"]["vendorMembership"]["vendor"]
    listed = api(served, """query($v: ID!) { products(first: 20, filter: {vendor: $v, status: PUBLISHED}) {
        edges { node { slug } } } }""", {"v": store["id"]}, token=token)
    slugs = [e["node"]["slug"] for e in listed["products"]["edges"]][:3]
    assert slugs, "the demo store has published listings"

    # Storefront visits: six visitors from a campaign, three straight in; each views listings and the store.
    for n in range(9):
        headers = {"X-Visitor-Id": f"console-e2e-visitor-{n:02d}"}
        if n < 6:
            headers["X-Page-Url"] = "https://shop.example.com/?utm_source=console-e2e"
        for slug in slugs[: 1 + n % len(slugs)]:
            status, body = served.graphql("query($s: String!) { product(slug: $s) { id } }", {"s": slug}, endpoint="storefront", headers=headers)
            assert status == 200 and body["data"]["product"], body
        status, body = served.graphql("query($s: String!) { vendor(slug: $s) { id } }", {"s": store["slug"]}, endpoint="storefront", headers=headers)
        assert status == 200 and body["data"]["vendor"], body
    today = date.today()  # the server's day (Asia/Shanghai) is within a day of it
    week = {"v": store["id"], "from": (today - timedelta(days=7)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    deadline = time.monotonic() + 30
    while api(served, ANALYTICS, week, token=token)["analytics"]["totals"]["visitors"] < 9 and time.monotonic() < deadline:
        time.sleep(0.5)
    # The past days' figures, as the periodic aggregation stores them (the demo orders span 40 days).
    aggregated = served.manage("run_task", "analytics.aggregate_days", env={"ANALYTICS_RECOMPUTE_DAYS": "95"})
    assert aggregated.returncode == 0, aggregated.stderr[-2000:]

    report = run(served, "analytics", email=owner, password=DEMO_PASSWORD, **files)
    facts = report["facts"]
    # The browser asked for the last 30 days by day, then the last 90 by week, and showed the API's figures.
    asked30, asked90 = facts["asked30"], facts["asked90"]
    assert (asked30["period"], asked90["period"]) == ("DAY", "WEEK")
    span = lambda asked: (date.fromisoformat(asked["to"]) - date.fromisoformat(asked["from"])).days + 1  # noqa: E731
    assert (span(asked30), span(asked90)) == (30, 90)
    month = api(served, ANALYTICS, {"v": store["id"], **{k: asked30[k] for k in ("from", "to", "period")}}, token=token)["analytics"]
    quarter = api(served, ANALYTICS, {"v": store["id"], **{k: asked90[k] for k in ("from", "to", "period")}}, token=token)["analytics"]
    assert facts["figures30"] == _shown(month)
    assert facts["figures90"] == _shown(quarter)
    totals = month["totals"]
    assert totals["visitors"] >= 9 and totals["orders"] >= 1 and Decimal(totals["gmv"]["amount"]) > 0, totals
    assert quarter["totals"]["orders"] > totals["orders"], "the demo orders of 35-40 days ago count in 90 days, not in 30"
    sources = {name: int(count.replace(",", "")) for name, count in facts["sources30"]}
    assert sources["console-e2e"] >= 6 and sources["Direct"] >= 3, sources
    assert sources == {("Direct" if s["source"] == "direct" else s["source"]): s["visitors"] for s in month["trafficSources"]}
    assert facts["products30"] == [[p["name"], _count(p["orders"]), _count(p["quantity"]), _money(p["gmv"]["amount"])] for p in month["topProducts"]]
    assert facts["products30"], "the store sold in the last 30 days"
    # Four charts, each drawn and named.
    assert [c["label"] for c in facts["charts"]] == [
        "GMV and orders over time", "Visitors and conversion rate over time", "Visitors by traffic source", "Top products by GMV"]
    assert all(c["painted"] > 1000 for c in facts["charts"]), facts["charts"]
    # The CSV is the API's signed download of the same periods.
    csv = report["downloads"]["csv"]
    assert csv["name"].endswith(".csv") and csv["name"].startswith("analytics-store-")
    lines = csv["text"].splitlines()
    assert lines[0].startswith("period_start,") and len(lines) == 30 + 2
    assert lines[-1].startswith("total,")
    assert facts["zhLabels"] == ["访客数", "浏览量", "订单", "成交额", "转化率", "客单价", "退款率", "复购率"]
    assert {"近 7 天", "近 30 天", "近 90 天", "按日", "按周", "按月"} <= set(facts["zhButtons"])


def test_main_pages_in_both_languages_are_photographed(served, files):
    report = run(served, "screenshots", email="owner@huaqiang-digital.example.com", password=DEMO_PASSWORD, **files)
    folder = Path(files["screenshots"])
    for name in ["sign-in", "home", "orders", "order", "products", "product", "disputes", "dispute", "money", "store"]:
        for language in ("en", "zh"):
            picture = folder / f"{name}-{language}.png"
            assert picture.stat().st_size > 10_000, picture
    # The Chinese pages are Chinese: the navigation came from the browser's language.
    assert "订单" in report["facts"]["zhNav"] and "Orders" not in report["facts"]["zhNav"]
    # A tablet needs no sideways scrolling; the keyboard's first stop is the skip link, focus is visible.
    assert report["facts"]["tabletOverflow"] <= 0
    assert report["facts"]["firstTab"] == "Skip to content"
    assert report["facts"]["focusOutline"] == "solid"
