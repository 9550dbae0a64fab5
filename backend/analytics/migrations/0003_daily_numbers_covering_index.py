"""On PostgreSQL, the daily figures' numbers in an index on (vendor, day): a report by day reads a
year of them with an index-only scan, never the rows' ranked lists (the rows' bulk). Not a model
index: SQLite has no covering indexes (and Django would warn)."""

from django.db import migrations

NUMBERS = (
    "visitors", "product_views", "store_views", "searches", "searches_without_results", "add_to_carts",
    "checkouts_started", "ordering_visitors", "orders", "refunds", "disputes", "shoppers", "new_shoppers",
    "returning_shoppers", "new_stores", "active_stores", "gmv", "refunded", "commission", "fees",
    "deposits_forfeited",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS analytics_metrics_numbers ON analytics_dailymetrics (vendor_id, day) "
            f"INCLUDE ({', '.join(NUMBERS)})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS analytics_metrics_numbers")


class Migration(migrations.Migration):

    dependencies = [("analytics", "0002_period_rollups")]

    operations = [migrations.RunPython(create, drop)]
