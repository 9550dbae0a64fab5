"""Each named movement's effect on balances, and its idempotency."""

import pytest
from moneyed import Money

from backend.core.exceptions import DomainError
from backend.finance import accounts
from backend.finance import services as movements
from backend.finance.error_codes import FinanceErrorCode
from backend.finance.ledger import account_balance, account_balances, escrow_total, ledger_problems, vendor_balance
from backend.finance.models import LedgerTransaction, TransactionKind
from backend.finance.services import EscrowSplit

from .helpers import captured_payment, cny

pytestmark = pytest.mark.django_db


def balances(vendor):
    b = vendor_balance(vendor)
    return (b.pending, b.available, b.deposit)


@pytest.fixture
def held(vendor, other_vendor, shopper):
    """A 150.00 payment covering an order of 100.00 at `vendor` and one of 50.00 at `other_vendor`."""
    payment = captured_payment("150.00", customer=shopper)
    movements.escrow_hold(
        payment=payment,
        splits=[EscrowSplit("order-1", vendor.pk, cny(100)), EscrowSplit("order-2", other_vendor.pk, cny(50))],
    )
    return payment


def test_escrow_hold_splits_a_payment_per_vendor_order(held, vendor, other_vendor):
    assert balances(vendor) == (cny(100), cny(0), cny(0))
    assert balances(other_vendor) == (cny(50), cny(0), cny(0))
    assert account_balance(accounts.GATEWAY) == cny(-150)
    assert account_balance(accounts.ESCROW) == cny(0)
    assert escrow_total() == cny(150)
    hold = LedgerTransaction.objects.get(kind=TransactionKind.ESCROW_HOLD)
    assert hold.idempotency_key == f"escrow_hold:payment:{held.pk}"
    assert [s["order"] for s in hold.metadata["splits"]] == ["order-1", "order-2"]
    assert ledger_problems() == []


def test_escrow_hold_is_idempotent_and_keeps_an_unsplit_rest_in_escrow(vendor, shopper):
    payment = captured_payment("30.00", customer=shopper)
    splits = [EscrowSplit("o", vendor.pk, cny(25))]
    first = movements.escrow_hold(payment=payment, splits=splits)
    assert movements.escrow_hold(payment=payment, splits=splits).pk == first.pk
    assert account_balance(accounts.ESCROW) == cny(5)
    assert escrow_total() == cny(30)
    with pytest.raises(DomainError) as exc:
        movements.escrow_hold(payment=payment, splits=[EscrowSplit("o", vendor.pk, cny(20))])
    assert exc.value.code == FinanceErrorCode.IDEMPOTENCY_CONFLICT


def test_escrow_hold_refuses_splits_beyond_the_payment(vendor):
    payment = captured_payment("10.00")
    with pytest.raises(DomainError) as exc:
        movements.escrow_hold(payment=payment, splits=[EscrowSplit("o", vendor.pk, cny("10.01"))])
    assert exc.value.code == FinanceErrorCode.INVALID
    with pytest.raises(DomainError):
        movements.escrow_hold(payment=payment, splits=[])


def test_escrow_release_pays_commission_and_the_rest_to_the_vendor(held, vendor):
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny("5.50"))
    assert balances(vendor) == (cny(0), cny("94.50"), cny(0))
    assert account_balance(accounts.PLATFORM_COMMISSION) == cny("5.50")
    # A second confirmation (shopper and the automatic timer) releases nothing more.
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny("5.50"))
    assert balances(vendor) == (cny(0), cny("94.50"), cny(0))
    assert ledger_problems() == []


def test_escrow_release_cannot_take_more_than_the_vendor_has_pending(held, vendor):
    with pytest.raises(DomainError) as exc:
        movements.escrow_release(order_ref="order-x", vendor=vendor, gross=cny(101), commission=cny(0))
    assert exc.value.code == FinanceErrorCode.INSUFFICIENT_FUNDS
    with pytest.raises(DomainError) as exc:
        movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(10), commission=cny(11))
    assert exc.value.code == FinanceErrorCode.INVALID


def test_refund_from_escrow_before_release(held, vendor, shopper):
    movements.refund_from_escrow(refund_ref="r1", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(30))
    assert balances(vendor) == (cny(70), cny(0), cny(0))
    assert account_balance(accounts.buyer_refunds(shopper.pk)) == cny(30)
    with pytest.raises(DomainError) as exc:
        movements.refund_from_escrow(refund_ref="r2", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(71))
    assert exc.value.code == FinanceErrorCode.INSUFFICIENT_FUNDS
    # The rest of the order then releases normally.
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(70), commission=cny("3.50"))
    assert balances(vendor) == (cny(0), cny("66.50"), cny(0))
    assert ledger_problems() == []


