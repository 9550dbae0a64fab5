"""Gateway plugins that fail a test when asked inside a database transaction.

A gateway call while a transaction is open means row locks (stock, the session, the
payment, the order) may be held while the gateway answers; the session flow, captures, voids
and refunds (also those of cancellations) never do that.
"""

from __future__ import annotations

import threading

from django.db import connection

from plugins.payments.dummy import DummyGatewayPlugin
from plugins.payments.interface import GatewayErrorCode, GatewayResponse
from plugins.payments.stripe import StripeGatewayPlugin

GUARDED_DUMMY = "tests.checkout.guarded.GuardedDummyGateway"
GUARDED_STRIPE = "tests.checkout.guarded.GuardedStripeGateway"
GUARDED_HOOKS = (
    "create_payment_session", "query_payment_session", "close_payment_session", "capture_payment", "void_payment",
    # Refunds too: claimed in one transaction, asked with none open, recorded in another (order_refund).
    "refund_payment",
)
COUNTED_HOOKS: tuple[str, ...] = ()


class CalledUnderLock(AssertionError):
    pass


class GuardedDummyGateway(DummyGatewayPlugin):
    """The dummy gateway, counting its session calls and refusing any made inside a transaction."""

    calls: list[str] = []
    violations: list[str] = []
    # Hooks whose next call times out (the request may have reached the gateway; no answer came back).
    time_out: list[str] = []
    # Hooks whose next call is made at the gateway, but answered with a 5xx carrying its reference.
    lose_answer: list[str] = []
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.violations, cls.time_out, cls.lose_answer = [], [], [], []

    def _guard(self, hook: str) -> None:
        with self.lock:
            self.calls.append(hook)
            if hook in GUARDED_HOOKS and connection.in_atomic_block:
                self.violations.append(hook)
                raise CalledUnderLock(f"{hook} called inside a transaction")


def _guarded(base, hook: str):
    parent = getattr(base, hook)

    def method(self, data, *, previous_value):
        self._guard(hook)
        if hook in type(self).time_out:
            type(self).time_out.remove(hook)
            return GatewayResponse(success=False, error_code=GatewayErrorCode.TIMEOUT, error_message="no answer")
        if hook in getattr(type(self), "lose_answer", []):
            # The gateway did it, but only a 5xx with its reference came back.
            type(self).lose_answer.remove(hook)
            done = parent(self, data, previous_value=previous_value)
            return GatewayResponse(
                success=False, psp_reference=done.psp_reference, error_code=GatewayErrorCode.ERROR, error_message="bad gateway"
            )
        return parent(self, data, previous_value=previous_value)

    method.__name__ = hook
    return method


class GuardedStripeGateway(StripeGatewayPlugin):
    calls: list[str] = []
    violations: list[str] = []
    time_out: list[str] = []
    lock = GuardedDummyGateway.lock
    _guard = GuardedDummyGateway._guard

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.violations, cls.time_out = [], [], []


for _base, _cls in ((DummyGatewayPlugin, GuardedDummyGateway), (StripeGatewayPlugin, GuardedStripeGateway)):
    for _hook in GUARDED_HOOKS + COUNTED_HOOKS:
        setattr(_cls, _hook, _guarded(_base, _hook))
