"""Set one column of many rows to a value per row, in one UPDATE statement per chunk.

Django's `bulk_update` builds a CASE expression through the ORM for every object and field;
for periodic work over thousands of rows that costs more than the database's work. This writes
the same statement directly: `UPDATE t SET col = CASE pk WHEN %s THEN CAST(%s AS type) ... END
[, other = %s ...] WHERE pk IN (...)`, with every value a bound parameter (adapted by the
field, as the ORM would), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import DEFAULT_DB_ALIAS, connections

CHUNK = 500

# The CAST type of each field kind (the CASE result needs one on PostgreSQL).
_CASTS = {
    "DecimalField": "NUMERIC",
    "IntegerField": "INTEGER",
    "BigIntegerField": "BIGINT",
    "PositiveIntegerField": "INTEGER",
    "PositiveBigIntegerField": "BIGINT",
}


# Field kinds whose Python value is already what the database driver takes.
_AS_IS = {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
          "PositiveBigIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "CharField", "TextField",
          "ForeignKey", "BooleanField"}


def _preparer(field, connection):
    """A function giving the database value of `field` (the field's own adaptation where one is needed)."""
    if field.get_internal_type() in _AS_IS:
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


def update_column(model, field_name: str, values: Mapping[int, object], *, expression: str = "{case}", also: Mapping[str, object] | None = None) -> int:
    """Set `field_name` of each row `pk` to `values[pk]`; `also` sets further columns to one value.

    `expression` wraps the per-row value, e.g. "{column} + {case}" to add to the current value
    (with `{column}` the quoted column); returns the number of rows updated.
    """
    if not values:
        return 0
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    field = model._meta.get_field(field_name)
    cast = _CASTS[field.get_internal_type()]
    prepare = _preparer(field, connection)
    pk_column = quote(model._meta.pk.column)
    column = quote(field.column)
    extra_sql, extra_params = [], []
    for name, value in (also or {}).items():
        other = model._meta.get_field(name)
        extra_sql.append(f"{quote(other.column)} = %s")
        extra_params.append(other.get_db_prep_save(value, connection))
    updated = 0
    items = list(values.items())
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            if connection.vendor == "postgresql":
                # A join with the values (hashed), rather than a CASE of every row for every row.
                rows = ", ".join(f"(CAST(%s AS BIGINT), CAST(%s AS {cast}))" for _ in chunk)
                assignment = expression.format(case="new.value", column=f"{table}.{column}")
                sets = ", ".join([f"{column} = {assignment}", *extra_sql])
                params = extra_params + [p for pk, value in chunk for p in (pk, prepare(value))]
                cursor.execute(
                    f"UPDATE {table} SET {sets} FROM (VALUES {rows}) AS new(pk, value) WHERE {table}.{pk_column} = new.pk",
                    params,
                )
                updated += cursor.rowcount
                continue
            whens = " ".join(f"WHEN %s THEN CAST(%s AS {cast})" for _ in chunk)
            case = f"CASE {pk_column} {whens} END"
            assignment = expression.format(case=case, column=column)
            sets = ", ".join([f"{column} = {assignment}", *extra_sql])
            placeholders = ", ".join(["%s"] * len(chunk))
            params = []
            for pk, value in chunk:
                params += [pk, prepare(value)]
            params += extra_params
            params += [pk for pk, _ in chunk]
            cursor.execute(f"UPDATE {table} SET {sets} WHERE {pk_column} IN ({placeholders})", params)
            updated += cursor.rowcount
    return updated


def insert_rows(
    model, names: list[str], rows: list[tuple], *, returning: tuple[str, ...] = (), ignore_conflicts: bool = False
) -> list[tuple]:
    """INSERT many rows of `model` (values for the fields `names`, in that order) without building
    model instances; returns the `returning` columns of the new rows (RETURNING, which PostgreSQL
    and SQLite 3.35+ both have; in no promised order, so return a key to match them by). Callers
    give every column a value the model would (auto_now_add fields included): no signal, no
    save(), no default is applied here. ignore_conflicts: ON CONFLICT DO NOTHING (a row that hits
    a unique index is skipped, and not returned).
    """
    if not rows:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    preparers = [_preparer(field, connection) for field in fields]
    columns = ", ".join(quote(field.column) for field in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_chunk = max(1, min(CHUNK, 30000 // len(fields)))
    returned = ", ".join(quote(model._meta.get_field(name).column) for name in returning)
    returning_sql = (" ON CONFLICT DO NOTHING" if ignore_conflicts else "") + (f" RETURNING {returned}" if returning else "")
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            params = []
            for row in chunk:
                params += [prepare(value) for prepare, value in zip(preparers, row)]
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}{returning_sql}",
                params,
            )
            if returning:
                out += [tuple(row) for row in cursor.fetchall()]
    return out
