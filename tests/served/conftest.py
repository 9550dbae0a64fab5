"""Fixtures of the served suite: a real gunicorn instance per xdist worker.

    def test_something(served):
        status, body = served.graphql("query Me { me { email } }", token=token)

    def test_other_settings(start_served):
        instance = start_served({"ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT": "0"})

When a test fails, what the server logged while it ran is attached to the report.
"""

from __future__ import annotations

import pytest

from . import journey
from .server import GunicornUnavailable, ServedInstance

_RUNNING: list[ServedInstance] = []


def _start(extra_env: dict | None = None) -> ServedInstance:
    instance = ServedInstance(extra_env)
    try:
        instance.start()
    except GunicornUnavailable as exc:
        instance.stop()
        pytest.skip(f"served suite skipped: gunicorn cannot start ({str(exc).splitlines()[0]})")
    except BaseException:
        instance.stop()
        raise
    _RUNNING.append(instance)
    return instance


@pytest.fixture(scope="session")
def served():
    """The platform served by gunicorn (2 workers, DEBUG off) on a fresh migrated database."""
    instance = _start()
    yield instance
    instance.stop()
    _RUNNING.remove(instance)


@pytest.fixture(scope="session")
def start_served():
    """Factory: ``start_served({"SETTING": "value"})`` starts another instance with those settings.

    Each instance has its own fresh database; all are stopped at the end of the session
    (or earlier with ``instance.stop()``).
    """
    started: list[ServedInstance] = []

    def factory(extra_env: dict | None = None) -> ServedInstance:
        instance = _start(extra_env)
        started.append(instance)
        return instance

    yield factory
    for instance in started:
        instance.stop()
        if instance in _RUNNING:
            _RUNNING.remove(instance)


@pytest.fixture(scope="session")
def marketplace(served):
    """On the session instance: staff, two active stores that went through onboarding, one listing each.

    Seeded through the public APIs (see journey.py); tests make their own shoppers and orders.
    """
    staff = journey.staff_token(served)
    category = journey.categories(served)["specialty-food"]
    journey.fee_plans(served, staff, category)
    journey.configure_tracking_secret(served, staff)
    tea = journey.open_store(served, staff, category, "Tea House")
    silk = journey.open_store(served, staff, category, "Silk Road")
    journey.list_product(served, staff, tea, category, name="West Lake Longjing", price="300.00")
    journey.list_product(served, staff, silk, category, name="Silk Road Dates", price="80.00")
    return {"staff": staff, "category": category, "tea": tea, "silk": silk}


@pytest.fixture(autouse=True)
def _served_log_marks(request):
    """Remembers where each running instance's log stood when the test began."""
    request.node._served_log_marks = {id(i): i.log_size() for i in _RUNNING}
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    marks = getattr(item, "_served_log_marks", {})
    for instance in _RUNNING:
        text = instance.log(marks.get(id(instance), 0))
        if text.strip():
            report.sections.append((f"served log ({instance.base_url})", text[-20000:]))
