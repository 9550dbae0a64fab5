"""Bench data: stores, listings, variants, shoppers and orders generated in bulk.

Used by the benchmarks (storefront_bench.py, release_bench.py) and, for a database of
chosen size, by make_data.py. Rows are written with bulk inserts in batches inside one
transaction per batch (no per-object services: far too slow for a million orders), so
the generated data follows the models' rules but not their histories:

- listings are published (every tenth waits for review), in the search index, with
  variants and two image records each (the files are not made);
- orders are spread over the last 400 days (sizes.days) and over every state a shopper sees; those
  whose money is still in escrow (paid, shipped, delivered) are covered by one ledger
  posting per store that moves their total from the gateway into the store's pending
  account, so the ledger balances and the release task can pay them out. Completed and
  cancelled orders have no ledger history of their own.

Everything is seeded from a fixed random seed: the same arguments give the same data.
"""

from __future__ import annotations

import os
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BATCH = 2000


@dataclass(frozen=True)
class Sizes:
    vendors: int = 20
    suspended: int = 2
    listings: int = 2000
    variants_per_listing: int = 2
    shoppers: int = 0
    orders: int = 0
    # Of the orders: how many are shipped with their confirmation deadline passed (the release's work).
    due: int = 0
    # Orders are placed over the last `days` days.
    days: int = 400


def _bar(total: int, desc: str, unit: str, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=True if not progress else None)


def seed_vendors(sizes: Sizes) -> list:
    from backend.vendors.models import Vendor, VendorStatus

    existing = {v.slug: v for v in Vendor.objects.filter(slug__startswith="bench-store-")}
    new = [
        Vendor(
            slug=f"bench-store-{number}",
            name=f"Bench Store {number}",
            company_name=f"Bench Store {number} Co., Ltd.",
            contact_email=f"store{number}@example.com",
            status=VendorStatus.SUSPENDED if number >= sizes.vendors - sizes.suspended else VendorStatus.ACTIVE,
        )
        for number in range(sizes.vendors)
        if f"bench-store-{number}" not in existing
    ]
    Vendor.objects.bulk_create(new, batch_size=BATCH)
    return list(Vendor.objects.filter(slug__startswith="bench-store-").order_by("pk"))[: sizes.vendors]


def seed_listings(sizes: Sizes, *, progress: bool = True) -> None:
    """Listings up to sizes.listings (only what is missing), with variants, images and the search index."""
    from django.db import transaction
    from django.utils import timezone

    from backend.catalog.models import AttributeScope, Category, ListingStatus, Product, ProductMedia, ProductVariant
    from backend.catalog.selectors import CategoryAttributeIndex
    from backend.search import get_search_backend
    from fixtures.catalog_demo import BRANDS, EDITIONS, NAMES, _match, ensure_category_attributes
    from fixtures.demo.catalog import load_categories
    from fixtures.demo.context import DemoContext

    existing = Product.objects.filter(slug__startswith="bench-").count()
    if existing >= sizes.listings:
        return
    load_categories(DemoContext(show_progress=False))
    ensure_category_attributes()
    vendors = seed_vendors(sizes)
    leaves = list(Category.objects.filter(children__isnull=True))
    index = CategoryAttributeIndex()
    rng = random.Random(42 + existing)
    now = timezone.now()
    backend = get_search_backend()
    bar = _bar(sizes.listings - existing, "listings", "listing", progress)
    batch = 500
    for start in range(existing, sizes.listings, batch):
        size = min(batch, sizes.listings - start)
        products = []
        for number in range(start, start + size):
            category = rng.choice(leaves)
            stems = _match(category, NAMES) or (_match(category.parent, NAMES) if category.parent else None)
            name = f"{rng.choice(stems or ['商品 Item'])}{rng.choice(EDITIONS)} #{number}"
            price = Decimal(rng.choice([19, 59, 99, 299, 1299, 5999])) + Decimal("0.90")
            attributes = {
                a.slug: (rng.choice(a.choices) if a.choices else rng.choice(BRANDS))
                for a in index.attributes_for(category.pk, AttributeScope.PRODUCT)
            }
            top = price + 20 * (sizes.variants_per_listing - 1)
            products.append(
                Product(
                    vendor=vendors[number % len(vendors)],
                    category=category,
                    name=name,
                    slug=f"bench-{number}",
                    description=f"{name}。正品保证 Genuine goods.",
                    attributes=attributes,
                    status=ListingStatus.PUBLISHED if number % 10 else ListingStatus.PENDING_REVIEW,
                    published_at=now - timedelta(minutes=number),
                    currency="CNY",
                    price_min_amount=price,
                    price_max_amount=top,
                    sales_count=rng.randint(0, 5000),
                    rating_avg=Decimal(rng.randint(30, 50)) / 10,
                )
            )
        with transaction.atomic():
            products = Product.objects.bulk_create(products)
            variants, media = [], []
            for product in products:
                variant_attributes = index.attributes_for(product.category_id, AttributeScope.VARIANT)
                for position in range(sizes.variants_per_listing):
                    variants.append(
                        ProductVariant(
                            product=product,
                            vendor_id=product.vendor_id,
                            sku=f"{product.slug}-{position}",
                            price_amount=product.price_min_amount + 20 * position,
                            currency="CNY",
                            stock=rng.choice([0, 5, 50]),
                            weight_kg=Decimal("0.500"),
                            attributes={a.slug: rng.choice(a.choices) for a in variant_attributes if a.choices},
                            sort_order=position,
                        )
                    )
                for position in range(2):
                    media.append(
                        ProductMedia(
                            product=product,
                            width=800,
                            height=800,
                            sha256="0" * 64,
                            is_live=True,
                            sort_order=position,
                            renditions={
                                size: {
                                    "webp": f"products/{product.pk}/{position}/{size}.webp",
                                    "jpeg": f"products/{product.pk}/{position}/{size}.jpg",
                                }
                                for size in ("thumbnail", "card", "detail")
                            },
                        )
                    )
            ProductVariant.objects.bulk_create(variants, batch_size=BATCH)
            ProductMedia.objects.bulk_create(media, batch_size=BATCH)
            backend.index_products(products)
        bar.update(size)
    bar.close()


