"""The other periodic work at scale: N due objects handled by their task, then a second run that
finds nothing.

    .venv/bin/python bench/periodic_bench.py --task expire --due 100000
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace .venv/bin/python bench/periodic_bench.py --task expire --due 100000

Tasks:
- `expire` (orders.expire_unpaid): unpaid orders past their stock reservation, each with its own
  payment authorized at the dummy gateway (voided afterwards, one gateway call per payment);
- `sessions` (checkout.expire_payment_sessions): payment sessions past their time that the gateway
  never saw (no psp reference: nothing to close there), each holding one stock reservation;
- `checkouts` (checkout.delete_stale): checkouts with one line nobody touched for CHECKOUT_TTL_DAYS;
- `disputes` (disputes.apply_deadlines): refund disputes the store did not answer in time, decided
  for the shopper (a refund out of escrow through the dummy gateway each).

Data from bench/data.py (100 stores, 2,000 listings) plus the due objects, bulk inserted, in a
database of its own (bench_periodic_<task> by default, `--database` to name it; dropped afterwards).
Checks afterwards that every object was handled once and the ledger has no problem.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

BATCH = data.BATCH


def _variants():
    from backend.catalog.models import ListingStatus, ProductVariant
    from backend.vendors.models import VendorStatus

    return list(
        ProductVariant.objects.filter(
            product__status=ListingStatus.PUBLISHED, product__vendor__status=VendorStatus.ACTIVE
        ).values_list("pk", "product_id", "product__category_id", "vendor_id", "price_amount", "sku", "product__name")
    )


def seed_unpaid(count: int, *, progress: bool) -> None:
    """`count` unpaid orders past their reservation, one authorized dummy payment each."""
    from django.db import transaction
    from django.utils import timezone

    from backend.orders.models import Order, OrderLine, OrderStatus
    from backend.payments.models import Payment, PaymentPurpose, PaymentStatus

    shoppers = data.seed_shoppers(max(1, count // 20), progress=progress)
    variants = _variants()
    rng = random.Random(11)
    now = timezone.now()
    bar = data._bar(count, "unpaid orders", "order", progress)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        payments, orders, lines = [], [], []
        for number in range(start, start + size):
            variant_id, product_id, category_id, vendor_id, price, sku, name = rng.choice(variants)
            quantity = rng.choice((1, 1, 2))
            total = price * quantity + Decimal("10.00")
            payments.append(
                Payment(
                    gateway="dummy", psp_reference=f"dummy_pay_bench_{number}", idempotency_key=f"bench:unpaid:{number}",
                    request_fingerprint="0" * 64, purpose=PaymentPurpose.CHECKOUT, customer_id=rng.choice(shoppers),
                    customer_email=f"s{number}@shopper.bench", amount=total, currency="CNY",
                    status=PaymentStatus.AUTHORIZED,
                )
            )
            orders.append(
                Order(
                    checkout_token=uuid.UUID(int=rng.getrandbits(128)), vendor_id=vendor_id,
                    user_id=payments[-1].customer_id, email=f"s{number}@shopper.bench", currency="CNY",
                    subtotal_amount=price * quantity, shipping_amount=Decimal("10.00"), total_amount=total,
                    shipping_carrier_id="logistics.table_rate", shipping_service_code="standard",
                    shipping_region="110000", shipping_origin="330100", status=OrderStatus.UNPAID,
                    reserved_until=now - timedelta(minutes=5),
                )
            )
            lines.append(
                OrderLine(
                    variant_id=variant_id, product_id=product_id, category_id=category_id, product_name=name,
                    variant_sku=sku, quantity=quantity, unit_price_amount=price, currency="CNY",
                    commission_rate=Decimal("0.05"), weight_kg=Decimal("0.500"),
                )
            )
        with transaction.atomic():
            payments = Payment.objects.bulk_create(payments, batch_size=BATCH)
            for order, payment in zip(orders, payments):
                order.payment_id = payment.pk
            orders = Order.objects.bulk_create(orders, batch_size=BATCH)
            for order, line in zip(orders, lines):
                line.order_id = order.pk
            OrderLine.objects.bulk_create(lines, batch_size=BATCH)
        bar.update(size)
    bar.close()


def seed_checkouts(count: int, *, progress: bool, sessions: bool) -> None:
    """`count` checkouts with one line; with sessions, each with an open payment session past its time
    holding its line's stock; without, untouched for longer than CHECKOUT_TTL_DAYS."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from backend.checkout.models import Checkout, CheckoutLine
    from backend.checkout.reservations import StockReservation
    from backend.checkout.sessions import PaymentSession, PaymentSessionState

    variants = _variants()
    rng = random.Random(13)
    now = timezone.now()
    bar = data._bar(count, "sessions" if sessions else "checkouts", "checkout", progress)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        checkouts, lines, picked = [], [], []
        for number in range(start, start + size):
            variant_id, _, _, _, price, _, _ = rng.choice(variants)
            checkouts.append(Checkout(email=f"s{number}@shopper.bench", currency="CNY", shipping_region="110000"))
            lines.append(CheckoutLine(checkout=checkouts[-1], variant_id=variant_id, quantity=1, price_amount=price))
            picked.append((variant_id, price))
        with transaction.atomic():
            Checkout.objects.bulk_create(checkouts, batch_size=BATCH)
            CheckoutLine.objects.bulk_create(lines, batch_size=BATCH)
            if sessions:
                made = PaymentSession.objects.bulk_create(
                    [
                        PaymentSession(
                            checkout=checkout, gateway="dummy", amount=price, currency="CNY", fingerprint="0" * 64,
                            state=PaymentSessionState.CREATED, expires_at=now - timedelta(minutes=1),
                        )
                        for checkout, (_, price) in zip(checkouts, picked)
                    ],
                    batch_size=BATCH,
                )
                StockReservation.objects.bulk_create(
                    [
                        StockReservation(session=session, variant_id=variant_id, quantity=1, expires_at=session.expires_at)
                        for session, (variant_id, _) in zip(made, picked)
                    ],
                    batch_size=BATCH,
                )
            else:
                Checkout.objects.filter(pk__in=[c.pk for c in checkouts]).update(
                    updated_at=now - timedelta(days=settings.CHECKOUT_TTL_DAYS + 1)
                )
        bar.update(size)
    bar.close()


