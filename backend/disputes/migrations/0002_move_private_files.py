from django.db import migrations


def move_private_files(apps, schema_editor):
    """Qualification documents and evidence stored in MEDIA_ROOT move to the private storage
    (backend.core.storage); `manage.py move_private_files` does the same again on demand."""
    from backend.core.storage import move_to_private, private_file_names

    move_to_private(private_file_names(apps))


class Migration(migrations.Migration):

    dependencies = [
        ("disputes", "0001_initial"),
        ("vendors", "0004_documents_in_private_storage"),
    ]

    operations = [migrations.RunPython(move_private_files, migrations.RunPython.noop)]