def seed_shoppers(count: int, *, progress: bool = True) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from backend.accounts.models import User

    existing = User.objects.filter(email__endswith="@shopper.bench").count()
    unusable = make_password(None)
    bar = _bar(max(count - existing, 0), "shoppers", "shopper", progress)
    for start in range(existing, count, BATCH):
        size = min(BATCH, count - start)
        User.objects.bulk_create(
            [User(email=f"s{n}@shopper.bench", password=unusable) for n in range(start, start + size)],
            batch_size=BATCH,
        )
        bar.update(size)
    bar.close()
    return list(User.objects.filter(email__endswith="@shopper.bench").order_by("pk").values_list("pk", flat=True)[:count])


# State of the non-due orders, by share: most are completed, as in a running mall.
_STATES = [("completed", 80), ("cancelled", 6), ("paid", 5), ("shipped", 5), ("delivered", 4)]


def seed_orders(sizes: Sizes, *, progress: bool = True) -> int:
    """sizes.orders orders (sizes.due of them shipped and due for release); returns how many were made.

    One line per order (a random variant of a published listing of an active store), bought by
    one of the shoppers. Orders still in escrow are covered by one ledger posting per store.
    """
    from django.db import transaction
    from django.utils import timezone
    from moneyed import Money

    from backend.catalog.models import ListingStatus, ProductVariant
    from backend.finance import accounts
    from backend.finance.ledger import post_transaction
    from backend.finance.models import TransactionKind
    from backend.orders.models import CompletionSource, Order, OrderLine, OrderStatus
    from backend.vendors.models import VendorStatus

    if Order.objects.filter(email__endswith="@shopper.bench").exists():
        return 0
    shoppers = seed_shoppers(sizes.shoppers or max(1, sizes.orders // 20), progress=progress)
    variants = list(
        ProductVariant.objects.filter(
            product__status=ListingStatus.PUBLISHED, product__vendor__status=VendorStatus.ACTIVE
        ).values_list("pk", "product_id", "product__category_id", "vendor_id", "price_amount", "sku", "product__name")
    )
    if not variants:
        raise RuntimeError("No published listing to order: seed listings first.")
    rng = random.Random(7)
    now = timezone.now()
    states = [state for state, share in _STATES for _ in range(share)]
    held: dict[int, Decimal] = defaultdict(Decimal)
    made = 0
    bar = _bar(sizes.orders, "orders", "order", progress)
    created_at = Order._meta.get_field("created_at")
    created_at.auto_now_add = False  # spread over the past; restored below
    try:
        for start in range(0, sizes.orders, BATCH):
            size = min(BATCH, sizes.orders - start)
            orders, lines = [], []
            for number in range(start, start + size):
                variant_id, product_id, category_id, vendor_id, price, sku, name = rng.choice(variants)
                quantity = rng.choice((1, 1, 1, 2, 3))
                placed = now - timedelta(days=rng.uniform(0, sizes.days))
                subtotal = price * quantity
                shipping = Decimal("10.00")
                state = "due" if number < sizes.due else rng.choice(states)
                order = Order(
                    checkout_token=uuid.UUID(int=rng.getrandbits(128)),
                    vendor_id=vendor_id,
                    user_id=rng.choice(shoppers),
                    email=f"s{number % 100000}@shopper.bench",
                    currency="CNY",
                    subtotal_amount=subtotal,
                    shipping_amount=shipping,
                    total_amount=subtotal + shipping,
                    shipping_carrier_id="logistics.table_rate",
                    shipping_service_code="standard",
                    shipping_region="110000",
                    shipping_origin="330100",
                    created_at=placed,
                    updated_at=placed,
                    paid_at=placed,
                )
                if state == "completed":
                    order.status = OrderStatus.COMPLETED
                    order.shipped_at = placed + timedelta(days=1)
                    order.completed_at = order.released_at = placed + timedelta(days=8)
                    order.completion_source = CompletionSource.SHOPPER
                    order.commission_amount = (subtotal * Decimal("0.05")).quantize(Decimal("0.01"))
                elif state == "cancelled":
                    order.status = OrderStatus.CANCELLED
                    order.cancelled_at = placed + timedelta(hours=2)
                    order.refunded_amount = order.total_amount
                elif state == "paid":
                    order.status = OrderStatus.PAID
                elif state in ("shipped", "due"):
                    order.status = OrderStatus.SHIPPED
                    order.shipped_at = placed
                    late = state == "due"
                    order.auto_confirm_at = now - timedelta(minutes=5) if late else now + timedelta(days=rng.randint(1, 15))
                else:
                    order.status = OrderStatus.DELIVERED
                    order.shipped_at = placed
                    order.delivered_at = placed + timedelta(days=2)
                    order.auto_confirm_at = now + timedelta(days=rng.randint(1, 10))
                if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                    held[vendor_id] += order.total_amount
                orders.append(order)
                lines.append(
                    OrderLine(
                        variant_id=variant_id,
                        product_id=product_id,
                        category_id=category_id,
                        product_name=name,
                        variant_sku=sku,
                        quantity=quantity,
                        unit_price_amount=price,
                        currency="CNY",
                        commission_rate=Decimal("0.05"),
                        weight_kg=Decimal("0.500"),
                    )
                )
            with transaction.atomic():
                orders = Order.objects.bulk_create(orders, batch_size=BATCH)
                for order, line in zip(orders, lines):
                    line.order_id = order.pk
                OrderLine.objects.bulk_create(lines, batch_size=BATCH)
            made += size
            bar.update(size)
    finally:
        created_at.auto_now_add = True
        bar.close()
    for vendor_id, amount in sorted(held.items()):
        money = Money(amount, "CNY")
        post_transaction(
            idempotency_key=f"bench:escrow:vendor:{vendor_id}",
            kind=TransactionKind.ADJUSTMENT,
            entries=[(accounts.GATEWAY, -money), (accounts.vendor_pending(vendor_id), money)],
            description="Bench data: the generated orders' money held in escrow",
        )
    return made


def analyze() -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def seed(sizes: Sizes, *, progress: bool = True) -> None:
    seed_listings(sizes, progress=progress)
    if sizes.orders:
        seed_orders(sizes, progress=progress)
    analyze()


# --- A database of the benchmark's own ---

RESULTS = Path(__file__).resolve().parent / "results"


def configure_environment() -> None:
    """Production-like settings (DEBUG off) that a benchmark on loopback may run with."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 32)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    # Production guards: the benchmark sells through the dummy gateway over plain HTTP.
    os.environ.setdefault("ALLOW_DUMMY_PAYMENTS", "1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def use_own_database(name: str, *, keep: bool) -> str:
    """Create (or with keep, reuse) the database `bench_<name>` beside the configured one (SQLite:
    bench/results/<name>.sqlite3); returns its DATABASE_URL, for servers the benchmark starts."""
    from urllib.parse import urlsplit, urlunsplit

    from django.db import connection

    configured = os.environ.get("DATABASE_URL", "")
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(RESULTS / f"{name}.sqlite3")
    else:
        connection.settings_dict["TEST"]["NAME"] = f"bench_{name}"
    created = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keep, serialize=False)
    if connection.vendor == "sqlite":
        return f"sqlite:///{created}"
    parts = urlsplit(configured)
    return urlunsplit(parts._replace(path=f"/{created}"))
