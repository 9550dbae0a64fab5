"""Shipping books with the carrier in two phases: the order is checked and its shipment claimed
(BOOKING) in a short transaction, the carrier is called with no transaction open, the booking is
recorded in a second transaction. A timeout or a crash between the phases leaves a BOOKING
shipment that the next attempt (same idempotency key) or orders.complete_bookings finishes with
the carrier's first booking; never two bookings. Cancelling a shipment works the same way.

These tests commit for real (transaction=True): the guarded carrier sees whether a transaction is open.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.core.exceptions import DomainError
from backend.logistics import services as logistics
from backend.logistics.models import CarrierQuota, CarrierQuotaUsage, Region, Shipment, ShipmentStatus
from backend.orders import services as orders
from backend.orders.models import Order, OrderStatus

from ..checkout.helpers import DUMMY, HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..graphql_client import CORE_URL, GraphQLClient
from .guarded_carrier import PATH, CarrierLog

pytestmark = pytest.mark.django_db(transaction=True)

SHIP = """
mutation($id: ID!) {
  orderShip(id: $id, input: {carrier: "logistics.table_rate"}) {
    order { status shipment { status trackingNumber } } errors { field code message }
  }
}"""
CANCEL = """
mutation($id: ID!) { shipmentCancel(id: $id, reason: "Wrong box.") { shipment { status } errors { code } } }"""


@pytest.fixture(autouse=True)
def guarded_carrier(settings):
    settings.PLUGINS = [PATH, "plugins.payments.dummy.DummyGatewayPlugin"]
    CarrierLog.reset()
    yield CarrierLog
    CarrierLog.reset()


@pytest.fixture
def paid():
    vendor, owner = store("Tea House", origin=HANGZHOU)
    (order,) = complete(ready_checkout(None, [(listing(vendor), 1)]), gateway=DUMMY).orders
    assert order.status == OrderStatus.PAID
    CarrierLog.calls.clear()
    return owner, Order.objects.get(pk=order.pk)


def ship(owner, order, **kwargs):
    return orders.order_ship(actor=owner, order=order, carrier=TABLE_RATE, **kwargs)


def code(exc_info) -> str:
    return exc_info.value.code.name


def test_the_carrier_is_never_called_inside_a_transaction(paid):
    owner, order = paid
    shipped = ship(owner, order)
    assert shipped.status == OrderStatus.SHIPPED and shipped.shipment.status == ShipmentStatus.INFO_RECEIVED
    assert [hook for hook, _ in CarrierLog.calls] == ["quote", "create_shipment"]
    logistics.shipment_cancel(shipment=shipped.shipment, actor=owner)
    assert [hook for hook, _ in CarrierLog.calls][-1] == "cancel_shipment"
    assert CarrierLog.inside_transaction() == []


def test_through_the_api_too(paid):
    owner, order = paid
    merchant = GraphQLClient(CORE_URL).login(owner)
    payload = merchant.mutate(SHIP, {"id": to_global_id("Order", order.pk)})
    assert payload["errors"] == [] and payload["order"]["status"] == "SHIPPED"
    shipment = Order.objects.get(pk=order.pk).shipment
    payload = merchant.mutate(CANCEL, {"id": to_global_id("Shipment", shipment.pk)})
    assert payload == {"shipment": {"status": "CANCELLED"}, "errors": []}
    assert {hook for hook, _ in CarrierLog.calls} == {"quote", "create_shipment", "cancel_shipment"}
    assert CarrierLog.inside_transaction() == []


def test_a_timeout_leaves_a_booking_the_retry_finishes_with_the_first_booking(paid):
    owner, order = paid
    CarrierLog.script = ["timeout"]  # the carrier booked, but its answer never came
    with pytest.raises(DomainError) as exc_info:
        ship(owner, order)
    assert code(exc_info) == "CARRIER_TIMEOUT"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert (order.shipment.status, order.shipment.tracking_number) == (ShipmentStatus.BOOKING, "")
    # Another carrier while the first booking is unresolved could book twice: refused.
    with pytest.raises(DomainError) as exc_info:
        ship(owner, order, service_code="express")
    assert code(exc_info) == "CARRIER_CALL_IN_PROGRESS"

    shipped = ship(owner, order)
    (booked,) = CarrierLog.bookings.values()
    assert shipped.status == OrderStatus.SHIPPED and shipped.shipment.tracking_number == booked.tracking_number
    assert Shipment.objects.count() == 1 and CarrierLog.inside_transaction() == []


def test_a_crash_between_the_phases_is_recovered_by_the_periodic_task(paid, settings):
    owner, order = paid
    CarrierLog.script = ["crash"]
    with pytest.raises(RuntimeError):
        ship(owner, order)
    order.refresh_from_db()
    assert order.shipment.status == ShipmentStatus.BOOKING and order.shipment.carrier_call_started_at
    # The dead attempt still holds the claim: a retry now does not call the carrier a second time.
    with pytest.raises(DomainError) as exc_info:
        ship(owner, order)
    assert code(exc_info) == "CARRIER_CALL_IN_PROGRESS"
    assert orders.orders_complete_bookings() == 0
    # Once the claim has lapsed, the periodic task finishes the booking with the carrier's first one.
    later = timezone.now() + timedelta(seconds=settings.SHIPMENT_CARRIER_CALL_TIMEOUT + 1)
    assert orders.orders_complete_bookings(now=later) == 1
    order.refresh_from_db()
    (booked,) = CarrierLog.bookings.values()
    assert order.status == OrderStatus.SHIPPED and order.shipment.tracking_number == booked.tracking_number
    assert Shipment.objects.count() == 1
    assert orders.orders_complete_bookings(now=later) == 0
    assert CarrierLog.inside_transaction() == []


def test_a_refusal_undoes_the_claim_and_gives_the_quota_back(paid):
    owner, order = paid
    CarrierQuota.objects.update_or_create(
        carrier_id=TABLE_RATE, origin=Region.objects.get(code="330000"), defaults={"daily_limit": 5}
    )
    CarrierLog.script = ["reject"]
    with pytest.raises(DomainError) as exc_info:
        ship(owner, order)
    assert code(exc_info) == "CARRIER_REJECTED"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.shipment is None
    assert not Shipment.objects.exists() and CarrierQuotaUsage.objects.get().used == 0
    assert ship(owner, order, service_code="express").status == OrderStatus.SHIPPED
    assert CarrierQuotaUsage.objects.get().used == 1


def test_an_order_cancelled_while_its_parcel_is_booked_gets_the_booking_cancelled(paid):
    owner, order = paid
    CarrierLog.script = [lambda: orders.order_cancel(actor=owner, order=order, reason="Out of stock after all.")]
    with pytest.raises(DomainError) as exc_info:
        ship(owner, order)
    assert code(exc_info) == "INVALID_TRANSITION"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    (shipment,) = Shipment.objects.all()
    assert shipment.status == ShipmentStatus.CANCELLED
    assert CarrierLog.cancelled == [shipment.tracking_number]
    assert CarrierLog.inside_transaction() == []


def test_a_shipment_being_booked_cannot_be_cancelled_until_booked(paid):
    owner, order = paid
    CarrierLog.script = ["timeout"]
    with pytest.raises(DomainError):
        ship(owner, order)
    with pytest.raises(DomainError) as exc_info:
        logistics.shipment_cancel(shipment=Order.objects.get(pk=order.pk).shipment, actor=owner)
    assert code(exc_info) == "CARRIER_CALL_IN_PROGRESS"
