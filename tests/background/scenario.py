"""Seed and inspect the database shared with processes the background tests start.

Run as a script against that database (DATABASE_URL in the environment), never
inside pytest's test database:

    python -m tests.background.scenario seed    # prints {"due": id, "unpaid": id, "variant": id, ...}
    python -m tests.background.scenario state   # prints what became of them, as JSON

`seed` makes, through the services, one shipped order whose confirmation deadline
has passed (escrow held) and one unpaid order whose stock reservation ran out;
nothing is made due by editing rows: the seeding process runs with
ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT=0 and ORDER_UNPAID_RESERVATION_MINUTES=0.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from unittest import mock

SEED_ENV = {"ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT": "0", "ORDER_UNPAID_RESERVATION_MINUTES": "0"}
IDS_FILE = "scenario-ids.json"


def seed() -> dict:
    from backend.orders import services as orders_services
    from backend.payments import services as payments

    from ..checkout.helpers import GUANGZHOU, HANGZHOU, TABLE_RATE, complete, listing, ready_checkout, store

    tea, tea_owner = store("Tea House", origin=HANGZHOU)
    silk, _ = store("Silk Road", origin=GUANGZHOU)
    green_tea = listing(tea, price="88.00", stock=10)
    scarf = listing(silk, price="120.00", stock=5)

    due = complete(ready_checkout(None, [(green_tea, 2)], email="due@example.com")).orders[0]
    orders_services.order_ship(actor=tea_owner, order=due, carrier=TABLE_RATE)

    # A gateway that authorizes at checkout and captures later (as Stripe's manual capture does):
    # the order stays unpaid and holds its stock until the reservation runs out.
    authorize_only = functools.partial(payments.payment_process, capture=False)
    with mock.patch.object(payments, "payment_process", authorize_only):
        unpaid = complete(ready_checkout(None, [(scarf, 2)], email="late@example.com")).orders[0]
    return {"due": due.pk, "unpaid": unpaid.pk, "scarf": scarf.pk, "scarf_stock_before": 5}


def state(ids: dict) -> dict:
    from backend.catalog.models import ProductVariant
    from backend.finance.ledger import escrow_total, ledger_problems
    from backend.finance.models import LedgerTransaction, TransactionKind
    from backend.orders.models import Order

    due = Order.objects.get(pk=ids["due"])
    unpaid = Order.objects.select_related("payment").get(pk=ids["unpaid"])
    return {
        "due_status": due.status,
        "due_escrow_released": LedgerTransaction.objects.filter(
            kind=TransactionKind.ESCROW_RELEASE, reference_type="order", reference_id=str(due.pk)
        ).count(),
        "escrow_total": str(escrow_total().amount),
        "unpaid_status": unpaid.status,
        "unpaid_payment_status": unpaid.payment.status,
        "scarf_stock": ProductVariant.objects.get(pk=ids["scarf"]).stock,
        "ledger_problems": ledger_problems(),
    }


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    if argv[1] == "seed":
        os.environ.update(SEED_ENV)
    django.setup()
    ids_file = Path(os.environ["SCENARIO_DIR"]) / IDS_FILE
    if argv[1] == "seed":
        ids = seed()
        ids_file.write_text(json.dumps(ids))
        print(json.dumps(ids))
    elif argv[1] == "state":
        print(json.dumps(state(json.loads(ids_file.read_text()))))
    else:
        raise SystemExit(f"usage: {argv[0]} seed|state")


if __name__ == "__main__":
    main(sys.argv)
