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
from datetime import timedelta, timezone
from decimal import Decimal
from pathlib import Path

_UTC = timezone.utc

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


class _Rows:
    """Rows of one model as prepared tuples in its columns' order, written in bulk.

    The values every row shares (defaults, constants, auto_now times) are prepared once from a
    template instance; a row overrides only the columns that vary (`set` gives their positions).
    On PostgreSQL with psycopg 3 the rows go in with COPY, elsewhere with one prepared multi-row
    INSERT run over them (executemany). Primary keys are given explicitly (the caller numbers
    the rows), and `finish` moves the table's sequence past them.
    """

    def __init__(self, model, connection, **constant):
        from django.db import models

        self.model = model
        self.connection = connection
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        template = model(**constant)
        self.base = []
        for field in self.fields:
            if field.primary_key:
                self.base.append(None)
            else:
                self.base.append(field.get_db_prep_save(field.pre_save(template, add=True), connection))
        self.position = {f.attname: i for i, f in enumerate(self.fields)}
        self.position.update({f.name: i for i, f in enumerate(self.fields)})
        self.copy = connection.vendor == "postgresql" and _psycopg3(connection)
        # Values that a row overrides are given as Python values; these need converting.
        self.sqlite = connection.vendor == "sqlite"
        self.datetimes = {i for i, f in enumerate(self.fields) if isinstance(f, models.DateTimeField)}
        self.uuids = {i for i, f in enumerate(self.fields) if isinstance(f, models.UUIDField)}

    def row(self) -> list:
        return self.base[:]

    def set(self, *names: str) -> tuple[int, ...]:
        return tuple(self.position[name] for name in names)

    def write(self, rows: list[list]) -> None:
        if self.sqlite:
            # Django's SQLite adapters: aware datetimes in UTC as text, UUIDs as hex.
            datetimes, uuids = sorted(self.datetimes), sorted(self.uuids)
            for row in rows:
                for i in datetimes:
                    value = row[i]
                    if value is not None and not isinstance(value, str):
                        row[i] = str(value.astimezone(_UTC).replace(tzinfo=None))
                for i in uuids:
                    value = row[i]
                    if isinstance(value, uuid.UUID):
                        row[i] = value.hex
        table = self.connection.ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(self.connection.ops.quote_name(c) for c in self.columns)
        with self.connection.cursor() as cursor:
            if self.copy:
                raw = cursor.cursor
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def next_id(self) -> int:
        from django.db.models import Max

        return (self.model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1

    def finish(self) -> None:
        from django.core.management.color import no_style

        statements = self.connection.ops.sequence_reset_sql(no_style(), [self.model])
        if statements:
            with self.connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def _psycopg3(connection) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    connection.ensure_connection()
    return isinstance(connection.connection, psycopg.Connection)


# Orders are written this many at a time, one transaction each.
ORDER_BATCH = 20000


def seed_orders(sizes: Sizes, *, progress: bool = True) -> int:
    """sizes.orders orders (sizes.due of them shipped and due for release); returns how many were made.

    One line per order (a random variant of a published listing of an active store), bought by
    one of the shoppers. Orders still in escrow are covered by one ledger posting per store.
    Orders and lines are written as prepared rows (COPY on PostgreSQL), not model instances:
    the million orders of the full size take minutes, not half an hour.
    """
    from datetime import timezone as dt_timezone

    from django.db import connection, transaction
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
    now = timezone.now().astimezone(dt_timezone.utc)
    states = [state for state, share in _STATES for _ in range(share)]
    held: dict[int, Decimal] = defaultdict(Decimal)
    orders_out = _Rows(
        Order, connection, vendor_id=0, email="", currency="CNY", subtotal_amount=Decimal("0"),
        shipping_amount=Decimal("10.00"), total_amount=Decimal("0"), shipping_carrier_id="logistics.table_rate",
        shipping_service_code="standard", shipping_region="110000", shipping_origin="330100",
    )
    lines_out = _Rows(
        OrderLine, connection, order_id=0, product_name="", variant_sku="", quantity=1,
        unit_price_amount=Decimal("0"), currency="CNY", commission_rate=Decimal("0.05"), weight_kg=Decimal("0.500"),
    )
    (o_id, o_token, o_vendor, o_user, o_email, o_status, o_subtotal, o_total, o_created, o_updated, o_paid,
     o_shipped, o_delivered, o_completed, o_released, o_cancelled, o_source, o_commission, o_refunded,
     o_confirm) = orders_out.set(
        "id", "checkout_token", "vendor_id", "user_id", "email", "status", "subtotal_amount", "total_amount",
        "created_at", "updated_at", "paid_at", "shipped_at", "delivered_at", "completed_at", "released_at",
        "cancelled_at", "completion_source", "commission_amount", "refunded_amount", "auto_confirm_at",
    )
    l_id, l_order, l_variant, l_product, l_category, l_name, l_sku, l_quantity, l_price = lines_out.set(
        "id", "order_id", "variant_id", "product_id", "category_id", "product_name", "variant_sku", "quantity",
        "unit_price_amount",
    )
    shipping = Decimal("10.00")
    rate = Decimal("0.05")
    cent = Decimal("0.01")
    day, two_hours, two_days, eight_days = timedelta(days=1), timedelta(hours=2), timedelta(days=2), timedelta(days=8)
    late_confirm = now - timedelta(minutes=5)
    span = sizes.days * 86400.0
    completed, cancelled, paid = OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.PAID
    shipped, delivered, by_shopper = OrderStatus.SHIPPED, OrderStatus.DELIVERED, CompletionSource.SHOPPER
    quantities = (1, 1, 1, 2, 3)
    choice, uniform, randint, getrandbits = rng.choice, rng.uniform, rng.randint, rng.getrandbits
    next_order, next_line = orders_out.next_id(), lines_out.next_id()
    made = 0
    bar = _bar(sizes.orders, "orders", "order", progress)
    try:
        for start in range(0, sizes.orders, ORDER_BATCH):
            size = min(ORDER_BATCH, sizes.orders - start)
            orders, lines = [], []
            for number in range(start, start + size):
                variant_id, product_id, category_id, vendor_id, price, sku, name = choice(variants)
                quantity = choice(quantities)
                placed = now - timedelta(seconds=uniform(0, span))
                subtotal = price * quantity
                total = subtotal + shipping
                state = "due" if number < sizes.due else choice(states)
                order = orders_out.row()
                order[o_id] = next_order
                order[o_token] = uuid.UUID(int=getrandbits(128))
                order[o_vendor] = vendor_id
                order[o_user] = choice(shoppers)
                order[o_email] = f"s{number % 100000}@shopper.bench"
                order[o_subtotal] = subtotal
                order[o_total] = total
                order[o_created] = order[o_updated] = order[o_paid] = placed
                if state == "completed":
                    order[o_status] = completed
                    order[o_shipped] = placed + day
                    order[o_completed] = order[o_released] = placed + eight_days
                    order[o_source] = by_shopper
                    order[o_commission] = (subtotal * rate).quantize(cent)
                elif state == "cancelled":
                    order[o_status] = cancelled
                    order[o_cancelled] = placed + two_hours
                    order[o_refunded] = total
                elif state == "paid":
                    order[o_status] = paid
                    held[vendor_id] += total
                elif state == "delivered":
                    order[o_status] = delivered
                    order[o_shipped] = placed
                    order[o_delivered] = placed + two_days
                    order[o_confirm] = now + timedelta(days=randint(1, 10))
                    held[vendor_id] += total
                else:  # shipped, or shipped and due
                    order[o_status] = shipped
                    order[o_shipped] = placed
                    order[o_confirm] = late_confirm if state == "due" else now + timedelta(days=randint(1, 15))
                    held[vendor_id] += total
                orders.append(order)
                line = lines_out.row()
                line[l_id] = next_line
                line[l_order] = next_order
                line[l_variant] = variant_id
                line[l_product] = product_id
                line[l_category] = category_id
                line[l_name] = name
                line[l_sku] = sku
                line[l_quantity] = quantity
                line[l_price] = price
                lines.append(line)
                next_order += 1
                next_line += 1
            with transaction.atomic():
                orders_out.write(orders)
                lines_out.write(lines)
            made += size
            bar.update(size)
    finally:
        bar.close()
    orders_out.finish()
    lines_out.finish()
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
    """Fresh planner statistics after a bulk load. SQLite has none until ANALYZE: without them it
    reads a filtered list (a category and a price range, newest first) through the price index and
    sorts every row in the range, instead of walking the newest-first index (4x slower at 100,000)."""
    from django.db import connection

    if connection.vendor in ("postgresql", "sqlite"):
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
