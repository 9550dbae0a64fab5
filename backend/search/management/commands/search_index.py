"""Rebuild the product search index from the catalog, with a progress bar.

The database index (every configuration keeps it: it is the fallback) is
rebuilt in place. With Elasticsearch, a new index is built behind the
`<alias>-building` alias while the storefront keeps searching the old one;
the alias then moves to the new index in one request, the old index is
dropped, and the updates recorded meanwhile are replayed into the new one.
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from backend.catalog.models import Product
from backend.catalog.selectors import storefront_products
from backend.search import get_database_backend, get_search_backend
from backend.search.indexing import replay_pending


class Command(BaseCommand):
    help = "Rebuild the product search index (database, and Elasticsearch when configured) with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Listings indexed per batch.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def _bar(self, total: int, desc: str, no_progress: bool):
        return tqdm(total=total, desc=desc, unit="listing", disable=no_progress, file=self.stderr, mininterval=0.5)

    def handle(self, *args, batch_size=500, no_progress=False, **options):
        database = get_database_backend()
        ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
        with transaction.atomic():
            database.clear()
        bar = self._bar(len(ids), "database index", no_progress)
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            products = Product.objects.filter(pk__in=chunk).only("pk", "name", "description", "attributes")
            with transaction.atomic():
                database.index_products(products)
            bar.update(len(chunk))
        bar.close()
        backend = get_search_backend()
        if backend.transactional:
            self.stdout.write(self.style.SUCCESS(f"Indexed {len(ids)} listings with {type(backend).__name__}."))
            return
        visible = list(storefront_products().order_by("pk").values_list("pk", flat=True))
        bar = self._bar(len(visible), "elasticsearch", no_progress)
        batches = (visible[start : start + batch_size] for start in range(0, len(visible), batch_size))
        name = backend.rebuild(batches, progress=bar.update)
        bar.close()
        replayed = replay_pending()
        self.stdout.write(
            self.style.SUCCESS(
                f"Indexed {len(visible)} listings with {type(backend).__name__} into {name} "
                f"(the alias {backend.alias} points at it; {replayed} updates made meanwhile replayed)."
            )
        )