def seed_disputes(count: int, *, progress: bool) -> None:
    """`count` refund-only disputes of shipped orders (paid through a captured dummy payment, their
    money in escrow and frozen) that their store did not answer before the deadline."""
    from django.db import transaction
    from django.utils import timezone
    from moneyed import Money

    from backend.disputes.models import Dispute, DisputeKind, DisputeReason, DisputeStatus
    from backend.finance import accounts
    from backend.finance.ledger import post_transaction
    from backend.finance.models import TransactionKind
    from backend.orders.models import Order, OrderLine, OrderStatus
    from backend.payments.models import Payment, PaymentPurpose, PaymentStatus

    shoppers = data.seed_shoppers(max(1, count // 20), progress=progress)
    variants = _variants()
    rng = random.Random(17)
    now = timezone.now()
    held: dict[int, Decimal] = {}
    bar = data._bar(count, "disputes", "dispute", progress)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        payments, orders, lines, disputes = [], [], [], []
        for number in range(start, start + size):
            variant_id, product_id, category_id, vendor_id, price, sku, name = rng.choice(variants)
            quantity = rng.choice((1, 1, 2))
            total = price * quantity + Decimal("10.00")
            shopper = rng.choice(shoppers)
            held[vendor_id] = held.get(vendor_id, Decimal(0)) + total
            payments.append(
                Payment(
                    gateway="dummy", psp_reference=f"dummy_pay_bench_{number}", idempotency_key=f"bench:dispute:{number}",
                    request_fingerprint="0" * 64, purpose=PaymentPurpose.CHECKOUT, customer_id=shopper,
                    customer_email=f"s{number}@shopper.bench", amount=total, captured_amount=total, currency="CNY",
                    status=PaymentStatus.CAPTURED,
                )
            )
            orders.append(
                Order(
                    checkout_token=uuid.UUID(int=rng.getrandbits(128)), vendor_id=vendor_id, user_id=shopper,
                    email=f"s{number}@shopper.bench", currency="CNY", subtotal_amount=price * quantity,
                    shipping_amount=Decimal("10.00"), total_amount=total, shipping_carrier_id="logistics.table_rate",
                    shipping_service_code="standard", shipping_region="110000", shipping_origin="330100",
                    status=OrderStatus.SHIPPED, paid_at=now - timedelta(days=6), shipped_at=now - timedelta(days=5),
                    auto_confirm_at=now + timedelta(days=10), release_frozen=True,
                    release_frozen_reason="Dispute opened.",
                )
            )
            lines.append(
                OrderLine(
                    variant_id=variant_id, product_id=product_id, category_id=category_id, product_name=name,
                    variant_sku=sku, quantity=quantity, unit_price_amount=price, currency="CNY",
                    commission_rate=Decimal("0.05"), weight_kg=Decimal("0.500"),
                )
            )
            disputes.append(
                Dispute(
                    vendor_id=vendor_id, opened_by_id=shopper, reason=DisputeReason.NOT_RECEIVED,
                    kind=DisputeKind.REFUND_ONLY, description="Never arrived.", currency="CNY",
                    requested_amount=total, refundable_amount=total, status=DisputeStatus.AWAITING_VENDOR,
                    deadline_at=now - timedelta(minutes=5), status_changed_at=now - timedelta(days=3),
                )
            )
        with transaction.atomic():
            payments = Payment.objects.bulk_create(payments, batch_size=BATCH)
            for order, payment in zip(orders, payments):
                order.payment_id = payment.pk
            orders = Order.objects.bulk_create(orders, batch_size=BATCH)
            for order, line, dispute in zip(orders, lines, disputes):
                line.order_id = dispute.order_id = order.pk
            OrderLine.objects.bulk_create(lines, batch_size=BATCH)
            Dispute.objects.bulk_create(disputes, batch_size=BATCH)
        bar.update(size)
    bar.close()
    for vendor_id, amount in sorted(held.items()):
        money = Money(amount, "CNY")
        post_transaction(
            idempotency_key=f"bench:dispute-escrow:vendor:{vendor_id}",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -money), (accounts.vendor_pending(vendor_id), money)],
            description="Bench data: the disputed orders' money held in escrow",
        )


