"""The dispute policy comes from the active arbitration plugins; this is where the domain asks them.

Plugins get a DisputeFacts snapshot. When no active plugin answers, a state has
no deadline, nothing is decided automatically and staff get no suggestion.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.core.money import Money
from plugins.arbitration.interface import DepositPenalty, DisputeFacts, Ruling, Suggestion
from plugins.manager import PluginsManager, get_plugins_manager

from .models import Dispute, MessageRole


def dispute_facts(dispute: Dispute, *, status: str | None = None) -> DisputeFacts:
    """What the policy may know of a dispute (evidence counted per side)."""
    shopper_evidence = vendor_evidence = 0
    for message in dispute.messages.all():
        count = len(message.evidence.all())
        if message.role == MessageRole.SHOPPER:
            shopper_evidence += count
        elif message.role == MessageRole.VENDOR:
            vendor_evidence += count
    shipment = dispute.return_shipment
    return DisputeFacts(
        id=dispute.pk,
        status=status or dispute.status,
        kind=dispute.kind,
        reason=dispute.reason,
        requested=dispute.requested,
        refundable=dispute.refundable,
        vendor_id=dispute.vendor_id,
        opened_at=dispute.created_at,
        order_released=dispute.order.released_at is not None,
        shopper_evidence=shopper_evidence,
        vendor_evidence=vendor_evidence,
        vendor_responded=dispute.vendor_responded_at is not None,
        return_shipped=shipment is not None,
        return_delivered=shipment is not None and shipment.delivered_at is not None,
        ruled_amount=None if dispute.ruling_amount is None else dispute.money(dispute.ruling_amount),
    )


def _manager(manager: PluginsManager | None) -> PluginsManager:
    return manager or get_plugins_manager()


def deadline_for(dispute: Dispute, state: str, *, now: datetime, manager: PluginsManager | None = None) -> datetime | None:
    """When the dispute's wait in `state` ends, counted from `now`."""
    wait = _manager(manager).run_hook("deadline_for", None, dispute_facts(dispute, status=state), state)
    if wait is None:
        return None
    if not isinstance(wait, timedelta):
        raise TypeError(f"deadline_for must return a timedelta or None, not {type(wait).__name__}")
    return now + wait


def automatic_ruling(dispute: Dispute, *, manager: PluginsManager | None = None) -> Ruling | None:
    return _manager(manager).run_hook("automatic_ruling", None, dispute_facts(dispute))


def suggested_outcome(dispute: Dispute, *, manager: PluginsManager | None = None) -> Suggestion | None:
    """The policy's advice to staff, with the deposit penalty it would take with that ruling."""
    manager = _manager(manager)
    facts = dispute_facts(dispute)
    suggestion = manager.run_hook("suggested_outcome", None, facts)
    if suggestion is None or suggestion.outcome is None or suggestion.deposit_penalty is not None:
        return suggestion
    penalty = manager.run_hook("deposit_penalty", None, facts, Ruling(suggestion.outcome, suggestion.amount))
    if penalty is None:
        return suggestion
    return Suggestion(suggestion.outcome, suggestion.amount, penalty.amount, suggestion.reason)


def deposit_penalty(dispute: Dispute, ruling: Ruling, *, manager: PluginsManager | None = None) -> DepositPenalty | None:
    penalty = _manager(manager).run_hook("deposit_penalty", None, dispute_facts(dispute), ruling)
    if penalty is None or not isinstance(penalty.amount, Money) or penalty.amount.amount <= 0:
        return None
    return penalty
