"""Search index work of the worker: after-commit syncs and the periodic replay."""

import logging

from celery import shared_task

from backend.core.periodic import periodic_task

from . import indexing

logger = logging.getLogger("backend.search")


@shared_task(name="search.index_products")
def index_products(product_ids: list[int]) -> int:
    """Write listings to the search index after the change committed; a failure waits for the replay."""
    try:
        return indexing.sync_products(product_ids)
    except Exception:
        logger.warning("Search index update of %s listings failed; the replay retries", len(product_ids), exc_info=True)
        return 0


@periodic_task("search.replay_pending")
def replay_pending_task() -> int:
    """Write the listing updates the search index missed (it was down or slow), oldest first."""
    return indexing.replay_pending()
