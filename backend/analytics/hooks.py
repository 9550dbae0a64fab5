"""The one call each storefront resolver or domain service makes (see recorder.py)."""

from __future__ import annotations

from .recorder import record


def product_viewed(slug: str) -> None:
    record("product_view", product_slug=str(slug)[:250])


def store_viewed(slug: str) -> None:
    record("store_view", vendor_slug=str(slug)[:250])


def searched(term: str | None) -> None:
    term = (term or "").strip()
    if term:
        record("search", search_term=term[:200])


def added_to_cart(checkout, variant_ids) -> None:
    record("add_to_cart", after_commit=True, checkout_token=str(checkout.pk), variant_ids=list(variant_ids)[:100])


def checkout_started(checkout) -> None:
    record("checkout_started", after_commit=True, checkout_token=str(checkout.pk))


def orders_placed(orders) -> None:
    for order in orders:
        record(
            "order_placed", after_commit=True, order_id=order.pk, vendor_id=order.vendor_id,
            checkout_token=str(order.checkout_token), user_id=order.user_id,
        )
