"""A table-rate carrier that records how it was called, for the two-phase booking tests.

Every call notes whether a database transaction was open (`connection.in_atomic_block`): the
platform must never hold a row lock while a carrier answers. It books idempotently, like a real
carrier API with an Idempotency-Key: the same key gets the same booking back. `script` makes the
next booking fail after the carrier booked (a timeout, a crash) or refuse, or run a callback.
"""

from __future__ import annotations

from django.db import connection

from backend.core.exceptions import DomainError
from backend.logistics.error_codes import LogisticsErrorCode
from plugins.logistics.interface import ShipmentResult
from plugins.logistics.table_rate import TableRateCarrierPlugin

PATH = "tests.orders.guarded_carrier.GuardedCarrier"


class CarrierLog:
    calls: list[tuple[str, bool]] = []  # (hook, inside a transaction)
    bookings: dict[str, ShipmentResult] = {}  # idempotency key -> the booking made
    cancelled: list[str] = []
    script: list = []  # what the next create_shipment calls do: "timeout", "crash", "reject", a callable

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.bookings, cls.cancelled, cls.script = [], {}, [], []

    @classmethod
    def inside_transaction(cls) -> list[str]:
        return [hook for hook, inside in cls.calls if inside]


class GuardedCarrier(TableRateCarrierPlugin):
    def _note(self, hook: str) -> None:
        CarrierLog.calls.append((hook, connection.in_atomic_block))

    def quote(self, package, origin, destination, *, previous_value):
        self._note("quote")
        return super().quote(package, origin, destination, previous_value=previous_value)

    def create_shipment(self, request, quote, *, previous_value):
        self._note("create_shipment")
        step = CarrierLog.script.pop(0) if CarrierLog.script else None
        if step == "reject":
            raise DomainError(LogisticsErrorCode.CARRIER_REJECTED, "Refused: no such street.", field="carrier")
        booked = CarrierLog.bookings.get(request.idempotency_key)
        if booked is None:
            booked = super().create_shipment(request, quote, previous_value=previous_value)
            CarrierLog.bookings[request.idempotency_key] = booked
        if callable(step):
            step()
        if step == "timeout":
            raise DomainError(LogisticsErrorCode.CARRIER_TIMEOUT, "No answer within 5 s.", field="carrier")
        if step == "crash":
            raise RuntimeError("the worker died while the carrier answered")
        return booked

    def cancel_shipment(self, shipment, *, previous_value):
        self._note("cancel_shipment")
        CarrierLog.cancelled.append(shipment.tracking_number)
        return True
