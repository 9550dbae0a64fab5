from django.db import migrations, models


def requested(apps, schema_editor):
    # A pending refund without the gateway's reference was never answered: it is REQUESTED now.
    Refund = apps.get_model("payments", "Refund")
    Refund.objects.filter(status="pending", psp_reference="").update(status="requested")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_merge_reconciliation_and_key_scoping"),
    ]

    operations = [
        migrations.AlterField(
            model_name="refund",
            name="status",
            field=models.CharField(
                choices=[("requested", "Requested"), ("pending", "Pending"), ("succeeded", "Succeeded"), ("failed", "Failed")],
                default="requested",
                max_length=32,
            ),
        ),
        migrations.RunPython(requested, migrations.RunPython.noop),
    ]
