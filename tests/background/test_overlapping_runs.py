"""Two runs of a periodic task at once (beat's next run while the last is still going, or an operator's
run_task beside the scheduler) do every piece of work once. On PostgreSQL, with real row locks; the
auto-confirmation and dispute-deadline races live with their domains (tests/orders, tests/disputes)."""

from __future__ import annotations

import functools
from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone
from moneyed import Money

from backend.checkout.models import Checkout
from backend.checkout.services import checkouts_delete_stale
from backend.core.audit import audit_trail
from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.ledger import account_balance, ledger_problems
from backend.finance.models import Payout, VendorRestriction
from backend.finance.payouts import payouts_run_scheduled
from backend.finance.standing import vendor_standing_check
from backend.orders import services as orders_services
from backend.orders.models import Order, OrderStatus
from backend.payments import services as payments
from backend.payments.models import Payment, PaymentStatus, Transfer
from backend.vendors.models import Vendor, VendorStatus

from ..checkout.helpers import (  # noqa: F401 - autouse fixtures
    GUANGZHOU,
    HANGZHOU,
    complete,
    listing,
    logistics_data,
    marketplace_plugins,
    ready_checkout,
    store,
)
from ..concurrency import POSTGRESQL_RACE, race
from ..factories import vendor_with_owner

pytestmark = POSTGRESQL_RACE


def no_errors(results):
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors


def test_two_expiry_runs_at_once_cancel_each_unpaid_order_once_and_return_its_stock_once():
    tea, _ = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    green, scarf = listing(tea, price="30.00", stock=20), listing(silk, price="120.00", stock=20)
    authorize_only = functools.partial(payments.payment_process, capture=False)
    with mock.patch.object(payments, "payment_process", authorize_only):
        for i in range(5):  # each payment covers one order of each store
            complete(ready_checkout(None, [(green, 1), (scarf, 2)], email=f"late{i}@example.com"))
    assert Order.objects.filter(status=OrderStatus.UNPAID).count() == 10
    later = timezone.now() + timedelta(days=1)

    results = race(lambda _i: orders_services.orders_expire_unpaid(now=later), 3)

    no_errors(results)
    assert sum(results) == 10
    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == 10
    green.refresh_from_db()
    scarf.refresh_from_db()
    assert (green.stock, scarf.stock) == (20, 20)  # returned once, not once per run
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.CANCELLED}


def test_two_stale_checkout_sweeps_at_once_delete_each_checkout_once(settings):
    vendor, _ = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, stock=100)
    for i in range(30):
        ready_checkout(None, [(variant, 1)], email=f"browser{i}@example.com")
    Checkout.objects.update(updated_at=timezone.now() - timedelta(days=settings.CHECKOUT_TTL_DAYS + 1))

    results = race(lambda _i: checkouts_delete_stale(), 3)

    no_errors(results)
    assert sum(results) == 30
    assert not Checkout.objects.exists()


def test_two_standing_checks_at_once_restrict_each_short_vendor_once(settings):
    settings.FEE_DEFAULT_DEPOSIT = Decimal("1000.00")  # every vendor now falls short of its deposit
    vendors = [vendor_with_owner()[0] for _ in range(6)]

    results = race(lambda _i: vendor_standing_check(), 2)

    no_errors(results)
    assert sum(r["changed"] for r in results) == 6
    assert set(Vendor.objects.values_list("status", flat=True)) == {VendorStatus.RESTRICTED}
    assert VendorRestriction.objects.count() == 6
    for vendor in vendors:
        assert [e.action for e in audit_trail(vendor)].count("vendor.restrict") == 1


def test_two_payout_runs_at_once_pay_each_vendor_once(settings):
    settings.PAYOUT_MINIMUM_AMOUNT = Decimal("100.00")
    vendors = [vendor_with_owner()[0] for _ in range(5)]
    for i, vendor in enumerate(vendors):
        amount = Money(Decimal("350.00"), "CNY")
        movements.deposit_top_up(ref=f"earn-{i}", vendor=vendor, amount=amount)
        movements.deposit_release(ref=f"earn-{i}", vendor=vendor, amount=amount)

    results = race(lambda _i: payouts_run_scheduled(force=True), 2)

    no_errors(results)
    assert Payout.objects.count() == 5 and Transfer.objects.count() == 5
    for vendor in vendors:
        assert account_balance(accounts.vendor_available(vendor.pk)).amount == 0
    assert ledger_problems() == []