def test_refund_from_vendor_takes_available_then_deposit_then_recovers(held, vendor, shopper):
    movements.deposit_top_up(ref="d1", vendor=vendor, amount=cny(20))
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny(10))
    assert balances(vendor) == (cny(0), cny(90), cny(20))
    # A first partial refund after release is covered by the available balance.
    movements.refund_from_vendor(
        refund_ref="r1", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(40), commission_returned=cny(4)
    )
    assert balances(vendor) == (cny(0), cny(54), cny(20))
    assert account_balance(accounts.PLATFORM_COMMISSION) == cny(6)
    # The rest: 54 from available, 2 from the deposit.
    movements.refund_from_vendor(
        refund_ref="r2", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(60), commission_returned=cny(4)
    )
    assert balances(vendor) == (cny(0), cny(0), cny(18))
    assert account_balance(accounts.buyer_refunds(shopper.pk)) == cny(100)
    # A compensation beyond everything the vendor has takes available below zero (recovered from later sales).
    movements.refund_from_vendor(refund_ref="r3", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(25))
    assert balances(vendor) == (cny(0), cny(-7), cny(0))
    r3 = LedgerTransaction.objects.get(idempotency_key="refund_from_vendor:r3")
    assert r3.metadata["recovery"] == "7.00" and r3.metadata["from_deposit"] == "18.00"
    assert ledger_problems() == []


def test_a_commission_share_larger_than_the_refund_credits_the_store_the_difference(held, vendor, shopper):
    # Commission is taken on what the shopper paid plus a platform subsidy: on an order paid mostly
    # by a platform voucher, the commission share of a refund can exceed the refund.
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny(10))
    movements.refund_from_vendor(
        refund_ref="r1", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny("0.01"), commission_returned=cny("0.03")
    )
    assert balances(vendor) == (cny(0), cny("90.02"), cny(0))
    assert account_balance(accounts.PLATFORM_COMMISSION) == cny("9.97")
    assert account_balance(accounts.buyer_refunds(shopper.pk)) == cny("0.01")
    assert ledger_problems() == []
    with pytest.raises(DomainError) as exc:
        movements.refund_from_vendor(
            refund_ref="r2", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(1), commission_returned=cny(-1)
        )
    assert exc.value.code == FinanceErrorCode.INVALID


def test_refund_from_vendor_retry_posts_once_even_though_balances_changed(held, vendor, shopper):
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny(0))
    first = movements.refund_from_vendor(refund_ref="r1", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(60))
    again = movements.refund_from_vendor(refund_ref="r1", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(60))
    assert again.pk == first.pk
    assert balances(vendor) == (cny(0), cny(40), cny(0))
    with pytest.raises(DomainError) as exc:
        movements.refund_from_vendor(refund_ref="r1", order_ref="order-1", vendor=vendor, buyer=shopper, amount=cny(61))
    assert exc.value.code == FinanceErrorCode.IDEMPOTENCY_CONFLICT


def test_payout_reserve_then_settle(held, vendor):
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny(5))
    movements.payout_reserve(payout_ref="p1", vendor=vendor, amount=cny(95))
    assert balances(vendor) == (cny(0), cny(0), cny(0))
    assert account_balance(accounts.PAYOUTS) == cny(95)
    movements.payout_settle(payout_ref="p1", vendor=vendor, amount=cny(95))
    assert account_balance(accounts.PAYOUTS) == cny(0)
    assert account_balance(accounts.GATEWAY) == cny(-55)  # 150 in, 95 out
    # A payout has one outcome.
    with pytest.raises(DomainError) as exc:
        movements.payout_fail(payout_ref="p1", vendor=vendor, amount=cny(95))
    assert exc.value.code == FinanceErrorCode.IDEMPOTENCY_CONFLICT
    movements.payout_reverse(payout_ref="p1", vendor=vendor, amount=cny(95))
    assert balances(vendor) == (cny(0), cny(95), cny(0))
    assert ledger_problems() == []


