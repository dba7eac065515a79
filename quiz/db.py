"""Declarative base, the UTC datetime type and engine/session handling.

One engine per app; one session per application context (request, CLI
command or scheduler tick), closed when the context ends.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, always stored in UTC.

    SQLite has no timezone type and hands back naive values; this type makes
    both databases return aware UTC datetimes and refuses naive input, so a
    local time can never slip into the store unnoticed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **options: Any) -> Engine:
    """An engine tuned for the two databases we run on (`options` go to create_engine)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the web process read while the scheduler writes;
            # foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # No pool_pre_ping: it costs a round trip to the server on every checkout,
    # i.e. on every request. A connection the server has closed (restart,
    # pg_terminate_backend, idle timeout) is found without one: the server
    # says goodbye on the socket, so an idle pooled connection with something
    # to read is dead and is replaced at checkout. A connection that died
    # without a word fails its first statement; SQLAlchemy then invalidates
    # the whole pool, so only that request fails. pool_recycle replaces
    # connections before firewalls or poolers silently drop idle ones.
    engine = create_engine(url, pool_recycle=POOL_RECYCLE_SECONDS, **options)
    event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


POOL_RECYCLE_SECONDS = 1800
AUTOCOMMIT = "AUTOCOMMIT"


def _drop_if_closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Checkout check without a round trip: an idle connection has nothing to
    read, unless the server closed it or sent its termination notice."""
    reason = closed_by_server(dbapi_conn)
    if reason:
        # SQLAlchemy closes it, opens a fresh one and runs this check again.
        raise DisconnectionError(reason)


def closed_by_server(dbapi_conn: Any) -> str | None:
    """Why an idle driver connection is of no more use, or None if it is."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        return "connection closed"
    fileno = getattr(dbapi_conn, "fileno", None)
    if fileno is None:
        return None
    try:
        readable, _, _ = select.select([fileno()], [], [], 0)
    except (OSError, ValueError) as exc:  # the socket itself is gone
        return str(exc)
    return "server closed the connection" if readable else None


class _Kept:
    """A thread's kept connection (Database.kept_connection). Closed when the
    thread ends: a thread's locals go with it, and this with them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.since = time.monotonic()

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.invalidate()  # its state may be unknown: the driver connection is closed
            self.conn.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at exit or in a dying thread nothing more can be done
            self.close()


class Database:
    """The app's engine and session factory, and an autocommit engine for
    requests that are a few single statements (see `autocommit_engine`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit: Engine | None = None
        self._lock = threading.Lock()
        self._kept = threading.local()  # see kept_connection
        self._kept_engine: Engine | None = None
        self._all_kept: weakref.WeakSet[_Kept] = weakref.WeakSet()  # every thread's, for dispose

    @property
    def autocommit_engine(self) -> Engine:
        """An engine whose connections commit each statement on its own.

        For the answer confirmation, a quiz morning's hot path: its reads
        need no common snapshot and its one write is a single INSERT, so
        BEGIN and COMMIT would only add round trips, and switching a pooled
        connection to autocommit and back per request costs more CPU than
        the statements. Its own small pool (used by at most one connection
        per web thread), so the main pool's connections never change mode.
        """
        if self._autocommit is None:
            with self._lock:
                if self._autocommit is None:
                    self._autocommit = make_engine(self.url, isolation_level=AUTOCOMMIT)
        return self._autocommit

    @property
    def kept_engine(self) -> Engine:
        """Where the kept connections come from: autocommit, and no pool
        (each thread's one connection is its own; see kept_connection)."""
        with self._lock:
            if self._kept_engine is None:
                self._kept_engine = make_engine(self.url, poolclass=NullPool, isolation_level=AUTOCOMMIT)
            return self._kept_engine

    @contextmanager
    def kept_connection(self) -> Iterator[Connection]:
        """This thread's own autocommit connection, kept open from one use to the next.

        For the answer confirmation's fast path (quiz.web.confirm_fast):
        taking a connection from the pool and giving it back (SQLAlchemy's
        Connection object, the pool's bookkeeping and events, the reset) costs
        8 % of a confirmation's instructions (callgrind), so each web thread keeps one.
        It gets the pool's care: checked for a server-side close before each
        use (no round trip, see closed_by_server), replaced after
        POOL_RECYCLE_SECONDS, and closed when a statement inside the block
        fails, so the next use starts on a fresh one. It is outside the pool
        (a server that starts a thread per request would use up a pool's
        connections) and closed when its thread ends or at `dispose`.
        """
        kept: _Kept | None = getattr(self._kept, "holder", None)
        if kept is not None and (
            kept.conn.closed
            or kept.conn.invalidated
            or time.monotonic() - kept.since > POOL_RECYCLE_SECONDS
            or closed_by_server(kept.conn.connection.dbapi_connection)
        ):
            self._drop_kept()
            kept = None
        if kept is None:
            kept = self._kept.holder = _Kept(self.kept_engine.connect())
            with self._lock:
                self._all_kept.add(kept)
        try:
            yield kept.conn
            if kept.conn.in_transaction():  # SQLAlchemy's own bookkeeping (autobegin); nothing on the server
                kept.conn.rollback()
        except BaseException:
            self._drop_kept()
            raise

    def _drop_kept(self) -> None:
        kept: _Kept | None = getattr(self._kept, "holder", None)
        self._kept.holder = None
        if kept is not None:
            with self._lock:
                self._all_kept.discard(kept)
            kept.close()

    def dispose(self) -> None:
        with self._lock:
            every = list(self._all_kept)
        for kept in every:  # other threads' too: this is the end of the app's use of the database
            kept.close()
        self.engine.dispose()
        if self._autocommit is not None:
            self._autocommit.dispose()


def init_app(app: Flask) -> None:
    app.extensions["quiz_db"] = Database(app.config["QUIZ_DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["quiz_db"]


# A session, or a function that opens one (get_session): code that usually
# answers from a per-process cache takes either, so a request whose every
# lookup hits the cache never builds a Session (tens of microseconds on a
# quiz morning's hot path).
SessionSource = Session | Callable[[], Session]


def session_of(source: SessionSource) -> Session:
    """The session itself, or the one the function opens."""
    return source if isinstance(source, Session) else source()


def get_session() -> Session:
    """The session of the current application context, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session outside any request, for the scheduler and scripts."""
    session = database(app).sessionmaker()
    try:
        yield session
    finally:
        session.close()


def utcnow() -> datetime:
    """The current time, at the edges only: rules receive `now` as an argument."""
    return datetime.now(UTC)
