"""Builders for the dispute tests: paid orders made through checkout, shipping, delivery, release, deposits."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone

from backend.catalog.models import Category
from backend.disputes import services
from backend.disputes.models import Dispute
from backend.finance import accounts
from backend.finance import services as ledger
from backend.finance.ledger import account_balance, ledger_problems
from backend.logistics import services as logistics
from backend.logistics.models import ShipmentStatus
from backend.orders import services as orders
from backend.orders.models import Order
from plugins.logistics.interface import TrackingEventData

from ..checkout.helpers import HANGZHOU, PLUGINS, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import image_bytes, make_user
from ..factories import CategoryFactory

DEFAULT_POLICY = "plugins.arbitration.default.DefaultArbitrationPlugin"
STRICT_POLICY = "plugins.arbitration.strict_evidence.StrictEvidenceArbitrationPlugin"


@pytest.fixture(autouse=True)
def dispute_plugins(settings):
    settings.PLUGINS = [*PLUGINS, DEFAULT_POLICY, STRICT_POLICY]


@dataclass
class World:
    vendor: object
    owner: object
    shopper: object
    order: Order
    tea: object  # listing in a category that allows returns without a reason
    pot: object  # listing in a category that does not


def make_world(*, shopper=None, tea_quantity=2, pot_quantity=1, name=None) -> World:
    """A vendor with two listings and a shopper's paid order of both (escrow held).

    Tea: 2 x 50.00 (returns without a reason allowed), teapot: 1 x 100.00 (not allowed),
    shipping as quoted by the table-rate carrier.
    """
    vendor, owner = store(name, origin=HANGZHOU)
    shopper = shopper or make_user()
    tea = listing(vendor, price="50.00", stock=50)
    pot = listing(vendor, price="100.00", stock=50)
    Category.objects.filter(pk=pot.product.category_id).update(allows_no_reason_return=False)
    wanted = [(tea, tea_quantity)] + ([(pot, pot_quantity)] if pot_quantity else [])
    result = complete(ready_checkout(shopper, wanted), user=shopper)
    (order,) = result.orders
    return World(vendor=vendor, owner=owner, shopper=shopper, order=order, tea=tea, pot=pot)


def ship(world: World) -> Order:
    return orders.order_ship(actor=world.owner, order=world.order, carrier=TABLE_RATE)


def deliver(order: Order, at=None, event_id=None) -> None:
    order.refresh_from_db()
    logistics.tracking_event_record(
        carrier_id=order.shipment.carrier_id,
        event=TrackingEventData(
            event_id=event_id or f"delivered-{order.pk}",
            tracking_number=order.shipment.tracking_number,
            status=ShipmentStatus.DELIVERED,
            occurred_at=at or timezone.now(),
        ),
    )


def release(world: World) -> Order:
    """Shipped, delivered and confirmed by the shopper: the money left escrow."""
    ship(world)
    deliver(world.order)
    return orders.order_confirm_receipt(actor=world.shopper, order=world.order)


def top_up_deposit(vendor, amount: str, ref: str = "deposit") -> None:
    ledger.deposit_top_up(ref=f"{ref}:{vendor.pk}", vendor=vendor.pk, amount=money(amount))


def money(amount: str):
    from backend.core.money import Money

    return Money(Decimal(amount), "CNY")


def balance(code: str) -> Decimal:
    return account_balance(code).amount


def pending(vendor) -> Decimal:
    return balance(accounts.vendor_pending(vendor.pk))


def available(vendor) -> Decimal:
    return balance(accounts.vendor_available(vendor.pk))


def deposit(vendor) -> Decimal:
    return balance(accounts.vendor_deposit(vendor.pk))


def refunds_of(user) -> Decimal:
    return balance(accounts.buyer_refunds(user.pk))


def commission() -> Decimal:
    return balance(accounts.PLATFORM_COMMISSION)


def assert_ledger_sound() -> None:
    assert ledger_problems() == []


def upload(name: str = "evidence.png", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/png")


def worker_runs():
    """Run what the block queues after commit (evidence renditions) at its end, as the worker would;
    inside the test's transaction nothing commits, so on_commit work would never run otherwise."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def open_dispute(world: World, *, reason="not_as_described", amount="30.00", kind=None, lines=None, evidence=(),
                 description="The tea is not the one shown.", rendered: bool = True) -> Dispute:
    """Open a dispute; its evidence is rendered by the worker unless `rendered` is False (still processing)."""
    with worker_runs() if rendered else nullcontext():
        return services.dispute_open(
            actor=world.shopper, order=world.order, reason=reason, kind=kind, description=description,
            requested_amount=amount, lines=lines, evidence=list(evidence),
        )


def fresh(dispute: Dispute) -> Dispute:
    return Dispute.objects.select_related("order").get(pk=dispute.pk)


def new_category(allows: bool = True):
    return CategoryFactory(allows_no_reason_return=allows)


# A camera's marker in the EXIF of gps_jpeg(): a file that contains it still carries the upload's EXIF.
EXIF_MARKER = b"Served-Camera-5e1f"


def gps_jpeg(size=(900, 700)) -> bytes:
    """A photo as a phone takes it: EXIF with the camera's make and a GPS position (Hangzhou)."""
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = EXIF_MARKER.decode()  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}  # GPSInfo
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 140, 60)).save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def carries_exif(content: bytes) -> bool:
    import io

    from PIL import Image

    return (
        EXIF_MARKER in content
        or b"Exif\x00\x00" in content
        or bool(Image.open(io.BytesIO(content)).getexif())
    )
