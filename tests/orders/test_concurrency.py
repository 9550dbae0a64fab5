"""Concurrent checkouts and periodic runs on PostgreSQL: row locks keep stock and the ledger right.

Each thread has its own database connection and transaction; a barrier lines them up so they really race.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from backend.core.exceptions import DomainError, DomainErrors
from backend.finance.ledger import escrow_total, ledger_problems
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.orders import services as orders_services
from backend.orders.models import Order, OrderStatus
from backend.payments.models import Payment

from ..checkout.helpers import HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..concurrency import POSTGRESQL_RACE, race

pytestmark = POSTGRESQL_RACE


def error_codes(exc) -> list[str]:
    errors = exc.errors if isinstance(exc, DomainErrors) else [exc]
    return [e.code.name for e in errors]


def test_twenty_shoppers_race_for_the_last_five_units():
    vendor, _ = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, price="88.00", stock=5)
    checkouts = [ready_checkout(None, [(variant, 1)], email=f"shopper{i}@example.com") for i in range(20)]

    results = race(lambda i: complete(checkouts[i]), 20)

    sold = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(sold) == 5, results
    assert all(isinstance(r, DomainError | DomainErrors) and error_codes(r) == ["INSUFFICIENT_STOCK"] for r in refused), refused
    variant.refresh_from_db()
    assert variant.stock == 0
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 5
    assert Payment.objects.count() == 5
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_HOLD).count() == 5
    variant.product.refresh_from_db()
    assert variant.product.sales_count == 5
    assert ledger_problems() == []


def test_completing_one_checkout_from_several_tabs_places_it_once():
    vendor, _ = store("Tea House", origin=HANGZHOU)
    checkout = ready_checkout(None, [(listing(vendor, stock=10), 2)])

    results = race(lambda i: complete(checkout.__class__.objects.get(pk=checkout.pk)), 6)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {tuple(o.pk for o in r.orders) for r in results} == {tuple(Order.objects.values_list("pk", flat=True))}
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert ledger_problems() == []


def test_two_periodic_runs_at_once_release_each_order_once():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    variant = listing(vendor, stock=50)
    for i in range(8):
        order = complete(ready_checkout(None, [(variant, 1)], email=f"s{i}@example.com")).orders[0]
        orders_services.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
    later = timezone.now() + timedelta(days=settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT, minutes=1)

    results = race(lambda i: orders_services.orders_auto_confirm(now=later), 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 8
    assert Order.objects.filter(status=OrderStatus.COMPLETED).count() == 8
    assert LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count() == 8
    assert escrow_total().amount == 0 and ledger_problems() == []
