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
    # Sales count when orders complete, not when they are placed.
    assert variant.product.sales_count == 0
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


def test_a_cancellation_and_a_dispute_refund_at_once_refund_the_order_once():
    from decimal import Decimal

    from backend.core.money import Money
    from backend.finance import accounts
    from backend.finance.ledger import account_balance
    from backend.orders.models import OrderRefund

    from ..conftest import make_user

    vendor, owner = store("Tea House", origin=HANGZHOU)
    shopper = make_user()
    variant = listing(vendor, price="50.00", stock=10)
    order = complete(ready_checkout(shopper, [(variant, 2)]), user=shopper).orders[0]

    def act(i):
        if i == 0:
            return orders_services.order_cancel(actor=owner, order=order, reason="Sold out")
        return orders_services.order_refund(
            order=order, amount=Money(order.total_amount, "CNY"), idempotency_key=f"dispute:{i}:refund", actor=None
        )

    results = race(act, 3)

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 2, results
    assert all(isinstance(r, DomainError) and r.code.name in ("AMOUNT_TOO_HIGH", "INVALID_TRANSITION") for r in refused)
    order.refresh_from_db()
    assert order.refunded_amount == order.total_amount and order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
    assert OrderRefund.objects.filter(order=order).count() == 1
    assert account_balance(accounts.buyer_refunds(shopper.pk)).amount == order.total_amount
    variant.refresh_from_db()
    assert variant.stock == 10  # given back once, whoever won
    assert Payment.objects.get().refunded_amount == Decimal(order.total_amount)
    assert escrow_total().amount == 0 and ledger_problems() == []


def test_the_two_orders_of_an_authorized_payment_cancelled_at_once_cost_the_shopper_nothing(monkeypatch):
    import functools

    from backend.finance import accounts
    from backend.finance.ledger import account_balance
    from backend.payments import services as payments
    from backend.payments.models import PaymentStatus

    from ..checkout.helpers import GUANGZHOU
    from ..conftest import make_user

    monkeypatch.setattr(payments, "payment_process", functools.partial(payments.payment_process, capture=False))
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    shopper = make_user()
    result = complete(
        ready_checkout(shopper, [(listing(tea, price="30.00"), 1), (listing(silk, price="120.00"), 1)]), user=shopper
    )
    assert result.payment.status == PaymentStatus.AUTHORIZED
    owners = [tea_owner, silk_owner]

    # The payment row, then its orders: both cancellations lock in the same order, so neither deadlocks.
    results = race(lambda i: orders_services.order_cancel(actor=owners[i], order=result.orders[i], reason="No"), 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    payment = Payment.objects.get()
    # Whichever came second found the other's part captured (and paid) and refunded it.
    charged = payment.captured_amount - payment.refunded_amount
    assert charged == 0 and payment.status in (PaymentStatus.CANCELLED, PaymentStatus.REFUNDED)
    assert account_balance(accounts.buyer_refunds(shopper.pk)).amount == payment.refunded_amount
    assert escrow_total().amount == 0 and ledger_problems() == []
