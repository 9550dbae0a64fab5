"""The periodic release at scale: N shipped orders past their confirmation deadline, released by
`orders.auto_confirm_receipts` (orders_auto_confirm), then a second run that finds nothing.

    .venv/bin/python bench/release_bench.py --due 100000
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace .venv/bin/python bench/release_bench.py --due 100000

Data from bench/data.py in a database of its own (bench_release, dropped afterwards): 100 stores,
2,000 listings and the due orders, their money in escrow. Checks afterwards that every order was
completed once, one release transaction each, and that the ledger has no problem.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: ORDER_RELEASE_BATCH_SIZE")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    data.configure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from backend.finance.ledger import escrow_total, ledger_problems
    from backend.finance.models import LedgerTransaction, TransactionKind
    from backend.orders import services
    from backend.orders.models import Order, OrderStatus

    original = connection.settings_dict["NAME"]
    data.use_own_database("release", keep=False)
    try:
        sizes = data.Sizes(vendors=100, suspended=0, listings=2000, variants_per_listing=1, orders=args.due, due=args.due)
        data.seed(sizes, progress=not args.no_progress)
        batch = args.batch_size or settings.ORDER_RELEASE_BATCH_SIZE
        started = time.perf_counter()
        released = services.orders_auto_confirm(batch_size=batch)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = services.orders_auto_confirm(batch_size=batch)
        second = time.perf_counter() - started
        releases = LedgerTransaction.objects.filter(kind=TransactionKind.ESCROW_RELEASE).count()
        assert released == args.due and again == 0, (released, again)
        assert Order.objects.filter(status=OrderStatus.COMPLETED).count() == args.due == releases
        problems = ledger_problems()
        assert problems == [] and escrow_total().amount == 0, problems[:5]
        print(f"\nDatabase: {connection.vendor}; {os.cpu_count()} cores; batch size {batch}")
        print("| due orders | released in s | orders per second | second run s | release transactions |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        print(f"| {args.due:,} | {first:.1f} | {args.due / first:,.0f} | {second:.3f} | {releases:,} |")
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
