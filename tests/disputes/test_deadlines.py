"""Deadlines from the arbitration plugin and the periodic task that applies its rulings (controlled clock)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from backend.core.audit import audit_trail
from backend.disputes import services, tasks
from backend.disputes.models import Dispute, DisputeStatus as S, RulingSource
from backend.finance.models import LedgerTransaction
from backend.logistics import services as logistics
from backend.logistics.models import ShipmentStatus
from backend.payments.models import Refund
from plugins.logistics.interface import TrackingEventData
from plugins.models import PluginConfiguration

from ..checkout.helpers import TABLE_RATE
from ..concurrency import postgresql_race, race
from .helpers import (
    assert_ledger_sound,
    deposit,
    fresh,
    make_world,
    open_dispute,
    pending,
    refunds_of,
    top_up_deposit,
    upload,
)

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def world():
    return make_world()


def run_at(moment) -> int:
    with freeze_time(moment):
        return tasks.apply_deadlines.delay().get()


def test_a_silent_vendor_refunds_as_requested_once(world):
    dispute = open_dispute(world, amount="30.00")
    assert run_at(dispute.deadline_at - HOUR) == 0
    assert run_at(dispute.deadline_at + HOUR) == 1
    assert run_at(dispute.deadline_at + HOUR) == 0  # the second run finds nothing to do
    dispute = fresh(dispute)
    assert (dispute.status, dispute.ruling_source, dispute.ruling_outcome) == (S.RESOLVED, RulingSource.AUTOMATIC, "refund_full")
    assert (dispute.refunded_amount, refunds_of(world.shopper), pending(world.vendor)) == (
        Decimal("30.00"), Decimal("30.00"), Decimal("188.00"),
    )
    assert Refund.objects.count() == 1
    assert audit_trail(dispute).first().actor is None
    assert not dispute.order.release_frozen
    assert_ledger_sound()


def test_a_silent_shopper_loses_in_the_vendors_favour(world):
    dispute = services.dispute_respond(actor=world.owner, dispute=open_dispute(world), accept=False, message="No.")
    assert run_at(dispute.deadline_at + HOUR) == 1
    dispute = fresh(dispute)
    assert (dispute.status, dispute.ruling_outcome, dispute.ruling_source) == (S.CLOSED, "reject", RulingSource.AUTOMATIC)
    assert (refunds_of(world.shopper), dispute.order.release_frozen) == (0, False)


def test_goods_not_sent_back_in_time_close_the_dispute(world):
    dispute = open_dispute(world, reason="damaged", kind="return_and_refund")
    dispute = services.dispute_respond(actor=world.owner, dispute=dispute, accept=True)
    assert dispute.status == S.AWAITING_RETURN
    assert dispute.deadline_at == dispute.status_changed_at + timedelta(hours=168)
    assert run_at(dispute.deadline_at + HOUR) == 1
    dispute = fresh(dispute)
    assert (dispute.status, dispute.ruling_outcome, dispute.refunded_amount) == (S.CLOSED, "reject", 0)


def test_a_vendor_silent_about_the_returned_goods_refunds_and_delivery_shortens_its_time(world):
    dispute = open_dispute(world, reason="damaged", kind="return_and_refund", amount="40.00")
    # The vendor never answers: the return is accepted by the deadline, then the goods go back.
    run_at(dispute.deadline_at + HOUR)
    dispute = fresh(dispute)
    assert (dispute.status, dispute.ruling_amount, dispute.refunded_amount) == (S.AWAITING_RETURN, Decimal("40.00"), 0)
    shipped_at = dispute.deadline_at - HOUR
    with freeze_time(shipped_at):
        dispute = services.dispute_return_ship(actor=world.shopper, dispute=dispute, carrier=TABLE_RATE,
                                               tracking_number="RT-9")
    assert dispute.deadline_at == shipped_at + timedelta(hours=240)
    delivered_at = shipped_at + timedelta(days=2)
    logistics.tracking_event_record(
        carrier_id=TABLE_RATE,
        event=TrackingEventData(event_id="rt-9-delivered", tracking_number="RT-9", status=ShipmentStatus.DELIVERED,
                                occurred_at=delivered_at),
    )
    dispute = fresh(dispute)
    assert dispute.deadline_at == delivered_at + timedelta(hours=72)
    assert run_at(dispute.deadline_at + HOUR) == 1
    dispute = fresh(dispute)
    assert (dispute.status, dispute.refunded_amount) == (S.RESOLVED, Decimal("40.00"))
    assert_ledger_sound()


def test_staff_have_a_target_but_no_automatic_ruling_and_resolved_disputes_close(world, staff_factory):
    from backend.core.permissions import PlatformPermission

    arbiter = staff_factory(PlatformPermission.ARBITRATE_DISPUTES)
    dispute = services.dispute_escalate(actor=arbiter, dispute=open_dispute(world))
    assert dispute.deadline_at == dispute.status_changed_at + timedelta(hours=120)
    assert run_at(dispute.deadline_at + timedelta(days=30)) == 0
    assert fresh(dispute).status == S.UNDER_ARBITRATION
    dispute = services.dispute_resolve(actor=arbiter, dispute=dispute, outcome="reject")
    assert dispute.deadline_at == dispute.status_changed_at + timedelta(hours=72)
    services.dispute_message_add(actor=world.shopper, dispute=dispute, body="Thanks anyway.")
    assert run_at(dispute.deadline_at + HOUR) == 1
    dispute = fresh(dispute)
    assert (dispute.status, dispute.deadline_at, dispute.closed_at is not None) == (S.CLOSED, None, True)


def test_deadlines_follow_the_plugin_configuration(world):
    PluginConfiguration.objects.create(
        identifier="arbitration.default", active=True,
        configuration={"vendor_response_hours": 24, "silent_vendor_penalty_percent": "50"},
    )
    top_up_deposit(world.vendor, "10.00")
    dispute = open_dispute(world, amount="30.00")
    assert dispute.deadline_at == dispute.status_changed_at + timedelta(hours=24)
    run_at(dispute.deadline_at + HOUR)
    dispute = fresh(dispute)
    # Half of the refund from the deposit of a vendor who never answered, at most what it holds.
    assert (dispute.deposit_penalty_amount, dispute.deposit_penalty_to_buyer) == (Decimal("10.00"), True)
    assert (deposit(world.vendor), refunds_of(world.shopper)) == (0, Decimal("40.00"))
    assert_ledger_sound()


def test_the_strict_policy_sends_claims_without_evidence_to_staff(world, settings):
    PluginConfiguration.objects.create(identifier="arbitration.default", active=False)
    PluginConfiguration.objects.create(identifier="arbitration.strict_evidence", active=True)
    top_up_deposit(world.vendor, "100.00")
    bare = open_dispute(world, amount="20.00")
    assert bare.deadline_at == bare.status_changed_at + timedelta(hours=48)
    run_at(bare.deadline_at + HOUR)
    bare = fresh(bare)
    assert (bare.status, bare.refunded_amount) == (S.UNDER_ARBITRATION, 0)

    other = make_world()
    top_up_deposit(other.vendor, "100.00")
    with_evidence = open_dispute(other, amount="20.00", evidence=[upload()])
    run_at(with_evidence.deadline_at + HOUR)
    with_evidence = fresh(with_evidence)
    assert (with_evidence.status, with_evidence.refunded_amount) == (S.RESOLVED, Decimal("20.00"))
    # 10% of the refund from the deposit of a vendor that gave no evidence, to the shopper.
    assert (with_evidence.deposit_penalty_amount, deposit(other.vendor)) == (Decimal("2.00"), Decimal("98.00"))


def test_no_active_policy_means_no_deadline(world):
    PluginConfiguration.objects.create(identifier="arbitration.default", active=False)
    dispute = open_dispute(world)
    assert dispute.deadline_at is None
    assert run_at(timezone.now() + timedelta(days=365)) == 0


@postgresql_race
def test_two_runs_at_once_rule_once():
    world = make_world()
    dispute = open_dispute(world, amount="30.00")
    moment = dispute.deadline_at + HOUR
    results = race(lambda _i: services.disputes_apply_deadlines(now=moment), 4)
    assert sorted(results) == [0, 0, 0, 1]
    assert Dispute.objects.get().status == S.RESOLVED
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="refund_from_escrow:dispute:").count() == 1
    assert Refund.objects.count() == 1
    assert refunds_of(world.shopper) == Decimal("30.00")
    assert_ledger_sound()
