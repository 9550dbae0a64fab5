"""The dispute deadlines in batches: each dispute ruled on once, refunds claimed in the batch's
transaction, asked at the gateway with none open, and never moved twice, also across a crash
between the steps, a refused refund, a failing dispute and two runs at once (PostgreSQL).

The guarded dummy gateway fails any refund asked inside a transaction, so the tests that count on
it run with real transactions."""

from datetime import timedelta
from decimal import Decimal

import pytest

from backend.disputes import services
from backend.disputes.models import Dispute, DisputeStatus as S
from backend.finance.models import LedgerTransaction
from backend.orders import services as orders
from backend.orders.models import OrderRefund, OrderRefundStatus
from backend.payments.models import Refund
from plugins.payments.interface import GatewayErrorCode, GatewayResponse

from ..checkout.guarded import GUARDED_DUMMY, GuardedDummyGateway
from ..concurrency import postgresql_race, race
from .helpers import assert_ledger_sound, fresh, make_world, open_dispute, refunds_of

pytestmark = pytest.mark.django_db(transaction=True)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def guarded_gateway(settings, dispute_plugins):
    settings.PLUGINS = [p for p in settings.PLUGINS if not p.endswith("DummyGatewayPlugin")] + [GUARDED_DUMMY]
    GuardedDummyGateway.reset()
    yield GuardedDummyGateway
    assert GuardedDummyGateway.violations == []


def silent_vendors(count: int, amount: str = "30.00") -> list[Dispute]:
    """Disputes their stores do not answer: the default policy refunds them as requested."""
    return [open_dispute(make_world(), amount=amount) for _ in range(count)]


def after(disputes) -> object:
    return max(d.deadline_at for d in disputes) + HOUR


def refund_calls() -> int:
    return GuardedDummyGateway.calls.count("refund_payment")


def test_a_batch_of_silent_vendors_refunds_each_once_and_a_second_run_finds_nothing():
    disputes = silent_vendors(5)
    moment = after(disputes)
    assert services.disputes_apply_deadlines(now=moment, batch_size=2) == 5
    assert services.disputes_apply_deadlines(now=moment, batch_size=2) == 0
    for dispute in disputes:
        dispute = fresh(dispute)
        assert (dispute.status, dispute.refunded_amount) == (S.RESOLVED, Decimal("30.00"))
        assert not dispute.order.release_frozen
    assert refund_calls() == 5 and Refund.objects.count() == 5
    assert OrderRefund.objects.filter(status=OrderRefundStatus.SUCCEEDED).count() == 5
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="refund_from_escrow:dispute:").count() == 5
    assert_ledger_sound()


def test_rulings_without_a_refund_and_refunds_in_one_batch():
    refunded = silent_vendors(2)
    world = make_world()
    rejected = services.dispute_respond(actor=world.owner, dispute=open_dispute(world), accept=False, message="No.")
    moment = after([*refunded, rejected])
    assert services.disputes_apply_deadlines(now=moment, batch_size=10) == 3
    assert {fresh(d).status for d in refunded} == {S.RESOLVED}
    rejected = fresh(rejected)
    assert (rejected.status, rejected.ruling_outcome, rejected.refunded_amount) == (S.CLOSED, "reject", 0)
    assert services.disputes_apply_deadlines(now=moment, batch_size=10) == 0
    assert refund_calls() == Refund.objects.count() == 2
    assert_ledger_sound()


def test_a_crash_after_the_claims_asks_the_gateway_again_under_the_same_key_and_refunds_once(monkeypatch):
    (dispute,) = silent_vendors(1)
    moment = after([dispute])
    finish = orders.refunds_finish

    def crash(records, **kwargs):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(orders, "refunds_finish", crash)
    with pytest.raises(RuntimeError):
        services.disputes_apply_deadlines(now=moment)
    # The claim is committed; the dispute is untouched and no money moved.
    (claimed,) = OrderRefund.objects.all()
    assert (claimed.status, claimed.idempotency_key) == (OrderRefundStatus.REQUESTED, f"dispute:{dispute.pk}:refund")
    assert fresh(dispute).status == S.AWAITING_VENDOR and refunds_of(dispute.order.user) == 0
    monkeypatch.setattr(orders, "refunds_finish", finish)

    assert services.disputes_apply_deadlines(now=moment) == 1
    assert services.disputes_apply_deadlines(now=moment) == 0
    assert fresh(dispute).status == S.RESOLVED
    assert OrderRefund.objects.get().pk == claimed.pk and Refund.objects.count() == 1
    assert refund_calls() == 1 and refunds_of(dispute.order.user) == Decimal("30.00")
    assert_ledger_sound()


