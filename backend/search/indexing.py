"""Keeping the search index current with what shoppers may see.

The catalog, vendor, order and review services call `products_changed` (or
`vendor_changed`) inside the transaction that changed a listing's text,
status, price, stock, rating or sales, or its store's status. The database
index of the text is written right there (it is part of the same
transaction). A remote index (Elasticsearch) is written after commit by the
worker: the change is recorded in PendingIndex in the same transaction, the
worker's sync removes the record once the listing is written, and the
periodic replay (`search.replay_pending`) retries whatever a failed or lost
sync left behind. No network call happens inside the caller's transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import get_database_backend, get_search_backend
from .models import PendingIndex

logger = logging.getLogger("backend.search")
BATCH = 500


def index_text(product) -> None:
    """The listing's approved text into the database index (in the caller's transaction)."""
    get_database_backend().index_product(product)


def remove_text(product_id: int) -> None:
    get_database_backend().remove_product(product_id)


def products_changed(product_ids: Iterable[int]) -> None:
    """What shoppers see of these listings changed: queue their documents for the remote index."""
    ids = sorted({int(pk) for pk in product_ids if pk is not None})
    if not ids or get_search_backend().transactional:
        return  # the database backend reads status, price and stock from the rows themselves
    now = timezone.now()
    PendingIndex.objects.bulk_create(
        [PendingIndex(product_id=pk, token=uuid.uuid4().hex, queued_at=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["product_id"],
        update_fields=["token", "queued_at"],
    )
    from .tasks import index_products

    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        transaction.on_commit(lambda chunk=chunk: index_products.delay(chunk), robust=True)


def vendor_changed(vendor_id: int) -> None:
    """A store's status changed: every listing of it appears or disappears."""
    if get_search_backend().transactional:
        return
    from backend.catalog.models import Product

    products_changed(Product.objects.filter(vendor_id=vendor_id).values_list("pk", flat=True))


def sync_products(product_ids: Iterable[int]) -> int:
    """Write these listings to the remote index as they are now; clear their pending records.

    Returns how many were written or removed; raises the backend's error when it is unreachable
    (the pending records stay for the replay)."""
    ids = sorted({int(pk) for pk in product_ids})
    backend = get_search_backend()
    seen = list(PendingIndex.objects.filter(product_id__in=ids).values_list("product_id", "token"))
    if not ids:
        return 0
    if not backend.transactional:
        try:
            backend.sync(ids)
        except Exception as exc:
            PendingIndex.objects.filter(product_id__in=ids).update(
                attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:500]
            )
            raise
        if backend.rebuilding():
            # A rebuild copies listings into a new index meanwhile: keep the records, the
            # rebuild replays them into the new index once it is live.
            return len(ids)
    _clear(seen)
    return len(ids)


def _clear(seen: list[tuple[int, str]]) -> None:
    """Drop the records a sync has served; a record rewritten since (new token) stays."""
    for start in range(0, len(seen), BATCH):
        condition = Q()
        for product_id, token in seen[start : start + BATCH]:
            condition |= Q(product_id=product_id, token=token)
        PendingIndex.objects.filter(condition).delete()


def replay_pending(*, max_batches: int = 20) -> int:
    """Write what failed or lagging syncs left behind, oldest first; stops at the first failure."""
    backend = get_search_backend()
    if backend.transactional:
        PendingIndex.objects.all().delete()  # left by an earlier configuration: nothing to replay into
        return 0
    done = 0
    for _ in range(max_batches):
        ids = list(PendingIndex.objects.order_by("queued_at", "product_id").values_list("product_id", flat=True)[:BATCH])
        if not ids:
            break
        if not backend.available():
            logger.warning("Search index unreachable: %s listing updates wait", PendingIndex.objects.count())
            break
        try:
            done += sync_products(ids)
        except Exception:
            logger.warning("Search index replay failed; %s listing updates wait", PendingIndex.objects.count(), exc_info=True)
            break
        if backend.rebuilding():
            break
    return done


def pending_count() -> int:
    return PendingIndex.objects.count()
