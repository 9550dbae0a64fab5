"""Hot accounts (gateway, platform revenue, promotions, points) are posted without updating their
row: their balance is the sum of their entries, and the cached column they had is cleared."""

from django.db import migrations

HOT_KINDS = [
    "gateway",
    "platform_commission",
    "platform_fees",
    "platform_promotions",
    "points_liability",
    "points_expense",
]


def clear_hot_balances(apps, schema_editor):
    LedgerAccount = apps.get_model("finance", "LedgerAccount")
    LedgerAccount.objects.filter(kind__in=HOT_KINDS).exclude(balance=0).update(balance=0)


def restore_hot_balances(apps, schema_editor):
    from django.db.models import Sum

    LedgerAccount = apps.get_model("finance", "LedgerAccount")
    LedgerEntry = apps.get_model("finance", "LedgerEntry")
    for account in LedgerAccount.objects.filter(kind__in=HOT_KINDS):
        total = LedgerEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or 0
        LedgerAccount.objects.filter(pk=account.pk).update(balance=total)


class Migration(migrations.Migration):
    dependencies = [("finance", "0007_alter_ledgeraccount_kind_and_more")]

    operations = [migrations.RunPython(clear_hot_balances, restore_hot_balances)]
