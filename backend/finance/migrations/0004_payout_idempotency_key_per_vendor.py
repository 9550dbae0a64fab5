from django.conf import settings
from django.db import migrations, models

# Keys the platform derives itself; every other stored key was sent by a caller.
DERIVED_PREFIXES = ("manual:vendor:", "scheduled:vendor:", "closure:")


def scope_caller_keys(apps, schema_editor):
    """Caller keys stored before keys were scoped get their vendor's prefix (see
    finance.ledger.owner_scoped_key), so a retry with the same key still finds its payout."""
    Payout = apps.get_model("finance", "Payout")
    for payout in Payout.objects.exclude(idempotency_key__contains=":request:").iterator():
        if not payout.idempotency_key.startswith(DERIVED_PREFIXES):
            scoped = f"vendor:{payout.vendor_id}:request:{payout.idempotency_key}"
            Payout.objects.filter(pk=payout.pk).update(idempotency_key=scoped[:200])


class Migration(migrations.Migration):

    dependencies = [
        ("finance", "0003_fee_plans_deposits_payouts"),
        ("payments", "0001_initial"),
        ("vendors", "0003_vendor_restricted_status"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="payout",
            name="idempotency_key",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.UniqueConstraint(
                fields=("vendor", "idempotency_key"), name="payout_idempotency_key_per_vendor"
            ),
        ),
        migrations.RunPython(scope_caller_keys, migrations.RunPython.noop),
    ]
