from django.db import migrations


def load(apps, schema_editor):
    from backend.logistics.loaders import load_all

    load_all(apps)


class Migration(migrations.Migration):
    """Regions, the zone matrix and the demo table-rate tariff, so a fresh install quotes at once."""

    dependencies = [("logistics", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
