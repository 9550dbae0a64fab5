"""The platform's default dispute policy.

The platform rule: without evidence from the merchant, the shopper's claim
stands. Deadlines are configurable per waiting state; when one passes, the side
that did not act loses (a silent vendor refunds as requested, a silent shopper
loses the dispute). Disputes under arbitration wait for staff, whose deadline
only orders their queue.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from backend.core.money import Money, quantize
from plugins.base import BasePlugin, ConfigField, ConfigType

from .interface import DepositPenalty, DisputeFacts, DisputeState, Outcome, Ruling, Suggestion

S = DisputeState


def hours(value) -> timedelta | None:
    hours_ = int(value or 0)
    return timedelta(hours=hours_) if hours_ > 0 else None


def percent_of(amount: Money, percent) -> Money:
    currency = amount.currency.code
    return Money(quantize(amount.amount * Decimal(str(percent or 0)) / 100, currency), currency)


class DefaultArbitrationPlugin(BasePlugin):
    PLUGIN_ID = "arbitration.default"
    PLUGIN_NAME = "Default dispute policy"
    DESCRIPTION = (
        "Without evidence from the merchant the shopper's claim stands; a side that misses its deadline loses."
    )
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {
        "vendor_response_hours": ConfigField(ConfigType.INTEGER, 72, "Time the vendor has to answer a new dispute."),
        "buyer_response_hours": ConfigField(
            ConfigType.INTEGER, 168, "Time the shopper has to escalate or withdraw after the vendor rejected."
        ),
        "arbitration_hours": ConfigField(
            ConfigType.INTEGER, 120, "Target time for staff to rule (orders the queue; no automatic ruling)."
        ),
        "return_ship_hours": ConfigField(ConfigType.INTEGER, 168, "Time the shopper has to send the goods back."),
        "return_receive_hours": ConfigField(
            ConfigType.INTEGER, 240, "Time the vendor has to confirm a shipped return before the refund is automatic."
        ),
        "return_delivered_hours": ConfigField(
            ConfigType.INTEGER, 72, "Time the vendor has to confirm once the carrier delivered the return."
        ),
        "resolved_hours": ConfigField(ConfigType.INTEGER, 72, "Time a resolved dispute stays open for messages."),
        "silent_vendor_penalty_percent": ConfigField(
            ConfigType.DECIMAL, "0", "Percent of the refund taken from the deposit of a vendor who never answered."
        ),
    }

    def deadline_for(self, dispute: DisputeFacts, state: str, *, previous_value):
        if state == S.RETURN_SHIPPED and dispute.return_delivered:
            return hours(self.get("return_delivered_hours"))
        key = {
            S.AWAITING_VENDOR: "vendor_response_hours",
            S.AWAITING_BUYER: "buyer_response_hours",
            S.UNDER_ARBITRATION: "arbitration_hours",
            S.AWAITING_RETURN: "return_ship_hours",
            S.RETURN_SHIPPED: "return_receive_hours",
            S.RESOLVED: "resolved_hours",
        }.get(state)
        return hours(self.get(key)) if key else None

    def automatic_ruling(self, dispute: DisputeFacts, *, previous_value):
        if dispute.status == S.AWAITING_VENDOR:
            return Ruling(Outcome.REFUND_FULL, note="The vendor did not answer in time: refund as requested.")
        if dispute.status == S.AWAITING_BUYER:
            return Ruling(Outcome.REJECT, note="The shopper did not escalate in time: closed in the vendor's favour.")
        if dispute.status == S.AWAITING_RETURN:
            return Ruling(Outcome.REJECT, note="The goods were not sent back in time: closed in the vendor's favour.")
        if dispute.status == S.RETURN_SHIPPED:
            return Ruling(
                Outcome.REFUND_FULL,
                amount=dispute.ruled_amount,
                note="The vendor did not confirm the returned goods in time: refund as agreed.",
            )
        return None  # under arbitration: staff decide

    def suggested_outcome(self, dispute: DisputeFacts, *, previous_value):
        if dispute.vendor_evidence == 0:
            return Suggestion(
                Outcome.REFUND_FULL,
                amount=dispute.requested,
                reason="The merchant gave no evidence, so the shopper's claim stands.",
            )
        if dispute.shopper_evidence == 0:
            return Suggestion(
                Outcome.REJECT, reason="The merchant gave evidence and the shopper none: the claim is not shown."
            )
        return Suggestion(None, reason="Both sides gave evidence: compare the pictures and the thread.")

    def deposit_penalty(self, dispute: DisputeFacts, ruling: Ruling, *, previous_value):
        if dispute.vendor_responded or ruling.outcome not in (Outcome.REFUND_FULL, Outcome.REFUND_PARTIAL):
            return None
        amount = percent_of(ruling.amount or dispute.requested, self.get("silent_vendor_penalty_percent"))
        if amount.amount <= 0:
            return None
        return DepositPenalty(amount, to_buyer=True, reason="The vendor did not answer the dispute.")
