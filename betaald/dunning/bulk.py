"""Bulk writes of the daily run: COPY into a temporary table, then one set-based statement.

Django's `bulk_create` on PostgreSQL sends arrays that psycopg escapes value by value in
Python; for the run's tens of thousands of rows a COPY is several times faster. On other
databases (SQLite in development and tests) the ORM's bulk methods are used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone


def _columns(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    return [model._meta.get_field(name) for name in names]  # type: ignore[misc]


def _rows(
    objs: Sequence[models.Model], fields: list[models.Field[Any, Any]], *, adding: bool
) -> list[list[Any]]:
    """Database values of `objs`; timestamps with auto_now(_add) are filled in as `save()`
    would do."""
    now = timezone.now()
    stamped = [
        f
        for f in fields
        if getattr(f, "auto_now", False) or (adding and getattr(f, "auto_now_add", False))
    ]
    for obj in objs:
        for f in stamped:
            if getattr(f, "auto_now", False) or getattr(obj, f.attname) is None:
                setattr(obj, f.attname, now)
    if connection.vendor != "postgresql":
        return []
    from psycopg.types.json import Jsonb

    # psycopg adapts int, str, Decimal, date and datetime itself; only JSON needs a wrapper.
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    names = [f.attname for f in fields]
    return [
        [Jsonb(getattr(obj, name)) if name in json_fields else getattr(obj, name) for name in names]
        for obj in objs
    ]


def concrete_names(model: type[models.Model]) -> list[str]:
    """The names of every stored field except an automatic primary key."""
    return [
        f.name
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, AutoFieldMixin))
    ]


def _copy_to_temp(
    table: str, temp: str, fields: list[models.Field[Any, Any]], rows: list[list[Any]]
) -> str:
    columns = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{temp}"')
        cursor.execute(
            f'CREATE TEMP TABLE "{temp}" ON COMMIT DROP AS '  # noqa: S608
            f'SELECT {columns} FROM "{table}" WITH NO DATA'
        )
        raw = cursor.cursor  # the psycopg cursor
        with raw.copy(f'COPY "{temp}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    return columns


def insert(
    model: type[models.Model],
    objs: Sequence[models.Model],
    names: Sequence[str],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert `objs` (only the fields `names`); with `ignore_conflicts` rows that would
    violate a unique constraint are left out (ON CONFLICT DO NOTHING)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=1000, ignore_conflicts=ignore_conflicts)
        return
    fields = _columns(model, names)
    table = model._meta.db_table
    temp = f"{table}_copy"
    columns = _copy_to_temp(table, temp, fields, _rows(objs, fields, adding=True))
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{temp}"{conflict}'  # noqa: S608
        )
        cursor.execute(f'DROP TABLE "{temp}"')


def update(model: type[models.Model], objs: Sequence[models.Model], names: Sequence[str]) -> None:
    """Update the fields `names` of `objs`, matched on the primary key, in one statement."""
    if not objs:
        return
    pk = model._meta.pk
    assert pk is not None
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, list(names), batch_size=1000)
        return
    fields = [pk, *_columns(model, names)]
    table = model._meta.db_table
    temp = f"{table}_copy"
    _copy_to_temp(table, temp, fields, _rows(objs, fields, adding=False))
    assignments = ", ".join(f'"{f.column}" = t."{f.column}"' for f in fields[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" AS s SET {assignments} FROM "{temp}" AS t '  # noqa: S608
            f'WHERE s."{pk.column}" = t."{pk.column}"'
        )
        cursor.execute(f'DROP TABLE "{temp}"')


def id_filter(ids: Iterable[int]) -> Any:
    """The value for a `pk__in` / `<fk>__in` lookup over many ids: on PostgreSQL one array
    parameter (``IN (SELECT unnest(%s))``) instead of one placeholder per id, which psycopg and
    the ORM would otherwise process value by value; elsewhere the list itself."""
    values = list(ids)
    if connection.vendor != "postgresql":
        return values
    from django.db.models.expressions import RawSQL

    return RawSQL("SELECT unnest(%s::bigint[])", (values,))


def insert_rows(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert plain rows (values in the order of the field names `names`, JSON as Python
    values) without building model objects; on PostgreSQL with COPY. With `returning`, the
    given columns of the rows really inserted (PostgreSQL only; elsewhere an empty list)."""
    if not rows:
        return []
    fields = _columns(model, names)
    if connection.vendor != "postgresql":
        attnames = [f.attname for f in fields]
        objs = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(objs, batch_size=1000, ignore_conflicts=ignore_conflicts)
        return []
    from psycopg.types.json import Jsonb

    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    if json_at:
        # A list of strings (the channels of a step row) repeats from row to row: its JSON
        # text is made once and sent as text, which COPY reads into the jsonb column as it
        # would read the same text from `Jsonb`; anything else goes through `Jsonb`.
        texts: dict[tuple[str, ...], str] = {}
        converted: list[Sequence[Any]] = []
        for row in rows:
            values = list(row)
            for i in json_at:
                value = values[i]
                if type(value) is list and all(type(v) is str for v in value):
                    key = tuple(value)
                    text = texts.get(key)
                    if text is None:
                        text = texts[key] = json.dumps(value)
                    values[i] = text
                else:
                    values[i] = Jsonb(value)
            converted.append(values)
        rows = converted
    table = model._meta.db_table
    temp = f"{table}_rows"
    columns = _copy_to_temp(table, temp, fields, rows)  # type: ignore[arg-type]
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    back = ""
    if returning:
        back = " RETURNING " + ", ".join(
            f'"{model._meta.get_field(name).column}"'  # type: ignore[union-attr]
            for name in returning
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{temp}"{conflict}{back}'  # noqa: S608
        )
        found = [tuple(row) for row in cursor.fetchall()] if returning else []
        cursor.execute(f'DROP TABLE "{temp}"')
    return found


def update_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Update the fields `names` of plain rows ``(pk, *values)`` in one statement (COPY into a
    temporary table, then ``UPDATE ... FROM``), without building model objects."""
    if not rows:
        return
    pk = model._meta.pk
    assert pk is not None
    fields = _columns(model, names)
    if connection.vendor != "postgresql":
        attnames = [f.attname for f in fields]
        objs = []
        for row in rows:
            obj = model(**{pk.attname: row[0]})
            for name, value in zip(attnames, row[1:], strict=True):
                setattr(obj, name, value)
            objs.append(obj)
        model._default_manager.bulk_update(objs, [f.name for f in fields], batch_size=1000)
        return
    table = model._meta.db_table
    temp = f"{table}_rows"
    _copy_to_temp(table, temp, [pk, *fields], rows)  # type: ignore[arg-type]
    assignments = ", ".join(f'"{f.column}" = t."{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" AS s SET {assignments} FROM "{temp}" AS t '  # noqa: S608
            f'WHERE s."{pk.column}" = t."{pk.column}"'
        )
        cursor.execute(f'DROP TABLE "{temp}"')
