from decimal import Decimal

import pytest

from backend.logistics.loaders import load_all
from backend.logistics.models import Region, Shipment, ShipmentStatus, ShippingService
from backend.vendors.models import Vendor, VendorStaff
from plugins.logistics.interface import Parcel, ShipmentRequest
from plugins.models import PluginConfiguration

TABLE_RATE = "logistics.table_rate"
HTTP_CARRIER = "logistics.http_carrier"
CARRIER_PLUGINS = [
    "plugins.logistics.table_rate.TableRateCarrierPlugin",
    "plugins.logistics.http_carrier.HttpCarrierPlugin",
]
WEBHOOK_SECRET = "whsec-table-rate-test-0123456789"

HANGZHOU, NINGBO, ZHEJIANG = "330100", "330200", "330000"
SHANGHAI, GUANGZHOU, SHENZHEN, URUMQI = "310000", "440100", "440300", "650100"


@pytest.fixture(autouse=True)
def carrier_plugins(settings):
    settings.PLUGINS = list(CARRIER_PLUGINS)


@pytest.fixture(autouse=True)
def logistics_data(db):
    # The data migration loads this; transactional tests flush it, so load it again then.
    if not (Region.objects.exists() and ShippingService.objects.filter(carrier_id=TABLE_RATE).exists()):
        load_all()


def parcel(weight, length=0, width=0, height=0) -> Parcel:
    return Parcel(weight=Decimal(str(weight)), length=Decimal(length), width=Decimal(width), height=Decimal(height))


def make_vendor(user_factory, name="Tea House"):
    user = user_factory()
    slug = name.lower().replace(" ", "-")
    vendor = Vendor.objects.create(
        name=name, slug=slug, company_name=f"{name} Ltd", contact_email=f"{slug}@example.com", status="active"
    )
    VendorStaff.objects.create(vendor=vendor, user=user, role="owner")
    return vendor, user


@pytest.fixture
def vendor_and_owner(user_factory):
    return make_vendor(user_factory)


@pytest.fixture
def vendor(vendor_and_owner):
    return vendor_and_owner[0]


@pytest.fixture
def merchant(vendor_and_owner):
    return vendor_and_owner[1]


@pytest.fixture
def other_vendor_and_owner(user_factory):
    return make_vendor(user_factory, "Silk Road")


def configure_plugin(plugin_id: str, *, active: bool = True, **configuration) -> PluginConfiguration:
    row, _ = PluginConfiguration.objects.update_or_create(
        identifier=plugin_id, defaults={"active": active, "configuration": configuration}
    )
    return row


@pytest.fixture
def webhook_secret(db):
    configure_plugin(TABLE_RATE, webhook_secret=WEBHOOK_SECRET)
    return WEBHOOK_SECRET


def shipment_request(vendor, *, service="express", origin=HANGZHOU, destination=SHANGHAI, weight="2", carrier=TABLE_RATE,
                     reference="order-1", key="", parcels=None) -> ShipmentRequest:
    return ShipmentRequest(
        vendor=vendor,
        reference=reference,
        carrier=carrier,
        service_code=service,
        origin=origin,
        destination=destination,
        parcels=tuple(parcels or (parcel(weight, 30, 20, 10),)),
        idempotency_key=key,
    )


def make_shipment(vendor, *, status=ShipmentStatus.INFO_RECEIVED, tracking_number="MP0001", carrier=TABLE_RATE, **extra):
    """A shipment row as if booked earlier, for tracking tests."""
    fields = dict(
        vendor=vendor, reference="order-1", carrier_id=carrier, service_code="express", service_name="Express",
        origin_code=HANGZHOU, destination_code=SHANGHAI, weight=Decimal("2"), price_amount=Decimal("24.00"),
        currency="CNY", promised_days=2, tracking_number=tracking_number, status=status,
    )
    fields.update(extra)
    return Shipment.objects.create(**fields)
