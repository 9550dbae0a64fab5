"""Caller idempotency keys of deposit deductions posted before keys were scoped get their
vendor's namespace (see finance.ledger.owner_scoped_key), like payouts in 0004.

vendorDepositDeduct now posts a caller's key K as `deposit_deduct:vendor:<id>:request:K`; before,
as `deposit_deduct:K`, so the same key for two stores was one deduction. Re-scoping lets a retry
with K find its deduction (nothing taken twice). Refs the platform derives (`staff:vendor:...`,
`dispute:<id>:penalty`) stay. Ledger rows are immutable on PostgreSQL (0002): the trigger is
suspended for this one update of the key column, inside the migration's transaction.
"""

import re

from django.db import migrations

PREFIX = "deposit_deduct:"
DERIVED = re.compile(r"^(staff:vendor:\d+:|dispute:\d+:penalty$|vendor:\d+:request:)")
TRIGGER = "finance_ledgertransaction_immutable"


def scoped_key(key: str, vendor_id) -> str | None:
    ref = key.removeprefix(PREFIX)
    if not key.startswith(PREFIX) or vendor_id is None or DERIVED.match(ref):
        return None
    return f"{PREFIX}vendor:{int(vendor_id)}:request:{ref}"[:200]


def scope_caller_keys(apps, schema_editor):
    LedgerTransaction = apps.get_model("finance", "LedgerTransaction")
    changes = []
    for posted in LedgerTransaction.objects.filter(kind="deposit_deduct").iterator():
        scoped = scoped_key(posted.idempotency_key, (posted.metadata or {}).get("vendor"))
        if scoped and not LedgerTransaction.objects.filter(idempotency_key=scoped).exists():
            changes.append((posted.pk, scoped))
    if not changes:
        return
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute(f"ALTER TABLE finance_ledgertransaction DISABLE TRIGGER {TRIGGER}")
    for pk, scoped in changes:
        # QuerySet.update: no model save (the model refuses to change a posted transaction).
        LedgerTransaction.objects.filter(pk=pk).update(idempotency_key=scoped)
    if postgresql:
        schema_editor.execute(f"ALTER TABLE finance_ledgertransaction ENABLE TRIGGER {TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [("finance", "0004_payout_idempotency_key_per_vendor")]

    operations = [migrations.RunPython(scope_caller_keys, migrations.RunPython.noop)]
