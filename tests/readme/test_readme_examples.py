"""On a served instance loaded with the demo data: README.md's worked examples run top to bottom,
and the staff console's key pages render clean and are photographed into docs/screenshots/admin/."""

from __future__ import annotations

import pytest

from . import admin_pages

from tests.served.server import GunicornUnavailable, ServedInstance

from .examples import ExampleFailed, ExampleRunner, check, resolve, worked_examples
from .readme import blocks


@pytest.fixture(scope="module")
def demo_instance():
    """gunicorn (DEBUG off) on a fresh database, then `manage.py populatedb` against it."""
    instance = ServedInstance()
    try:
        instance.start()
    except GunicornUnavailable as exc:
        instance.stop()
        pytest.skip(f"README examples skipped: gunicorn cannot start ({str(exc).splitlines()[0]})")
    try:
        loaded = instance.manage("populatedb", "--no-progress")
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        yield instance
    finally:
        instance.stop()


def test_worked_examples_run_in_readme_order_on_the_demo_data(demo_instance):
    examples = worked_examples()
    assert len(examples) >= 10, "the README's worked sequence is marked with run: <account>"
    results = ExampleRunner(demo_instance.graphql).run(examples)
    assert [r.name for r in results] == [r.name for r in results if r.status == 200]
    # The checkout really bought from two stores, and the shipped order was confirmed.
    answers = {r.name: r.body["data"] for r in results}
    placed = answers["CheckoutComplete"]["checkoutComplete"]["orders"]
    assert len({order["vendor"]["name"] for order in placed}) == 2
    assert answers["ConfirmReceipt"]["orderConfirmReceipt"]["order"]["status"] == "COMPLETED"
    # ...and its shopper's review is what the product page then shows.
    assert answers["ProductReviewCreate"]["productReviewCreate"]["review"]["rating"] == 5
    assert answers["ProductReviews"]["product"]["reviews"]["totalCount"] >= 1


def test_staff_console_pages_render_without_none_or_long_money_and_are_photographed(demo_instance):
    session = admin_pages.staff_session(demo_instance.base_url, "staff@example.com", "Market-Demo-2024")
    pages, problems = {}, []
    for name, path in admin_pages.PAGES:
        response = session.get(demo_instance.base_url.rstrip("/") + path)
        problems += admin_pages.page_problems(name, response.status_code, response.text)
        pages[name] = response.text
    # Object pages: a dispute with a ruling, an order, a payment.
    for name, path in [("dispute", "/admin/disputes/dispute/"), ("order", "/admin/orders/order/"),
                       ("payment", "/admin/payments/payment/")]:
        first = admin_pages.first_change_link(pages[name + "s"], path)
        assert first, f"the {name} list is empty on the demo data"
        response = session.get(demo_instance.base_url.rstrip("/") + first)
        problems += admin_pages.page_problems(f"{name} page", response.status_code, response.text)
        assert "Add " + name not in response.text
        pages[name + "-page"] = response.text
    assert not problems, "\n".join(problems)
    # Only services create orders and payments: no add form.
    for path in ("/admin/orders/order/add/", "/admin/payments/payment/add/"):
        assert session.get(demo_instance.base_url.rstrip("/") + path).status_code == 403
    browser = admin_pages.chromium()
    if browser is None:
        pytest.skip("screenshots skipped: no chromium on this machine (Debian package chromium)")
    folder = admin_pages.screenshot_folder()
    for name in ("application-queue", "listing-review", "orders", "disputes", "dispute-page", "payouts", "ledger"):
        target = folder / f"{name}.png"
        admin_pages.screenshot(browser, pages[name], target)
        assert target.stat().st_size > 10_000, f"{target} is empty"


# --- the runner itself, on canned answers ------------------------------------------------

README = """
<!-- endpoint: core; run: shopper -->
```graphql
query First { me { orders { edges { node { id vendor { name } } } } } }
```

<!-- endpoint: storefront; run: anonymous; expect: NOT_FOUND -->
```graphql
mutation Second($order: ID!) { orderConfirmReceipt(id: $order) { errors { code } } }
```

```json
{"order": "$from:First.me.orders.edges[node.vendor.name=Tea].node.id"}
```
"""


def test_runner_signs_in_once_passes_variables_from_earlier_answers_and_accepts_a_shown_error():
    calls = []
    answers = {
        "First": {"data": {"me": {"orders": {"edges": [
            {"node": {"id": "T3JkZXI6MQ==", "vendor": {"name": "Silk"}}},
            {"node": {"id": "T3JkZXI6Mg==", "vendor": {"name": "Tea"}}},
        ]}}}},
        "Second": {"data": {"orderConfirmReceipt": {"errors": [{"code": "NOT_FOUND"}]}}},
    }

    def graphql(query, variables=None, *, endpoint="core", token=None):
        calls.append((query.split("(")[0].split("{")[0].strip(), variables, endpoint, token))
        if "tokenCreate" in query:
            return 200, {"data": {"tokenCreate": {"token": "t-" + variables["email"], "errors": []}}}
        name = "First" if "First" in query else "Second"
        return 200, answers[name]

    results = ExampleRunner(graphql).run(worked_examples(README))
    assert [r.name for r in results] == ["First", "Second"]
    assert calls[1] == ("query First", None, "core", "t-shopper@example.com")
    assert calls[2] == ("mutation Second", {"order": "T3JkZXI6Mg=="}, "storefront", None)


def test_an_unexpected_error_or_a_missing_shown_one_fails_with_the_line():
    first, second = blocks(README)
    with pytest.raises(ExampleFailed, match="README.md line 3: errors"):
        check(first, 200, {"data": {"x": {"errors": [{"code": "INVALID"}]}}})
    with pytest.raises(ExampleFailed, match="line 3: HTTP 400"):
        check(first, 400, {"errors": [{"message": "bad"}]})
    with pytest.raises(ExampleFailed, match="shows NOT_FOUND"):
        check(second, 200, {"data": {"x": {"errors": []}}})
    check(second, 200, {"data": {"x": {"errors": [{"code": "NOT_FOUND"}]}}})
    with pytest.raises(ExampleFailed, match="names no earlier"):
        resolve({"a": "$from:Nothing.x"}, {}, "here")
    with pytest.raises(ExampleFailed, match="no item"):
        resolve("$from:A.list[name=z].id", {"A": {"list": [{"name": "y"}]}}, "here")
