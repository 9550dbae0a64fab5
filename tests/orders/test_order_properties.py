"""Property test: random sequences of buying (paid or declined), shipping, delivering, confirming,
automatic confirmation, cancelling, dispute freezes and payouts keep the money right.

After every step: each ledger transaction balances, no escrow or pending account is
below zero, each order is released at most once, a vendor's pending balance is
exactly what its unreleased paid orders hold, and stock plus units sold in live
orders is what the store started with. Refused steps (wrong state) change nothing.
"""

import itertools
from datetime import timedelta
from decimal import Decimal

from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from backend.core.exceptions import DomainError, DomainErrors
from backend.finance import accounts
from backend.finance.ledger import account_balance, escrow_total, ledger_problems
from backend.finance.models import LedgerEntry, LedgerTransaction, TransactionKind
from backend.logistics import services as logistics
from backend.logistics.models import ShipmentStatus
from backend.orders import services
from backend.orders.models import Order, OrderStatus
from backend.payments import services as payments
from plugins.logistics.interface import TrackingEventData

from ..checkout.helpers import GUANGZHOU, HANGZHOU, PLUGINS, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user

STOCK = 40
order_index = st.integers(0, 30)
buy = st.tuples(st.just("buy"), st.integers(1, 3), st.integers(1, 3), st.sampled_from(["success", "success", "decline"]))
ship = st.tuples(st.just("ship"), order_index)
deliver = st.tuples(st.just("deliver"), order_index)
confirm = st.tuples(st.just("confirm"), order_index)
cancel = st.tuples(st.just("cancel"), order_index, st.booleans())
auto = st.tuples(st.just("auto"), st.integers(0, 20))
freeze = st.tuples(st.just("freeze"), order_index)
payout = st.tuples(st.just("payout"), st.integers(0, 1))
steps = st.lists(st.one_of(buy, ship, deliver, confirm, cancel, auto, freeze, payout), min_size=4, max_size=16)

UNRELEASED = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


@override_settings(PLUGINS=PLUGINS)
class OrderMoneyPropertyTest(TestCase):
    def setUp(self):
        self.stores = [store(origin=HANGZHOU), store(origin=GUANGZHOU)]
        self.variants = [listing(vendor, price="19.99", stock=STOCK, weight="0.4") for vendor, _ in self.stores]
        self.shopper = make_user()
        self.clock = timezone.now()
        self.keys = itertools.count(1)

    def orders(self):
        return list(Order.objects.order_by("pk"))

    def pick(self, index):
        orders = self.orders()
        return orders[index % len(orders)] if orders else None

    def run_step(self, step):
        kind = step[0]
        if kind == "buy":
            _, mask, quantity, token = step
            lines = [(self.variants[i], quantity) for i in range(2) if mask & (1 << i)]
            checkout = ready_checkout(self.shopper, lines)
            complete(checkout, user=self.shopper, token=token)
            return
        if kind == "auto":
            self.clock += timedelta(days=step[1])
            services.orders_auto_confirm(now=self.clock)
            return
        if kind == "payout":
            vendor = self.stores[step[1]][0]
            amount = account_balance(accounts.vendor_available(vendor.pk))
            if amount.amount > 0:
                payments.transfer_create(vendor=vendor, amount=amount, payout_ref=f"payout-{next(self.keys)}")
            return
        order = self.pick(step[1])
        if order is None:
            return
        owner = next(o for v, o in self.stores if v.pk == order.vendor_id)
        if kind == "ship":
            services.order_ship(actor=owner, order=order, carrier=TABLE_RATE)
        elif kind == "deliver" and order.shipment_id:
            logistics.tracking_event_record(
                carrier_id=TABLE_RATE,
                event=TrackingEventData(
                    event_id=f"evt-{next(self.keys)}", tracking_number=order.shipment.tracking_number,
                    status=ShipmentStatus.DELIVERED, occurred_at=self.clock,
                ),
            )
        elif kind == "confirm":
            services.order_confirm_receipt(actor=self.shopper, order=order)
        elif kind == "cancel":
            services.order_cancel(actor=owner if step[2] else self.shopper, order=order, reason="property test")
        elif kind == "freeze":
            if order.release_frozen:
                services.order_release_unfreeze(order=order)
            else:
                services.order_release_freeze(order=order, reason="dispute")

    def check_invariants(self):
        self.assertEqual(ledger_problems(), [])
        self.assertGreaterEqual(escrow_total().amount, 0)
        releases = LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE)
        released_refs = list(releases.values_list("reference_id", flat=True))
        self.assertEqual(len(released_refs), len(set(released_refs)), "an order was released twice")
        orders = self.orders()
        completed = {str(o.pk) for o in orders if o.status == OrderStatus.COMPLETED}
        self.assertEqual(set(released_refs), completed)
        for (vendor, _), variant in zip(self.stores, self.variants):
            mine = [o for o in orders if o.vendor_id == vendor.pk]
            held = sum((o.total_amount - o.refunded_amount for o in mine if o.status in UNRELEASED), Decimal(0))
            self.assertEqual(account_balance(accounts.vendor_pending(vendor.pk)).amount, held)
            self.assertGreaterEqual(account_balance(accounts.vendor_available(vendor.pk)).amount, 0)
            variant.refresh_from_db()
            live = sum(
                line.quantity
                for o in mine if o.status != OrderStatus.CANCELLED
                for line in o.lines.all()
            )
            self.assertEqual(variant.stock + live, STOCK)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(steps)
    def test_random_order_lifecycles_keep_the_money_right(self, plan):
        for step in plan:
            before = LedgerEntry.objects.count()
            try:
                self.run_step(step)
            except (DomainError, DomainErrors):
                # Refused steps post nothing.
                self.assertEqual(LedgerEntry.objects.count(), before)
            self.check_invariants()
