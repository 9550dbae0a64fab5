"""The merchant console in a real browser (Debian's chromium through playwright-core, see
console/e2e/console_e2e.mjs) against a served platform (gunicorn, DEBUG off) with the demo data:

- a new merchant applies with a document, answers staff's request for information (asked through
  the API) with another document, is approved (by staff through the API), pays the
  entry fee and deposit, lists a product with a picture and submits it for review;
- demo merchants ship an order (with its packing slip), answer a dispute with a message and a
  picture, and download a statement as CSV and PDF;
- a merchant opening another store's order by its URL sees "not found", and signs out;
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
from datetime import date, timedelta
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
    instance = ServedInstance()
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
