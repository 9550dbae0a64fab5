"""Writing buffered events: ids resolved in bulk, one insert per batch, duplicates skipped."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone as dt_timezone
from urllib.parse import urlsplit

from django.db import transaction

from .models import Event, EventKind

_TEXT = {
    "visitor_id": 64, "search_term": 200, "referrer": 500, "utm_source": 100, "utm_medium": 100,
    "utm_campaign": 100, "utm_term": 100, "utm_content": 100,
}
_IDS = ("user_id", "vendor_id", "product_id", "category_id", "order_id")


def traffic_source(row: dict) -> str:
    """utm_source, else the referrer's host (without www.), else direct."""
    if row.get("utm_source"):
        return str(row["utm_source"]).strip().lower()[:100]
    referrer = row.get("referrer") or ""
    host = (urlsplit(referrer).hostname or "") if referrer else ""
    host = host.removeprefix("www.")
    return host[:100] or "direct"


def _int(value):
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _products(rows: list[dict]) -> tuple[dict, dict]:
    """Listings named by slug or by variant id -> (product id, vendor id, category id)."""
    from backend.catalog.models import Product, ProductVariant

    slugs = {r["product_slug"] for r in rows if r.get("product_slug")}
    variant_ids = {_int(v) for r in rows for v in r.get("variant_ids") or ()} - {None}
    by_slug = {
        slug: (pk, vendor_id, category_id)
        for pk, slug, vendor_id, category_id in Product.objects.filter(slug__in=slugs).values_list(
            "pk", "slug", "vendor_id", "category_id"
        )
    } if slugs else {}
    by_variant = {
        pk: (product_id, vendor_id, category_id)
        for pk, product_id, vendor_id, category_id in ProductVariant.objects.filter(pk__in=variant_ids).values_list(
            "pk", "product_id", "product__vendor_id", "product__category_id"
        )
    } if variant_ids else {}
    return by_slug, by_variant


def _vendors(rows: list[dict]) -> dict:
    from backend.vendors.models import Vendor

    slugs = {r["vendor_slug"] for r in rows if r.get("vendor_slug")}
    return dict(Vendor.objects.filter(slug__in=slugs).values_list("slug", "pk")) if slugs else {}


def _search_results(rows: list[dict]) -> dict:
    """How many listings each searched term finds now (terms whose count the request did not give)."""
    from backend.catalog.selectors import storefront_products
    from backend.search import get_search_backend

    terms = {r["search_term"][:200] for r in rows if r.get("search_term") and r.get("search_results") is None}
    if not terms:
        return {}
    backend = get_search_backend()
    found = {}
    for term in terms:
        found[term] = 1 if backend.filter_queryset(storefront_products(), term).exists() else 0
    return found


def _checkout_visitors(rows: list[dict]) -> dict:
    """Orders placed outside a storefront request (a payment webhook) belong to the checkout's visitor."""
    tokens = {r["checkout_token"] for r in rows if r.get("checkout_token") and not r.get("visitor_id")}
    if not tokens:
        return {}
    visitors = {}
    for token, visitor, user_id, source in (
        Event.objects.filter(checkout_token__in=tokens).exclude(visitor_id="")
        .order_by("occurred_at").values_list("checkout_token", "visitor_id", "user_id", "source")
    ):
        visitors.setdefault(str(token), (visitor, user_id, source))
    return visitors


def _event(row: dict, **ids) -> Event:
    event = Event(
        event_id=ids.pop("event_id", None) or uuid.UUID(row["event_id"]),
        kind=row["kind"],
        occurred_at=datetime.fromtimestamp(float(row["at"]), tz=dt_timezone.utc),
        source=row.get("source") or traffic_source(row),
        checkout_token=row.get("checkout_token") or None,
        search_results=_int(row.get("search_results")),
    )
    for name, size in _TEXT.items():
        setattr(event, name, str(row.get(name) or "")[:size])
    for name in _IDS:
        setattr(event, name, _int(ids[name]) if name in ids else _int(row.get(name)))
    return event


def build_events(rows: list[dict]) -> list[Event]:
    by_slug, by_variant = _products(rows)
    vendors = _vendors(rows)
    results = _search_results(rows)
    visitors = _checkout_visitors(rows)
    events = []
    for row in rows:
        kind = row.get("kind")
        if kind not in EventKind.values or not row.get("event_id"):
            continue
        if kind == EventKind.PRODUCT_VIEW and row.get("product_slug"):
            found = by_slug.get(row["product_slug"])
            if found is None:
                continue  # a listing that is not there: nothing was viewed
            events.append(_event(row, product_id=found[0], vendor_id=found[1], category_id=found[2]))
        elif kind == EventKind.STORE_VIEW and row.get("vendor_slug"):
            if row["vendor_slug"] not in vendors:
                continue
            events.append(_event(row, vendor_id=vendors[row["vendor_slug"]]))
        elif kind == EventKind.ADD_TO_CART and row.get("variant_ids"):
            # One event per listing added; the ids derive from the recorded one, so a retry stays a no-op.
            seen = set()
            for variant_id in row["variant_ids"]:
                found = by_variant.get(_int(variant_id))
                if found is None or found[0] in seen:
                    continue
                seen.add(found[0])
                event_id = uuid.uuid5(uuid.UUID(row["event_id"]), str(found[0]))
                events.append(
                    _event(row, event_id=event_id, product_id=found[0], vendor_id=found[1], category_id=found[2])
                )
        else:
            if kind == EventKind.SEARCH and row.get("search_results") is None:
                row = {**row, "search_results": results.get(str(row.get("search_term", ""))[:200])}
            if kind == EventKind.ORDER_PLACED and not row.get("visitor_id"):
                visitor = visitors.get(str(row.get("checkout_token")))
                if visitor is not None:
                    row = {**row, "visitor_id": visitor[0], "user_id": row.get("user_id") or visitor[1],
                           "source": visitor[2]}
            events.append(_event(row))
    return events


def write_events(rows: list[dict]) -> int:
    """Write a batch; an event already written (same event id) is skipped. Returns the batch's size."""
    events = build_events(rows)
    if not events:
        return 0
    with transaction.atomic():
        Event.objects.bulk_create(events, batch_size=1000, ignore_conflicts=True)
    return len(events)
