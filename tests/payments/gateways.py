"""A scripted gateway for tests: answers what the test queues and counts the calls."""

from __future__ import annotations

import json
import threading

from plugins.base import BasePlugin
from plugins.payments.interface import GatewayErrorCode, GatewayEvent, GatewayEventType, GatewayResponse, GatewayStatus

PATH = "tests.payments.gateways.ScriptedGateway"


class ScriptedGateway(BasePlugin):
    PLUGIN_ID = "scripted"
    PLUGIN_NAME = "Scripted gateway"
    DEFAULT_ACTIVE = True

    calls: list = []
    script: list[str] = []
    lock = threading.Lock()

    @classmethod
    def reset(cls, *script: str) -> None:
        cls.calls = []
        cls.script = list(script)

    def _answer(self, hook: str, data) -> GatewayResponse:
        with self.lock:
            self.calls.append((hook, data))
            outcome = self.script.pop(0) if self.script else "success"
        if outcome == "timeout":
            return GatewayResponse(success=False, error_code=GatewayErrorCode.TIMEOUT, error_message="no answer")
        if outcome == "decline":
            return GatewayResponse(success=False, error_code=GatewayErrorCode.DECLINED, error_message="declined")
        if outcome == "pending":
            return GatewayResponse(success=True, psp_reference=f"scripted-{len(self.calls)}", status=GatewayStatus.PENDING)
        status = {"process_payment": GatewayStatus.CAPTURED, "create_transfer": GatewayStatus.PAID}.get(
            hook, GatewayStatus.REFUNDED
        )
        return GatewayResponse(
            success=True, psp_reference=f"scripted-{len(self.calls)}", status=status, amount=data.amount, currency=data.currency
        )

    def process_payment(self, payment_data, *, previous_value):
        return self._answer("process_payment", payment_data)

    def refund_payment(self, refund_data, *, previous_value):
        return self._answer("refund_payment", refund_data)

    def create_transfer(self, transfer_data, *, previous_value):
        return self._answer("create_transfer", transfer_data)

    def parse_webhook(self, request, *, previous_value):
        """Unsigned JSON events (a test gateway only): {"id", "type", "psp_reference"}."""
        body = json.loads(request.body)
        return [GatewayEvent(body["id"], GatewayEventType(body["type"]), body.get("psp_reference", ""))]