def test_a_crash_after_the_gateway_answered_records_it_at_the_next_run(monkeypatch):
    (dispute,) = silent_vendors(1)
    moment = after([dispute])
    record_answer = orders._refund_record_answer

    def lost(record, response):
        raise RuntimeError("the worker died after the gateway's answer")

    monkeypatch.setattr(orders, "_refund_record_answer", lost)
    assert services.disputes_apply_deadlines(now=moment) == 0
    assert OrderRefund.objects.get().status == OrderRefundStatus.REQUESTED
    monkeypatch.setattr(orders, "_refund_record_answer", record_answer)

    assert services.disputes_apply_deadlines(now=moment) == 1
    # Asked twice under one key (the gateway refunds once per key); recorded and moved once.
    keys = set(Refund.objects.values_list("idempotency_key", flat=True))
    assert refund_calls() == 2 and len(keys) == 1
    assert refunds_of(dispute.order.user) == Decimal("30.00") and fresh(dispute).status == S.RESOLVED
    assert_ledger_sound()


def test_a_refused_refund_leaves_the_dispute_for_the_next_run_which_claims_under_a_new_key(monkeypatch):
    (dispute,) = silent_vendors(1)
    moment = after([dispute])
    original = GuardedDummyGateway.refund_payment

    def refuse(self, data, *, previous_value):
        self._guard("refund_payment")
        return GatewayResponse(success=False, error_code=GatewayErrorCode.DECLINED, error_message="Card closed.")

    monkeypatch.setattr(GuardedDummyGateway, "refund_payment", refuse)
    assert services.disputes_apply_deadlines(now=moment) == 0
    assert OrderRefund.objects.get().status == OrderRefundStatus.FAILED
    assert fresh(dispute).status == S.AWAITING_VENDOR and refunds_of(dispute.order.user) == 0
    monkeypatch.setattr(GuardedDummyGateway, "refund_payment", original)

    assert services.disputes_apply_deadlines(now=moment) == 1
    keys = list(OrderRefund.objects.order_by("pk").values_list("idempotency_key", "status"))
    assert keys == [
        (f"dispute:{dispute.pk}:refund", OrderRefundStatus.FAILED),
        (f"dispute:{dispute.pk}:refund:2", OrderRefundStatus.SUCCEEDED),
    ]
    assert refunds_of(dispute.order.user) == Decimal("30.00") and fresh(dispute).refunded_amount == Decimal("30.00")
    assert services.disputes_apply_deadlines(now=moment) == 0
    assert_ledger_sound()


def test_a_failing_dispute_does_not_hold_back_the_rest_of_its_batch(monkeypatch):
    disputes = silent_vendors(3)
    moment = after(disputes)
    bad = disputes[1].pk
    from backend.disputes import policy

    ruling = policy.automatic_ruling

    def broken(dispute, **kwargs):
        if dispute.pk == bad:
            raise RuntimeError("a policy plugin failed on this dispute")
        return ruling(dispute, **kwargs)

    monkeypatch.setattr(policy, "automatic_ruling", broken)
    assert services.disputes_apply_deadlines(now=moment, batch_size=10) == 2
    assert [fresh(d).status for d in disputes] == [S.RESOLVED, S.AWAITING_VENDOR, S.RESOLVED]
    monkeypatch.setattr(policy, "automatic_ruling", ruling)
    assert services.disputes_apply_deadlines(now=moment, batch_size=10) == 1
    assert refund_calls() == Refund.objects.count() == 3
    assert_ledger_sound()


@postgresql_race
def test_two_runs_at_once_in_small_batches_rule_on_each_dispute_once():
    disputes = silent_vendors(6)
    moment = after(disputes)

    results = race(lambda _i: services.disputes_apply_deadlines(now=moment, batch_size=2), 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 6
    assert {fresh(d).status for d in disputes} == {S.RESOLVED}
    assert Refund.objects.count() == OrderRefund.objects.count() == 6
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="refund_from_escrow:dispute:").count() == 6
    assert_ledger_sound()
