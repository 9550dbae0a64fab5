"""On PostgreSQL the database itself refuses UPDATE and DELETE of ledger rows.

The models refuse too; this also stops raw SQL and bulk paths. TRUNCATE (test
database flushes) is a statement, not a row change, so it is not blocked.
"""

from django.db import migrations

TABLES = ("finance_ledgertransaction", "finance_ledgerentry")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION finance_refuse_ledger_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable (% on %)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION finance_refuse_ledger_change()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS finance_refuse_ledger_change()")


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