def test_payout_fail_returns_the_money_to_available(held, vendor):
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny(5))
    movements.payout_reserve(payout_ref="p1", vendor=vendor, amount=cny(50))
    assert balances(vendor) == (cny(0), cny(45), cny(0))
    movements.payout_fail(payout_ref="p1", vendor=vendor, amount=cny(50))
    movements.payout_fail(payout_ref="p1", vendor=vendor, amount=cny(50))
    assert balances(vendor) == (cny(0), cny(95), cny(0))
    assert account_balance(accounts.PAYOUTS) == cny(0)
    with pytest.raises(DomainError) as exc:
        movements.payout_settle(payout_ref="p1", vendor=vendor, amount=cny(50))
    assert exc.value.code == FinanceErrorCode.IDEMPOTENCY_CONFLICT
    with pytest.raises(DomainError) as exc:
        movements.payout_reverse(payout_ref="p1", vendor=vendor, amount=cny(50))
    assert exc.value.code == FinanceErrorCode.INVALID_TRANSITION


def test_payout_rules(held, vendor, other_vendor):
    with pytest.raises(DomainError) as exc:
        movements.payout_reserve(payout_ref="p1", vendor=vendor, amount=cny(1))
    assert exc.value.code == FinanceErrorCode.INSUFFICIENT_FUNDS
    with pytest.raises(DomainError) as exc:
        movements.payout_settle(payout_ref="never", vendor=vendor, amount=cny(1))
    assert exc.value.code == FinanceErrorCode.INVALID_TRANSITION
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny(0))
    movements.payout_reserve(payout_ref="p1", vendor=vendor, amount=cny(10))
    for wrong in ({"vendor": other_vendor, "amount": cny(10)}, {"vendor": vendor, "amount": cny(11)}):
        with pytest.raises(DomainError) as exc:
            movements.payout_settle(payout_ref="p1", **wrong)
        assert exc.value.code == FinanceErrorCode.IDEMPOTENCY_CONFLICT


def test_fee_charge_through_the_gateway_or_from_available(held, vendor):
    movements.fee_charge(fee_ref="entry-2025", vendor=vendor, amount=cny(300))
    assert account_balance(accounts.PLATFORM_FEES) == cny(300)
    assert account_balance(accounts.GATEWAY) == cny(-450)
    with pytest.raises(DomainError) as exc:
        movements.fee_charge(fee_ref="annual", vendor=vendor, amount=cny(1), source="available")
    assert exc.value.code == FinanceErrorCode.INSUFFICIENT_FUNDS
    movements.escrow_release(order_ref="order-1", vendor=vendor, gross=cny(100), commission=cny(0))
    movements.fee_charge(fee_ref="annual", vendor=vendor, amount=cny(30), source="available")
    assert balances(vendor) == (cny(0), cny(70), cny(0))
    assert account_balance(accounts.PLATFORM_FEES) == cny(330)
    with pytest.raises(DomainError):
        movements.fee_charge(fee_ref="x", vendor=vendor, amount=cny(1), source="wallet")


def test_deposit_top_up_deduct_and_release(vendor, shopper):
    movements.deposit_top_up(ref="d1", vendor=vendor, amount=cny(1000))
    assert balances(vendor) == (cny(0), cny(0), cny(1000))
    movements.deposit_deduct(ref="penalty-1", vendor=vendor, amount=cny(100), reason="late shipping")
    assert account_balance(accounts.PLATFORM_FEES) == cny(100)
    movements.deposit_deduct(ref="dispute-7", vendor=vendor, amount=cny(50), buyer=shopper, to_buyer=True)
    assert account_balance(accounts.buyer_refunds(shopper.pk)) == cny(50)
    with pytest.raises(DomainError) as exc:
        movements.deposit_deduct(ref="too-much", vendor=vendor, amount=cny("850.01"))
    assert exc.value.code == FinanceErrorCode.INSUFFICIENT_FUNDS
    movements.deposit_release(ref="closing", vendor=vendor, amount=cny(850))
    assert balances(vendor) == (cny(0), cny(850), cny(0))
    assert ledger_problems() == []


@pytest.mark.parametrize("amount", [cny(0), cny(-1)])
def test_movements_take_positive_amounts(vendor, amount):
    with pytest.raises(DomainError) as exc:
        movements.deposit_top_up(ref="d", vendor=vendor, amount=amount)
    assert exc.value.code == FinanceErrorCode.INVALID


def test_balances_of_unknown_accounts_are_zero(vendor):
    assert balances(vendor) == (cny(0), cny(0), cny(0))
    assert account_balances(["escrow"]) == {"escrow": cny(0)}
    assert account_balance("escrow", currency="USD") == Money(0, "USD")
