"""Property test through the services: random carts across stores, random platform, store and
co-funded vouchers, orders released or not, random partial refunds before and after release.

After every example: every transaction balances (ledger_problems), the shopper paid exactly what
the pricing showed and got back exactly what was refunded, the platform's promotion account is
down by exactly the subsidy it still owes nobody (paid at release, less the shares refunded), and
each store ends with what it would get from its goods less its own discounts only: no store is
charged for a platform voucher, to the cent.
"""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from backend.checkout.services import checkout_summary
from backend.core.exceptions import DomainError
from backend.core.money import Money
from backend.finance import accounts
from backend.finance.ledger import account_balance, escrow_total, ledger_problems
from backend.orders import services as orders_services
from backend.orders.models import Order
from backend.promotions import services
from backend.promotions.models import OrderDiscount
from backend.promotions.settlement import subsidy_share

from ..checkout.helpers import address, complete, listing, ready_checkout, store
from ..conftest import make_user
from .helpers import finance_staff, platform_voucher, release, store_voucher

prices = st.integers(min_value=100, max_value=60_000).map(lambda c: Decimal(c) / 100)


@st.composite
def voucher_spec(draw, *, platform: bool):
    kind = draw(st.sampled_from(["amount_off", "percentage", "free_shipping"]))
    fields = {"kind": kind}
    if kind == "amount_off":
        fields["value"] = str(draw(st.integers(1, 300)))
    elif kind == "percentage":
        fields["value"] = str(draw(st.integers(1, 90)))
        if draw(st.booleans()):
            fields["max_discount"] = str(draw(st.integers(1, 100)))
    share = draw(st.sampled_from([None, "100", "0", "35", "50"])) if platform else draw(st.sampled_from([None, None, "40"]))
    return fields, share


cart = st.lists(st.tuples(prices, st.integers(1, 3)), min_size=2, max_size=4)
plan = st.fixed_dictionaries(
    {
        "cart": cart,
        "platform": st.one_of(st.none(), voucher_spec(platform=True)),
        "stores": st.lists(st.one_of(st.none(), voucher_spec(platform=False)), min_size=3, max_size=3),
        "released": st.lists(st.booleans(), min_size=3, max_size=3),
        "refunds": st.lists(st.tuples(st.integers(0, 2), st.integers(1, 100), st.booleans()), max_size=4),
    }
)


class VoucherMoneyPropertyTest(TestCase):
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan)
    def test_shares_go_to_whoever_paid_them(self, plan):
        shopper = make_user()
        staff = finance_staff()
        stores = [store(f"Store {i}", origin="330100") for i in range(3)]
        lines = []
        for i, (price, quantity) in enumerate(plan["cart"]):
            vendor = stores[i % len(stores)][0]
            lines.append((listing(vendor, price=str(price), stock=10), quantity))
        vouchers = []
        if plan["platform"] is not None:
            fields, share = plan["platform"]
            extra = {"platform_share_percent": share} if share is not None else {}
            vouchers.append(platform_voucher(staff, code="P1", **fields, **extra))
        for i, spec in enumerate(plan["stores"]):
            if spec is not None:
                fields, share = spec
                voucher = store_voucher(stores[i][1], code=f"S{i}", **fields)
                if share is not None:
                    services.voucher_update(actor=staff, voucher=voucher, data=services.VoucherInput(platform_share_percent=share))
                vouchers.append(voucher)
        checkout = ready_checkout(shopper, lines)
        for voucher in vouchers:
            try:
                services.checkout_voucher_apply(checkout=checkout, user=shopper, code=voucher.code)
            except DomainError as error:
                assert error.code.name == "VOUCHER_NOT_APPLICABLE"
        shown = checkout_summary(checkout).total
        result = complete(checkout, user=shopper)
        orders = sorted(result.orders, key=lambda o: o.vendor_id)
        assert result.payment.amount == shown.amount
        owners = {vendor.pk: owner for vendor, owner in stores}
        # Discount lines add up per funder to what the orders keep; platform-only vouchers cost no store.
        for order in orders:
            rows = list(OrderDiscount.objects.filter(order=order).select_related("voucher"))
            assert sum((r.amount for r in rows), Decimal(0)) == order.discount_amount
            assert sum((r.amount for r in rows if r.funder == "platform"), Decimal(0)) == order.subsidy_amount
            for r in rows:
                if r.funder == "store":
                    assert r.voucher.platform_share_percent < 100
                    assert r.voucher.vendor_id in (None, order.vendor_id)
        # Releases and refunds, in the plan's order.
        for index, order in enumerate(orders):
            if plan["released"][index]:
                release(order, owners[order.vendor_id], shopper)
        refunded_to_shopper = Decimal(0)
        for n, (index, percent, full) in enumerate(plan["refunds"]):
            if index >= len(orders):
                continue
            order = Order.objects.get(pk=orders[index].pk)
            left = order.total_amount - order.refunded_amount
            amount = left if full else (left * percent / 100).quantize(Decimal("0.01"))
            if amount <= 0:
                continue
            orders_services.order_refund(order=order, amount=Money(amount, "CNY"), idempotency_key=f"r{n}", actor=None)
            refunded_to_shopper += amount
        assert account_balance(accounts.buyer_refunds(shopper.pk)).amount == refunded_to_shopper

        promotion_spent = Decimal(0)
        for order in orders:
            order = Order.objects.get(pk=order.pk)
            kept_share = order.subsidy_amount - subsidy_share(order, order.refunded_amount)
            vendor_money = sum(
                (account_balance(code).amount for code in (
                    accounts.vendor_pending(order.vendor_id), accounts.vendor_available(order.vendor_id),
                )),
                Decimal(0),
            )
            kept_paid = order.total_amount - order.refunded_amount
            if order.released_at is None:
                # Before release: the store's pending share is what the shopper paid and was not refunded.
                assert vendor_money == kept_paid
            else:
                promotion_spent += kept_share
                # After release: the shopper's money and the platform's subsidy kept, less commission.
                assert vendor_money == kept_paid + kept_share - order.commission_amount + _commission_returned(order)
                # The store's own discounts are all it gave up: at full price it would have had
                # goods + shipping - its discounts, scaled by what was not refunded.
                store_funded = order.subtotal_amount + order.shipping_amount - order.total_amount - order.subsidy_amount
                assert store_funded == order.discount_amount - order.subsidy_amount
        assert account_balance(accounts.PLATFORM_PROMOTIONS).amount == -promotion_spent
        assert escrow_total().amount == sum(
            (o.total_amount - o.refunded_amount for o in Order.objects.filter(released_at__isnull=True)), Decimal(0)
        )
        assert ledger_problems() == []


def _commission_returned(order) -> Decimal:
    return sum((r.commission_returned_amount for r in order.refunds.all()), Decimal(0))
