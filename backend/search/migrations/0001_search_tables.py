from django.db import migrations

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_product_fts USING fts5("
    "name, body, tokenize = 'unicode61 remove_diacritics 2')"
)
POSTGRES_CREATE = [
    "CREATE TABLE IF NOT EXISTS search_product_document ("
    " product_id bigint PRIMARY KEY,"
    " document tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_product_document_gin ON search_product_document USING gin (document)",
]


def create_tables(apps, schema_editor):
    """The search tables exist only on the database that can use them."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    elif vendor == "postgresql":
        for statement in POSTGRES_CREATE:
            schema_editor.execute(statement)


def drop_tables(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS search_product_fts")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TABLE IF EXISTS search_product_document")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_catalog")]

    operations = [migrations.RunPython(create_tables, drop_tables)]
