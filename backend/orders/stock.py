"""Stock moves with orders: taken when an order is placed, given back when it is cancelled.

Rows are locked in primary-key order so that concurrent checkouts and
cancellations touching the same variants queue instead of deadlocking; every
caller locks variants before it touches payments or the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F, Value
from django.db.models.functions import Greatest

from backend.catalog.models import Product, ProductVariant


def stock_lock(variant_ids: Iterable[int]) -> dict[int, ProductVariant]:
    """The variants, locked (PostgreSQL row locks) and read fresh, with product and vendor."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    rows = (
        ProductVariant.objects.select_for_update(of=("self",))
        .select_related("product", "product__vendor")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    return {variant.pk: variant for variant in rows}


def _sales_delta(deltas: dict[int, int]) -> None:
    """Add to each product's sales counter (never below zero)."""
    for product_id, delta in sorted(deltas.items()):
        Product.objects.filter(pk=product_id).update(sales_count=Greatest(F("sales_count") + delta, Value(0)))


def stock_take(quantities: dict[ProductVariant, int]) -> None:
    """Decrement locked variants; the caller has checked that enough is in stock."""
    sales: dict[int, int] = defaultdict(int)
    for variant, quantity in sorted(quantities.items(), key=lambda item: item[0].pk):
        ProductVariant.objects.filter(pk=variant.pk).update(stock=F("stock") - quantity)
        variant.stock -= quantity
        sales[variant.product_id] += quantity
    _sales_delta(sales)


def stock_return(lines) -> None:
    """Give the stock of order lines back (lines whose variant was deleted have nothing to return)."""
    quantities: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.variant_id is not None:
            quantities[line.variant_id] += line.quantity
    locked = stock_lock(quantities)
    sales: dict[int, int] = defaultdict(int)
    for variant_id, quantity in sorted(quantities.items()):
        if variant_id not in locked:
            continue
        ProductVariant.objects.filter(pk=variant_id).update(stock=F("stock") + quantity)
        sales[locked[variant_id].product_id] -= quantity
    _sales_delta(sales)


__all__ = ["stock_lock", "stock_return", "stock_take"]
