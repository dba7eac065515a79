"""A few hot statements run straight on the PostgreSQL driver (psycopg).

An answer confirmation, the hot path of a quiz morning, is two statements.
SQLAlchemy's work around each execution (execution context, result
metadata, per-value type processing) costs two to three times the CPU of
the round trip itself: measured on the link query, about 360 µs against
130 µs straight on psycopg's cursor. So on PostgreSQL these statements run
on the pooled connection's psycopg connection, with the SQL that SQLAlchemy
compiled from the Core statement once (the statement stays defined in one
place); elsewhere (SQLite) they go through SQLAlchemy as usual.

Values come back as the driver gives them. Every column type in these
statements comes back from psycopg as SQLAlchemy would return it (int, str,
date, bool, JSON already parsed), except those of a TypeDecorator column
(UTCDateTime → UTC), which go through that type's result processing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator


class DriverStatement:
    """`statement` (a Core select or DML), run on psycopg directly on PostgreSQL.

    `elsewhere` is the statement other databases run instead (default: the
    same). Parameters must be ready for the driver: aware datetimes in UTC.
    """

    def __init__(self, statement: Executable, elsewhere: Executable | None = None) -> None:
        self.statement = statement
        self.elsewhere = statement if elsewhere is None else elsewhere
        # Result columns whose SQLAlchemy type converts what the driver returns.
        columns = getattr(statement, "selected_columns", ())
        self.result_types: dict[int, TypeDecorator[Any]] = {
            i: column.type for i, column in enumerate(columns) if isinstance(column.type, TypeDecorator)
        }
        self._compiled: dict[str, tuple[str, dict[str, Any]]] = {}

    def _sql(self, conn: Connection) -> tuple[str, dict[str, Any]]:
        """The SQL text and the statement's own constant parameters, compiled once per dialect."""
        found = self._compiled.get(conn.dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            # Renders the "literal execute" parameters (constants such as a
            # string_agg separator) into the text, once; the caller's
            # parameters (those without a value) only need their names here.
            given = {name: None for name, bind in compiled.binds.items() if bind.required}
            expanded = compiled.construct_expanded_state(given)
            constants = {k: v for k, v in expanded.parameters.items() if k not in given}
            found = self._compiled[conn.dialect.name] = (expanded.statement, constants)
        return found

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first result row (a tuple), or None."""
        if conn.dialect.name != "postgresql":
            row = conn.execute(self.elsewhere, dict(params)).first()
            return None if row is None else tuple(row)
        sql, constants = self._sql(conn)
        row = conn.connection.driver_connection.execute(sql, {**constants, **params}).fetchone()  # type: ignore[union-attr]
        if row is None or not self.result_types:
            return row
        values = list(row)
        for index, type_ in self.result_types.items():
            values[index] = type_.process_result_value(values[index], conn.dialect)
        return values

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Execute (DML). Raises the driver's own IntegrityError on PostgreSQL."""
        if conn.dialect.name != "postgresql":
            conn.execute(self.elsewhere, dict(params))
            return
        sql, constants = self._sql(conn)
        conn.connection.driver_connection.execute(sql, {**constants, **params})  # type: ignore[union-attr]
