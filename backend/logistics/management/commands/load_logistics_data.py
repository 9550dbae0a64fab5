from django.core.management.base import BaseCommand
from django.db import transaction

from backend.logistics.loaders import load_all


class Command(BaseCommand):
    help = "Load Chinese regions, the zone matrix and the demo carrier tariffs from backend/logistics/data/."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = load_all()
        self.stdout.write(", ".join(f"{count} {name}" for name, count in counts.items()) + " loaded.")
