"""A generated day of trading: stores, shoppers, visits, checkouts, releases, refunds, fees, a deposit
penalty, all made through the services, so the figures can be checked against orders and the ledger."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

from django.utils import timezone

from backend.analytics import ingest
from backend.core.money import Money
from backend.finance import services as finance
from backend.orders import services as orders_services
from backend.orders.models import Order

from ..checkout.helpers import GUANGZHOU, HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store
from ..conftest import make_user
from ..factories import CategoryFactory, ProductFactory, ProductVariantFactory


def cny(amount) -> Money:
    return Money(Decimal(amount), "CNY")


def generate(seed: int = 7, *, checkouts: int = 8) -> dict:
    rng = random.Random(seed)
    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, silk_owner = store("Silk Road", origin=GUANGZHOU)
    owners = {tea.pk: tea_owner, silk.pk: silk_owner}
    drinks, clothes = CategoryFactory(name="Drinks"), CategoryFactory(name="Clothes")
    variants = [
        listing(tea, price="33.33", stock=500, name="Longjing green tea"),
        listing(tea, price="12.90", stock=500, name="Jasmine tea"),
        listing(silk, price="199.00", stock=500, name="Silk scarf"),
        listing(silk, price="58.50", stock=500, name="Silk fan"),
    ]
    for variant, category in zip(variants, (drinks, drinks, clothes, clothes)):
        variant.product.category = category
        variant.product.save(update_fields=["category"])
    shoppers = [make_user() for _ in range(4)]
    now = timezone.now().timestamp()
    rows = []
    placed = []
    for number in range(checkouts):
        shopper = rng.choice(shoppers)
        visitor = f"visitor-{shopper.pk:08d}"
        source = rng.choice(["weibo", "", "newsletter"])
        lines = [(v, rng.randint(1, 3)) for v in rng.sample(variants, rng.randint(1, 3))]
        for variant, _ in lines:
            rows.append({"event_id": uuid.uuid4().hex, "kind": "product_view", "at": now, "visitor_id": visitor,
                         "product_slug": variant.product.slug, "utm_source": source})
        checkout = ready_checkout(shopper, lines, email=shopper.email)
        result = complete(checkout, user=shopper)
        for order in result.orders:
            rows.append({"event_id": uuid.uuid4().hex, "kind": "order_placed", "at": now, "visitor_id": visitor,
                         "order_id": order.pk, "vendor_id": order.vendor_id, "utm_source": source})
        placed += result.orders
    # Visitors who only looked.
    for n in range(5):
        rows.append({"event_id": uuid.uuid4().hex, "kind": "store_view", "at": now, "visitor_id": f"window-{n:08d}",
                     "vendor_slug": rng.choice([tea, silk]).slug})
    rows.append({"event_id": uuid.uuid4().hex, "kind": "search", "at": now, "visitor_id": "window-00000000",
                 "search_term": "kombucha", "search_results": 0})
    ingest.write_events(rows)

    # Half the orders are shipped and confirmed (commission taken), one of those refunded in part
    # afterwards (commission returned pro rata), one unreleased order refunded in full.
    released = placed[: len(placed) // 2]
    for order in released:
        orders_services.order_ship(actor=owners[order.vendor_id], order=order, carrier=TABLE_RATE)
        orders_services.order_confirm_receipt(actor=order.user, order=Order.objects.get(pk=order.pk))
    orders_services.order_refund(
        order=Order.objects.get(pk=released[0].pk), amount=cny("10.00"), idempotency_key="analytics-after",
        actor=None, reason="Test",
    )
    last = Order.objects.get(pk=placed[-1].pk)
    orders_services.order_refund(order=last, amount=last.total, idempotency_key="analytics-full", actor=None, reason="Test")
    # Platform fees: an entry fee, and a deposit penalty taken by the platform.
    finance.fee_charge(fee_ref="analytics-entry-fee", vendor=tea, amount=cny("3000.00"))
    finance.deposit_top_up(ref="analytics-deposit", vendor=silk, amount=cny("500.00"))
    finance.deposit_deduct(ref="analytics-penalty", vendor=silk, amount=cny("120.00"), reason="Test")
    return {"tea": tea, "silk": silk, "tea_owner": tea_owner, "silk_owner": silk_owner, "orders": placed,
            "shoppers": shoppers, "drinks": drinks, "clothes": clothes}
