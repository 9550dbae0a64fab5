"""The world the fuzzer runs in: a store with listings, a paid order in dispute, a cart, an
application waiting for review, and the four kinds of caller (anonymous, shopper, merchant owner,
superuser staff)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from graphql_relay import to_global_id

from backend.accounts.jwt import create_access_token
from backend.accounts.models import User
from backend.catalog.models import ListingStatus
from backend.vendors.models import VendorApplication

from ..checkout.helpers import HANGZHOU, logistics_data, ready_checkout  # noqa: F401 - autouse fixture
from ..conftest import PASSWORD, make_user
from ..disputes.helpers import DEFAULT_POLICY, make_world, open_dispute
from ..factories import CategoryFactory, ProductFactory, ProductVariantFactory
from . import strategies

# Only plugins that never leave the machine: the fuzzer may switch any plugin on with pluginUpdate,
# so the HTTP carrier and Stripe are not installed at all.
FUZZ_PLUGINS = [
    "plugins.listing.banned_words.BannedWordsPlugin",
    "plugins.listing.image_check.ImageCheckPlugin",
    "plugins.logistics.table_rate.TableRateCarrierPlugin",
    "plugins.payments.dummy.DummyGatewayPlugin",
    DEFAULT_POLICY,
    "plugins.arbitration.strict_evidence.StrictEvidenceArbitrationPlugin",
]


@pytest.fixture(autouse=True)
def fuzz_plugins(settings):
    settings.PLUGINS = list(FUZZ_PLUGINS)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Schemathesis calls the bare WSGI application, whose request_started and request_finished
    signals close the database connection (Django's test client unhooks them): on PostgreSQL that
    would end the test's transaction at the first request."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@dataclass
class FuzzWorld:
    headers: dict[str, dict[str, str]]  # caller -> request headers


def _operation(request) -> str:
    """The field a schemathesis test item fuzzes: "orderShip" for test_core_api[Mutation.orderShip]."""
    return request.node.name.partition("[")[2].rstrip("]").rpartition(".")[2]


def _id_pool(nodes: list[tuple[str, object]], operation: str) -> list[str]:
    """Global IDs of every object, those of the operation's own entity (orderShip: Order) four times
    over, so that a handful of examples per operation reaches past NOT_FOUND."""
    operation = operation.lower()
    pool = []
    for type_name, pk in nodes:
        weight = 4 if operation.startswith(type_name.lower()) else 1
        pool += [to_global_id(type_name, pk)] * weight
    return pool


@pytest.fixture
def fuzz_world(request, db, fuzz_plugins, media_root) -> FuzzWorld:
    # Whatever the fuzzer manages to store lands in the test's temporary MEDIA_ROOT.
    assert Path(default_storage.path("x")).parent == Path(media_root)
    world = make_world(name="Fuzz Tea House")  # vendor + owner, shopper, a paid order of two listings
    dispute = open_dispute(world, amount="10.00")
    world.order.refresh_from_db()
    superuser = User.objects.create_superuser("root@example.com", PASSWORD)
    applicant = make_user("applicant@example.com")
    category = CategoryFactory(name="Green tea", slug="green-tea")
    application = VendorApplication.objects.create(
        applicant=applicant, store_name="Lotus Ceramics", company_name="Lotus Ceramics Ltd",
        contact_email="applicant@example.com",
    )
    application.categories.add(category)
    draft = ProductFactory(vendor=world.vendor, category=category, name="Draft teapot", slug="draft-teapot")
    draft_variant = ProductVariantFactory(product=draft, sku="FUZZ-DRAFT")
    pending = ProductFactory(
        vendor=world.vendor, category=category, name="Oolong", slug="oolong", status=ListingStatus.PENDING_REVIEW
    )
    ProductVariantFactory(product=pending, sku="FUZZ-OOLONG")
    cart = ready_checkout(world.shopper, [(world.tea, 1)], email=world.shopper.email)
    line = world.order.lines.first()
    membership = world.vendor.staff.get(user=world.owner)

    nodes = [
        ("Vendor", world.vendor.pk), ("VendorStaff", membership.pk), ("VendorApplication", application.pk),
        ("User", world.shopper.pk), ("User", world.owner.pk), ("Category", category.pk),
        ("Category", world.tea.product.category_id), ("Product", world.tea.product_id),
        ("Product", world.pot.product_id), ("Product", draft.pk), ("Product", pending.pk),
        ("ProductVariant", world.tea.pk), ("ProductVariant", draft_variant.pk), ("Order", world.order.pk),
        ("OrderLine", line.pk), ("Dispute", dispute.pk), ("Checkout", cart.pk),
        ("CheckoutLine", cart.lines.first().pk), ("Payment", world.order.payment_id),
    ]
    strategies.ID_POOL[:] = _id_pool(nodes, _operation(request)) + [
        "logistics.table_rate", "dummy", "arbitration.default", "listing.banned_words",
    ]
    strategies.STRING_POOL[:] = [
        world.vendor.slug, world.tea.product.slug, "draft-teapot", "green-tea", world.shopper.email,
        world.owner.email, "applicant@example.com", PASSWORD, "logistics.table_rate", "economy", "dummy",
        "success", "decline", "SF123456", HANGZHOU, "310000", world.tea.sku,
    ]
    callers = {"shopper": world.shopper, "merchant": world.owner, "staff": superuser}
    headers = {"anonymous": {}} | {
        name: {"Authorization": f"Bearer {create_access_token(user)}"} for name, user in callers.items()
    }
    yield FuzzWorld(headers=headers)
    strategies.ID_POOL.clear()
    strategies.STRING_POOL.clear()
