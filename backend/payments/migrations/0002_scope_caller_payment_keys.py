"""Caller idempotency keys of vendor payments stored before keys were scoped get their vendor's
namespace (see finance.ledger.owner_scoped_key), like payouts in finance 0004.

vendorEntryFeePay and vendorDepositTopUp now store a caller's key K as
`vendor:<id>:request:fee:K` / `vendor:<id>:request:deposit:K`; before, K was stored as sent.
Re-scoping lets a retry with K find its first payment (no second charge), and frees the keys a
store sent to squat another's derived key (`vendor:<other id>:fee:...`, `checkout:<id>:<n>`).
A key is the platform's own when it starts with the payment's own vendor's derived prefix.
"""

from django.db import migrations

PREFIX = {"vendor_fee": "fee", "vendor_deposit": "deposit"}


def scoped_key(payment) -> str | None:
    """The key to store now; None when the stored one is derived or scoped already."""
    kind = PREFIX.get(payment.purpose)
    key = payment.idempotency_key
    if kind is None or payment.vendor_id is None or ":request:" in key:
        return None
    if key.startswith(f"vendor:{payment.vendor_id}:{kind}:"):
        return None  # derived by the platform for this very vendor
    return f"vendor:{payment.vendor_id}:request:{kind}:{key}"[:200]


def scope_caller_keys(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    for payment in Payment.objects.filter(purpose__in=list(PREFIX)).iterator():
        scoped = scoped_key(payment)
        if scoped and not Payment.objects.filter(idempotency_key=scoped).exists():
            Payment.objects.filter(pk=payment.pk).update(idempotency_key=scoped)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunPython(scope_caller_keys, migrations.RunPython.noop)]
