"""Steps of the search worker test, run as a script against the database shared with the worker:

    python -m tests.background.search_scenario list     # a published listing, through the services
    python -m tests.background.search_scenario delist   # its vendor delists it
    python -m tests.background.search_scenario pending  # {"pending": n}
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

IDS_FILE = "search-scenario-ids.json"


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    from django.db import transaction

    from backend.catalog import services
    from backend.catalog.models import Product
    from backend.search.models import PendingIndex

    from ..catalog.helpers import build_catalog, listed_product, merchant

    ids_file = Path(os.environ["SCENARIO_DIR"]) / IDS_FILE
    step = argv[1]
    if step == "list":
        catalog = build_catalog()
        vendor, owner = merchant(name="Tea House", slug="tea-house")
        with transaction.atomic():
            product = listed_product(vendor, owner, catalog["tshirts"], name="Longjing tee 龙井T恤")
        ids = {"product": product.pk, "owner": owner.pk}
        ids_file.write_text(json.dumps(ids))
        print(json.dumps(ids))
    elif step == "delist":
        from backend.accounts.models import User

        ids = json.loads(ids_file.read_text())
        owner = User.objects.get(pk=ids["owner"])
        with transaction.atomic():
            services.product_delist(actor=owner, product=Product.objects.get(pk=ids["product"]))
        print(json.dumps(ids))
    elif step == "pending":
        print(json.dumps({"pending": PendingIndex.objects.count()}))
    else:
        raise SystemExit(f"usage: {argv[0]} list|delist|pending")


if __name__ == "__main__":
    main(sys.argv)
