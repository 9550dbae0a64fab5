from django.db import migrations, models


class Migration(migrations.Migration):
    """Refunds are claimed before the gateway is asked: each OrderRefund has a status. The rows
    written before were all made after the gateway took the refund (succeeded)."""

    dependencies = [
        ("orders", "0002_order_refund"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderrefund",
            name="status",
            field=models.CharField(
                choices=[("requested", "Requested"), ("succeeded", "Succeeded"), ("failed", "Failed")],
                default="succeeded",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="orderrefund",
            name="status",
            field=models.CharField(
                choices=[("requested", "Requested"), ("succeeded", "Succeeded"), ("failed", "Failed")],
                default="requested",
                max_length=16,
            ),
        ),
    ]
