"""Rebuild the product search index from the catalog."""

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from backend.catalog.models import Product
from backend.search import get_search_backend


class Command(BaseCommand):
    help = "Rebuild the product search index (every listing, whatever its status) with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Listings indexed per transaction.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, batch_size=500, no_progress=False, **options):
        backend = get_search_backend()
        ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
        with transaction.atomic():
            backend.clear()
        bar = tqdm(total=len(ids), desc="search index", unit="listing", disable=True if no_progress else None)
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            products = Product.objects.filter(pk__in=chunk).only("pk", "name", "description", "attributes")
            with transaction.atomic():
                backend.index_products(products)
            bar.update(len(chunk))
        bar.close()
        self.stdout.write(self.style.SUCCESS(f"Indexed {len(ids)} listings with {type(backend).__name__}."))
