"""Builders shared by the checkout and orders tests: published listings, ready checkouts, completion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.catalog.models import ListingStatus, ProductVariant
from backend.checkout import services as checkout_services
from backend.checkout.services import AddressInput, LineInput
from backend.finance import accounts
from backend.finance.ledger import account_balance
from backend.logistics.loaders import load_all
from backend.logistics.models import Region, ShippingService
from backend.orders.models import VendorShippingOrigin

from ..factories import ProductFactory, ProductVariantFactory, vendor_with_owner

TABLE_RATE = "logistics.table_rate"
DUMMY = "dummy"
PLUGINS = [
    "plugins.logistics.table_rate.TableRateCarrierPlugin",
    "plugins.payments.dummy.DummyGatewayPlugin",
]
HANGZHOU, SHANGHAI, BEIJING, GUANGZHOU = "330100", "310000", "110000", "440100"


@pytest.fixture(autouse=True)
def marketplace_plugins(settings):
    settings.PLUGINS = list(PLUGINS)


@pytest.fixture(autouse=True)
def logistics_data(db):
    # The data migration loads this; transactional tests flush it, so load it again then.
    if not (Region.objects.exists() and ShippingService.objects.filter(carrier_id=TABLE_RATE).exists()):
        load_all()


def store(name: str | None = None, *, origin: str | None = None):
    """A selling vendor and its owner; `origin` gives it a shipping origin of its own."""
    fields = {"name": name, "slug": name.lower().replace(" ", "-")} if name else {}
    vendor, owner = vendor_with_owner(**fields)
    if origin:
        VendorShippingOrigin.objects.create(vendor=vendor, region_code=origin)
    return vendor, owner


def listing(vendor, *, price="100.00", stock=10, weight="0.500", name=None) -> ProductVariant:
    """A published listing of `vendor` with one variant."""
    extra = {"name": name} if name else {}
    product = ProductFactory(vendor=vendor, status=ListingStatus.PUBLISHED, **extra)
    return ProductVariantFactory(
        product=product, price_amount=Decimal(price), stock=stock, weight_kg=Decimal(weight)
    )


def address(region: str = SHANGHAI) -> AddressInput:
    return AddressInput(
        region=region, street_address_1="1 Nanjing Road", first_name="Li", last_name="Lei", phone="13800000000",
        city="Shanghai", postal_code="200000",
    )


def ready_checkout(user=None, lines=(), *, email="buyer@example.com", service="economy", region=SHANGHAI):
    """A checkout with address and a table-rate service chosen for each vendor package."""
    checkout = checkout_services.checkout_create(
        user=user,
        email=email,
        lines=[LineInput(variant_id=variant.pk, quantity=quantity) for variant, quantity in lines],
        shipping_address=address(region),
    )
    for vendor_id in sorted({variant.vendor_id for variant, _ in lines}):
        checkout_services.checkout_shipping_method_update(
            checkout=checkout, vendor_id=vendor_id, carrier=TABLE_RATE, service_code=service
        )
    checkout.refresh_from_db()
    return checkout


def complete(checkout, *, user=None, token="success", gateway=DUMMY):
    return checkout_services.checkout_complete(checkout=checkout, user=user, gateway=gateway, token=token)


def balance(code: str) -> Decimal:
    return account_balance(code).amount


def pending(vendor) -> Decimal:
    return balance(accounts.vendor_pending(vendor.pk))


def available(vendor) -> Decimal:
    return balance(accounts.vendor_available(vendor.pk))


def commission_account() -> Decimal:
    return balance(accounts.PLATFORM_COMMISSION)
