"""Periodic tasks for operators: `manage.py run_task`, retries with backoff, the log line of each run,
and intervals from the environment."""

from __future__ import annotations

import os
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backend.celery import app
from backend.core import periodic
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.orders import services as orders_services
from backend.orders.models import Order, OrderStatus
from backend.orders.tasks import auto_confirm_receipts, expire_unpaid_orders

from ..checkout.helpers import (  # noqa: F401 - autouse fixtures
    HANGZHOU,
    TABLE_RATE,
    complete,
    listing,
    logistics_data,
    marketplace_plugins,
    ready_checkout,
    store,
)
from .processes import PYTHON, ROOT, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_orders(settings):
    """Two shipped orders whose confirmation deadline has come (0 days after shipment)."""
    settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT = 0
    vendor, owner = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, stock=10)
    orders = []
    for i in range(2):
        order = complete(ready_checkout(None, [(variant, 1)], email=f"s{i}@example.com")).orders[0]
        orders.append(orders_services.order_ship(actor=owner, order=order, carrier=TABLE_RATE))
    return orders


def command(*args) -> str:
    out = StringIO()
    call_command("run_task", *args, stdout=out)
    return out.getvalue()


def test_run_task_lists_every_scheduled_task_with_its_entry_and_interval():
    listing_text = command("--list")
    assert command() == listing_text  # no name: the same list
    for entry_name, entry in periodic.scheduled_entries().items():
        assert re.search(rf"^{re.escape(entry['task'])}\s+{re.escape(entry_name)}\s+every ", listing_text, re.M)
    assert re.search(
        r"^orders\.auto_confirm_receipts\s+orders-auto-confirm-receipts\s+every 15 min$", listing_text, re.M
    )
    assert re.search(r"^finance\.payouts_run_scheduled\s+finance-scheduled-payouts\s+every 24 h$", listing_text, re.M)


def test_run_task_refuses_an_unknown_name_and_lists_the_known_ones():
    with pytest.raises(CommandError) as error:
        command("orders.release_everything")
    assert "Unknown periodic task 'orders.release_everything'" in str(error.value)
    assert "orders.expire_unpaid" in str(error.value) and "disputes-apply-deadlines" in str(error.value)


def test_run_task_runs_the_task_now_and_prints_the_ids_it_processed(due_orders):
    first, second = due_orders

    out = command("orders.auto_confirm_receipts")

    assert f"orders.auto_confirm_receipts: result 2; processed order {first.pk}, {second.pk}" in out
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED}
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count() == 2
    # By its schedule entry's name too; nothing is left to do, and nothing is released twice.
    assert "orders.auto_confirm_receipts: result 0; processed nothing" in command("orders-auto-confirm-receipts")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count() == 2


def test_a_failed_run_says_so_and_logs_the_task_and_the_ids_it_touched(due_orders, monkeypatch, caplog):
    first, second = due_orders
    mark_completed = orders_services._mark_completed

    def fail_on_second(order, **kwargs):
        if order.pk == second.pk:
            raise RuntimeError("carrier archive unavailable")
        return mark_completed(order, **kwargs)

    monkeypatch.setattr(orders_services, "_mark_completed", fail_on_second)

    failed = r"orders\.auto_confirm_receipts failed: RuntimeError: carrier archive unavailable"
    with pytest.raises(CommandError, match=failed):
        command("orders.auto_confirm_receipts")

    assert (
        f"Periodic task orders.auto_confirm_receipts failed after processing order {first.pk}: "
        "RuntimeError: carrier archive unavailable"
    ) in caplog.text
    # The batch fails and is gone through order by order: the first is released, the second untouched
    # until the next run.
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (OrderStatus.COMPLETED, OrderStatus.SHIPPED)


def test_a_task_run_through_celery_logs_its_name_result_and_ids(due_orders, caplog):
    first, second = due_orders
    assert auto_confirm_receipts.delay().get() == 2
    assert (
        f"Periodic task orders.auto_confirm_receipts done: result 2; processed order {first.pk}, {second.pk}"
        in caplog.text
    )


def test_every_scheduled_task_retries_with_exponential_backoff_a_bounded_number_of_times(settings):
    periodic.load_tasks()
    for task_name in periodic.task_names():
        task = app.tasks[task_name]
        assert task_name in periodic.REGISTRY
        assert task.autoretry_for == (Exception,), task_name
        assert task.retry_backoff == settings.PERIODIC_TASK_RETRY_BACKOFF == 1
        assert task.retry_backoff_max == settings.PERIODIC_TASK_RETRY_BACKOFF_MAX == 600
        assert task.retry_jitter is True
        assert task.max_retries == settings.PERIODIC_TASK_MAX_RETRIES == 5


