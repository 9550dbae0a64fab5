"""The arbitration plugins' hooks, and how the domain asks them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.core.money import Money
from backend.disputes import policy, services
from plugins.arbitration.default import DefaultArbitrationPlugin
from plugins.arbitration.interface import DisputeFacts, DisputeState as S, Outcome, Ruling
from plugins.arbitration.strict_evidence import StrictEvidenceArbitrationPlugin
from plugins.manager import PluginsManager
from plugins.models import PluginConfiguration

from .helpers import DEFAULT_POLICY, STRICT_POLICY, make_world, open_dispute, upload


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def facts(**changes) -> DisputeFacts:
    values = dict(
        id=1, status=S.AWAITING_VENDOR, kind="refund_only", reason="damaged", requested=cny("80.00"),
        refundable=cny("100.00"), vendor_id=1, opened_at=timezone.now(), order_released=False, shopper_evidence=0,
        vendor_evidence=0, vendor_responded=False, return_shipped=False, return_delivered=False,
    )
    values.update(changes)
    return DisputeFacts(**values)


@pytest.mark.parametrize(
    "state, hours",
    [(S.AWAITING_VENDOR, 72), (S.AWAITING_BUYER, 168), (S.UNDER_ARBITRATION, 120), (S.AWAITING_RETURN, 168),
     (S.RETURN_SHIPPED, 240), (S.RESOLVED, 72), (S.OPEN, None), (S.CLOSED, None)],
)
def test_default_deadlines(state, hours):
    wait = DefaultArbitrationPlugin().deadline_for(facts(), state, previous_value=None)
    assert wait == (timedelta(hours=hours) if hours else None)


def test_default_rulings_favour_the_side_that_acted():
    plugin = DefaultArbitrationPlugin()
    ruling = lambda status, **kw: plugin.automatic_ruling(facts(status=status, **kw), previous_value=None)  # noqa: E731
    assert ruling(S.AWAITING_VENDOR).outcome == Outcome.REFUND_FULL
    assert ruling(S.AWAITING_BUYER).outcome == Outcome.REJECT
    assert ruling(S.AWAITING_RETURN).outcome == Outcome.REJECT
    assert ruling(S.RETURN_SHIPPED, ruled_amount=cny("30.00")).amount == cny("30.00")
    assert ruling(S.UNDER_ARBITRATION) is None


def test_default_suggestion_without_merchant_evidence_the_claim_stands():
    plugin = DefaultArbitrationPlugin()
    suggest = lambda **kw: plugin.suggested_outcome(facts(**kw), previous_value=None)  # noqa: E731
    assert (suggest().outcome, suggest().amount) == (Outcome.REFUND_FULL, cny("80.00"))
    assert suggest(shopper_evidence=2, vendor_evidence=0).outcome == Outcome.REFUND_FULL
    assert suggest(shopper_evidence=0, vendor_evidence=1).outcome == Outcome.REJECT
    assert suggest(shopper_evidence=1, vendor_evidence=1).outcome is None


def test_default_penalty_only_for_silent_vendors_when_configured():
    plugin = DefaultArbitrationPlugin(configuration={"silent_vendor_penalty_percent": "12.5"})
    refund = Ruling(Outcome.REFUND_FULL)
    assert plugin.deposit_penalty(facts(), refund, previous_value=None).amount == cny("10.00")
    assert plugin.deposit_penalty(facts(vendor_responded=True), refund, previous_value=None) is None
    assert plugin.deposit_penalty(facts(), Ruling(Outcome.REJECT), previous_value=None) is None
    assert DefaultArbitrationPlugin().deposit_penalty(facts(), refund, previous_value=None) is None


def test_strict_policy_needs_the_shoppers_evidence_and_splits_the_difference():
    plugin = StrictEvidenceArbitrationPlugin()
    assert plugin.automatic_ruling(facts(), previous_value=None).outcome == Outcome.ESCALATE
    assert plugin.automatic_ruling(facts(shopper_evidence=1), previous_value=None).outcome == Outcome.REFUND_FULL
    assert plugin.suggested_outcome(facts(), previous_value=None).outcome == Outcome.REJECT
    split = plugin.suggested_outcome(facts(shopper_evidence=1, vendor_evidence=1), previous_value=None)
    assert (split.outcome, split.amount) == (Outcome.REFUND_PARTIAL, cny("40.00"))
    penalty = plugin.deposit_penalty(facts(), Ruling(Outcome.REFUND_PARTIAL, cny("50.00")), previous_value=None)
    assert (penalty.amount, penalty.to_buyer) == (cny("5.00"), True)
    assert plugin.deposit_penalty(facts(vendor_evidence=1), Ruling(Outcome.REFUND_FULL), previous_value=None) is None


@pytest.mark.django_db
def test_the_domain_asks_the_active_policy_and_the_last_one_wins():
    world = make_world()
    dispute = open_dispute(world, evidence=[upload()])
    suggestion = policy.suggested_outcome(dispute, manager=PluginsManager([DEFAULT_POLICY]))
    assert (suggestion.outcome, suggestion.amount) == (Outcome.REFUND_FULL, cny("30.00"))
    services.dispute_message_add(actor=world.owner, dispute=dispute, evidence=[upload()])
    facts_now = policy.dispute_facts(dispute)
    assert (facts_now.shopper_evidence, facts_now.vendor_evidence) == (1, 1)
    assert policy.suggested_outcome(dispute, manager=PluginsManager([DEFAULT_POLICY])).outcome is None
    PluginConfiguration.objects.create(identifier="arbitration.strict_evidence", active=True)
    both = policy.suggested_outcome(dispute, manager=PluginsManager([DEFAULT_POLICY, STRICT_POLICY]))
    assert (both.outcome, both.amount) == (Outcome.REFUND_PARTIAL, cny("15.00"))
    assert policy.suggested_outcome(dispute, manager=PluginsManager([])) is None
