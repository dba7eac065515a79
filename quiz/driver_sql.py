"""A few hot statements run straight on the PostgreSQL driver (psycopg's libpq).

An answer confirmation, the hot path of a quiz morning, is two statements.
SQLAlchemy's work around each execution (execution context, result
metadata, per-value type processing) costs two to three times the CPU of
the round trip itself: measured on the link query, about 360 µs against
130 µs on psycopg's cursor. psycopg's own cursor machinery (query
conversion, prepare bookkeeping, its wait loop) is most of those 130 µs:
the same prepared statement run on the connection's libpq object costs
about 15 µs of client CPU (measured: 76 µs against 13.5 µs, see
docs/benchmarks.md, "Answering"). So on PostgreSQL these statements are
prepared once per connection and run with `PGconn.exec_prepared` (it lets
go of the GIL while it waits, like psycopg's own calls); parameters are
dumped and result rows loaded by psycopg's Transformer, the same adapters
its cursors use. The SQL is what SQLAlchemy compiles from the Core
statement once (the statement stays defined in one place); elsewhere
(SQLite) the statements go through SQLAlchemy as usual.

Values come back as psycopg gives them. Every column type in these
statements comes back from psycopg as SQLAlchemy would return it (int, str,
date, bool, JSON already parsed), except those of a TypeDecorator column
(UTCDateTime → UTC), which go through that type's result processing.
Errors are psycopg's own (an IntegrityError for a unique violation).
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy.engine import Connection
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator

# psycopg's "%(name)s" placeholders (and "%%" for a literal %), as SQLAlchemy
# compiles them for the psycopg dialect; libpq wants $1, $2, …
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_numbers = itertools.count(1)  # next() on a count is atomic: threads may share it
# SQLSTATE invalid_sql_statement_name: the prepared statement is gone.
_NO_SUCH_STATEMENT = b"26000"


class _Prepared:
    """What one psycopg connection knows of our statements: a Transformer
    (its adapters) and the name of each statement it prepared, by the
    statement and the parameter types (psycopg picks int2/int4/int8 by value)."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.transformer = Transformer(driver)
        self.names: dict[tuple[int, tuple[int, ...]], bytes] = {}


_connections: weakref.WeakKeyDictionary[psycopg.Connection[Any], _Prepared] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Compiled:
    """A statement's SQL, compiled once: for libpq ($n placeholders, with the
    parameter names in order) and for psycopg's cursor (%(name)s), and the
    statement's own constant parameters."""

    libpq: bytes
    names: tuple[str, ...]
    pyformat: str
    constants: dict[str, Any]


class DriverStatement:
    """`statement` (a Core select or DML), run on libpq directly on PostgreSQL.

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
        self._compiled: _Compiled | None = None

    def _sql(self, conn: Connection) -> _Compiled:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            # Renders the "literal execute" parameters (constants such as a
            # string_agg separator) into the text, once; the caller's
            # parameters (those without a value) only need their names here.
            given = {name: None for name, bind in compiled.binds.items() if bind.required}
            expanded = compiled.construct_expanded_state(given)
            constants = {k: v for k, v in expanded.parameters.items() if k not in given}
            order: list[str] = []

            def number(match: re.Match[str]) -> str:
                name = match.group(1)
                if name is None:
                    return "%"
                if name not in order:
                    order.append(name)
                return f"${order.index(name) + 1}"

            libpq = _PLACEHOLDER.sub(number, expanded.statement).encode()
            self._compiled = _Compiled(libpq, tuple(order), expanded.statement, constants)
        return self._compiled

    def _first_row(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """Execute on PostgreSQL; the first row as the driver gives it, or None
        (also for DML). On libpq on an autocommit connection; on one that is
        not, through psycopg's cursor: there psycopg opens the transaction
        (libpq alone would commit each statement), and a failed statement
        aborts it, so the retry below could not work."""
        sql = self._sql(conn)
        driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        if not driver.autocommit:
            cursor = driver.execute(sql.pyformat, {**sql.constants, **params})
            return cursor.fetchone() if cursor.description else None
        pgconn = driver.pgconn
        prepared = _connections.get(driver)
        if prepared is None:
            prepared = _connections[driver] = _Prepared(driver)
        tx = prepared.transformer
        values = [params[name] if name in params else sql.constants[name] for name in sql.names]
        dumped = tx.dump_sequence(values, [PyFormat.AUTO] * len(values))
        types = tuple(tx.types)
        key = (id(self), types)
        name = prepared.names.get(key)
        result = None
        if name is not None:
            result = pgconn.exec_prepared(name, dumped, tx.formats)
            # psycopg sends DEALLOCATE ALL after a DROP, ALTER or ROLLBACK
            # statement run through it, which takes ours along: prepare again.
            if result.error_field(pq.DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT:
                result = None
        if result is None:
            name = prepared.names[key] = f"quiz_driver_{next(_numbers)}".encode()
            _check(driver, pgconn.prepare(name, sql.libpq, types))
            result = pgconn.exec_prepared(name, dumped, tx.formats)
        _check(driver, result)
        if not result.ntuples:
            return None
        tx.set_pgresult(result)
        try:
            return tx.load_row(0, tuple)
        finally:
            tx.set_pgresult(None)

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first result row (a tuple), or None."""
        if conn.dialect.name != "postgresql":
            row = conn.execute(self.elsewhere, dict(params)).first()
            return None if row is None else tuple(row)
        row = self._first_row(conn, params)
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
        self._first_row(conn, params)


def _check(driver: psycopg.Connection[Any], result: pq.abc.PGresult) -> None:
    """Raise psycopg's own exception for a failed statement or a lost connection."""
    if result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        return
    encoding = driver.info.encoding
    if result.error_field(pq.DiagnosticField.SQLSTATE):
        raise errors.error_from_result(result, encoding=encoding)
    raise psycopg.OperationalError(driver.pgconn.get_error_message(encoding))