@pytest.fixture
def retry_countdowns(monkeypatch, settings):
    """The countdown of every retry expire_unpaid_orders asks Celery for.

    Run eagerly (apply) with errors kept in the result instead of raised at once, Celery runs each
    retry straight away, without waiting for the countdown, as a worker would after it."""
    # Through the Django setting, which Celery's configuration reads: a value set on app.conf itself
    # would stay there (monkeypatch restores it as an explicit value) and shadow the setting for
    # every later test in this process.
    settings.CELERY_TASK_EAGER_PROPAGATES = False
    countdowns = []
    retry = expire_unpaid_orders.retry

    def spy(*args, **kwargs):
        countdowns.append(kwargs.get("countdown"))
        return retry(*args, **kwargs)

    monkeypatch.setattr(expire_unpaid_orders, "retry", spy)
    return countdowns


def test_a_failing_task_is_retried_with_growing_delays_then_gives_up(monkeypatch, retry_countdowns, caplog):
    calls = []

    def down(**kwargs):
        calls.append(1)
        raise ConnectionError("database restarting")

    monkeypatch.setattr(orders_services, "orders_expire_unpaid", down)

    result = expire_unpaid_orders.apply()

    assert result.failed()
    with pytest.raises(ConnectionError, match="database restarting"):
        result.get()

    assert len(calls) == 6  # the first run and 5 retries
    assert len(retry_countdowns) == 6  # the last one is refused: retries are used up
    for retries, countdown in enumerate(retry_countdowns):
        assert 0 <= countdown <= min(600, 2**retries)  # 1, 2, 4, 8 ... s, with full jitter
    assert caplog.text.count("Periodic task orders.expire_unpaid failed after processing nothing: ConnectionError") == 6


def test_a_task_that_fails_then_recovers_returns_its_result(monkeypatch, retry_countdowns):
    outcomes = [ConnectionError("database restarting"), ConnectionError("database restarting"), 3]

    def flaky(**kwargs):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(orders_services, "orders_expire_unpaid", flaky)
    assert expire_unpaid_orders.apply().get() == 3
    assert len(retry_countdowns) == 2 and outcomes == []


def list_with(**environ) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERIODIC_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), **environ)
    return run([PYTHON, "manage.py", "run_task", "--list"], env).stdout


def test_intervals_come_from_the_environment_one_entry_or_all():
    text = list_with(PERIODIC_ORDERS_EXPIRE_UNPAID_SECONDS="7", PERIODIC_INTERVAL_SECONDS="30")
    assert re.search(r"^orders\.expire_unpaid\s+orders-expire-unpaid\s+every 7 s$", text, re.M)
    assert re.search(r"^orders\.auto_confirm_receipts\s+orders-auto-confirm-receipts\s+every 30 s$", text, re.M)
    assert re.search(r"^finance\.payouts_run_scheduled\s+finance-scheduled-payouts\s+every 30 s$", text, re.M)

    text = list_with(PERIODIC_FINANCE_VENDOR_STANDING_SECONDS="120")
    assert re.search(r"^finance\.vendor_standing_check\s+finance-vendor-standing\s+every 2 min$", text, re.M)
    assert re.search(r"^orders\.expire_unpaid\s+orders-expire-unpaid\s+every 5 min$", text, re.M)


@pytest.mark.parametrize("value", ["0", "soon"])
def test_an_interval_that_is_not_a_positive_number_is_refused_with_a_clear_message(value):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERIODIC_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), PERIODIC_ORDERS_EXPIRE_UNPAID_SECONDS=value)
    import subprocess

    result = subprocess.run(
        [PYTHON, "manage.py", "run_task", "--list"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert (
        f"The interval of the periodic task orders-expire-unpaid must be a positive number of seconds, not '{value}'."
        in result.stderr
    )


def test_a_run_over_many_objects_names_the_first_ones_and_the_count():
    assert periodic.describe_processed({"order": [1, 2]}) == "order 1, 2"
    many = periodic.describe_processed({"order": list(range(1, 1001)), "dispute": [7]})
    assert many.startswith("order 1, 2, 3,") and many.endswith(f", {periodic.LOGGED_IDS}, ... (1000 in all); dispute 7")


@pytest.mark.django_db(transaction=True)
def test_work_run_eagerly_after_the_runs_commit_is_logged_as_its_own(due_orders, caplog):
    """The embedded default runs what a commit queues (the shoppers' notifications of the release)
    eagerly, inside the periodic run: those deliveries are the delivery task's, and the run's line
    still names exactly the orders it released."""
    from backend.notifications.models import Channel, Delivery, DeliveryStatus

    first, second = due_orders
    out = command("orders.auto_confirm_receipts")

    assert f"orders.auto_confirm_receipts: result 2; processed order {first.pk}, {second.pk}\n" in out
    line = next(r.getMessage() for r in caplog.records if "orders.auto_confirm_receipts done" in r.getMessage())
    assert line.endswith(f"processed order {first.pk}, {second.pk}"), line
    # Guest orders: the store's owner is told of each completion by email once, and so is each
    # order's guest shopper, at the order's email.
    sent = Delivery.objects.filter(channel=Channel.EMAIL, event__name="order.completed", status=DeliveryStatus.SENT)
    addresses = list(sent.values_list("to", flat=True))
    guests = sorted(a for a in addresses if a in (first.email, second.email))
    owners = [a for a in addresses if a not in (first.email, second.email)]
    assert guests == sorted([first.email, second.email])
    assert len(owners) == 2 and len(set(owners)) == 1
