"""A stricter dispute policy a platform can switch on instead of the default.

A claim needs the shopper's own evidence: a vendor's silence refunds only a
claim with pictures (others go to staff), staff are advised to reject claims
without evidence and to split the difference when both sides gave some, and a
vendor that loses without having given evidence pays a share of the refund
from its deposit to the shopper. It shows that the policy is a plugin.
"""

from __future__ import annotations

from backend.core.money import Money, quantize
from plugins.base import BasePlugin, ConfigField, ConfigType

from .default import hours, percent_of
from .interface import DepositPenalty, DisputeFacts, DisputeState, Outcome, Ruling, Suggestion

S = DisputeState


class StrictEvidenceArbitrationPlugin(BasePlugin):
    PLUGIN_ID = "arbitration.strict_evidence"
    PLUGIN_NAME = "Strict evidence dispute policy"
    DESCRIPTION = "Claims need the shopper's evidence; with evidence on both sides, split the difference."
    DEFAULT_ACTIVE = False
    CONFIG_STRUCTURE = {
        "response_hours": ConfigField(ConfigType.INTEGER, 48, "Time each side has to act in a waiting state."),
        "arbitration_hours": ConfigField(ConfigType.INTEGER, 72, "Target time for staff to rule."),
        "penalty_percent": ConfigField(
            ConfigType.DECIMAL, "10", "Percent of a refund a vendor without evidence pays from its deposit."
        ),
    }

    def deadline_for(self, dispute: DisputeFacts, state: str, *, previous_value):
        if state == S.UNDER_ARBITRATION:
            return hours(self.get("arbitration_hours"))
        if state in (S.AWAITING_VENDOR, S.AWAITING_BUYER, S.AWAITING_RETURN, S.RETURN_SHIPPED, S.RESOLVED):
            return hours(self.get("response_hours"))
        return None

    def automatic_ruling(self, dispute: DisputeFacts, *, previous_value):
        if dispute.status == S.AWAITING_VENDOR:
            if dispute.shopper_evidence:
                return Ruling(Outcome.REFUND_FULL, note="The vendor did not answer a claim with evidence.")
            return Ruling(Outcome.ESCALATE, note="The vendor did not answer, but the claim has no evidence.")
        if dispute.status == S.RETURN_SHIPPED:
            return Ruling(Outcome.REFUND_FULL, amount=dispute.ruled_amount, note="The return was not contested.")
        if dispute.status in (S.AWAITING_BUYER, S.AWAITING_RETURN):
            return Ruling(Outcome.REJECT, note="The shopper did not act in time.")
        return None

    def suggested_outcome(self, dispute: DisputeFacts, *, previous_value):
        if dispute.shopper_evidence == 0:
            return Suggestion(Outcome.REJECT, reason="The shopper gave no evidence.")
        if dispute.vendor_evidence == 0:
            return Suggestion(Outcome.REFUND_FULL, amount=dispute.requested, reason="Only the shopper gave evidence.")
        currency = dispute.requested.currency.code
        half = Money(quantize(dispute.requested.amount / 2, currency), currency)
        return Suggestion(Outcome.REFUND_PARTIAL, amount=half, reason="Both sides gave evidence: split the difference.")

    def deposit_penalty(self, dispute: DisputeFacts, ruling: Ruling, *, previous_value):
        if dispute.vendor_evidence or ruling.outcome not in (Outcome.REFUND_FULL, Outcome.REFUND_PARTIAL):
            return None
        amount = percent_of(ruling.amount or dispute.requested, self.get("penalty_percent"))
        if amount.amount <= 0:
            return None
        return DepositPenalty(amount, to_buyer=True, reason="The vendor lost without giving evidence.")
