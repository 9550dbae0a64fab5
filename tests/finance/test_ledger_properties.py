"""Property test: any sequence of money movements keeps the ledger consistent.

Random holds, releases, refunds (before and after release), payouts and their
outcomes, with amounts that are sometimes too large: whatever is refused posts
nothing, and after every step each transaction balances, no escrow or deposit
account is below zero, every cached balance equals its entries and all
accounts together sum to zero.
"""

from decimal import Decimal

from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from backend.core.exceptions import DomainError
from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.commission import commission_for, commission_return_for
from backend.finance.ledger import account_balance, escrow_total, ledger_problems
from backend.finance.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from backend.finance.services import EscrowSplit

from ..conftest import make_user
from ..factories import VendorFactory
from .helpers import captured_payment, cny

VENDORS = 3
cents = st.integers(min_value=1, max_value=50_000)

hold = st.tuples(st.just("hold"), st.lists(st.tuples(st.integers(0, VENDORS - 1), cents), min_size=1, max_size=3))
release = st.tuples(st.just("release"), st.integers(0, 30), st.integers(0, 2000))
refund = st.tuples(st.just("refund"), st.integers(0, 30), cents)
deposit = st.tuples(st.just("deposit"), st.integers(0, VENDORS - 1), cents)
payout = st.tuples(st.just("payout"), st.integers(0, VENDORS - 1), cents)
outcome = st.tuples(st.sampled_from(["settle", "fail"]), st.integers(0, 30))
operations = st.lists(st.one_of(hold, release, refund, deposit, payout, outcome), min_size=1, max_size=25)


class LedgerPropertyTest(TestCase):
    def setUp(self):
        self.vendors = [VendorFactory() for _ in range(VENDORS)]
        self.buyer = make_user()
        self.orders = []  # what each order had, was released and was refunded (after release, if released)
        self.payouts = []  # reserved payouts without an outcome yet: (ref, vendor, amount)
        self.step = 0

    def run_step(self, op):
        self.step += 1
        n = self.step
        kind = op[0]
        if kind == "hold":
            splits = [EscrowSplit(f"o{n}-{i}", self.vendors[v].pk, cny(Decimal(c) / 100)) for i, (v, c) in enumerate(op[1])]
            payment = captured_payment(sum((s.amount.amount for s in splits), Decimal(0)), customer=self.buyer)
            movements.escrow_hold(payment=payment, splits=splits)
            self.orders += [
                {"ref": s.order_ref, "vendor": self.vendors[v], "gross": s.amount, "released": None, "refunded": cny(0)}
                for s, (v, _c) in zip(splits, op[1])
            ]
        elif kind == "release" and self.orders:
            order = self.orders[op[1] % len(self.orders)]
            gross = order["gross"] - order["refunded"]
            commission = commission_for(gross, Decimal(op[2]) / 10_000)
            movements.escrow_release(order_ref=order["ref"], vendor=order["vendor"], gross=gross, commission=commission)
            order.update(released=gross, commission=commission, refunded=cny(0))
        elif kind == "refund" and self.orders:
            order = self.orders[op[1] % len(self.orders)]
            amount = cny(Decimal(op[2]) / 100)
            common = {"refund_ref": f"r{n}", "order_ref": order["ref"], "vendor": order["vendor"], "buyer": self.buyer}
            if order["released"] is None:
                movements.refund_from_escrow(amount=amount, **common)
            else:
                back = commission_return_for(
                    gross=order["released"], commission=order["commission"], refunded_before=order["refunded"], refund=amount
                )
                movements.refund_from_vendor(amount=amount, commission_returned=back, **common)
            order["refunded"] += amount
        elif kind == "deposit":
            movements.deposit_top_up(ref=f"d{n}", vendor=self.vendors[op[1]], amount=cny(Decimal(op[2]) / 100))
        elif kind == "payout":
            amount = cny(Decimal(op[2]) / 100)
            movements.payout_reserve(payout_ref=f"p{n}", vendor=self.vendors[op[1]], amount=amount)
            self.payouts.append([f"p{n}", self.vendors[op[1]], amount])
        elif kind in ("settle", "fail") and self.payouts:
            ref, vendor, amount = self.payouts.pop(op[1] % len(self.payouts))
            post = movements.payout_settle if kind == "settle" else movements.payout_fail
            post(payout_ref=ref, vendor=vendor, amount=amount)

    def check_invariants(self):
        self.assertEqual(ledger_problems(), [])
        self.assertGreaterEqual(escrow_total().amount, 0)
        guarded = LedgerAccount.objects.filter(non_negative=True).exclude(kind=AccountKind.VENDOR_AVAILABLE)
        self.assertFalse(guarded.filter(balance__lt=0).exists())
        # Cached balances plus the hot accounts' balances (the sums of their entries) net to zero.
        hot = LedgerAccount.objects.filter(kind__in=accounts.HOT_KINDS)
        hot_total = LedgerEntry.objects.filter(account__in=hot).aggregate(total=Sum("amount"))["total"] or 0
        cached_total = LedgerAccount.objects.exclude(kind__in=accounts.HOT_KINDS).aggregate(total=Sum("balance"))["total"] or 0
        self.assertEqual(cached_total + hot_total, 0)
        for account in hot.filter(non_negative=True):
            self.assertGreaterEqual(account_balance(account.code).amount, 0, account.code)
        for txn in LedgerTransaction.objects.all():
            self.assertEqual(sum(txn.entries.values_list("amount", flat=True)), 0)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(operations)
    def test_random_movements_keep_the_ledger_consistent(self, ops):
        for op in ops:
            before = LedgerEntry.objects.count()
            try:
                self.run_step(op)
            except DomainError:
                # Refused movements post nothing.
                self.assertEqual(LedgerEntry.objects.count(), before)
            self.check_invariants()
