"""Stock moves with orders: taken when an order is placed, given back when it is cancelled.

Sales counters (Product.sales_count, the storefront's SALES sort) move only when an order
completes (sales_record), so cancelled and refunded orders never count as sales.

Rows are locked in primary-key order so that concurrent checkouts and
cancellations touching the same variants queue instead of deadlocking; every
caller locks variants before it touches payments or the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Greatest

from backend.catalog.models import Product, ProductVariant
from backend.core.bulk import update_column
from backend.notifications.services import low_stock_check, restock_check
from backend.search import indexing as search_indexing


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
    """Add to each product's sales counter (never below zero), in product order (no deadlocks)."""
    deltas = {product_id: delta for product_id, delta in sorted(deltas.items()) if delta}
    if len(deltas) == 1:
        [(product_id, delta)] = deltas.items()
        Product.objects.filter(pk=product_id).update(sales_count=Greatest(F("sales_count") + delta, Value(0)))
    elif deltas:
        # A batch (the periodic release): one statement, its rows locked first in product order.
        list(Product.objects.select_for_update().filter(pk__in=list(deltas)).order_by("pk").values_list("pk", flat=True))
        greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
        update_column(Product, "sales_count", deltas, expression=f"{greatest}({{column}} + {{case}}, 0)")
    search_indexing.products_changed(deltas)


def sales_record(lines, *, sign: int = 1) -> None:
    """Count the lines' quantities as sold (sign=-1 takes them back); lines whose product was deleted are skipped.

    Called inside the completing (or refunding) transaction: an F() update, so concurrent
    completions of orders for the same product add up instead of overwriting each other.
    """
    deltas: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.product_id is not None:
            deltas[line.product_id] += sign * line.quantity
    _sales_delta(deltas)


def stock_take(quantities: dict[ProductVariant, int]) -> None:
    """Decrement locked variants; the caller has checked that enough is in stock."""
    if not quantities:
        return
    # One UPDATE for every variant of the checkout (its rows are already locked, in id order).
    ProductVariant.objects.filter(pk__in=[variant.pk for variant in quantities]).update(
        stock=F("stock") - Case(*(When(pk=variant.pk, then=Value(quantity)) for variant, quantity in quantities.items()), output_field=IntegerField())
    )
    for variant, quantity in quantities.items():
        variant.stock -= quantity
    search_indexing.products_changed(variant.product_id for variant in quantities)
    low_stock_check(quantities)


def stock_return(lines) -> None:
    """Give the stock of order lines back (lines whose variant was deleted have nothing to return)."""
    quantities: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.variant_id is not None:
            quantities[line.variant_id] += line.quantity
    # Only the rows' locks and products are needed here (not the product and store stock_lock reads).
    locked = dict(
        ProductVariant.objects.select_for_update().filter(pk__in=sorted(quantities)).order_by("pk")
        .values_list("pk", "product_id")
    )
    back = {variant_id: quantity for variant_id, quantity in sorted(quantities.items()) if variant_id in locked}
    if len(back) == 1:
        [(variant_id, quantity)] = back.items()
        ProductVariant.objects.filter(pk=variant_id).update(stock=F("stock") + quantity)
    elif back:
        # Many orders at once (the periodic expiry): one statement for every variant.
        update_column(ProductVariant, "stock", back, expression="{column} + {case}")
    search_indexing.products_changed(set(locked.values()))
    restock_check(locked)


__all__ = ["sales_record", "stock_lock", "stock_return", "stock_take"]