def run_disputes(args, batch):
    from django.conf import settings

    from backend.disputes import services
    from backend.disputes.models import Dispute, DisputeStatus
    from backend.finance.ledger import escrow_total
    from backend.orders.models import Order, OrderRefund, OrderRefundStatus, OrderStatus

    seed_disputes(args.due, progress=not args.no_progress)
    data.analyze()
    size = batch or settings.DISPUTE_DEADLINE_BATCH_SIZE
    first, done, second, again = _twice(lambda: services.disputes_apply_deadlines(batch_size=size))
    assert done == args.due and again == 0, (done, again)
    assert Dispute.objects.filter(status=DisputeStatus.RESOLVED).count() == args.due
    assert OrderRefund.objects.filter(status=OrderRefundStatus.SUCCEEDED).count() == args.due == OrderRefund.objects.count()
    assert Order.objects.filter(status=OrderStatus.REFUNDED).count() == args.due
    assert escrow_total().amount == 0, escrow_total()
    return size, first, done, second


def run_expire(args, batch):
    from django.conf import settings

    from backend.core.models import AuditLogEntry
    from backend.orders import services
    from backend.orders.models import Order, OrderStatus
    from backend.payments.models import Payment, PaymentStatus

    seed_unpaid(args.due, progress=not args.no_progress)
    data.analyze()
    size = batch or settings.ORDER_EXPIRY_BATCH_SIZE
    first, done, second, again = _twice(lambda: services.orders_expire_unpaid(batch_size=size))
    assert done == args.due and again == 0, (done, again)
    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == args.due
    assert Payment.objects.filter(status=PaymentStatus.CANCELLED).count() == args.due
    assert AuditLogEntry.objects.filter(action="order.cancel").count() == args.due
    return size, first, done, second


def run_sessions(args, batch):
    from django.conf import settings

    from backend.checkout import services
    from backend.checkout.reservations import StockReservation
    from backend.checkout.sessions import PaymentSession, PaymentSessionState

    seed_checkouts(args.due, progress=not args.no_progress, sessions=True)
    data.analyze()
    size = batch or settings.PAYMENT_SESSION_EXPIRY_BATCH_SIZE
    first, done, second, again = _twice(lambda: services.payment_sessions_expire(batch_size=size))
    assert done == args.due and again == 0, (done, again)
    assert PaymentSession.objects.filter(state=PaymentSessionState.EXPIRED).count() == args.due
    assert StockReservation.objects.count() == 0
    return size, first, done, second


def run_checkouts(args, batch):
    from django.conf import settings

    from backend.checkout import services
    from backend.checkout.models import Checkout, CheckoutLine

    seed_checkouts(args.due, progress=not args.no_progress, sessions=False)
    data.analyze()
    size = batch or settings.CHECKOUT_DELETE_BATCH_SIZE
    first, done, second, again = _twice(lambda: services.checkouts_delete_stale(batch_size=size))
    assert done == args.due and again == 0, (done, again)
    assert Checkout.objects.count() == 0 and CheckoutLine.objects.count() == 0
    return size, first, done, second


def _twice(task):
    started = time.perf_counter()
    done = task()
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = task()
    second = time.perf_counter() - started
    return first, done, second, again


TASKS = {"disputes": run_disputes, "expire": run_expire, "sessions": run_sessions, "checkouts": run_checkouts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the task's batch size setting")
    parser.add_argument("--database", default=None, help="own database's name (default periodic_<task>): bench_<name>")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    data.configure_environment()
    # The notifications are sent (the embedded default delivers them after each commit), not printed.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    import django

    django.setup()
    from django.db import connection

    from backend.finance.ledger import ledger_problems

    original = connection.settings_dict["NAME"]
    data.use_own_database(args.database or f"periodic_{args.task}", keep=False)
    try:
        data.seed(data.Sizes(vendors=100, suspended=0, listings=2000, variants_per_listing=1), progress=not args.no_progress)
        size, first, done, second = TASKS[args.task](args, args.batch_size)
        problems = ledger_problems()
        assert problems == [], problems[:5]
        print(f"\nTask: {args.task}; database: {connection.vendor}; {os.cpu_count()} cores; batch size {size}; "
              f"load {Path('/proc/loadavg').read_text().split()[:3]}")
        print("| due | handled in s | per second | second run s |")
        print("| ---: | ---: | ---: | ---: |")
        print(f"| {done:,} | {first:.1f} | {done / first:,.0f} | {second:.3f} |")
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
