"""The contract between the platform and carrier plugins, as plain dataclasses.

Units: weights in kilograms, lengths in centimetres, amounts as Money (Decimal).
Region codes are the six-digit administrative division codes of GB/T 2260
(a province such as "330000" Zhejiang, or a city such as "330100" Hangzhou).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from backend.core.money import Money

if TYPE_CHECKING:
    from backend.vendors.models import Vendor


@dataclass(frozen=True)
class Parcel:
    """One box: actual weight and outer dimensions (0 when unknown)."""

    weight: Decimal
    length: Decimal = Decimal(0)
    width: Decimal = Decimal(0)
    height: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in ("weight", "length", "width", "height")}


@dataclass(frozen=True)
class Package:
    """What one vendor sends in one go: one or more parcels.

    vendor_id selects negotiated prices; ship_at (default: now) selects event prices.
    """

    parcels: tuple[Parcel, ...]
    vendor_id: int | None = None
    ship_at: datetime | None = None

    @property
    def weight(self) -> Decimal:
        return sum((parcel.weight for parcel in self.parcels), Decimal(0))


@dataclass(frozen=True)
class CarrierService:
    code: str
    name: str
    time_guaranteed: bool = False
    description: str = ""


@dataclass(frozen=True)
class CarrierInfo:
    carrier: str  # the plugin's PLUGIN_ID
    name: str
    services: tuple[CarrierService, ...] = ()


@dataclass(frozen=True)
class Quote:
    """One service's offer for a whole package."""

    carrier: str
    service_code: str
    service_name: str
    price: Money
    promised_days: int
    time_guaranteed: bool
    carrier_name: str = ""
    chargeable_weight: Decimal | None = None
    # The carrier's own price before platform pricing rules (events, negotiated discounts).
    list_price: Money | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactAddress:
    name: str = ""
    phone: str = ""
    region: str = ""
    street: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class ShipmentRequest:
    """Everything a carrier needs to book a shipment.

    reference is the caller's own key (the orders issue puts the order id there);
    idempotency_key makes repeating the same request return the same shipment.
    """

    vendor: Vendor
    reference: str
    carrier: str
    service_code: str
    origin: str
    destination: str
    parcels: tuple[Parcel, ...]
    idempotency_key: str = ""
    sender: ContactAddress | None = None
    recipient: ContactAddress | None = None

    @property
    def package(self) -> Package:
        return Package(parcels=self.parcels, vendor_id=self.vendor.pk)


@dataclass(frozen=True)
class ShipmentResult:
    tracking_number: str
    label_data: dict[str, Any] = field(default_factory=dict)
    carrier_reference: str = ""


@dataclass(frozen=True)
class ShipmentReference:
    """How a plugin is told which booked shipment a call is about."""

    tracking_number: str
    carrier_reference: str = ""
    reference: str = ""


@dataclass(frozen=True)
class TrackingEventData:
    """One carrier event, with the carrier's status already mapped to ours (ShipmentStatus)."""

    event_id: str
    tracking_number: str
    status: str
    occurred_at: datetime
    carrier_status: str = ""
    location: str = ""
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
